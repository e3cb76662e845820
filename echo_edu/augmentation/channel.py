"""Channel effects: the room, the microphone line and the background a real recording passes through.

Synthetic speech is studio-clean: no room, no hiss, no telephone line. Real audio always has some of
these, so a model that never heard them treats them as unknown sounds. Each function here puts one
back:

* :func:`coloured_noise` — white (flat), pink (1/f power, like rain or a fan) or brown (1/f², a rumble).
* :func:`babble_noise` — several talkers at once (a café), from a bank of clips or from the clip itself.
* :func:`add_noise_at_snr` — mix noise in at a chosen signal-to-noise ratio in dB (:func:`add_noise`:
  seeded white noise that way, clipped to [-1, 1]).
* :func:`synthetic_rir` + :func:`reverberate` — a room: an impulse response of exponentially decaying
  noise (its energy falls 60 dB in ``rt60`` seconds), convolved with ``torchaudio``'s ``fftconvolve``.
* :func:`band_limit` — a telephone: down to 8 kHz, keep 300–3400 Hz, optional 8-bit μ-law, back up.
* :func:`apply_gain` — louder or quieter by a number of dB; :func:`peak_limit` — scale a clip back
  under full scale after the effects above.

Waves are ``(..., samples)``; noise generators take a ``torch.Generator`` and return float32 on the
generator's device (callers move it). Results keep the input's shape, device and dtype.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torchaudio.functional as AF

from ..errors import AudioError, ConfigError
from ._checks import check_positive, check_wave, work_dtype
from .waveform import fit_length

__all__ = ["NOISE_COLOURS", "coloured_noise", "babble_noise", "add_noise_at_snr", "add_noise", "synthetic_rir",
           "reverberate", "band_limit", "apply_gain", "peak_limit"]

#: Spectral slope of each noise colour: power ∝ 1 / f**beta.
NOISE_COLOURS = {"white": 0.0, "pink": 1.0, "brown": 2.0}


def _unit_rms(x: torch.Tensor) -> torch.Tensor:
    """Scale every row of ``(..., n)`` to RMS 1 (all-zero rows stay zero)."""
    rms = x.pow(2).mean(dim=-1, keepdim=True).sqrt()
    return x / rms.clamp_min(1e-12)


def coloured_noise(shape: Sequence[int], colour: str, generator: torch.Generator) -> torch.Tensor:
    """Gaussian noise of RMS 1 whose power spectrum falls as ``1 / f**beta`` (``NOISE_COLOURS[colour]``).

    White noise is shaped in the frequency domain: ``rfft``, multiply by ``f ** (-beta / 2)`` (no DC),
    ``irfft``. Returns float32 shaped ``shape`` (last axis = samples) on ``generator.device``.
    """
    if colour not in NOISE_COLOURS:
        raise ConfigError(f"unknown noise colour {colour!r}; choose one of {sorted(NOISE_COLOURS)} or 'babble'")
    shape = tuple(int(s) for s in shape)
    white = torch.randn(shape, generator=generator, device=generator.device)
    beta = NOISE_COLOURS[colour]
    if beta == 0.0:
        return _unit_rms(white)
    n = shape[-1]
    bins = torch.arange(n // 2 + 1, device=white.device, dtype=white.dtype)         # (F,)
    slope = bins.clamp_min(1.0).pow(-beta / 2) * (bins > 0)                        # (F,), DC removed
    return _unit_rms(torch.fft.irfft(torch.fft.rfft(white) * slope, n=n))


def babble_noise(samples: int, sources: Sequence[torch.Tensor], talkers: int,
                 generator: torch.Generator) -> torch.Tensor:
    """Several voices at once: ``talkers`` clips drawn from ``sources``, each at RMS 1, summed.

    Each talker is a source looped from a random offset to ``samples`` long; the mix is rescaled to RMS 1.
    With a bank of other utterances this is real babble; the pipeline falls back to the clip itself and
    its time reversal (same voice, unintelligible) when no bank is given.

    Args:
        samples: output length.
        sources: 1-D waves ``(n_i,)``, any lengths.
        talkers: how many voices to mix.

    Returns:
        ``(samples,)`` float32 on the device of ``sources[0]``.
    """
    if talkers < 1 or len(sources) == 0:
        raise ConfigError(f"babble needs talkers >= 1 and at least one source, got {talkers} and {len(sources)}")
    picks = torch.randint(len(sources), (talkers,), generator=generator, device=generator.device).tolist()
    starts = torch.rand(talkers, generator=generator, device=generator.device).tolist()
    device = sources[0].device
    mix = torch.zeros(samples, device=device, dtype=torch.float32)
    for pick, start in zip(picks, starts):  # a handful of talkers: data preparation, not a forward pass
        src = check_wave(sources[pick], "babble source").reshape(-1).to(device, torch.float32)
        index = (int(start * src.shape[0]) + torch.arange(samples, device=device)) % src.shape[0]
        mix = mix + _unit_rms(src[index])
    return _unit_rms(mix)


def add_noise_at_snr(wave: torch.Tensor, noise: torch.Tensor, snr_db: float) -> torch.Tensor:
    """``wave + k * noise`` with ``k`` chosen so that ``10 log10(P_wave / P_noise) = snr_db`` per row.

    Args:
        wave: ``(..., samples)``; noise: broadcastable to it (same last axis).
        snr_db: signal-to-noise ratio in dB (power measured over the whole clip).
    """
    check_wave(wave)
    if not math.isfinite(snr_db):
        raise ConfigError(f"snr_db must be finite, got {snr_db!r}")
    if noise.shape[-1] != wave.shape[-1]:
        raise AudioError(f"noise has {noise.shape[-1]} samples but the wave has {wave.shape[-1]}")
    work = wave.to(work_dtype(wave))
    noise = noise.to(device=work.device, dtype=work.dtype).expand_as(work)
    p_signal = work.pow(2).mean(dim=-1, keepdim=True)
    p_noise = noise.pow(2).mean(dim=-1, keepdim=True).clamp_min(1e-20)
    scale = (p_signal / (p_noise * 10.0 ** (snr_db / 10.0))).sqrt()
    return (work + scale * noise).to(wave.dtype)


def add_noise(wave: torch.Tensor, snr_db: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add white Gaussian noise at ``snr_db`` (:func:`add_noise_at_snr`), clipped to [-1, 1].

    Args:
        wave: ``(..., samples)`` float waveform(s); the power is measured per clip.
        generator: a CPU ``torch.Generator`` for the noise (seeded for reproducibility).
    Returns:
        ``(..., samples)``. Silence stays silence (no signal, no noise).
    """
    noise = torch.randn(wave.shape, generator=generator, dtype=torch.float32)
    return add_noise_at_snr(wave, noise, snr_db).clamp(-1.0, 1.0)


def synthetic_rir(sr: int, rt60: float, generator: torch.Generator, drr_db: float = 3.0) -> torch.Tensor:
    """A synthetic room impulse response ``(round(rt60 * sr),)``, float32, unit energy.

    A direct-path click at time 0 plus Gaussian noise under the envelope ``exp(-6.908 t / rt60)`` (a
    60 dB fall in ``rt60`` seconds: ``ln(1000) = 6.908``). ``drr_db`` is the direct-to-reverberant energy
    ratio: larger is a drier room. Normalised to unit energy so a white signal keeps its power.
    """
    rt60 = check_positive(rt60, "rt60")
    length = max(2, round(rt60 * sr))
    t = torch.arange(length, device=generator.device, dtype=torch.float32) / sr
    tail = torch.randn(length, generator=generator, device=generator.device) * torch.exp(-6.908 * t / rt60)
    tail[0] = 0.0
    tail = tail * (10.0 ** (-drr_db / 10.0) / tail.pow(2).sum().clamp_min(1e-20)).sqrt()
    rir = tail.clone()
    rir[0] = 1.0
    return rir / rir.pow(2).sum().sqrt()


def reverberate(wave: torch.Tensor, rir: torch.Tensor) -> torch.Tensor:
    """Convolve ``wave (..., n)`` with ``rir (m,)`` (``torchaudio.functional.fftconvolve``); keep ``n`` samples.

    The tail that rings on past the end of the clip is cut, so shapes are unchanged; inside the clip,
    every sound now decays over ``rt60`` instead of stopping dead.
    """
    check_wave(wave)
    check_wave(rir, "rir")
    work = wave.to(work_dtype(wave))
    n, m = wave.shape[-1], rir.numel()
    # fftconvolve transforms at exactly n + m - 1 points, which is often a length with large prime factors
    # (slow FFTs); zero-padding the wave so that length is a power of two changes nothing in the first n samples.
    fast = 1 << (n + m - 2).bit_length()
    work = torch.nn.functional.pad(work, (0, fast - (n + m - 1)))
    kernel = rir.reshape(-1).to(device=work.device, dtype=work.dtype).expand(*work.shape[:-1], -1)
    return AF.fftconvolve(work, kernel)[..., :n].to(wave.dtype)


def band_limit(wave: torch.Tensor, sr: int, low_hz: float = 300.0, high_hz: float = 3400.0,
               narrow_sr: int = 8000, mulaw: bool = False, edge_hz: float = 50.0) -> torch.Tensor:
    """A telephone line: resample to ``narrow_sr``, keep ``low_hz``–``high_hz``, optional μ-law, back to ``sr``.

    The band-pass is a frequency-domain mask over the whole clip with raised-cosine edges ``edge_hz``
    wide *inside* the band, so nothing outside ``[low_hz, high_hz]`` survives. ``mulaw=True`` adds the
    8-bit μ-law quantisation of G.711 telephony. ``(..., n) -> (..., n)``.
    """
    check_wave(wave)
    check_positive(sr, "sr")
    if not 0 <= low_hz < high_hz <= narrow_sr / 2:
        raise ConfigError(f"band_limit needs 0 <= low_hz < high_hz <= narrow_sr/2, got {low_hz}, {high_hz}, {narrow_sr}")
    n = wave.shape[-1]
    x = wave.to(work_dtype(wave))
    if sr != narrow_sr:
        x = AF.resample(x, int(sr), int(narrow_sr))
    m = x.shape[-1]
    freqs = torch.fft.rfftfreq(m, d=1.0 / narrow_sr, device=x.device).to(x.dtype)            # (F,)
    rise = ((freqs - low_hz) / edge_hz).clamp(0, 1)
    fall = ((high_hz - freqs) / edge_hz).clamp(0, 1)
    mask = 0.5 - 0.5 * torch.cos(math.pi * torch.minimum(rise, fall))                       # (F,) 0 outside
    x = torch.fft.irfft(torch.fft.rfft(x) * mask, n=m)
    if mulaw:
        x = AF.mu_law_decoding(AF.mu_law_encoding(x.clamp(-1, 1), 256), 256)
    if sr != narrow_sr:
        x = AF.resample(x, int(narrow_sr), int(sr))
    return fit_length(x, n).to(wave.dtype)


def apply_gain(wave: torch.Tensor, gain_db: float) -> torch.Tensor:
    """Scale ``(..., samples)`` by ``gain_db`` decibels (+6 dB doubles the amplitude); clip to [-1, 1]."""
    return (wave * 10.0 ** (gain_db / 20.0)).clamp(-1.0, 1.0)


def peak_limit(wave: torch.Tensor, peak: float = 1.0) -> torch.Tensor:
    """Scale each row down (never up) so its largest ``|sample|`` is at most ``peak``: no clipping."""
    amax = wave.abs().amax(dim=-1, keepdim=True).to(torch.float32)
    return wave * (peak / amax.clamp_min(1e-12)).clamp(max=1.0).to(wave.dtype)
