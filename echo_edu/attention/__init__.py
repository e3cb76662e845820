"""Echo's attention mechanisms behind one interface.

Every type is built by :func:`build_attention` and called the same way::

    attn = build_attention("standard", dims=64, heads=4, rotary={"theta": 10000.0})
    out, info = attn(x, causal=True)              # x (B, T, 64) -> out (B, T, 64), the residual update
    out, info = attn(x, context=audio)            # cross-attention to (B, S, 64)

``forward(x, context=None, *, causal=False, key_padding_mask=None, cache=None, need_weights=False)``
returns ``(out, info)``; ``info["weights"]`` is ``(B, H, T, S)`` when ``need_weights``. Masks are bool
with True = may attend. :class:`KVCache` carries keys/values between decoding steps.

Modules: :mod:`.base` (cache, core, shared projections), :mod:`.masks`, :mod:`.windows`, :mod:`.pooling`,
one module per type, :mod:`.refiner` (the Q-learning span chooser of integrated attention) and
:mod:`.registry` (:data:`ATTENTION_TYPES`, :func:`build_attention`).
"""

from __future__ import annotations

from .adaptive import AdaptiveSpanAttention
from .base import AttentionBase, AttentionCall, KVCache, attention_core, info_dict, merge_heads, split_heads
from .focus import AdaptiveFocusAttention
from .integrated import IntegratedAttention
from .masks import causal_mask, combine_masks, lengths_to_padding_mask, padding_mask
from .myelinated import MyelinatedAttention
from .refiner import QLearningRefiner, ToySpanTask
from .registry import ATTENTION_TYPES, build_attention
from .standard import StandardAttention
from .windows import band_mask, blocked_local_attention, local_attention, window_buckets

__all__ = [
    "ATTENTION_TYPES", "build_attention", "KVCache", "AttentionBase", "AttentionCall", "attention_core",
    "split_heads", "merge_heads", "info_dict", "causal_mask", "padding_mask", "combine_masks",
    "lengths_to_padding_mask", "band_mask", "window_buckets", "local_attention", "blocked_local_attention",
    "StandardAttention", "IntegratedAttention", "MyelinatedAttention", "AdaptiveSpanAttention",
    "AdaptiveFocusAttention", "QLearningRefiner", "ToySpanTask",
]
