"""Input checks shared by the augmentation modules (typed errors with names, not torch tracebacks)."""

from __future__ import annotations

import math

import torch

from ..audio.normalize import check_features  # the feature path owns it; augmentation reuses it
from ..errors import AudioError, ConfigError

__all__ = ["check_wave", "check_features", "check_positive", "check_range", "work_dtype"]


def check_wave(wave, name: str = "wave") -> torch.Tensor:
    """Return ``wave`` if it is a usable ``(..., samples)`` floating tensor, else raise :class:`AudioError`."""
    if not isinstance(wave, torch.Tensor):
        raise AudioError(f"{name} must be a torch.Tensor shaped (..., samples), got {type(wave).__name__}")
    if not wave.is_floating_point():
        raise AudioError(f"{name} must be a floating-point tensor (float32/bfloat16), got dtype {wave.dtype}")
    if wave.ndim == 0 or wave.shape[-1] == 0:
        raise AudioError(f"{name} must hold at least one sample on its last axis, got shape {tuple(wave.shape)}")
    if not bool(torch.isfinite(wave).all()):  # data preparation, not a forward pass: a host sync is fine
        raise AudioError(f"{name} contains NaN or Inf samples (shape {tuple(wave.shape)})")
    return wave


def check_positive(value: float, name: str) -> float:
    """A finite number > 0, or :class:`ConfigError` naming ``name``."""
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_range(value, name: str, low: float = -math.inf, high: float = math.inf) -> tuple[float, float]:
    """A ``(lo, hi)`` pair with ``low <= lo <= hi <= high``, or :class:`ConfigError` naming ``name``."""
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a (low, high) pair of numbers, got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi or lo < low or hi > high:
        raise ConfigError(f"{name} must satisfy {low} <= low <= high <= {high}, got {value!r}")
    return lo, hi


def work_dtype(wave: torch.Tensor) -> torch.dtype:
    """The dtype to compute in: FFTs and resampling need float32 or float64, so half types go up to float32."""
    return wave.dtype if wave.dtype in (torch.float32, torch.float64) else torch.float32
