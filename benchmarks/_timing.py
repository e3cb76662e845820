"""Timing shared by the benchmark scripts (a helper module, not a benchmark)."""

from __future__ import annotations

import argparse
from pathlib import Path

from torch.utils import benchmark


def median_seconds(fn, min_run_time: float) -> float:
    """Median seconds per call of ``fn()`` (``torch.utils.benchmark``, which also syncs CUDA)."""
    return benchmark.Timer("fn()", globals={"fn": fn}).blocked_autorange(min_run_time=min_run_time).median


def add_timing_arguments(parser: argparse.ArgumentParser, min_run_time: float) -> None:
    """``--threads`` (default 2), ``--min-run-time`` (seconds of timing per run) and ``--json`` (where to write)."""
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-run-time", type=float, default=min_run_time, help="seconds of timing per run")
    parser.add_argument("--json", type=Path, default=None)
