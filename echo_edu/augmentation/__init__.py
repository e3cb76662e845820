"""Augmentation, the one home of every effect: teach a model trained on synthetic voices to hear real ones.

* :mod:`.waveform` — speed perturbation, pitch shift and vocal-tract-length perturbation.
* :mod:`.channel` — gain, white, coloured and babble noise at an SNR, synthetic room reverberation,
  telephone band.
* :mod:`.noise_bank` — recorded background noise from a folder of clips (:class:`NoiseBank`).
* :mod:`.spectrogram` — SpecAugment time and frequency masks, vectorised over the batch.
* :mod:`.pipeline` — :class:`AugmentConfig` and the seeded :class:`Augmenter` the training collator calls.
* :mod:`.corpus` — :class:`CorpusAugmentConfig` and :func:`random_augment`, baked into a corpus offline.

Feature normalisation (CMVN) is not augmentation: the model applies it itself (:mod:`echo_edu.audio`).
"""

from __future__ import annotations

from .channel import (NOISE_COLOURS, add_noise, add_noise_at_snr, apply_gain, babble_noise, band_limit,
                      coloured_noise, peak_limit, reverberate, synthetic_rir)
from .corpus import CorpusAugmentConfig, compose, random_augment
from .noise_bank import NoiseBank
from .pipeline import AUGMENTATIONS, AugmentConfig, Augmenter, apply_augmentation
from .spectrogram import band_masks, spec_augment
from .waveform import change_speed, fit_length, pitch_shift, vtlp, vtlp_warp

__all__ = [
    "AugmentConfig", "Augmenter", "AUGMENTATIONS", "apply_augmentation", "NoiseBank",
    "CorpusAugmentConfig", "random_augment", "compose",
    "change_speed", "apply_gain", "pitch_shift", "vtlp", "vtlp_warp", "fit_length",
    "NOISE_COLOURS", "add_noise", "coloured_noise", "babble_noise", "add_noise_at_snr", "synthetic_rir",
    "reverberate", "band_limit", "peak_limit",
    "spec_augment", "band_masks",
]
