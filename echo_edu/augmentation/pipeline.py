"""The augmentation pipeline: a seeded random chain of effects, applied on the fly while training.

:class:`AugmentConfig` holds one probability and one range per effect (all configurable, validated);
:class:`Augmenter` draws, from a ``torch.Generator``, which effects fire and how strongly, and applies
them in a physically sensible order — the *speaker* first (speed, pitch, vocal-tract length), then the
*room* (reverberation), the *background* (coloured, babble or recorded noise), the *line* (telephone band) and the
*level* (gain), finally scaled back under full scale::

    augmenter = Augmenter(AugmentConfig())
    wave = augmenter.augment_waveform(wave, 16000, generator)      # (samples,) -> (samples',)
    waves = augmenter.augment_batch(waves, 16000, generator)       # the same, babble from the batch
    mel = normalize_features(log_mel(wave), lengths)                # always, train and test
    mel = augmenter.augment_features(mel, generator, lengths)       # SpecAugment, training only

Each call uses a fixed number of draws from ``generator`` (noise and impulse responses come from a
sub-generator seeded by one of them), so which effects fire on one clip never shifts the next clip's
randomness. Same seed → same output; probabilities of 0 → the identity.

:func:`apply_augmentation` applies one named effect at a ``strength`` in [0, 1] — what the lesson's
widget and figures show.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch

from ..errors import ConfigError
from ._checks import check_positive, check_range, check_wave
from .channel import (NOISE_COLOURS, add_noise_at_snr, apply_gain, babble_noise, band_limit, coloured_noise,
                      peak_limit, reverberate, synthetic_rir)
from .noise_bank import NoiseBank
from .spectrogram import spec_augment
from .waveform import change_speed, pitch_shift, vtlp

__all__ = ["AugmentConfig", "Augmenter", "AUGMENTATIONS", "apply_augmentation"]

NOISE_TYPES = tuple(NOISE_COLOURS) + ("babble",)
_WAVE_EFFECTS = ("speed", "pitch", "vtlp", "reverb", "noise", "telephone", "gain")


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities (``p_*``, each in [0, 1]) and ``(low, high)`` ranges of every augmentation.

    Waveform effects (``Augmenter.augment_waveform``), in the order they are applied:
        p_speed, speed: speed factor (duration ÷ factor, pitch × factor).
        p_pitch, pitch_semitones: pitch shift, duration kept.
        p_vtlp, vtlp_alpha: vocal-tract-length warp factor.
        p_reverb, rt60, drr_db: synthetic room: decay time (s) and direct-to-reverberant ratio (dB).
        p_noise, snr_db, noise_types, babble_talkers: additive noise; the type is drawn uniformly from
            ``noise_types`` (``white``, ``pink``, ``brown``, ``babble``).
        noise_dir, real_noise_fraction: a folder of recorded noise clips (any rate; a
            :class:`~echo_edu.augmentation.noise_bank.NoiseBank`, loaded once by the ``Augmenter``);
            when set, a fired noise is a recorded clip (type ``"real"``) with probability
            ``real_noise_fraction``, else one of ``noise_types``.
        p_telephone, telephone_mulaw: 300–3400 Hz band at 8 kHz, optionally 8-bit μ-law.
        p_gain, gain_db: level change in dB.
    Feature effect (``Augmenter.augment_features``):
        p_specaugment, freq_masks, freq_width, time_masks, time_width, time_max_fraction: SpecAugment.
    """

    p_speed: float = 0.5
    speed: tuple[float, float] = (0.9, 1.1)
    p_pitch: float = 0.3
    pitch_semitones: tuple[float, float] = (-3.0, 3.0)
    p_vtlp: float = 0.3
    vtlp_alpha: tuple[float, float] = (0.9, 1.1)
    p_reverb: float = 0.3
    rt60: tuple[float, float] = (0.15, 0.8)
    drr_db: tuple[float, float] = (0.0, 12.0)
    p_noise: float = 0.5
    snr_db: tuple[float, float] = (5.0, 30.0)
    noise_types: tuple[str, ...] = NOISE_TYPES
    babble_talkers: tuple[int, int] = (3, 6)
    noise_dir: str | None = None
    real_noise_fraction: float = 0.5
    p_telephone: float = 0.1
    telephone_mulaw: bool = True
    p_gain: float = 0.5
    gain_db: tuple[float, float] = (-12.0, 6.0)
    p_specaugment: float = 0.8
    freq_masks: int = 2
    freq_width: tuple[int, int] = (0, 15)
    time_masks: int = 2
    time_width: tuple[int, int] = (0, 40)
    time_max_fraction: float = 0.2

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("p_") or f.name in ("time_max_fraction", "real_noise_fraction"):
                if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                    raise ConfigError(f"AugmentConfig.{f.name} must lie in [0, 1], got {value!r}")
        check_range(self.speed, "AugmentConfig.speed", low=0.5, high=2.0)
        check_range(self.pitch_semitones, "AugmentConfig.pitch_semitones", low=-12, high=12)
        check_range(self.vtlp_alpha, "AugmentConfig.vtlp_alpha", low=0.5, high=2.0)
        check_range(self.rt60, "AugmentConfig.rt60", low=0.01, high=3.0)
        check_range(self.drr_db, "AugmentConfig.drr_db")
        check_range(self.snr_db, "AugmentConfig.snr_db", low=-20, high=100)
        check_range(self.gain_db, "AugmentConfig.gain_db", low=-60, high=40)
        check_range(self.babble_talkers, "AugmentConfig.babble_talkers", low=1, high=32)
        check_range(self.freq_width, "AugmentConfig.freq_width", low=0)
        check_range(self.time_width, "AugmentConfig.time_width", low=0)
        if not self.noise_types or any(t not in NOISE_TYPES for t in self.noise_types):
            raise ConfigError(f"AugmentConfig.noise_types must be a non-empty subset of {NOISE_TYPES}, "
                              f"got {self.noise_types!r}")
        if isinstance(self.noise_dir, os.PathLike):
            object.__setattr__(self, "noise_dir", os.fspath(self.noise_dir))   # a Path serialises as its str
        if self.noise_dir is not None and (not isinstance(self.noise_dir, str) or not self.noise_dir):
            raise ConfigError(f"AugmentConfig.noise_dir must be a folder path or None, got {self.noise_dir!r}")
        for name in ("freq_masks", "time_masks"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ConfigError(f"AugmentConfig.{name} must be an integer >= 0, got {getattr(self, name)!r}")

    @classmethod
    def off(cls, **overrides) -> "AugmentConfig":
        """Every probability 0 (the identity), then ``overrides`` (e.g. ``off(p_reverb=1.0)``)."""
        zeros = {f.name: 0.0 for f in dataclasses.fields(cls) if f.name.startswith("p_")}
        return cls(**{**zeros, **overrides})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AugmentConfig":
        """The inverse of :meth:`to_dict`; unknown keys raise :class:`ConfigError`."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"AugmentConfig has no field(s) {unknown}; valid: {sorted(names)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def _uniform(u: float, bounds: Sequence[float]) -> float:
    return float(bounds[0]) + (float(bounds[1]) - float(bounds[0])) * u


class Augmenter:
    """Apply a seeded random chain of augmentations (see the module docstring for the order).

    Args:
        config: the probabilities and ranges (default :class:`AugmentConfig`).
        babble_bank: 1-D waveforms of *other* speech to build babble from (e.g. a few training clips);
            without one, babble is made from the clip itself and its time reversal.
        noise_bank: recorded noise (a :class:`NoiseBank`); default: loaded from ``config.noise_dir``
            when set (raises ``AudioFileNotFoundError`` / ``AudioError`` for a missing or empty folder).

    Attributes:
        last_applied: ``{effect: value}`` of the most recent ``augment_waveform`` call (for display).
    """

    def __init__(self, config: AugmentConfig | None = None, babble_bank: Sequence[torch.Tensor] | None = None,
                 noise_bank: NoiseBank | None = None):
        self.config = config if config is not None else AugmentConfig()
        if not isinstance(self.config, AugmentConfig):
            raise ConfigError(f"Augmenter needs an AugmentConfig, got {type(self.config).__name__}")
        self.babble_bank = [check_wave(b, "babble_bank clip").reshape(-1) for b in (babble_bank or [])]
        if noise_bank is None and self.config.noise_dir is not None:
            noise_bank = NoiseBank.from_folder(self.config.noise_dir)
        if noise_bank is not None and not isinstance(noise_bank, NoiseBank):
            raise ConfigError(f"noise_bank must be a NoiseBank, got {type(noise_bank).__name__}")
        self.noise_bank = noise_bank
        self.last_applied: dict[str, Any] = {}

    def augment_waveform(self, wave: torch.Tensor, sr: int, generator: torch.Generator,
                         babble_sources: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """One random chain applied to ``wave``.

        Args:
            wave: ``(samples,)`` or ``(channels, samples)`` float audio in [-1, 1] (every row gets the
                same chain).
            sr: its sample rate.
            generator: the ``torch.Generator`` every decision is drawn from.
            babble_sources: other speech for babble noise (``(n_i,)`` each); default: the
                ``babble_bank``, else the clip itself.

        Returns:
            ``(..., samples')`` same dtype and device; ``samples'`` differs only when speed fires.
        """
        check_wave(wave)
        check_positive(sr, "sr")
        c = self.config
        u = torch.rand(2 * len(_WAVE_EFFECTS) + 2, generator=generator, device=generator.device).tolist()
        seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
        fire = dict(zip(_WAVE_EFFECTS, (x < getattr(c, f"p_{name}") for x, name in zip(u, _WAVE_EFFECTS))))
        amount = dict(zip(_WAVE_EFFECTS, u[len(_WAVE_EFFECTS):]))
        sub = torch.Generator(device=generator.device).manual_seed(seed)   # noise and room content
        applied: dict[str, Any] = {}
        x = wave
        if fire["speed"]:
            applied["speed"] = _uniform(amount["speed"], c.speed)
            x = change_speed(x, applied["speed"], sr)
        if fire["pitch"]:
            applied["pitch"] = _uniform(amount["pitch"], c.pitch_semitones)
            x = pitch_shift(x, sr, applied["pitch"])
        if fire["vtlp"]:
            applied["vtlp"] = _uniform(amount["vtlp"], c.vtlp_alpha)
            x = vtlp(x, sr, applied["vtlp"])
        if fire["reverb"]:
            rt60, drr = _uniform(amount["reverb"], c.rt60), _uniform(u[-2], c.drr_db)
            applied["reverb"] = {"rt60": rt60, "drr_db": drr}
            x = reverberate(x, synthetic_rir(int(sr), rt60, sub, drr))
        if fire["noise"]:
            kind = c.noise_types[min(int(u[-1] * len(c.noise_types)), len(c.noise_types) - 1)]
            if self.noise_bank is not None and float(torch.rand((), generator=sub, device=sub.device)) \
                    < c.real_noise_fraction:     # drawn only with a bank: configs without one keep their stream
                kind = "real"
            snr = _uniform(amount["noise"], c.snr_db)
            applied["noise"] = {"type": kind, "snr_db": snr}
            x = add_noise_at_snr(x, self._noise(kind, x, sub, babble_sources, sr=int(sr), applied=applied), snr)
        if fire["telephone"]:
            applied["telephone"] = True
            x = band_limit(x, int(sr), mulaw=c.telephone_mulaw)
        if fire["gain"]:
            applied["gain_db"] = _uniform(amount["gain"], c.gain_db)
            x = apply_gain(x, applied["gain_db"])
        self.last_applied = applied
        return peak_limit(x) if applied else x

    def augment_batch(self, waves: Sequence[torch.Tensor], sr: int, generator: torch.Generator) -> list[torch.Tensor]:
        """:meth:`augment_waveform` for each clip of a batch, babble made from the *other* clips of the
        batch (real other voices, no bank needed). ``[(n_i,)] * B -> [(n_i',)] * B``."""
        waves = list(waves)
        return [self.augment_waveform(w, sr, generator,
                                      babble_sources=[v.reshape(-1) for j, v in enumerate(waves) if j != i] or None)
                for i, w in enumerate(waves)]

    def _noise(self, kind: str, x: torch.Tensor, generator: torch.Generator,
               sources: Sequence[torch.Tensor] | None = None, sr: int | None = None,
               applied: dict | None = None) -> torch.Tensor:
        """Noise shaped like ``x`` ``(..., n)`` (babble and recorded noise: one track shared by all rows)."""
        if kind == "real":
            noise, index = self.noise_bank.sample(x.shape[-1], generator, sr)
            if applied is not None:
                applied["noise"]["clip"] = self.noise_bank.names[index]
            return noise.to(x.device)
        if kind != "babble":
            return coloured_noise(x.shape, kind, generator).to(x.device)
        sources = sources or self.babble_bank or [x.reshape(-1, x.shape[-1])[0].float(),
                                                  x.reshape(-1, x.shape[-1])[0].float().flip(-1)]
        talkers = int(torch.randint(int(self.config.babble_talkers[0]), int(self.config.babble_talkers[1]) + 1,
                                    (1,), generator=generator, device=generator.device))
        return babble_noise(x.shape[-1], sources, talkers, generator).to(x.device)

    def augment_features(self, mel: torch.Tensor, generator: torch.Generator,
                         lengths: torch.Tensor | None = None) -> torch.Tensor:
        """SpecAugment on ``(B, mels, frames)`` (or ``(mels, frames)``), each example masked with
        probability ``p_specaugment`` and its own masks; time masks stay inside ``lengths`` (``(B,)``
        real frames). Call it *after* :func:`normalize_features`, so masks hold the mean (0)."""
        c = self.config
        return spec_augment(mel, generator, freq_masks=c.freq_masks, freq_width=c.freq_width,
                            time_masks=c.time_masks, time_width=c.time_width,
                            time_max_fraction=c.time_max_fraction, lengths=lengths, p=c.p_specaugment)


#: One-line descriptions of what :func:`apply_augmentation` does at ``strength = 1``.
AUGMENTATIONS = {
    "speed": "play 1.3× faster (shorter, every frequency × 1.3)",
    "pitch": "raise the pitch by 6 semitones, same duration",
    "vtlp": "warp the frequency axis by α = 1.25 (a shorter vocal tract)",
    "white noise": "white noise at 0 dB SNR (40 dB at strength 0)",
    "pink noise": "pink (1/f) noise at 0 dB SNR",
    "brown noise": "brown (1/f²) noise at 0 dB SNR",
    "babble": "4 talkers of babble at 0 dB SNR",
    "reverb": "a room with RT60 = 1.05 s (0.05 s at strength 0)",
    "telephone": "300–3400 Hz at 8 kHz (and 8-bit μ-law from strength 0.5)",
    "gain": "30 dB quieter",
    "specaugment": "2 frequency masks ≤ 27 bins and 2 time masks ≤ 60 frames",
}


def apply_augmentation(name: str, wave: torch.Tensor, sr: int, strength: float,
                       generator: torch.Generator) -> torch.Tensor:
    """Apply the one waveform effect ``name`` (a key of :data:`AUGMENTATIONS`, not ``specaugment``) at
    ``strength`` in [0, 1]. ``(..., samples) -> (..., samples')``."""
    if name not in AUGMENTATIONS or name == "specaugment":
        raise ConfigError(f"unknown waveform augmentation {name!r}; choose one of "
                          f"{[k for k in AUGMENTATIONS if k != 'specaugment']} (specaugment works on features)")
    s = float(strength)
    if not 0.0 <= s <= 1.0:
        raise ConfigError(f"strength must lie in [0, 1], got {strength!r}")
    if name == "speed":
        return change_speed(wave, 1.0 + 0.3 * s, sr)
    if name == "pitch":
        return pitch_shift(wave, sr, 6.0 * s)
    if name == "vtlp":
        return vtlp(wave, sr, 1.0 + 0.25 * s)
    if name == "reverb":
        return peak_limit(reverberate(wave, synthetic_rir(int(sr), 0.05 + s, generator, drr_db=0.0)))
    if name == "telephone":
        return band_limit(wave, int(sr), mulaw=s >= 0.5)
    if name == "gain":
        return apply_gain(wave, -30.0 * s)
    config = AugmentConfig.off(p_noise=1.0, noise_types=(name.split()[0],), babble_talkers=(4, 4))
    noise = Augmenter(config)._noise(name.split()[0], wave, generator)
    return peak_limit(add_noise_at_snr(wave, noise, 40.0 - 40.0 * s))
