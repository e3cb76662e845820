"""Pre-registered paired experiments: does a mechanism *help*, not only work?

The mechanism lessons (05–07) prove each mechanism correct — causal, cache-exact, differentiable. This
package asks the other question, the way an experiment should:

1. **Plan first** (:class:`Experiment`): the question, one small task, the two arms (the mechanism and a
   baseline: standard attention or the mechanism switched off), the metric and its direction, a fixed
   budget and at least five seeds. ``experiment.plan()`` prints it; the learner writes a prediction.
2. **Run paired** (:meth:`Experiment.run`): both arms per seed, same data, same held-out examples.
3. **Read the numbers** (:class:`PairedResult`): mean, standard deviation and a t-based 95 % interval of
   the per-seed differences (:mod:`.stats`), and a verdict computed from the interval — ``"helps"``,
   ``"hurts"`` or ``"no detectable difference at this budget"``.

Modules: :mod:`.stats` (Student's t, intervals, verdicts), :mod:`.paired` (plans, runs, results, saving),
:mod:`.lessons` (the three lessons' experiments, :data:`LESSON_EXPERIMENTS`), :mod:`.verdicts` (lesson 09's
collection of their results in one table), :mod:`.mixtures` (lesson 12: reading the real / synthetic / both
training-data table, :func:`compare_mixtures`).

    from echo_edu.experiments import myelinated_routing
    experiment = myelinated_routing(quick=True)
    print(experiment.plan())
    result = experiment.run(progress=True)
    print(result.report(prediction="helps"))
"""

from __future__ import annotations

from ..errors import ConfigError
from .mixtures import (MIXTURE_COLUMNS, MixtureVerdict, compare_mixtures, find_mixture_table, load_mixture_table,
                       seed_scores)
from .lessons import LESSON_EXPERIMENTS, myelinated_routing, refiner_lookback, span_local_mean
from .paired import (MIN_SEEDS, Experiment, PairedResult, default_results_dir, load_or_run, load_saved,
                     results_markdown, save_result)
from .stats import HELPS, HURTS, NO_DIFFERENCE, VERDICTS, PairedInterval, paired_interval, t_quantile, verdict_of
from .verdicts import collect, overlap_sentence, verdicts_markdown

__all__ = ["Experiment", "PairedResult", "PairedInterval", "paired_interval", "t_quantile", "verdict_of",
           "VERDICTS", "HELPS", "HURTS", "NO_DIFFERENCE", "MIN_SEEDS", "LESSON_EXPERIMENTS", "myelinated_routing",
           "refiner_lookback", "span_local_mean", "save_result", "load_or_run", "default_results_dir",
           "results_markdown", "from_ablation", "collect", "verdicts_markdown", "overlap_sentence", "load_saved",
           "MIXTURE_COLUMNS", "MixtureVerdict", "compare_mixtures", "find_mixture_table", "load_mixture_table",
           "seed_scores"]


def from_ablation(results: dict, variant: str, baseline: str = "standard", metric: str = "wer") -> PairedResult:
    """Pair two variants of ``benchmarks/ablation.py``'s results (the parsed JSON) seed by seed.

    The ablation trains every variant on the same data for each seed, so its runs pair like an
    experiment's; ``metric`` (``"wer"`` or ``"cer"``) is reported in percent.

    Raises:
        ConfigError: a variant has no runs, or the two variants share fewer than two seeds.
    """
    runs = {(r["variant"], r["seed"]): 100 * r[metric] for r in results["runs"]}
    seeds = sorted({s for v, s in runs if v == variant} & {s for v, s in runs if v == baseline})
    if len(seeds) < 2:
        known = sorted({v for v, _ in runs})
        raise ConfigError(f"the ablation has {len(seeds)} common seeds of {variant!r} and {baseline!r} (variants: "
                          f"{known}); an interval needs at least 2")
    return PairedResult(name=f"ablation: {variant}", mechanism=variant, baseline=baseline,
                        metric=f"test {metric.upper()} %", lower_is_better=True, steps=results["settings"]["steps"],
                        seeds=tuple(seeds), mechanism_scores=tuple(runs[variant, s] for s in seeds),
                        baseline_scores=tuple(runs[baseline, s] for s in seeds), source="assets/results/ablation.json")
