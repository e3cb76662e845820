"""Lesson 09's collection of the mechanism lessons' experiments: where results come from, the table, the sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from echo_edu.errors import ConfigError
from echo_edu.experiments import (HELPS, HURTS, LESSON_EXPERIMENTS, NO_DIFFERENCE, Experiment, PairedResult, collect,
                                  load_saved, overlap_sentence, save_result, verdicts_markdown)
from echo_edu.experiments import verdicts as verdicts_module

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "assets" / "results" / "experiments"


def fake(name, calls, gap=1.0):
    def trial(use_mechanism, seed, steps):
        calls.append(name)
        return seed + (0.0 if use_mechanism else gap + 0.1 * seed)
    trial.__module__ = __name__   # the fingerprint hashes the trial's module source
    return lambda quick: Experiment(name=name, question="q?", task="t", mechanism=f"{name}-m", baseline="b",
                                    metric="loss", lower_is_better=True, steps=2 if quick else 4,
                                    seeds=tuple(range(5)), trial=trial)


def result(name, differences, base=10.0):
    return PairedResult(name=name, mechanism=f"{name}-m", baseline="std", metric="mse", lower_is_better=True,
                        steps=7, seeds=tuple(range(len(differences))), baseline_scores=(base,) * len(differences),
                        mechanism_scores=tuple(base + d for d in differences))


def test_collect_takes_the_first_folder_holding_exactly_this_experiment_else_runs_and_saves(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(verdicts_module, "LESSON_EXPERIMENTS", {"a": fake("a", calls), "b": fake("b", calls)})
    mine, committed = tmp_path / "mine", tmp_path / "committed"
    experiment_a = fake("a", calls)(True)
    save_result(experiment_a, experiment_a.run(), committed)
    calls.clear()
    with pytest.raises(ConfigError):      # b is nowhere and may not run
        collect(True, {"mine": mine, "committed": committed}, run_missing=False)
    got = collect(True, {"mine": mine, "committed": committed})
    assert calls == ["b"] * 10            # a was loaded, b ran both arms of five seeds
    assert got["a"].source == "committed: a-2.json" and got["b"].source == "run now, saved in mine: b-2.json"
    assert load_saved(fake("b", [])(True), mine) is not None and not (committed / "b-2.json").exists()
    again = collect(True, {"mine": mine, "committed": committed})
    assert calls == ["b"] * 10 and again["b"].source == "mine: b-2.json"
    assert again["b"].differences == got["b"].differences
    collect(False, {"mine": mine, "committed": committed})            # the full budget is another experiment
    assert len(calls) == 30
    with pytest.raises(ConfigError):
        collect(True, {})


def test_the_table_shows_prediction_effect_interval_verdict_and_whether_the_prediction_holds():
    results = {"m1": result("m1", [-1.0, -1.1, -0.9, -1.0, -1.2]), "m2": result("m2", [0.5, -0.5, 0.4, -0.3, 0.1])}
    table = verdicts_markdown(results, {"m1": HELPS, "m2": HELPS})
    rows = table.splitlines()[2:]
    assert len(rows) == 2
    assert "| helps |" in rows[0] and f"**{HELPS}**" in rows[0] and "| yes |" in rows[0] and "-10.4 % of 10" in rows[0]
    low, high = results["m1"].interval.low, results["m1"].interval.high
    assert f"[{low:+.4g}, {high:+.4g}] (95%)" in rows[0]
    assert f"**{NO_DIFFERENCE}**" in rows[1] and "| **no** |" in rows[1]
    assert "none written down" in verdicts_markdown(results, {})
    with pytest.raises(ConfigError):
        verdicts_markdown(results, {"m1": "probably"})


def test_the_sentence_names_exactly_the_intervals_that_contain_zero():
    helps, open_, hurts = (result("h", [-1.0, -1.1, -0.9, -1.0, -1.2]), result("o", [0.5, -0.5, 0.4, -0.3, 0.1]),
                           result("u", [1.0, 1.1, 0.9, 1.0, 1.2]))
    assert (helps.verdict, open_.verdict, hurts.verdict) == (HELPS, NO_DIFFERENCE, HURTS)
    one = overlap_sentence({"h": helps, "o": open_})
    assert "The interval of o-m vs std contains 0" in one and "not evidence that they are equal" in one
    assert "h-m helps" in one and "o-m" not in one.split("Wholly")[1]
    assert "intervals of o-m vs std and u-m vs std contain 0" in overlap_sentence(
        {"o": open_, "u": result("u", [0.5, -0.5, 0.4, -0.3, 0.1])})
    assert "contain" not in overlap_sentence({"h": helps, "u": hurts})


@pytest.mark.parametrize("quick", [True, False], ids=["quick", "full"])
@pytest.mark.parametrize("topic", sorted(LESSON_EXPERIMENTS))
def test_the_committed_results_are_of_exactly_the_current_experiments(topic, quick):
    """CI's lesson 09 loads the quick-budget results instead of running minutes of experiments, so they must
    be there and current; a full-budget one (people's lesson 09 runs it when absent) must be current if committed."""
    experiment = LESSON_EXPERIMENTS[topic](quick)
    if not quick and not (COMMITTED / f"{experiment.name}-{experiment.steps}.json").exists():
        return
    assert load_saved(experiment, COMMITTED) is not None, (
        f"assets/results/experiments has no result of the current {experiment.name} at {experiment.steps} steps "
        f"(plan, code in echo_edu/experiments/lessons.py or torch changed): run python tools/run_experiments.py")
