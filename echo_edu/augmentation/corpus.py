"""Offline augmentation baked into a corpus at synthesis time (``build_corpus(augment=...)``).

A model trained on a handful of synthetic voices learns their exact loudness, tempo and silence.
:func:`random_augment` perturbs each of those once per clip, with settings drawn from
:class:`CorpusAugmentConfig` and an explicit ``torch.Generator``:

* :func:`~echo_edu.audio.speed.change_speed` — faster or slower *and* higher or lower;
* :func:`~echo_edu.augmentation.channel.apply_gain` — louder or quieter (dB), clipped to [-1, 1];
* :func:`~echo_edu.augmentation.channel.add_noise` — white noise at a signal-to-noise ratio (dB).

:func:`compose` chains waveform functions. The richer on-the-fly augmentation of training is
:mod:`echo_edu.augmentation.pipeline`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ..audio import SAMPLE_RATE
from ..errors import ConfigError
from .channel import add_noise, apply_gain
from .waveform import change_speed

__all__ = ["compose", "CorpusAugmentConfig", "random_augment"]


def compose(*functions: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """Chain waveform functions left to right: ``compose(f, g)(x) == g(f(x))``."""
    def chained(wave: torch.Tensor) -> torch.Tensor:
        for fn in functions:
            wave = fn(wave)
        return wave
    return chained


@dataclass(frozen=True)
class CorpusAugmentConfig:
    """Ranges for :func:`random_augment`; each effect fires with probability ``p``.

    Offline augmentation baked into a corpus at synthesis time (``build_corpus(augment=...)``). For the
    richer on-the-fly augmentation applied while training, see :class:`echo_edu.AugmentConfig`.

    Attributes:
        snr_db: (low, high) SNR for :func:`add_noise`.
        gain_db: (low, high) gain for :func:`apply_gain`.
        speed: (low, high) factor for :func:`change_speed`.
        p: probability that each effect is applied to a clip.
    """

    snr_db: tuple[float, float] = (10.0, 40.0)
    gain_db: tuple[float, float] = (-12.0, 6.0)
    speed: tuple[float, float] = (0.9, 1.1)
    p: float = 0.5

    def __post_init__(self):
        for name in ("snr_db", "gain_db", "speed"):
            low, high = getattr(self, name)
            if low > high:
                raise ConfigError(f"CorpusAugmentConfig.{name} must be (low, high), got ({low}, {high})")
        if not 0.0 <= self.p <= 1.0:
            raise ConfigError(f"CorpusAugmentConfig.p must lie in [0, 1], got {self.p}")
        if self.speed[0] <= 0:
            raise ConfigError(f"CorpusAugmentConfig.speed must be positive, got {self.speed}")


def random_augment(wave: torch.Tensor, config: CorpusAugmentConfig, generator: torch.Generator,
                   sr: int = SAMPLE_RATE) -> tuple[torch.Tensor, dict[str, float]]:
    """Apply speed, gain and noise, each with probability ``config.p``, drawn from ``generator``.

    Args:
        wave: ``(samples,)`` float waveform.

    Returns:
        The augmented ``(samples',)`` waveform and a dict of what was applied (for display).
    """
    def draw(low: float, high: float) -> float:
        return low + (high - low) * float(torch.rand((), generator=generator))

    applied: dict[str, float] = {}
    # Draw every decision, used or not, so one clip's choices never shift another's.
    fire = torch.rand(3, generator=generator) < config.p
    speed, gain, snr = draw(*config.speed), draw(*config.gain_db), draw(*config.snr_db)
    if fire[0]:
        wave, applied["speed"] = change_speed(wave, speed, sr), speed
    if fire[1]:
        wave, applied["gain_db"] = apply_gain(wave, gain), gain
    if fire[2]:
        wave, applied["snr_db"] = add_noise(wave, snr, generator), snr
    return wave, applied
