"""echo_edu: learn, train and run the Echo speech recogniser.

Conventions followed everywhere in this package (stated once, here):

* Attention tensors are laid out ``(batch, heads, seq, head_dim)``; model streams ``(batch, seq, dims)``.
* Quaternions are stored real part first: ``(w, x, y, z)``.
* Rotary embeddings pair channels *interleaved*: ``(x0, x1), (x2, x3), ...`` with frequencies
  ``theta ** (-2k / dim)`` (the defaults of rotary-embedding-torch).
* Boolean masks mean "True = may attend" (the convention of ``scaled_dot_product_attention``).
* Audio is mono float32 in [-1, 1] at 16 kHz; features are Whisper-style log-mel ``(batch, mels, frames)``.
"""

from __future__ import annotations

from .errors import (AudioError, AudioFileNotFoundError, CheckpointError, ConfigError, EchoError,
                     EngineUnavailableError, ShapeError, TrainingError)
from .utils import default_device, quick_mode, set_seed

# --- quaternion maths and rotary embeddings (foundation) ---

# --- attention, refiner, windows ---

# --- audio, data, tokenizer ---

# --- model, decoding, training ---

__version__ = "0.1.0"

__all__ = [
    "AudioError", "AudioFileNotFoundError", "CheckpointError", "ConfigError", "EchoError",
    "EngineUnavailableError", "ShapeError", "TrainingError",
    "default_device", "quick_mode", "set_seed",
    # --- quaternion/rotary names ---
    # --- attention names ---
    # --- audio/data names ---
    # --- model names ---
]
