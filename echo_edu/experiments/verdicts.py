"""The training lesson's view of the mechanism lessons' experiments: collect the results, one table.

Lessons 05–07 each end with a pre-registered experiment (:data:`~.lessons.LESSON_EXPERIMENTS`, keyed by
lesson topic). :func:`collect` gathers their results at one budget: for each experiment, the first folder
that holds a result of exactly that experiment (same plan, same trial code, same torch:
:meth:`~.paired.Experiment.fingerprint`), else a fresh run, saved in the first folder.
:func:`verdicts_markdown` sets them side by side with the predictions, and :func:`overlap_sentence` says
in words what the intervals that contain zero mean. ``python tools/run_experiments.py`` refreshes the
committed results (``assets/results/experiments/``) after the experiments' code changes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Mapping

from ..errors import ConfigError
from .lessons import LESSON_EXPERIMENTS
from .paired import PairedResult, load_saved, save_result
from .stats import NO_DIFFERENCE, VERDICTS

__all__ = ["collect", "verdicts_markdown", "overlap_sentence"]


def collect(quick: bool, folders: Mapping[str, str | Path], run_missing: bool = True,
            progress: bool = False) -> dict[str, PairedResult]:
    """Every lesson experiment's result at the quick (``quick=True``) or the full budget.

    Args:
        folders: label → folder, searched in order; a result's ``source`` becomes ``"<label>: <file>"``.
            A missing result is run and saved in the *first* folder (its label says "run now").
        run_missing: when ``False``, a missing result is an error instead of a run (minutes of CPU).

    Returns:
        lesson topic (``"myelinated_attention"``, …) → :class:`PairedResult`.

    Raises:
        ConfigError: no folders, or a result is missing and ``run_missing`` is ``False``.
    """
    if not folders:
        raise ConfigError("collect needs at least one folder to look in (and to save fresh runs in)")
    first_label, first = next(iter(folders.items()))
    results = {}
    for topic, build in LESSON_EXPERIMENTS.items():
        experiment = build(quick)
        for label, folder in folders.items():
            saved = load_saved(experiment, folder)
            if saved is not None:
                results[topic] = dataclasses.replace(saved, source=f"{label}: {saved.source.split()[-1]}")
                break
        else:
            if not run_missing:
                raise ConfigError(f"no saved result of {experiment.name} at {experiment.steps} steps × "
                                  f"{len(experiment.seeds)} seeds in {[str(f) for f in folders.values()]}; run "
                                  f"lesson '{topic}' or tools/run_experiments.py, or pass run_missing=True")
            fresh = experiment.run(progress=progress)
            path = save_result(experiment, fresh, first)
            results[topic] = dataclasses.replace(fresh, source=f"run now, saved in {first_label}: {path.name}")
    return results


def _mean(values) -> float:
    return sum(values) / len(values)


def verdicts_markdown(results: Mapping[str, PairedResult], predictions: Mapping[str, str | None]) -> str:
    """One markdown row per experiment: mechanism, prediction, effect with its interval, verdict, match.

    The effect is the mean per-seed difference mechanism − baseline in the experiment's metric, with its
    confidence interval, and as a share of the baseline's mean score (the metrics differ between lessons).

    Raises:
        ConfigError: a prediction that is neither ``None`` nor one of :data:`~.stats.VERDICTS`.
    """
    rows = ["| lesson | mechanism vs baseline | metric | steps × seeds | prediction | effect: mean difference "
            "[interval] | relative to the baseline | verdict | prediction holds? | source |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for topic, r in results.items():
        prediction = predictions.get(topic)
        if prediction is not None and prediction not in VERDICTS:
            raise ConfigError(f"the prediction for {topic!r} must be one of {VERDICTS} or None, got {prediction!r}")
        ci, base = r.interval, _mean(r.baseline_scores)
        holds = "—" if prediction is None else ("yes" if prediction == r.verdict else "**no**")
        rows.append(f"| {topic} | {r.mechanism} vs {r.baseline} | {r.metric} ({'↓' if r.lower_is_better else '↑'}) | "
                    f"{r.steps} × {ci.n} | {prediction or 'none written down'} | {ci.mean:+.4g} "
                    f"[{ci.low:+.4g}, {ci.high:+.4g}] ({ci.confidence:.0%}) | {100 * ci.mean / base:+.1f} % of "
                    f"{base:.4g} | **{r.verdict}** | {holds} | {r.source} |")
    return "\n".join(rows)


def overlap_sentence(results: Mapping[str, PairedResult]) -> str:
    """What the collected intervals say together, computed from them: which contain zero, and what that means."""
    zero = [f"{r.mechanism} vs {r.baseline}" for r in results.values() if r.verdict == NO_DIFFERENCE]
    decided = [f"{r.mechanism} {r.verdict}" for r in results.values() if r.verdict != NO_DIFFERENCE]
    budgets = sorted({f"{r.steps} steps × {r.interval.n} seeds" for r in results.values()})
    parts = []
    if zero:
        which = (f"The interval of {zero[0]} contains" if len(zero) == 1
                 else f"The intervals of {', '.join(zero[:-1])} and {zero[-1]} contain")
        parts.append(f"{which} 0: at this budget the experiment cannot tell the two arms apart, in either "
                     f"direction. That is not evidence that they are equal; more seeds narrow an interval, and a "
                     f"longer run may change the difference itself.")
    if decided:
        parts.append(f"Wholly on one side of 0: {', '.join(decided)}. Each verdict holds for one small task at one "
                     f"budget ({'; '.join(budgets)}), not for speech recognition.")
    return " ".join(parts)
