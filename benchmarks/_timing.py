"""Timing shared by the benchmark scripts (a helper module, not a benchmark)."""

from __future__ import annotations

from torch.utils import benchmark


def median_seconds(fn, min_run_time: float) -> float:
    """Median seconds per call of ``fn()`` (``torch.utils.benchmark``, which also syncs CUDA)."""
    return benchmark.Timer("fn()", globals={"fn": fn}).blocked_autorange(min_run_time=min_run_time).median
