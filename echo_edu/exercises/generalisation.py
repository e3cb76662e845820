"""Checkers for lesson 11 (generalisation). Each prints a verdict and returns a bool."""

from __future__ import annotations

import math

import torch

from . import verdict
from ..augmentation import band_limit
from ..data import load_samples
from ..viz.augmentation import engine_separation, long_term_spectra
from ..audio import normalize_features

__all__ = ["check_band_limited_separation", "check_hard_clip", "check_channel_offset"]

SR = 16000


def _separation_ratios() -> tuple[float, float]:
    """Between/within ratio of the bundled digit clips' long-term spectra, as recorded and through a phone line."""

    samples = load_samples("digits")
    waves = [torch.tensor(a["array"], dtype=torch.float32) for a in samples["audio"]]
    ratios = []
    for clips in (waves, [band_limit(w, SR) for w in waves]):
        between, within = engine_separation(long_term_spectra(clips), samples["engine"])
        ratios.append(between / within)
    return ratios[0], ratios[1]


def check_band_limited_separation(ratio_before: float, ratio_after: float) -> bool:
    """Exercise 1: section 1's between/within ratio of the bundled clips, before and after ``band_limit``."""
    before, after = _separation_ratios()
    ok = abs(ratio_before - before) < 1e-3 and abs(ratio_after - after) < 1e-3
    overlap = after < 1.5       # section 1's line between overlapping curves and two separate families
    reading = ("still about 1, so the two engines' curves overlap as much as before. The line cuts every clip's "
               "lows and highs alike; whatever tells espeak-ng from piper apart was never in the average "
               "spectrum's edges." if overlap else "the band-limited curves now form two families: what the line "
               "keeps tells the engines apart more clearly than the full band.")
    return verdict(ok, f"ratio {before:.2f} as recorded, {after:.2f} through the phone line: {reading}",
                   f"recompute: between / within from engine_separation(long_term_spectra(clips), engines), once for "
                   f"the clips as loaded and once for [band_limit(w, 16000) for w in clips] (you gave "
                   f"{ratio_before:.3f} and {ratio_after:.3f}).")


def _harmonic(wave: torch.Tensor, hz: float) -> float:
    """Magnitude of ``wave``'s spectrum at ``hz`` (one second of audio: bin = Hz)."""
    return float(torch.fft.rfft(wave).abs()[int(round(hz))])


def check_hard_clip(clip) -> bool:
    """Exercise 2: ``clip(wave) -> wave``, a hard limit at ±0.3 of a ``(..., samples)`` waveform."""
    t = torch.arange(SR) / SR
    loud, quiet = 0.6 * torch.sin(2 * math.pi * 440 * t), 0.2 * torch.sin(2 * math.pi * 440 * t)
    problems = []
    out = clip(loud.clone())
    if not isinstance(out, torch.Tensor) or out.shape != loud.shape:
        problems.append(f"one second of audio must come back as shape {tuple(loud.shape)}")
    elif not torch.allclose(out, loud.clamp(-0.3, 0.3), atol=1e-6):
        problems.append(f"a 0.6 sine should be cut flat at ±0.3 (yours peaks at {float(out.abs().max()):.3f})")
    elif not torch.allclose(clip(quiet.clone()), quiet, atol=1e-6):
        problems.append("a 0.2 sine never reaches the limit, so it must pass unchanged")
    elif clip(torch.stack([loud, quiet])).shape != (2, SR):
        problems.append("a batch (2, samples) must come back as (2, samples)")
    if problems:
        return verdict(False, "", problems[0] + "; hard clipping is wave.clamp(-0.3, 0.3).")
    base = _harmonic(out, 440)
    third, second = _harmonic(out, 3 * 440) / base, _harmonic(out, 2 * 440) / base
    return verdict(True, f"the flattened peaks add new frequencies: the 3rd harmonic at {third:.0%} of the "
                         f"fundamental, the 2nd at {second:.1%} (symmetric clipping makes odd harmonics only). That "
                         "is the buzz of a recording made too loud: a microphone preamp or a phone's converter "
                         "driven past full scale, a shouting speaker close to the microphone.", "")


def check_channel_offset(mel: torch.Tensor, offset: torch.Tensor, gap_utterance: float, gap_cmvn: float) -> bool:
    """Exercise 3: a per-bin ``offset`` (a fixed filter) added to ``mel`` ``(mels, frames)``, and the mean
    absolute change it leaves after ``normalize_features`` with ``mode="utterance"`` and ``mode="cmvn"``."""

    shift = torch.as_tensor(offset, dtype=mel.dtype).expand_as(mel)           # (mels, frames)
    if not torch.allclose(shift, shift[:, :1].expand_as(shift)):
        return verdict(False, "", "a fixed filter changes each mel bin by the same amount in every frame: make "
                                  "the offset constant over time, e.g. torch.linspace(-0.25, 0.25, mels)[:, None].")
    if float(shift[:, 0].std()) < 1e-3:
        return verdict(False, "", "the offset is the same in every bin: that is a change of loudness, which both "
                                  "modes remove. A filter raises some bins more than others (e.g. a tilt).")
    gaps = {mode: float((normalize_features(mel + shift, mode=mode) - normalize_features(mel, mode=mode)).abs().mean())
            for mode in ("utterance", "cmvn")}
    ok = (abs(gap_utterance - gaps["utterance"]) <= 1e-4 + 1e-3 * gaps["utterance"]
          and abs(gap_cmvn - gaps["cmvn"]) <= 1e-4 and gaps["cmvn"] < 1e-4 < gaps["utterance"])
    return verdict(ok, f"per-bin CMVN removes the filter (change {gaps['cmvn']:.1e}); one mean over all bins leaves "
                       f"{gaps['utterance']:.3f} of it in the features. A single mean can take away only what every bin "
                       "shares — loudness; a channel shifts each bin by its own amount.",
                   f"for this offset the changes are {gaps['utterance']:.4f} (utterance) and {gaps['cmvn']:.1e} (cmvn); "
                   "compute (normalize_features(mel + offset, mode=m) - normalize_features(mel, mode=m)).abs().mean().")
