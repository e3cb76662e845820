"""A pre-registered paired experiment: the plan, the run, the result and its verdict.

An :class:`Experiment` is written down *before* anything runs: the question, the task, the two arms,
the metric and which way is better, the fixed budget (training steps) and the seeds. Its
:meth:`~Experiment.plan` prints exactly that, so a learner can commit to a prediction first.
:meth:`~Experiment.run` then trains both arms once per seed — same data, same held-out examples, same
budget — and returns a :class:`PairedResult`, whose verdict is computed from the numbers by
:func:`~echo_edu.experiments.stats.verdict_of`, never typed in.

Results can be saved as JSON and loaded again (:func:`save_result`, :func:`load_or_run`), so the
training lesson can collect the verdicts the mechanism lessons measured without training again.
A saved result is reused only when its plan — steps, seeds, metric, the code of the trial and the
torch version — is exactly the plan asked for.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch
from tqdm.auto import tqdm

from ..errors import ConfigError, TrainingError
from ..utils import cache_root
from .stats import VERDICTS, PairedInterval, paired_interval, verdict_of

__all__ = ["MIN_SEEDS", "Comparison", "Experiment", "PairedResult", "default_results_dir", "save_result", "load_saved",
           "load_or_run", "results_markdown"]

#: a lesson experiment runs at least this many seeds (two seeds cannot separate an effect from noise)
MIN_SEEDS = 5


def _seeds_text(seeds: Sequence[int]) -> str:
    seeds = list(seeds)
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))) and len(seeds) > 2:
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


@dataclass(frozen=True)
class Comparison:
    """What a paired comparison compares: shared by its plan (:class:`Experiment`) and its outcome (:class:`PairedResult`).

    Attributes:
        name: short identifier, also the file name of a saved result (``"myelinated-routing"``).
        mechanism, baseline: labels of the two arms; metric: what is measured on held-out examples.
        lower_is_better: direction of the metric; steps: the fixed training budget of every run.
        seeds: the seeds, in order, one pair of runs each.
    """

    name: str
    mechanism: str
    baseline: str
    metric: str
    lower_is_better: bool
    steps: int
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class PairedResult(Comparison):
    """Both arms' scores, one per seed, and what they say. Build it by running an :class:`Experiment`, or
    directly from scores measured elsewhere (e.g. the committed ablation).

    Attributes (beyond :class:`Comparison`'s):
        mechanism_scores, baseline_scores: the metric of each arm per seed.
        confidence: level of the interval; seconds: wall time of the run; source: where it came from.
    """

    mechanism_scores: tuple[float, ...]
    baseline_scores: tuple[float, ...]
    confidence: float = 0.95
    seconds: float = 0.0
    source: str = "run now"

    def __post_init__(self):
        if not len(self.seeds) == len(self.mechanism_scores) == len(self.baseline_scores):
            raise ConfigError(f"{self.name}: {len(self.seeds)} seeds but {len(self.mechanism_scores)} mechanism and "
                              f"{len(self.baseline_scores)} baseline scores; pairs need one of each per seed")

    @property
    def differences(self) -> tuple[float, ...]:
        """``mechanism − baseline`` per seed (negative is better when lower is better)."""
        return tuple(m - b for m, b in zip(self.mechanism_scores, self.baseline_scores))

    @property
    def interval(self) -> PairedInterval:
        return paired_interval(self.differences, self.confidence)

    @property
    def verdict(self) -> str:
        """One of :data:`~echo_edu.experiments.stats.VERDICTS`, read off :attr:`interval`."""
        return verdict_of(self.interval, self.lower_is_better)

    def notes(self) -> list[str]:
        """What the verdict does and does not mean, in sentences computed from this result."""
        ci = self.interval
        notes = [f"This is one task at one budget ({self.steps} training steps, {ci.n} seeds); a longer run or "
                 f"another task can come out differently."]
        if ci.n < MIN_SEEDS:
            notes.append(f"Only {ci.n} seeds: the {ci.confidence:.0%} interval multiplies the standard error by "
                         f"t = {ci.t:.2f}, so only a very large effect can show.")
        if ci.n == 2 and abs(ci.mean) <= ci.sd:
            notes.append(f"The two seeds differ by {abs(ci.mean):.3g} on average, within one standard deviation "
                         f"({ci.sd:.3g}): two seeds within one standard deviation is not a result, in either direction.")
        if self.verdict != VERDICTS[2]:
            side = "below" if (ci.high < 0) else "above"
            notes.append(f"The whole interval lies {side} 0, and {'lower' if self.lower_is_better else 'higher'} is "
                         f"better, hence '{self.verdict}'.")
        else:
            notes.append(f"The interval contains 0: at this budget the arms cannot be told apart. That is not "
                         f"evidence that they are equal — more seeds narrow the interval.")
        return notes

    def report(self, prediction: str | None = None) -> str:
        """Per-seed scores, each arm's mean ± sd, the interval of the difference, the verdict and the prediction.

        Raises:
            ConfigError: ``prediction`` is not ``None`` and not one of the three verdicts.
        """
        if prediction is not None and prediction not in VERDICTS:
            raise ConfigError(f"a prediction must be one of {VERDICTS} (or None), got {prediction!r}")
        ci, width = self.interval, max(len(self.mechanism), len(self.baseline), 10)
        lines = [f"{self.name}: {self.metric}, {'lower' if self.lower_is_better else 'higher'} is better; "
                 f"{self.steps} steps; seeds {_seeds_text(self.seeds)} ({self.source})",
                 f"{'seed':>6}  {self.mechanism:>{width}}  {self.baseline:>{width}}  {'difference':>10}"]
        lines += [f"{s:>6}  {m:>{width}.4f}  {b:>{width}.4f}  {d:>+10.4f}"
                  for s, m, b, d in zip(self.seeds, self.mechanism_scores, self.baseline_scores, self.differences)]
        lines.append(f"{'mean':>6}  {_mean(self.mechanism_scores):>{width}.4f}  {_mean(self.baseline_scores):>{width}.4f}"
                     f"  {ci.mean:>+10.4f}")
        lines.append(f"{'sd':>6}  {_sd(self.mechanism_scores):>{width}.4f}  {_sd(self.baseline_scores):>{width}.4f}"
                     f"  {ci.sd:>10.4f}")
        lines.append(f"difference {self.mechanism} − {self.baseline}: {ci.mean:+.4f}, {ci.confidence:.0%} interval "
                     f"[{ci.low:+.4f}, {ci.high:+.4f}] (t = {ci.t:.3f} with {ci.n - 1} degrees of freedom, "
                     f"standard error {ci.se:.4f})")
        lines.append(f"verdict: {self.mechanism} {self.verdict}" if self.verdict != VERDICTS[2]
                     else f"verdict: {self.verdict}")
        if prediction is None:
            lines.append("your prediction: none written down — pre-registering means writing it before the run.")
        else:
            match = "it matches the measurement" if prediction == self.verdict else "the measurement says otherwise"
            lines.append(f"your prediction: {prediction!r} — {match}.")
        return "\n".join(lines + [f"note: {n}" for n in self.notes()])

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str | None = None) -> "PairedResult":
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        if source is not None:
            fields["source"] = source
        return cls(**fields)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _sd(values: Sequence[float]) -> float:
    mean = _mean(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / max(1, len(values) - 1))


#: ``trial(use_mechanism, seed, steps) -> metric``: train one arm for ``steps`` steps from ``seed`` and
#: score it on held-out examples that depend on the seed only (so the two arms of a seed see the same ones)
Trial = Callable[[bool, int, int], float]


@dataclass(frozen=True)
class Experiment(Comparison):
    """A paired comparison fixed before it runs (see the module docstring).

    Attributes (beyond :class:`Comparison`'s; ``seeds`` must be at least :data:`MIN_SEEDS`):
        question: the question in one sentence; task: what both arms are trained on.
        trial: the function that trains and scores one arm (:data:`Trial`); confidence: level of the interval.
    """

    question: str
    task: str
    trial: Trial = field(repr=False, compare=False)
    confidence: float = 0.95

    def __post_init__(self):
        if len(self.seeds) < MIN_SEEDS or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"{self.name}: a pre-registered experiment needs at least {MIN_SEEDS} distinct seeds, "
                              f"got {self.seeds}")
        if self.steps < 1:
            raise ConfigError(f"{self.name}: steps must be ≥ 1, got {self.steps}")

    def plan(self) -> str:
        """The pre-registration: everything that is fixed before the first number exists."""
        lo, hi = ("below", "above") if self.lower_is_better else ("above", "below")
        return "\n".join([
            f"Question: {self.question}",
            f"Task: {self.task}",
            f"Arms: {self.mechanism} (the mechanism) against {self.baseline} (the baseline); the same training "
            f"batches, the same held-out examples and {self.steps} training steps for both.",
            f"Metric: {self.metric} ({'lower' if self.lower_is_better else 'higher'} is better).",
            f"Seeds: {_seeds_text(self.seeds)} ({len(self.seeds)} pairs, compared seed by seed).",
            f"Decision rule: the {self.confidence:.0%} t-interval of the mean difference {self.mechanism} − "
            f"{self.baseline}: wholly {lo} 0 → 'helps', wholly {hi} 0 → 'hurts', containing 0 → "
            f"'{VERDICTS[2]}'."])

    def fingerprint(self) -> dict:
        """What a saved result must match to stand for this experiment (the plan, the trial's code, torch)."""
        source = inspect.getsource(sys.modules[self.trial.__module__])
        return {"name": self.name, "metric": self.metric, "mechanism": self.mechanism, "baseline": self.baseline,
                "steps": self.steps, "seeds": list(self.seeds), "confidence": self.confidence,
                "code": hashlib.sha256(source.encode()).hexdigest()[:16], "torch": torch.__version__}

    def run(self, progress: bool = False) -> PairedResult:
        """Train and score both arms for every seed; ``progress`` shows a tqdm bar (one tick per run).

        Raises:
            TrainingError: a run's metric is not a finite number (diverged training).
        """
        scores: dict[bool, list[float]] = {True: [], False: []}
        start = time.perf_counter()
        with tqdm(total=2 * len(self.seeds), desc=self.name, unit="run", disable=not progress) as bar:
            for seed in self.seeds:
                for use_mechanism in (True, False):
                    value = float(self.trial(use_mechanism, seed, self.steps))
                    if not math.isfinite(value):
                        arm = self.mechanism if use_mechanism else self.baseline
                        raise TrainingError(f"{self.name}: the {arm} run of seed {seed} scored {value}")
                    scores[use_mechanism].append(value)
                    bar.update()
        return PairedResult(name=self.name, mechanism=self.mechanism, baseline=self.baseline, metric=self.metric,
                            lower_is_better=self.lower_is_better, steps=self.steps, seeds=tuple(self.seeds),
                            mechanism_scores=tuple(scores[True]), baseline_scores=tuple(scores[False]),
                            confidence=self.confidence, seconds=time.perf_counter() - start)


def default_results_dir() -> Path:
    """``$ECHO_EDU_CACHE/experiments`` or ``~/.cache/echo_edu/experiments``: where lessons keep their results."""
    return cache_root() / "experiments"


def _path(experiment: Experiment, folder: str | Path | None) -> Path:
    return Path(folder if folder is not None else default_results_dir()) / f"{experiment.name}-{experiment.steps}.json"


def save_result(experiment: Experiment, result: PairedResult, folder: str | Path | None = None) -> Path:
    """Write ``result`` with ``experiment``'s fingerprint as JSON; returns the file."""
    path = _path(experiment, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"fingerprint": experiment.fingerprint(), "result": result.to_dict()}
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(payload, indent=1))
    partial.replace(path)  # atomic: a lesson loading it meanwhile sees the old file or the new, never half
    return path


def load_saved(experiment: Experiment, folder: str | Path | None = None) -> PairedResult | None:
    """The result saved in ``folder`` for exactly this experiment (same fingerprint; ``source`` says it was
    loaded), or ``None`` when there is none, it does not parse, or it was made by another plan, code or torch."""
    path = _path(experiment, folder)
    try:
        saved = json.loads(path.read_text())
        if saved["fingerprint"] == experiment.fingerprint():
            return PairedResult.from_dict(saved["result"], source=f"loaded from {path.name}")
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def load_or_run(experiment: Experiment, folder: str | Path | None = None, progress: bool = False) -> PairedResult:
    """The saved result of exactly this experiment if there is one (``source`` says so), else a fresh run,
    which is then saved. A file that does not parse or whose fingerprint differs is ignored and replaced."""
    saved = load_saved(experiment, folder)
    if saved is not None:
        return saved
    result = experiment.run(progress=progress)
    save_result(experiment, result, folder)
    return result


def results_markdown(results: Sequence[PairedResult]) -> str:
    """One markdown table: per experiment the arms, budget, mean difference, interval and verdict."""
    rows = ["| experiment | mechanism vs baseline | metric | steps × seeds | mean difference (sd) | "
            "interval | verdict | source |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        ci = r.interval
        rows.append(f"| {r.name} | {r.mechanism} vs {r.baseline} | {r.metric} ({'↓' if r.lower_is_better else '↑'}) | "
                    f"{r.steps} × {ci.n} | {ci.mean:+.4g} ({ci.sd:.2g}) | [{ci.low:+.4g}, {ci.high:+.4g}] "
                    f"({ci.confidence:.0%}) | "
                    f"**{r.verdict}** | {r.source} |")
    return "\n".join(rows)
