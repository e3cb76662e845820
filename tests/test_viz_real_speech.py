"""Lesson 12 views build headlessly: models side by side, the mixture table with its seeds, speakers worst first."""

import matplotlib
from pytest import approx

matplotlib.use("Agg")

from echo_edu.metrics import sclite_report                                      # noqa: E402
from echo_edu.viz.real_speech import (mixture_figure, mixture_static, mixture_widget, model_gap_figure,  # noqa: E402
                                      model_gap_static, speaker_errors_figure, speaker_errors_static, speaker_rows)

TABLE = {"steps": 400, "table": {
    "real": {"dev": {"wer": 30.0, "wer_sd": 1.4, "cer": 20.0, "seeds": [0, 1], "wer_each": [29.0, 31.0]},
             "fsdd": {"wer": 40.0, "wer_sd": 0.0, "cer": 30.0, "seeds": [0, 1], "wer_each": [40.0, 40.0]}},
    "both": {"dev": {"wer": 25.0, "wer_sd": 1.4, "cer": 18.0, "seeds": [0, 1], "wer_each": [24.0, 26.0]},
             "fsdd": {"wer": 35.0, "wer_sd": 0.0, "cer": 25.0, "seeds": [0, 1], "wer_each": [35.0, 35.0]}}}}


def test_model_gap_groups_sets_and_models():
    scores = {"FSDD": {"echo-digits": 80.0, "echo-an4": 25.0}, "AN4 dev": {"echo-digits": 96.0, "echo-an4": 17.0}}
    fig = model_gap_figure(scores)
    assert [t.name for t in fig.data] == ["echo-digits", "echo-an4"]
    assert list(fig.data[1].x) == ["FSDD", "AN4 dev"] and list(fig.data[1].y) == [25.0, 17.0]
    assert len(model_gap_static(scores).axes[0].patches) == 4


def test_mixture_views_show_every_seed_beside_the_mean():
    fig = mixture_figure(TABLE, "dev")
    bars, seeds = fig.data
    assert list(bars.x) == ["real", "both"] and list(bars.y) == [30.0, 25.0]
    assert list(seeds.x) == ["real", "real", "both", "both"] and list(seeds.y) == [29.0, 31.0, 24.0, 26.0]
    assert "AN4 dev" in fig.layout.title.text and "400 steps" in fig.layout.title.text
    ax = mixture_static(TABLE, "dev").axes[0]
    assert len(ax.patches) == 2 and sum(len(c.get_offsets()) for c in ax.collections) == 4
    widget = mixture_widget(TABLE)
    assert [v for _, v in widget.controls["column"].options] == ["dev", "fsdd"]
    widget.controls["column"].value = "fsdd"
    assert list(widget.figure.data[0].y) == [40.0, 35.0]


def test_speakers_are_sorted_worst_first_with_their_error_kinds():
    refs = ["a b c d", "a b", "a b c", "a"]
    hyps = ["a b c d", "a", "x b c y", "a"]
    report = sclite_report(refs, hyps, ["s1", "s2", "s3", "s1"])
    rows = speaker_rows(report)
    assert [name for name, _ in rows] == ["s3", "s2", "s1"]        # 2 of 3 words wrong, 1 of 2, 0 of 5
    assert rows[1][1]["dele"] == 50.0 and rows[0][1]["sub"] == approx(100 / 3) == rows[0][1]["ins"]
    fig = speaker_errors_figure(report)
    assert [t.name for t in fig.data] == ["substitutions", "deletions", "insertions"]
    assert list(fig.data[1].y) == [0.0, 50.0, 0.0] and fig.data[0].x[0].startswith("s3")
    assert speaker_rows({k: v.to_dict() for k, v in report.items()}) == rows
    assert len(speaker_errors_static(report).axes[0].patches) == 9


def test_simulated_arms_have_the_true_gap_plus_seeded_noise():
    from echo_edu.experiments import compare_mixtures
    from echo_edu.viz.real_speech import simulated_arms

    exact = simulated_arms(gap=3.0, sd=1e-6, seeds=4)
    assert exact["table"]["better"]["dev"]["wer_each"] == approx([30.0] * 4)
    assert exact["table"]["worse"]["dev"]["wer_each"] == approx([33.0] * 4)
    assert compare_mixtures(exact, "dev").winner == "better"
    noisy = [simulated_arms(2.0, 2.0, 2, draw)["table"]["better"]["dev"]["wer_each"] for draw in (0, 0, 1)]
    assert noisy[0] == noisy[1] != noisy[2]                                       # seeded by the draw
    assert any(compare_mixtures(simulated_arms(2.0, 2.0, 2, d), "dev").winner == "worse" for d in range(20))


def test_seed_noise_views_state_the_computed_verdict_and_recompute():
    from echo_edu.viz.real_speech import seed_noise_figure, seed_noise_static, seed_noise_widget

    fig = seed_noise_figure(gap=8.0, sd=0.5, seeds=5)
    assert [len(t.y) for t in fig.data] == [5, 5] and fig.layout.title.text.endswith(": a result")
    assert seed_noise_figure(gap=8.0, sd=0.5, seeds=1).layout.title.text.endswith("not a result")
    assert len(seed_noise_static(gap=8.0, sd=0.5, seeds=5).axes[0].collections) == 2
    widget = seed_noise_widget()
    widget.controls["seeds"].value = 7
    assert [len(t.y) for t in widget.figure.data] == [7, 7]
