"""Playback speed: the one waveform change the core needs (speed search at decoding time).

Training perturbs speed too (:mod:`echo_edu.augmentation`, which imports it from here); decoding at a
few speeds (:mod:`echo_edu.speed_search`) must not reach into training-only code, so it lives here.
"""

from __future__ import annotations

import torch
import torchaudio.functional as AF

from ..errors import ConfigError
from .frontend import SAMPLE_RATE

__all__ = ["change_speed"]


def change_speed(wave: torch.Tensor, factor: float, sr: int = SAMPLE_RATE) -> torch.Tensor:
    """Play ``(..., samples)`` ``factor`` times faster (``samples / factor`` samples come out).

    Resampling from ``sr * factor`` to ``sr`` shortens the clip and raises the pitch together,
    like a tape played faster. ``factor`` is rounded to a rational with denominator 100 so
    torchaudio's polyphase resampler stays small.
    """
    if factor <= 0:
        raise ConfigError(f"speed factor must be positive, got {factor}")
    source = int(round(sr * factor / 100.0)) * 100 or 100
    if source == sr:
        return wave
    return AF.resample(wave, source, sr).clamp(-1.0, 1.0)
