"""The model's feature path: audio in, normalised Whisper-style log-mel out.

* :mod:`.frontend` — :func:`load_audio` (any file, array or corpus row → mono float32 at 16 kHz),
  :func:`log_mel_spectrogram` and :func:`process_audio` (padded to the encoder's ``2 * audio_ctx``
  frames), and the constants every other module derives its numbers from.
* :mod:`.normalize` — per-utterance CMVN (:func:`normalize_features`) over the real frames, which
  :func:`signal_frames` reads from the padding and :func:`frame_lengths` computes from sample counts.
* :mod:`.speed` — :func:`~.speed.change_speed` (tape-style playback speed), which decoding's speed search
  needs as much as training's speed perturbation.

The encoder calls :mod:`.normalize` itself, so it belongs here and not with the training-only
augmentation (:mod:`echo_edu.augmentation`), which the model never imports.
"""

from __future__ import annotations

from .frontend import (FRAMES_PER_SECOND, HOP_LENGTH, N_FFT, SAMPLE_RATE, load_audio, log_mel_spectrogram,
                       mel_filters, pad_or_trim, process_audio, save_audio)
from .normalize import NORMALIZATION_MODES, encoder_positions, frame_lengths, normalize_features, signal_frames

__all__ = [
    "SAMPLE_RATE", "HOP_LENGTH", "N_FFT", "FRAMES_PER_SECOND",
    "load_audio", "save_audio", "log_mel_spectrogram", "process_audio", "pad_or_trim", "mel_filters",
    "NORMALIZATION_MODES", "normalize_features", "frame_lengths", "encoder_positions", "signal_frames",
]
