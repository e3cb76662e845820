"""Which training data closes the gap to real speech? Reading the real / synthetic / both table.

``tools/an4_experiment.py`` trains the echo-an4 recipe once per data mixture and seed, at one budget, and
writes a table (shipped as ``assets/echo-an4/experiments.json``)::

    {"steps": 400,
     "table": {mix: {column: {"wer": mean %, "wer_sd": sd % or null, "cer": mean %,
                              "seeds": [0, 1], "wer_each": [% per seed]}}},
     "arms": [...]}                    # one entry per finished run, the scores the table was made from

with ``mix`` one of ``real``, ``synthetic``, ``both`` and ``column`` one of :data:`MIXTURE_COLUMNS`.
:func:`compare_mixtures` reads one column and *computes* what it says: which mixture has the lowest mean
WER, by how much it leads the next one, and whether that lead is larger than the spread between seeds.
When the per-seed scores of the two best arms overlap, the ranking is **not a result**: another seed
could swap it. Lesson 12 prints the verdict rather than stating it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..bundled import ASSETS_DIR
from ..errors import DataError
from .paired import PairedResult

__all__ = ["MIXTURE_COLUMNS", "SHIPPED_TABLE", "LOCAL_TABLE", "find_mixture_table", "load_mixture_table",
           "seed_scores", "MixtureVerdict", "compare_mixtures"]

#: Column key → what it scores (the unseen-speaker columns: speakers no arm heard in training).
MIXTURE_COLUMNS = {"dev": "AN4 dev", "dev_ctc": "AN4 dev, CTC head", "test": "AN4 test",
                   "commands": "Speech Commands, unseen speakers", "fsdd": "FSDD, unseen speaker"}
_ROOT = Path(__file__).resolve().parents[2]
#: Where the shipped table lives (beside the model it compares), and where ``tools/an4_experiment.py`` writes a
#: table of one's own runs in a checkout.
SHIPPED_TABLE = ASSETS_DIR / "echo-an4" / "experiments.json"
LOCAL_TABLE = _ROOT / "runs" / "an4-experiment" / "table.json"


def find_mixture_table() -> Path | None:
    """The shipped table if it exists, else the table of a local ``tools/an4_experiment.py`` run, else ``None``."""
    return next((p for p in (SHIPPED_TABLE, LOCAL_TABLE) if p.is_file()), None)


def load_mixture_table(path: str | Path) -> dict:
    """Read and check a table written by ``tools/an4_experiment.py`` (the schema in the module docstring).

    Raises:
        DataError: the file is missing or not JSON, or a field is absent or inconsistent (names the file,
            the mixture and the column).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read the experiment table {str(path)!r}: {exc}") from exc
    if not isinstance(data.get("steps"), int) or not isinstance(data.get("table"), dict) or not data["table"]:
        raise DataError(f"{str(path)!r} is not an experiment table: it needs an integer 'steps' and a non-empty "
                        "'table' {mix: {column: {wer, wer_sd, cer, seeds, wer_each}}}")
    for mix, columns in data["table"].items():
        for column, cell in columns.items():
            missing = {"wer", "wer_sd", "cer", "seeds", "wer_each"} - set(cell)
            if missing:
                raise DataError(f"{str(path)!r}: table[{mix!r}][{column!r}] lacks {sorted(missing)}")
            if len(cell["seeds"]) != len(cell["wer_each"]):
                raise DataError(f"{str(path)!r}: table[{mix!r}][{column!r}] has {len(cell['seeds'])} seeds but "
                                f"{len(cell['wer_each'])} per-seed WERs")
    return data


def seed_scores(table: Mapping, column: str = "dev") -> dict[str, dict[int, float]]:
    """``{mix: {seed: WER %}}`` of one column of a loaded table (``table`` is the whole file or its ``"table"``).

    Raises:
        DataError: no mixture has ``column``.
    """
    table = table.get("table", table)
    scores = {mix: dict(zip(cols[column]["seeds"], cols[column]["wer_each"]))
              for mix, cols in table.items() if column in cols}
    if not scores:
        known = sorted({c for cols in table.values() for c in cols})
        raise DataError(f"no mixture of the table has the column {column!r} (columns: {known})")
    return scores


def _sd(values) -> float | None:
    values = list(values)
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    return (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5


@dataclass(frozen=True)
class MixtureVerdict:
    """What one column of the table says about the two best mixtures.

    Attributes:
        column: the column key; steps: the training budget of every arm.
        ranking: ``(mix, mean WER %, sd or None, per-seed WERs)`` per mixture, lowest mean first.
        winner, runner_up: the two lowest means; gap: ``runner_up − winner`` mean, in WER points.
        spread: the larger of the two arms' seed standard deviations (``None`` with one seed each).
        overlap: whether the two arms' per-seed ranges ``[min, max]`` touch or intersect.
        paired: winner vs runner-up paired by seed (:class:`~echo_edu.experiments.paired.PairedResult`),
            ``None`` when they share fewer than two seeds.
    """

    column: str
    steps: int
    ranking: tuple[tuple[str, float, float | None, tuple[float, ...]], ...]
    winner: str
    runner_up: str
    gap: float
    spread: float | None
    overlap: bool
    paired: PairedResult | None

    @property
    def is_result(self) -> bool:
        """The lead holds only if it is larger than the seed spread and no seed of one arm reaches the other."""
        return self.spread is not None and not self.overlap and self.gap > self.spread

    def text(self) -> str:
        """The verdict in words, every number computed from the table."""
        label = MIXTURE_COLUMNS.get(self.column, self.column)
        (_, best, _, best_each), (_, second, _, second_each) = self.ranking[0], self.ranking[1]
        head = (f"{label}, {self.steps} steps per arm: '{self.winner}' has the lowest mean WER ({best:.1f} %), "
                f"{self.gap:.1f} points below '{self.runner_up}' ({second:.1f} %).")
        if self.spread is None:
            return head + " Not a result: an arm has a single seed, so there is no seed spread to compare the gap with."
        ranges = (f"seeds {', '.join(f'{v:.1f}' for v in best_each)} vs {', '.join(f'{v:.1f}' for v in second_each)}")
        if not self.is_result:
            why = "the two arms' seeds overlap" if self.overlap else "the gap is not larger than the seed sd"
            return head + f" Not a result: {why} ({ranges}; sd up to {self.spread:.1f}); another seed could swap them."
        text = head + f" The gap exceeds the seed spread (sd up to {self.spread:.1f}) and the seeds do not overlap ({ranges})."
        if self.paired is not None:
            ci = self.paired.interval
            text += (f" The stricter test, paired over {ci.n} seeds: the {ci.confidence:.0%} interval of the "
                     f"difference is [{ci.low:+.1f}, {ci.high:+.1f}] points, '{self.paired.verdict}'.")
        return text


def compare_mixtures(table: Mapping, column: str = "dev") -> MixtureVerdict:
    """Rank the mixtures on ``column`` by mean WER and judge the lead of the best one (see :class:`MixtureVerdict`).

    Raises:
        DataError: fewer than two mixtures have the column.
    """
    scores = seed_scores(table, column)
    if len(scores) < 2:
        raise DataError(f"column {column!r} has {len(scores)} mixture(s); a comparison needs two")
    ranking = sorted(((mix, sum(s.values()) / len(s), _sd(s.values()), tuple(s.values())) for mix, s in scores.items()),
                     key=lambda row: row[1])
    (winner, best, best_sd, best_each), (runner_up, second, second_sd, second_each) = ranking[:2]
    sds = [sd for sd in (best_sd, second_sd) if sd is not None]
    common = sorted(set(scores[winner]) & set(scores[runner_up]))
    paired = None
    if len(common) >= 2:
        paired = PairedResult(name=f"mixtures: {column}", mechanism=winner, baseline=runner_up,
                              metric=f"{MIXTURE_COLUMNS.get(column, column)} WER %", lower_is_better=True,
                              steps=int(table.get("steps", 0)), seeds=tuple(common),
                              mechanism_scores=tuple(scores[winner][s] for s in common),
                              baseline_scores=tuple(scores[runner_up][s] for s in common), source="experiment table")
    return MixtureVerdict(column=column, steps=int(table.get("steps", 0)), ranking=tuple(ranking), winner=winner,
                          runner_up=runner_up, gap=second - best, spread=max(sds) if len(sds) == 2 else None,
                          overlap=min(second_each) <= max(best_each), paired=paired)
