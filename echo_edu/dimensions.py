"""``Dimensions``: every number that fixes the shape of an Echo model, in one dataclass.

The field names are the seed's (``mels, audio_ctx, audio_dims, ... eos_token_id``) so the seed usage
runs as written; everything has a default, so ``Dimensions()`` is a small working model for our
character tokenizer (vocab 31: ``<|pad|>`` 0, ``<|startoftranscript|>`` 1, ``<|endoftext|>`` 2, space,
apostrophe, a–z). The config is saved beside the weights as ``config.json`` (whisper's pattern:
rebuild a model with ``Echo(Dimensions.from_dict(json))``).

About ``cross_attention``. In the original code ``cross_attention=False`` removed cross-attention from
the layer-A blocks, and with the seed's ``text_layerB=0`` the decoder could not see the audio at all: it
was an unconditional language model. Here **every decoder block always cross-attends to the encoded
audio** (with ``cross_attention_type``), whatever this flag says. ``cross_attention=False`` is accepted
so the seed usage runs, and :meth:`Dimensions.validate` warns that it no longer switches the audio off.
A configuration with no decoder blocks at all (so no path to the audio) is refused.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch

from .attention import ATTENTION_TYPES
from .audio import HOP_LENGTH, NORMALIZATION_MODES, SAMPLE_RATE, encoder_positions
from .errors import ConfigError

__all__ = ["Dimensions", "ACTIVATIONS", "NORMS", "AUDIO_STRIDES"]

#: Activation names accepted for ``audio_act`` / ``text_act`` (the seed's list).
ACTIVATIONS = ("gelu", "relu", "sigmoid", "tanh", "leaky_relu", "elu", "silu")
#: Frames per encoder position the conv stem supports (``audio_stride``): one or two stride-2 convs.
AUDIO_STRIDES = (2, 4)
#: Normalisation layers accepted for ``norm``.
NORMS = ("rmsnorm", "layernorm")
@dataclass
class Dimensions:
    """Shape and wiring of an Echo encoder–decoder (``Echo(Dimensions(...))``)."""

    # --- audio encoder ---
    mels: int = 80                  # log-mel channels of the input (conv1 input channels)
    feature_norm: str = "none"      # per-utterance normalisation of the log-mel inside the encoder:
                                    # "cmvn" (per-bin mean/std), "cmn", "utterance" or "none"
    mask_padding: bool = True       # attention ignores padded audio positions (encoder self- and decoder
                                    # cross-attention); configs saved without the field load as False
    audio_ctx: int = 200            # encoder positions; the mel input has up to audio_stride*audio_ctx frames
    audio_stride: int = 2           # log-mel frames (10 ms each) per encoder position: 2 (one stride-2 conv,
                                    # 20 ms) or 4 (a second stride-2 conv, 40 ms: half the encoder's work)
    ctc_weight: float = 0.0         # share of a CTC loss on the encoder (joint CTC/attention); 0 = no CTC head
    audio_dims: int = 128           # encoder width
    audio_head: int = 4             # encoder attention heads
    audio_layerA: int = 2           # encoder blocks with standard self-attention (run first)
    audio_layerB: int = 0           # encoder blocks with `self_attention_type` self-attention (run after)
    audio_act: str = "gelu"         # activation of the conv stem and encoder MLPs
    # --- text decoder ---
    vocab: int = 31                 # len(tokenizer)
    text_ctx: int = 64              # longest token sequence the decoder handles (start token included)
    text_dims: int = 128            # decoder width (may differ from audio_dims: cross-attn projects)
    text_head: int = 4              # decoder attention heads
    text_layerA: int = 2            # decoder blocks with standard self-attention
    text_layerB: int = 0            # decoder blocks with `self_attention_type` self-attention
    text_act: str = "gelu"          # activation of the decoder MLPs
    # --- attention wiring ---
    self_attention_type: str = "standard"   # self-attention of the layer-B blocks (encoder and decoder)
    cross_attention_type: str = "standard"  # cross-attention of every decoder block
    cross_attention: bool = True    # kept for the seed; the decoder ALWAYS attends to the audio (see module doc)
    # --- special tokens ---
    decoder_start_token_id: int = 1  # <|startoftranscript|>: the first decoder input
    pad_token_id: int = 0            # <|pad|>
    eos_token_id: int = 2            # <|endoftext|>: decoding stops here
    # --- positions (rotary lives inside self-attention; cross-attention rotates nothing) ---
    rotary: bool = True             # rotary embeddings in every self-attention layer
    rotary_theta: float = 10000.0   # base of the rotary frequencies (negative turns the other way)
    use_quaternion: bool = False    # quaternion (4-D) rotations instead of 2-D pairs
    use_projection: bool = False    # rotate in a learned low-dimensional projection
    rot_scale: float = 1.0          # angle multiplier
    rot_count: int | None = None    # number of rotated channel groups (None: all)
    learned_freq: bool = False      # learn the rotary frequencies
    # --- the rest ---
    mlp_ratio: int = 4              # MLP hidden width = mlp_ratio * dims
    norm: str = "rmsnorm"           # "rmsnorm" or "layernorm" (pre-norm blocks)
    dropout: float = 0.0            # dropout on attention weights and residual branches
    attention_options: dict[str, Any] = field(default_factory=dict)  # extra kwargs for build_attention

    # ------------------------------------------------------------------ presets
    @classmethod
    def tiny(cls, **overrides) -> "Dimensions":
        """A model small enough for tests and CPU lessons (~0.1 M parameters, 2 s of audio)."""
        base = dict(audio_ctx=100, audio_dims=64, audio_head=2, audio_layerA=1, audio_layerB=0,
                    text_ctx=48, text_dims=64, text_head=2, text_layerA=1, text_layerB=0)
        return cls(**{**base, **overrides})

    @classmethod
    def small(cls, **overrides) -> "Dimensions":
        """The CPU-trainable size used for the digits model (~2 M parameters, 8 s of audio)."""
        base = dict(audio_ctx=400, audio_dims=192, audio_head=4, audio_layerA=3, audio_layerB=0,
                    text_ctx=128, text_dims=192, text_head=4, text_layerA=2, text_layerB=0)
        return cls(**{**base, **overrides})

    @classmethod
    def seed(cls, **overrides) -> "Dimensions":
        """The seed README's configuration (30 s of audio, width 512) with our tokenizer's ids."""
        base = dict(mels=80, audio_ctx=1500, audio_dims=512, audio_head=2, audio_layerA=2, audio_layerB=1,
                    text_ctx=448, text_dims=512, text_head=2, text_layerA=2, text_layerB=0,
                    self_attention_type="myelinated", cross_attention_type="myelinated")
        return cls(**{**base, **overrides})

    # ------------------------------------------------------------------ derived
    @property
    def audio_head_dim(self) -> int:
        return self.audio_dims // self.audio_head

    @property
    def text_head_dim(self) -> int:
        return self.text_dims // self.text_head

    @property
    def n_frames(self) -> int:
        """Log-mel frames one encoder window holds (``audio_stride * audio_ctx``)."""
        return self.audio_stride * self.audio_ctx

    @property
    def n_audio_samples(self) -> int:
        """Waveform samples one encoder window covers (``n_frames`` hops of 10 ms)."""
        return self.n_frames * HOP_LENGTH

    @property
    def audio_seconds(self) -> float:
        return self.n_audio_samples / SAMPLE_RATE

    def audio_ctx_for(self, seconds: float) -> int:
        """The smallest ``audio_ctx`` whose window holds a clip of ``seconds`` whole (this ``audio_stride``).

        The clip is ``round(seconds * SAMPLE_RATE)`` samples (durations are stored as float32, off by far
        less than half a sample), ``ceil(samples / HOP_LENGTH)`` frames, and
        :func:`~echo_edu.audio.encoder_positions` of those frames; it fits when that is ``<= audio_ctx``,
        i.e. when no sample is trimmed.
        """
        samples = round(float(seconds) * SAMPLE_RATE)
        frames = torch.tensor([-(-samples // HOP_LENGTH)])                        # ceil: a partial hop is cut off
        return int(encoder_positions(frames, self.audio_stride))

    # ------------------------------------------------------------------ validation
    def validate(self) -> "Dimensions":
        """Check every field; raise :class:`ConfigError` naming the field. Returns ``self``."""
        positive = ("mels", "audio_ctx", "audio_dims", "audio_head", "vocab", "text_ctx", "text_dims",
                    "text_head", "mlp_ratio")
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"Dimensions.{name} must be a positive integer, got {value!r}")
        for name in ("audio_layerA", "audio_layerB", "text_layerA", "text_layerB"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"Dimensions.{name} must be an integer >= 0, got {value!r}")
        if self.text_layerA + self.text_layerB == 0:
            raise ConfigError("Dimensions.text_layerA + text_layerB is 0: the decoder would have no blocks and "
                              "no cross-attention, so it could never hear the audio (the original Echo's defect)")
        for side in ("audio", "text"):
            dims, heads = getattr(self, f"{side}_dims"), getattr(self, f"{side}_head")
            if dims % heads:
                raise ConfigError(f"Dimensions.{side}_dims={dims} is not divisible by {side}_head={heads}")
            if self.rotary and (dims // heads) % 2:
                raise ConfigError(f"Dimensions.{side}_head: head size {dims}/{heads}={dims // heads} must be even "
                                  "for rotary embeddings (channels rotate in pairs)")
            act = getattr(self, f"{side}_act")
            if act not in ACTIVATIONS:
                raise ConfigError(f"Dimensions.{side}_act={act!r} is unknown; choose one of {', '.join(ACTIVATIONS)}")
        if not isinstance(self.audio_stride, int) or isinstance(self.audio_stride, bool) \
                or self.audio_stride not in AUDIO_STRIDES:
            raise ConfigError(f"Dimensions.audio_stride={self.audio_stride!r} must be one of "
                              f"{', '.join(map(str, AUDIO_STRIDES))} (frames per encoder position)")
        if self.text_ctx < 2:
            raise ConfigError(f"Dimensions.text_ctx={self.text_ctx} must be >= 2 (start token + one token)")
        known = tuple(ATTENTION_TYPES)
        for name in ("self_attention_type", "cross_attention_type"):
            value = getattr(self, name)
            if value not in known:
                raise ConfigError(f"Dimensions.{name}={value!r} is unknown; choose one of {', '.join(known)}")
        for name in ("decoder_start_token_id", "pad_token_id", "eos_token_id"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < self.vocab:
                raise ConfigError(f"Dimensions.{name}={value!r} must be a token id in [0, vocab={self.vocab})")
        if self.decoder_start_token_id == self.eos_token_id:
            raise ConfigError("Dimensions.decoder_start_token_id equals eos_token_id: decoding would start "
                              "from the end token (the original's wrong-start-token bug)")
        if self.feature_norm not in NORMALIZATION_MODES:
            raise ConfigError(f"Dimensions.feature_norm={self.feature_norm!r} is unknown; choose one of "
                              f"{', '.join(NORMALIZATION_MODES)}")
        if self.norm not in NORMS:
            raise ConfigError(f"Dimensions.norm={self.norm!r} is unknown; choose one of {', '.join(NORMS)}")
        if isinstance(self.ctc_weight, bool) or not (isinstance(self.ctc_weight, (int, float))
                                                      and 0.0 <= self.ctc_weight < 1.0):
            raise ConfigError(f"Dimensions.ctc_weight={self.ctc_weight!r} must be in [0, 1) (the attention "
                              "decoder keeps the rest of the loss)")
        if not (isinstance(self.dropout, (int, float)) and 0.0 <= self.dropout < 1.0):
            raise ConfigError(f"Dimensions.dropout={self.dropout!r} must be in [0, 1)")
        if not (isinstance(self.rotary_theta, (int, float)) and math.isfinite(self.rotary_theta)
                and self.rotary_theta != 0):
            raise ConfigError(f"Dimensions.rotary_theta={self.rotary_theta!r} must be a finite non-zero number")
        for name in ("rotary", "use_quaternion", "use_projection", "learned_freq", "cross_attention", "mask_padding"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"Dimensions.{name} must be True or False, got {getattr(self, name)!r}")
        if isinstance(self.rot_scale, bool) or not isinstance(self.rot_scale, (int, float)) \
                or not math.isfinite(self.rot_scale):
            raise ConfigError(f"Dimensions.rot_scale={self.rot_scale!r} must be a finite number")
        if self.rot_count is not None and (not isinstance(self.rot_count, int) or self.rot_count <= 0):
            raise ConfigError(f"Dimensions.rot_count={self.rot_count!r} must be None or a positive integer")
        if not isinstance(self.attention_options, dict):
            raise ConfigError(f"Dimensions.attention_options must be a dict, got {type(self.attention_options).__name__}")
        if not self.cross_attention:
            warnings.warn("Dimensions.cross_attention=False: in the original Echo this (with text_layerB=0) left the "
                          "decoder unable to hear the audio. echo_edu keeps cross-attention in every decoder block; "
                          "the flag is accepted for the seed usage only.", UserWarning, stacklevel=2)
        return self

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-safe dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Dimensions":
        """Rebuild from :meth:`to_dict` output; unknown keys raise :class:`ConfigError` naming them."""
        if not isinstance(data, dict):
            raise ConfigError(f"Dimensions.from_dict expects a dict, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"Dimensions has no field(s) {', '.join(unknown)}")
        # A config saved before ``feature_norm`` existed was trained on un-normalised features, one saved
        # before ``mask_padding`` with attention over the padding: they load as they were trained.
        return cls(**{"feature_norm": "none", "mask_padding": False, **data})

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Dimensions":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"Dimensions JSON is not valid JSON: {exc}") from None
        return cls.from_dict(data)

    def replace(self, **changes) -> "Dimensions":
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)
