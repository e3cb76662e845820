"""The paired experiments of lessons 05–07: Student's t, the interval, the verdict, plans, runs and saving."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from echo_edu.errors import ConfigError, TrainingError
from echo_edu.experiments import (HELPS, HURTS, LESSON_EXPERIMENTS, NO_DIFFERENCE, Experiment, PairedResult,
                                  from_ablation, load_or_run, paired_interval, results_markdown, t_quantile,
                                  verdict_of)
from echo_edu.experiments.lessons import local_mean_batch
from echo_edu.experiments.stats import t_within

ROOT = Path(__file__).resolve().parents[1]

# two-sided 95 % critical values t₀.₉₇₅,ν from the standard published table
T975 = {1: 12.706205, 2: 4.302653, 3: 3.182446, 4: 2.776445, 5: 2.570582, 9: 2.262157, 10: 2.228139,
        30: 2.042272, 100: 1.983972}


@pytest.mark.parametrize("df", sorted(T975))
def test_t_quantile_matches_the_published_table(df):
    assert t_quantile(0.975, df) == pytest.approx(T975[df], abs=2e-6)


def test_other_quantiles_and_the_symmetry():
    assert t_quantile(0.95, 10) == pytest.approx(1.812461, abs=2e-6)   # one-sided 95 %
    assert t_quantile(0.995, 5) == pytest.approx(4.032143, abs=2e-6)
    assert t_quantile(0.05, 10) == pytest.approx(-1.812461, abs=2e-6)
    assert t_quantile(0.5, 7) == pytest.approx(0.0, abs=1e-9)
    assert t_within(t_quantile(0.975, 6), 6) == pytest.approx(0.95, abs=1e-10)
    assert t_within(1.959964, 100000) == pytest.approx(0.95, abs=1e-4)   # many degrees of freedom: the normal


def test_the_interval_of_a_known_sample():
    ci = paired_interval([1, 2, 3, 4, 5])        # mean 3, sd √2.5, se √0.5, t₄ = 2.776445
    assert (ci.n, ci.mean) == (5, 3.0)
    assert ci.sd == pytest.approx(math.sqrt(2.5)) and ci.se == pytest.approx(math.sqrt(0.5))
    assert (ci.low, ci.high) == (pytest.approx(1.036757, abs=1e-6), pytest.approx(4.963243, abs=1e-6))
    two = paired_interval([0.0, 2.0])             # mean 1, sd √2, se 1, t₁ = 12.706
    assert (two.low, two.high) == (pytest.approx(1 - 12.706205, abs=1e-5), pytest.approx(1 + 12.706205, abs=1e-5))
    wider = paired_interval([1, 2, 3, 4, 5], confidence=0.99)
    assert wider.low < ci.low and wider.high > ci.high


def test_the_interval_covers_the_true_mean_95_percent_of_the_time():
    # with 5 seeds a normal-based ±1.96·se would cover only ~88 %; Student's t gives 95 %
    samples = 0.3 + torch.randn(4000, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    covered = sum(paired_interval(row.tolist()).contains(0.3) for row in samples)
    assert 0.935 < covered / len(samples) < 0.965


@pytest.mark.parametrize("values, lower_is_better, expected", [
    ([-3, -2, -2.5, -3.5, -2.2], True, HELPS), ([-3, -2, -2.5, -3.5, -2.2], False, HURTS),
    ([3, 2, 2.5, 3.5, 2.2], True, HURTS), ([3, 2, 2.5, 3.5, 2.2], False, HELPS),
    ([-1, 1, -0.5, 0.5, 0.2], True, NO_DIFFERENCE), ([-1, 1, -0.5, 0.5, 0.2], False, NO_DIFFERENCE),
    ([-1.0, -1.0, -1.0], True, HELPS),            # no spread at all: the interval is the point −1
    ([0.0, 0.0, 0.0], True, NO_DIFFERENCE),       # an interval that touches 0 cannot tell the arms apart
])
def test_the_verdict_reads_the_interval(values, lower_is_better, expected):
    assert verdict_of(paired_interval(values), lower_is_better) == expected


@pytest.mark.parametrize("call", [lambda: paired_interval([1.0]), lambda: paired_interval([1.0, float("nan")]),
                                  lambda: paired_interval([1.0, 2.0], confidence=1.5), lambda: t_quantile(0.975, 0),
                                  lambda: t_quantile(1.0, 3), lambda: t_quantile(0.9, 2.5)])
def test_bad_inputs_raise_config_errors(call):
    with pytest.raises(ConfigError):
        call()


def result(mechanism, baseline, **fields):
    return PairedResult(name="toy", mechanism="m", baseline="b", metric="loss", lower_is_better=True, steps=10,
                        seeds=tuple(range(len(mechanism))), mechanism_scores=tuple(mechanism),
                        baseline_scores=tuple(baseline), **fields)


def test_a_result_pairs_by_seed_and_reports_its_numbers():
    r = result([1.0, 1.1, 0.9, 1.0, 1.2], [2.0, 2.2, 1.9, 2.1, 2.0])
    assert r.differences == pytest.approx((-1.0, -1.1, -1.0, -1.1, -0.8)) and r.verdict == HELPS
    text = r.report(prediction=HURTS)
    assert "verdict: m helps" in text and "the measurement says otherwise" in text and "t = 2.776" in text
    assert "it matches the measurement" in r.report(prediction=HELPS)
    assert "none written down" in r.report()
    with pytest.raises(ConfigError):
        r.report(prediction="it helps a lot")
    with pytest.raises(ConfigError):
        result([1.0, 2.0], [1.0])
    assert PairedResult.from_dict(json.loads(json.dumps(r.to_dict()))) == r


def test_two_seeds_within_one_sd_are_called_no_result():
    close = result([1.0, 2.0], [1.4, 1.8])        # differences −0.4, +0.2: mean −0.1, sd 0.42
    assert close.verdict == NO_DIFFERENCE
    assert any("two seeds within one standard deviation is not a result" in n for n in close.notes())
    apart = result([1.0, 1.1], [2.0, 2.2])        # differences −1.0, −1.1: far outside one sd
    assert not any("within one standard deviation" in n for n in apart.notes())
    assert any("Only 2 seeds" in n for n in apart.notes())


def fake_experiment(calls, seeds=tuple(range(5)), steps=3, value=None):
    def trial(use_mechanism, seed, steps):
        calls.append((use_mechanism, seed, steps))
        return value if value is not None else seed + (0.0 if use_mechanism else 0.5 + 0.1 * seed)
    trial.__module__ = __name__   # the fingerprint hashes the trial's module source
    return Experiment(name="fake", question="q?", task="t", mechanism="m", baseline="b", metric="loss",
                      lower_is_better=True, steps=steps, seeds=seeds, trial=trial)


def test_an_experiment_runs_both_arms_per_seed_and_computes_its_verdict():
    calls = []
    experiment = fake_experiment(calls)
    r = experiment.run()
    assert calls == [(arm, s, 3) for s in range(5) for arm in (True, False)]
    assert r.baseline_scores == pytest.approx(tuple(s + 0.5 + 0.1 * s for s in range(5))) and r.verdict == HELPS
    plan = experiment.plan()
    assert "3 training steps" in plan and "Seeds: 0–4" in plan and "wholly below 0 → 'helps'" in plan
    with pytest.raises(ConfigError):
        fake_experiment([], seeds=(0, 1))          # fewer than five seeds is not an experiment here
    with pytest.raises(TrainingError):
        fake_experiment([], value=float("nan")).run()


def test_load_or_run_reuses_only_exactly_the_same_plan(tmp_path):
    calls = []
    first = load_or_run(fake_experiment(calls), tmp_path)
    assert len(calls) == 10 and first.source == "run now"
    again = load_or_run(fake_experiment(calls), tmp_path)
    assert len(calls) == 10 and again.source.startswith("loaded from") and again.differences == first.differences
    load_or_run(fake_experiment(calls, seeds=tuple(range(6))), tmp_path)   # another plan: run again
    assert len(calls) == 22
    for path in tmp_path.glob("*.json"):
        path.write_text("{not json")
    assert load_or_run(fake_experiment(calls), tmp_path).source == "run now" and len(calls) == 32
    table = results_markdown([first, again])
    assert table.count("**helps**") == 2 and "3 × 5" in table


def test_local_mean_targets_match_a_loop():
    x, target = local_mean_batch(torch.Generator().manual_seed(0), batch=2, T=9, D=3, k=4)
    loop = torch.stack([x[:, max(0, t - 3):t + 1].mean(1) for t in range(9)], dim=1)
    torch.testing.assert_close(target, loop)


@pytest.mark.parametrize("lesson", sorted(LESSON_EXPERIMENTS))
def test_each_lesson_experiment_is_paired_deterministic_and_compares_two_different_arms(lesson):
    quick, full = LESSON_EXPERIMENTS[lesson](True), LESSON_EXPERIMENTS[lesson](False)
    assert len(quick.seeds) >= 5 and len(full.seeds) >= len(quick.seeds) and full.steps > quick.steps
    notebook = list((ROOT / "notebooks" / "src").glob(f"[0-9][0-9]_{lesson}.py"))   # keyed by lesson topic
    assert len(notebook) == 1 and LESSON_EXPERIMENTS[lesson].__name__ in notebook[0].read_text()
    mechanism, baseline = quick.trial(True, 0, 2), quick.trial(False, 0, 2)
    assert math.isfinite(mechanism) and math.isfinite(baseline)
    assert quick.trial(True, 0, 2) == mechanism             # seeded: the same run gives the same score
    assert mechanism != baseline                            # the arms differ: the mechanism changes the computation


def test_from_ablation_pairs_the_committed_runs():
    results = json.loads((ROOT / "assets" / "results" / "ablation.json").read_text())
    r = from_ablation(results, "integrated")
    assert r.seeds == (0, 1) and r.steps == results["settings"]["steps"] and r.interval.t == pytest.approx(12.706205)
    assert r.verdict == NO_DIFFERENCE
    made_up = {"settings": {"steps": 5}, "runs": [{"variant": v, "seed": s, "wer": w}
                                                  for v, s, w in (("x", 0, 0.1), ("x", 1, 0.2), ("standard", 0, 0.3),
                                                                  ("standard", 2, 0.4))]}
    with pytest.raises(ConfigError):
        from_ablation(made_up, "x")                         # only seed 0 in common
