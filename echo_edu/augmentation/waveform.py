"""Waveform warps: change *who* seems to speak, and how fast, without changing *what* is said.

A model trained on a handful of synthetic voices learns their exact pitch, speaking rate and vocal-tract
size. These three warps move a clip along exactly those axes:

* :func:`change_speed` — play the clip faster or slower (tape-style, Kaldi's speed perturbation):
  duration is divided by ``factor`` and every frequency (pitch *and* formants) is multiplied by it.
  Defined in :mod:`echo_edu.audio.speed`, since decoding's speed search uses it too.
* :func:`pitch_shift` — move the pitch (and the whole spectrum) by a number of semitones while keeping
  the duration: a phase-vocoder time stretch by ``ratio`` followed by a speed change by ``ratio``.
* :func:`vtlp` — vocal-tract-length perturbation (Jaitly & Hinton, 2013): warp the frequency axis by
  ``alpha`` (piecewise linear, pinned at Nyquist) so formants move as if the speaker's vocal tract were
  ``1/alpha`` times as long; resynthesised with a phase vocoder so the moved peaks *sound* moved.

Every function takes ``wave`` shaped ``(..., samples)`` (float32, float64 or bfloat16; computed in float32
for half types and cast back), a sample rate and a plain number, and is deterministic. Randomness lives
in :mod:`echo_edu.augmentation.pipeline`, which draws the numbers from a ``torch.Generator``.
"""

from __future__ import annotations

import math

import torch
import torchaudio.functional as AF

from ..audio import SAMPLE_RATE
from ..audio.speed import change_speed
from ..errors import ConfigError
from ._checks import check_positive, check_wave, work_dtype

__all__ = ["change_speed", "pitch_shift", "vtlp", "vtlp_warp", "fit_length", "SPEED_STEPS"]

#: Pitch ratios are rounded to multiples of ``1 / SPEED_STEPS`` so that the polyphase resampler works
#: with a small rational ratio (``round(100 * ratio) / 100``) and stays fast for any sample rate.
SPEED_STEPS = 100


def fit_length(wave: torch.Tensor, samples: int) -> torch.Tensor:
    """Trim or zero-pad the last axis of ``wave`` to exactly ``samples``. ``(..., n) -> (..., samples)``."""
    n = wave.shape[-1]
    if n >= samples:
        return wave[..., :samples]
    return torch.nn.functional.pad(wave, (0, samples - n))


def _stft(x: torch.Tensor, n_fft: int, hop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, n) -> (N, n_fft//2 + 1, frames)`` complex STFT and the Hann window used."""
    window = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)
    return torch.stft(x, n_fft, hop, window=window, return_complex=True), window


def pitch_shift(wave: torch.Tensor, sr: int, semitones: float, n_fft: int = 512, hop: int = 128) -> torch.Tensor:
    """Shift every frequency by ``semitones`` (ratio ``2 ** (semitones / 12)``, rounded to 1/100), same length.

    Args:
        wave: ``(..., samples)`` audio.
        sr: its sample rate.
        semitones: positive raises the voice, negative lowers it.

    Returns:
        ``(..., samples)``: the shifted audio, exactly as long as the input.
    """
    check_wave(wave)
    check_positive(sr, "sr")
    if not math.isfinite(semitones):
        raise ConfigError(f"pitch shift in semitones must be finite, got {semitones!r}")
    ratio = round(2.0 ** (semitones / 12.0) * SPEED_STEPS) / SPEED_STEPS
    if ratio == 1.0:
        return wave.clone()
    shape, n = wave.shape, wave.shape[-1]
    x = wave.to(work_dtype(wave)).reshape(-1, n)                       # (N, n)
    spec, window = _stft(x, n_fft, hop)                                # (N, F, frames)
    advance = torch.linspace(0, math.pi * hop, spec.shape[-2], device=x.device, dtype=x.dtype)[:, None]
    stretched = AF.phase_vocoder(spec, 1.0 / ratio, advance)           # ratio × as many frames
    longer = torch.istft(stretched, n_fft, hop, window=window, length=round(n * ratio))  # (N, ≈ n·ratio)
    y = AF.resample(longer, round(ratio * SPEED_STEPS), SPEED_STEPS)   # speed up by ratio: (N, ≈ n)
    return fit_length(y, n).reshape(shape).to(wave.dtype)


def vtlp_warp(freqs: torch.Tensor, alpha: float, sr: int, f_hi: float = 4800.0,
              inverse: bool = False) -> torch.Tensor:
    """The VTLP frequency map (Hz → Hz), piecewise linear and fixed at 0 and Nyquist.

    Below ``f0 = f_hi * min(alpha, 1) / alpha`` frequencies are scaled by ``alpha``; above it a second
    line joins ``(f0, alpha * f0)`` to ``(sr/2, sr/2)`` so nothing is pushed past Nyquist.
    ``inverse=True`` gives the map from output frequency back to input frequency.
    """
    nyq = sr / 2
    f_hi = min(f_hi, 0.6 * nyq)                 # keep the knee below Nyquist for low sample rates
    f0 = f_hi * min(alpha, 1.0) / alpha         # knee, input side
    g0 = f0 * alpha                             # knee, output side
    if not inverse:
        return torch.where(freqs <= f0, freqs * alpha, nyq - (nyq - g0) / (nyq - f0) * (nyq - freqs))
    return torch.where(freqs <= g0, freqs / alpha, nyq - (nyq - f0) / (nyq - g0) * (nyq - freqs))


def vtlp(wave: torch.Tensor, sr: int, alpha: float, f_hi: float = 4800.0, n_fft: int = 512,
         hop: int = 128) -> torch.Tensor:
    """Vocal-tract-length perturbation: move spectral peaks at ``f`` to ``vtlp_warp(f)`` (≈ ``alpha * f``).

    The magnitude of output bin ``g`` is read (linearly interpolated) from input frequency
    ``vtlp_warp(g, inverse=True)``; its phase advances at the *warped* instantaneous frequency of that
    input bin (phase-vocoder style). Keeping the input phase instead would quietly rebuild the original
    frequencies in the overlap-add, so the warp would show in a spectrogram but not in the sound.

    Args:
        wave: ``(..., samples)`` audio.
        alpha: warp factor, typically 0.9–1.1 (> 1: formants up, a shorter vocal tract).
        f_hi: knee of the warp in Hz (capped at 60 % of Nyquist).

    Returns:
        ``(..., samples)``, same length and dtype.
    """
    check_wave(wave)
    check_positive(sr, "sr")
    alpha = check_positive(alpha, "vtlp alpha")
    if alpha == 1.0:
        return wave.clone()
    shape, n = wave.shape, wave.shape[-1]
    x = wave.to(work_dtype(wave)).reshape(-1, n)                            # (N, n)
    spec, window = _stft(x, n_fft, hop)                                     # (N, F, T)
    n_freq = spec.shape[-2]
    freqs = torch.linspace(0, sr / 2, n_freq, device=x.device, dtype=x.dtype)         # (F,) bin centres, Hz
    pos = vtlp_warp(freqs, alpha, sr, f_hi, inverse=True) / (sr / 2) * (n_freq - 1)  # (F,) source bin
    lo = pos.floor().long().clamp(0, n_freq - 2)
    frac = (pos - lo).clamp(0, 1)[:, None]                                  # (F, 1)
    mag = spec.abs()
    mag_out = mag[:, lo] * (1 - frac) + mag[:, lo + 1] * frac               # (N, F, T)

    near = pos.round().long().clamp(0, n_freq - 1)                          # (F,) nearest source bin
    phase = spec.angle()[:, near]                                           # (N, F, T)
    omega = (2 * math.pi * freqs / sr)[near][:, None]                       # (F, 1) rad/sample
    dphi = phase[..., 1:] - phase[..., :-1] - omega * hop                   # (N, F, T-1)
    dphi = dphi - 2 * math.pi * torch.round(dphi / (2 * math.pi))           # wrap to [-pi, pi]
    inst_hz = (omega + dphi / hop) * sr / (2 * math.pi)                     # instantaneous frequency, Hz
    warped = vtlp_warp(inst_hz.abs(), alpha, sr, f_hi) * 2 * math.pi / sr   # rad/sample after the warp
    phase_out = torch.cat([phase[..., :1], phase[..., :1] + torch.cumsum(warped * hop, dim=-1)], dim=-1)
    out = torch.polar(mag_out, phase_out)                                   # (N, F, T) complex
    y = torch.istft(out, n_fft, hop, window=window, length=n)
    return y.reshape(shape).to(wave.dtype)
