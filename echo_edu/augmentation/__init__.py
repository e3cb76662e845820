"""Augmentation: teach a model trained on synthetic voices to hear real ones.

* :mod:`.waveform` — pitch shift and vocal-tract-length perturbation (speed perturbation and gain are
  the data layer's :func:`echo_edu.data.augment.change_speed` / :func:`~echo_edu.data.augment.apply_gain`).
* :mod:`.channel` — coloured and babble noise at an SNR, synthetic room reverberation, telephone band.
* :mod:`.spectrogram` — SpecAugment time and frequency masks, vectorised over the batch.
* :mod:`.pipeline` — :class:`AugmentConfig` and the seeded :class:`Augmenter` the training collator calls.
"""

from __future__ import annotations

from ..data.augment import apply_gain, change_speed
from .channel import (NOISE_COLOURS, add_noise_at_snr, babble_noise, band_limit, coloured_noise, peak_limit,
                      reverberate, synthetic_rir)
from .pipeline import AUGMENTATIONS, AugmentConfig, Augmenter, apply_augmentation
from .spectrogram import band_masks, spec_augment
from .waveform import fit_length, pitch_shift, vtlp, vtlp_warp

__all__ = [
    "AugmentConfig", "Augmenter", "AUGMENTATIONS", "apply_augmentation",
    "change_speed", "apply_gain", "pitch_shift", "vtlp", "vtlp_warp", "fit_length",
    "NOISE_COLOURS", "coloured_noise", "babble_noise", "add_noise_at_snr", "synthetic_rir", "reverberate",
    "band_limit", "peak_limit",
    "spec_augment", "band_masks",
]
