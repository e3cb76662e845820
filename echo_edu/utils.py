"""Small helpers shared by the library, the notebooks and the tests."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch


def set_seed(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA) and return a fresh seeded ``torch.Generator``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def quick_mode() -> bool:
    """True when ``ECHO_EDU_QUICK=1``: notebooks and scripts shrink their work to run in CI.

    People get the full lessons by default; the test command sets ``ECHO_EDU_QUICK=1``.
    """
    return os.environ.get("ECHO_EDU_QUICK", "0").strip().lower() in {"1", "true", "yes"}


def cache_root() -> Path:
    """``$ECHO_EDU_CACHE`` or ``~/.cache/echo_edu``: the one folder everything echo_edu caches lives under
    (synthesised corpora, saved experiment results), each in its own subfolder."""
    return Path(os.environ.get("ECHO_EDU_CACHE") or Path.home() / ".cache" / "echo_edu")


def default_device() -> torch.device:
    """The best device available: CUDA when present, else CPU. Never hard-code a device."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
