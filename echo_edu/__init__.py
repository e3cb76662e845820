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

from ._version import __version__
from .errors import (AudioError, AudioFileNotFoundError, CheckpointError, ConfigError, EchoError,
                     EngineUnavailableError, ShapeError, TrainingError)
from .utils import default_device, quick_mode, set_seed

# --- quaternion maths and rotary embeddings (foundation) ---
from .quaternion import (quat_angle_between, quat_conjugate, quat_from_axis_angle, quat_from_matrix,
                         quat_inverse, quat_multiply, quat_norm, quat_normalize, quat_random, quat_rotate,
                         quat_slerp, quat_to_axis_angle, quat_to_matrix, rodrigues_matrix, rodrigues_matrix_cs,
                         rodrigues_rotate, rodrigues_rotate_cs, skew_matrix)
from .rotary import RotaryEmbedding

# --- attention, refiner, windows ---
from .attention import (ATTENTION_TYPES, AdaptiveFocusAttention, AdaptiveSpanAttention, IntegratedAttention,
                        KVCache, MyelinatedAttention, StandardAttention, build_attention)
from .attention import QLearningRefiner, ToySpanTask

# --- audio, data, tokenizer ---
from .audio import HOP_LENGTH, N_FFT, SAMPLE_RATE, load_audio, log_mel_spectrogram
from .audio import normalize_features
from .augmentation import AugmentConfig, Augmenter
from .data import build_corpus, load_samples
from .text import normalize_text
from .tokenizer import build_tokenizer, load_tokenizer

# --- model, decoding, training ---
from .audio import process_audio
from .dimensions import Dimensions
from .model import Echo, EchoOutput
from .transcribe import transcribe


__all__ = [
    "AudioError", "AudioFileNotFoundError", "CheckpointError", "ConfigError", "EchoError",
    "EngineUnavailableError", "ShapeError", "TrainingError",
    "default_device", "quick_mode", "set_seed",
    # --- quaternion/rotary names ---
    "quat_angle_between", "quat_conjugate", "quat_from_axis_angle", "quat_from_matrix", "quat_inverse",
    "quat_multiply", "quat_norm", "quat_normalize", "quat_random", "quat_rotate", "quat_slerp",
    "quat_to_axis_angle", "quat_to_matrix", "rodrigues_matrix", "rodrigues_matrix_cs", "rodrigues_rotate",
    "rodrigues_rotate_cs", "skew_matrix", "RotaryEmbedding",
    # --- attention names ---
    "ATTENTION_TYPES", "KVCache", "build_attention", "MyelinatedAttention", "AdaptiveSpanAttention",
    "AdaptiveFocusAttention", "StandardAttention", "IntegratedAttention", "QLearningRefiner", "ToySpanTask",
    # --- audio/data names ---
    "HOP_LENGTH", "N_FFT", "SAMPLE_RATE", "load_audio", "log_mel_spectrogram", "build_corpus",
    "load_samples", "normalize_text", "build_tokenizer", "load_tokenizer",
    "AugmentConfig", "Augmenter", "normalize_features",
    # --- model names ---
    "Dimensions", "Echo", "EchoOutput", "process_audio", "transcribe",
]
