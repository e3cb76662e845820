"""The pieces an Echo encoder or decoder is stacked from: norms, the MLP, sinusoids, residual blocks.

A block is pre-norm (as in GPT-2 and Whisper)::

    x = x + SelfAttention(Norm(x))             # bidirectional in the encoder, causal in the decoder
    x = x + CrossAttention(Norm(x), audio)     # decoder blocks only: *every* decoder block listens
    x = x + MLP(Norm(x))

Attention modules come from :func:`echo_edu.attention.build_attention`; they return the *update*
and the block adds the residual. Layer-A blocks use ``"standard"`` self-attention, layer-B blocks the
experimental ``self_attention_type``; cross-attention uses ``cross_attention_type`` in every decoder block.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .attention import build_attention
from .dimensions import Dimensions
from .errors import ConfigError

__all__ = ["RMSNorm", "make_norm", "make_activation", "MLP", "ResidualBlock", "sinusoids", "rotary_options"]


class RMSNorm(nn.Module):
    """Root-mean-square norm with a learned gain, computed in float32 and cast back.

    Args:
        x: ``(..., dims)``.
    Returns:
        ``(..., dims)``, same dtype as ``x``.
    """

    def __init__(self, dims: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.normalized_shape = (dims,)
        self.weight = nn.Parameter(torch.ones(dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x / sqrt(mean(x²) + eps) · weight, one fused call (F.rms_norm), in float32
        return F.rms_norm(x.float(), self.normalized_shape, self.weight.float(), self.eps).to(x.dtype)


class _LayerNorm(nn.LayerNorm):
    """LayerNorm computed in float32 and cast back (safe under bfloat16 autocast)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.float()).to(x.dtype)


def make_norm(kind: str, dims: int) -> nn.Module:
    if kind == "rmsnorm":
        return RMSNorm(dims)
    if kind == "layernorm":
        return _LayerNorm(dims)
    raise ConfigError(f"Dimensions.norm={kind!r} is unknown; choose rmsnorm or layernorm")


_ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
                "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "silu": nn.SiLU}


def make_activation(name: str) -> nn.Module:
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ConfigError(f"activation {name!r} is unknown; choose one of {', '.join(_ACTIVATIONS)}") from None


class MLP(nn.Module):
    """``Linear(d, r·d) → act → Linear(r·d, d)``. ``(B, T, d) -> (B, T, d)``."""

    def __init__(self, dims: int, ratio: int, act: str, dropout: float = 0.0):
        super().__init__()
        self.fc = nn.Linear(dims, ratio * dims)
        self.act = make_activation(act)
        self.proj = nn.Linear(ratio * dims, dims)
        self.dropout = nn.Dropout(dropout)

    def residual_outputs(self) -> list[nn.Linear]:
        """The layer whose output is added to the residual stream."""
        return [self.proj]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(self.act(self.fc(x))))


def sinusoids(length: int, channels: int, max_timescale: float = 10000.0) -> torch.Tensor:
    """Fixed sin|cos position table ``(length, channels)`` (the transformer's / Whisper's encoder positions)."""
    if channels % 2:
        raise ConfigError(f"sinusoidal positions need an even width, got {channels}")
    half = channels // 2
    inv = torch.exp(-math.log(max_timescale) * torch.arange(half, dtype=torch.float32) / max(half - 1, 1))
    angle = torch.arange(length, dtype=torch.float32)[:, None] * inv[None, :]  # (length, half)
    return torch.cat([angle.sin(), angle.cos()], dim=1)                         # (length, channels)


def rotary_options(dims: Dimensions) -> dict | None:
    """The ``RotaryEmbedding`` keyword options for self-attention (``None`` when rotary is off)."""
    if not dims.rotary:
        return None
    return dict(theta=dims.rotary_theta, use_quaternion=dims.use_quaternion, use_projection=dims.use_projection,
                rot_scale=dims.rot_scale, rot_count=dims.rot_count, learned_freq=dims.learned_freq)


class ResidualBlock(nn.Module):
    """One pre-norm transformer block; optional cross-attention to a context (the encoded audio).

    Args:
        dims, heads: width and head count of the stream.
        act: MLP activation name.
        attention_type: registry name of the self-attention.
        cross_attention_type: registry name of the cross-attention, or ``None`` (encoder blocks).
        context_dims: width of the context (``audio_dims``) for cross-attention.
        config: the model's :class:`Dimensions` (rotary, MLP ratio, norm, dropout, options).
    """

    def __init__(self, dims: int, heads: int, act: str, attention_type: str, config: Dimensions, *,
                 cross_attention_type: str | None = None, context_dims: int | None = None):
        super().__init__()
        options = config.attention_options if attention_type != "standard" else {}
        self.attn_norm = make_norm(config.norm, dims)
        self.attn = build_attention(attention_type, dims, heads, rotary=rotary_options(config),
                                    dropout=config.dropout, **options)
        self.cross = None
        if cross_attention_type is not None:
            cross_options = config.attention_options if cross_attention_type != "standard" else {}
            self.cross_norm = make_norm(config.norm, dims)
            self.cross = build_attention(cross_attention_type, dims, heads, context_dims=context_dims,
                                         rotary=None, dropout=config.dropout, **cross_options)
        self.mlp_norm = make_norm(config.norm, dims)
        self.mlp = MLP(dims, config.mlp_ratio, act, config.dropout)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, *, causal: bool = False,
                self_cache=None, cross_cache=None, need_weights: bool = False,
                key_padding_mask: torch.Tensor | None = None, context_mask: torch.Tensor | None = None):
        """Args:
            x: ``(B, T, dims)``; context: ``(B, S, context_dims)`` or ``None``.
            self_cache / cross_cache: ``KVCache`` objects for incremental decoding, or ``None``.
            key_padding_mask: ``(B, T)`` bool, True = real position, for self-attention (encoder), or ``None``.
            context_mask: ``(B, S)`` bool, True = real context position, for cross-attention, or ``None``.
        Returns:
            ``(x, info)``: ``x`` ``(B, T, dims)``; ``info`` has ``"self"`` and ``"cross"`` attention info
            dicts and ``"aux_loss"`` (scalar tensor, the sum of the attention regularisers).
        """
        out, self_info = self.attn(self.attn_norm(x), causal=causal, key_padding_mask=key_padding_mask,
                                   cache=self_cache, need_weights=need_weights)
        x = x + self.dropout(out)
        info = {"self": self_info}
        aux = self_info.get("aux_loss")
        if self.cross is not None:
            if context is None:
                raise ConfigError("this block cross-attends: pass the encoded audio as context")
            out, cross_info = self.cross(self.cross_norm(x), context, key_padding_mask=context_mask, cache=cross_cache,
                                         need_weights=need_weights)
            x = x + self.dropout(out)
            info["cross"] = cross_info
            if cross_info.get("aux_loss") is not None:
                aux = cross_info["aux_loss"] if aux is None else aux + cross_info["aux_loss"]
        x = x + self.mlp(self.mlp_norm(x))
        info["aux_loss"] = aux if aux is not None else x.new_zeros(())
        return x, info
