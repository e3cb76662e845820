"""Mix corpora into one, and draw training batches with per-source weights.

Sources differ wildly in size: 845 AN4 training clips, 500 of one FSDD speaker, 4 000 synthetic clips.
Drawing uniformly over the concatenation lets the largest source set the diet. :func:`mix` concatenates
each split of every source (aligning their columns: a synthetic corpus gains ``speaker`` = its voice,
``source`` = ``synth:TASK`` and an ``id``) and gives every *training* row a ``sample_weight``:

* ``balance=True`` (default): ``weight / clips of its source`` — source *s* is drawn with probability
  ``weight_s / Σ weights``, whatever its size (weights 1, 1, 1: a third each);
* ``balance=False``: ``weight`` — probability proportional to ``weight × clips``, the natural mix when
  every weight is 1.

:class:`WeightedStepSampler` turns those weights into the example indices of each optimizer step, the
same interface as ``echo_edu.data.collate.StepSampler`` (``indices(step)``) and, like it, a pure function of
``(seed, step)``: a resumed run draws the batches an uninterrupted one would have. Each step draws
``per_step`` indices *with replacement* from the weights (a small source is revisited more often; that
is the point of balancing). Use it when the train split has a ``sample_weight`` column::

    weights = sample_weights(corpus["train"])            # None when there is no such column
    sampler = WeightedStepSampler(weights, per_step, seed) if weights is not None else StepSampler(...)
"""

from __future__ import annotations

from typing import Sequence

import torch

from ..errors import ConfigError, ShapeError
from .rows import REAL_COLUMNS
from .splits import SPLITS
from .corpus import _formatted

__all__ = ["mix", "with_real_columns", "sample_weights", "source_shares", "WeightedStepSampler"]


def with_real_columns(dataset, source: str):
    """``dataset`` with every column of :data:`REAL_COLUMNS` (added from ``voice``/``source`` when absent)."""
    missing = [c for c in REAL_COLUMNS if c not in dataset.column_names]
    basic = [c for c in ("audio", "text") if c in missing]
    if basic:
        raise ConfigError(f"source {source!r} has no {basic[0]!r} column (columns: {dataset.column_names})")
    n = len(dataset)
    fill = {"voice": lambda: [source] * n, "engine": lambda: [source] * n,
            "duration": lambda: [len(a["array"]) / a["sampling_rate"] for a in dataset["audio"]],
            "speaker": lambda: [str(v) for v in dataset["voice"]], "source": lambda: [source] * n,
            "id": lambda: [f"{source}/{i}" for i in range(n)]}
    for name in REAL_COLUMNS:
        if name in missing:
            dataset = dataset.add_column(name, fill[name]())
    return dataset.select_columns(list(REAL_COLUMNS))


def mix(parts: Sequence[tuple[str, object, float]], *, balance: bool = True, splits: Sequence[str] = SPLITS):
    """Concatenate ``(label, DatasetDict, weight)`` parts split by split; weight the training rows.

    Returns:
        ``DatasetDict`` of the ``splits`` (default train / validation / test) in :data:`REAL_COLUMNS`
        (``train`` adds ``sample_weight``, float64), audio arrays formatted as numpy like ``build_corpus``'s.

    Raises:
        ConfigError: no parts, a weight that is not positive, or, when ``train`` is mixed, a part without it.
    """
    from datasets import DatasetDict, concatenate_datasets

    if not parts:
        raise ConfigError("mix needs at least one source")
    out, skipped = {}, []
    for split in splits:
        pieces = []
        for label, corpus, weight in parts:
            if not weight > 0:
                raise ConfigError(f"source {label!r} has weight {weight}; weights must be positive")
            if split == "train" and "train" not in corpus:
                raise ConfigError(f"source {label!r} has no train split (splits: {list(corpus)})")
            if split not in corpus:
                continue
            piece = with_real_columns(corpus[split].with_format(None), label)
            if split == "train":
                n = max(len(piece), 1)
                piece = piece.add_column("sample_weight", [float(weight) / (n if balance else 1)] * len(piece))
            pieces.append(piece)
        if not pieces:
            raise ConfigError(f"no source has a {split} split (sources: {[label for label, _, _ in parts]})")
        features = pieces[0].features
        out[split] = concatenate_datasets([p.cast(features) if p.features != features else p for p in pieces])
    for _, corpus, _ in parts:
        skipped += list(getattr(corpus, "skipped", []))
    mixed = _formatted(DatasetDict(out))
    mixed.skipped = skipped
    return mixed


def sample_weights(dataset) -> torch.Tensor | None:
    """The ``sample_weight`` column as a float64 tensor, or ``None`` when the dataset has none."""
    if "sample_weight" not in getattr(dataset, "column_names", ()):
        return None
    return torch.tensor(list(dataset["sample_weight"]), dtype=torch.float64)


def source_shares(dataset) -> dict[str, float]:
    """``{source: probability that one draw comes from it}`` (what the weights promise)."""
    weights = sample_weights(dataset)
    if weights is None:
        raise ConfigError("the dataset has no sample_weight column (mix it with echo_edu.data.mixture.mix)")
    total, shares = float(weights.sum()), {}
    for source, w in zip(dataset["source"], weights.tolist()):
        shares[source] = shares.get(source, 0.0) + w / total
    return shares


class WeightedStepSampler:
    """Example indices of each optimizer step, drawn by weight; a pure function of ``(seed, step)``.

    Args:
        weights: ``(n,)`` non-negative row weights (:func:`sample_weights`), not all zero.
        per_step: examples per optimizer step (batch × accumulation × ranks, like ``StepSampler``).
        seed: the run's seed.
    """

    def __init__(self, weights: Sequence[float] | torch.Tensor, per_step: int, seed: int):
        w = torch.as_tensor(weights, dtype=torch.float64).reshape(-1)
        if w.numel() == 0:
            raise ShapeError("the training split is empty")
        if not bool(torch.isfinite(w).all()) or bool((w < 0).any()) or float(w.sum()) <= 0:
            raise ConfigError("sample weights must be finite, non-negative and not all zero")
        self.weights, self.n, self.per_step, self.seed = w / w.sum(), w.numel(), per_step, seed

    def indices(self, step: int) -> list[int]:
        """The ``per_step`` row indices of optimizer step ``step``."""
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        return torch.multinomial(self.weights, self.per_step, replacement=True, generator=g).tolist()
