"""Waveform augmentation: small, seeded, composable functions.

A model trained on a handful of synthetic voices learns their exact loudness, tempo and silence.
Each function here perturbs one of those so the model has to listen to the words instead:

* :func:`add_noise` — white noise at a chosen signal-to-noise ratio (dB);
* :func:`apply_gain` — louder or quieter (dB), clipped to [-1, 1];
* :func:`change_speed` — faster or slower *and* higher or lower, by resampling (Kaldi-style
  speed perturbation: a factor 1.1 plays 10 % faster).

Every function maps a ``(..., samples)`` float tensor to a tensor of the same kind, on the same
device. Randomness comes only from an explicit ``torch.Generator``. :class:`CorpusAugmentConfig` +
:func:`random_augment` draw one random setting per clip; :func:`compose` chains functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ..errors import ConfigError

__all__ = ["add_noise", "apply_gain", "change_speed", "compose", "CorpusAugmentConfig", "random_augment"]


def add_noise(wave: torch.Tensor, snr_db: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add white Gaussian noise so that ``10 log10(P_signal / P_noise) == snr_db``.

    Args:
        wave: ``(..., samples)`` float waveform(s); the power is measured per clip.
        snr_db: signal-to-noise ratio in dB (higher = cleaner).
        generator: a CPU ``torch.Generator`` for the noise (seeded for reproducibility).

    Returns:
        ``(..., samples)``, clipped to [-1, 1]. Silence stays silence (no signal, no noise).
    """
    noise = torch.randn(wave.shape, generator=generator, dtype=torch.float32).to(wave.device, wave.dtype)
    signal_power = wave.pow(2).mean(dim=-1, keepdim=True)                     # (..., 1)
    noise_power = noise.pow(2).mean(dim=-1, keepdim=True).clamp_min(1e-12)
    scale = torch.sqrt(signal_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    return (wave + scale * noise).clamp(-1.0, 1.0)


def apply_gain(wave: torch.Tensor, gain_db: float) -> torch.Tensor:
    """Scale ``(..., samples)`` by ``gain_db`` decibels (+6 dB doubles the amplitude); clip to [-1, 1]."""
    return (wave * 10.0 ** (gain_db / 20.0)).clamp(-1.0, 1.0)


def change_speed(wave: torch.Tensor, factor: float, sr: int = 16000) -> torch.Tensor:
    """Play ``(..., samples)`` ``factor`` times faster (``samples / factor`` samples come out).

    Resampling from ``sr * factor`` to ``sr`` shortens the clip and raises the pitch together,
    like a tape played faster. ``factor`` is rounded to a rational with denominator 100 so
    torchaudio's polyphase resampler stays small.
    """
    import torchaudio.functional as AF

    if factor <= 0:
        raise ConfigError(f"speed factor must be positive, got {factor}")
    source = int(round(sr * factor / 100.0)) * 100 or 100
    if source == sr:
        return wave
    return AF.resample(wave, source, sr).clamp(-1.0, 1.0)


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
                   sr: int = 16000) -> tuple[torch.Tensor, dict[str, float]]:
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
