"""Echo's attention mechanisms behind one interface.

Every type is built by :func:`build_attention` and called the same way::

    attn = build_attention("standard", dims=64, heads=4, rotary={"theta": 10000.0})
    out, info = attn(x, causal=True)              # x (B, T, 64) -> out (B, T, 64), the residual update
    out, info = attn(x, context=audio)            # cross-attention to (B, S, 64)

``forward(x, context=None, *, causal=False, key_padding_mask=None, cache=None, need_weights=False)``
returns ``(out, info)``; ``info["weights"]`` is ``(B, H, T, S)`` when ``need_weights``. Masks are bool
with True = may attend. :class:`KVCache` carries keys/values between decoding steps.

Types register themselves in :data:`ATTENTION_TYPES` with the ``@register_attention(name)`` class decorator
(from ``echo_edu.attention.base``); importing their module below is all it takes.
"""

from __future__ import annotations

import inspect

from ..errors import ConfigError
from .base import (ATTENTION_TYPES, AttentionBase, KVCache, attention_core, head_average, info_dict, merge_heads,
                   register_attention, split_heads)
from .masks import causal_mask, combine_masks, lengths_to_padding_mask, padding_mask
from .windows import band_mask, blocked_local_attention, local_attention, window_buckets

def build_attention(kind: str, dims: int, heads: int, *, context_dims: int | None = None,
                    rotary: dict | None = None, dropout: float = 0.0, **options):
    """Build an attention module of type ``kind`` (a key of :data:`ATTENTION_TYPES`).

    Args:
        kind: ``"standard"``, ``"integrated"``, ``"myelinated"``, ``"adaptive"``, ...
        dims, heads: model width and number of heads.
        context_dims: context width for cross-attention (``None`` = self-attention).
        rotary: :class:`echo_edu.rotary.RotaryEmbedding` keyword options, or ``None``.
        dropout: attention-weight dropout while training.
        **options: type-specific options (see each class).
    Raises:
        ConfigError: unknown ``kind`` (the message lists the valid names) or an option the type does not take.
    """
    if kind not in ATTENTION_TYPES:
        raise ConfigError(f"unknown attention type {kind!r}; valid types: {', '.join(sorted(ATTENTION_TYPES))}")
    cls = ATTENTION_TYPES[kind]
    params = inspect.signature(cls.__init__).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(options) - set(params))
        if unknown:
            valid = sorted(n for n in params if n not in {"self", "dims", "heads", "context_dims", "rotary", "dropout"})
            raise ConfigError(f"attention type {kind!r} does not take option(s) {unknown}; "
                              f"its options are {valid}")
    return cls(dims, heads, context_dims=context_dims, rotary=rotary, dropout=dropout, **options)


# Importing a module registers its types (each class is decorated with ``@register_attention(name)``).
from .standard import StandardAttention  # noqa: E402
from .integrated import IntegratedAttention  # noqa: E402

__all__ = [
    "ATTENTION_TYPES", "build_attention", "register_attention", "KVCache", "AttentionBase", "attention_core",
    "split_heads", "merge_heads", "head_average", "info_dict", "causal_mask", "padding_mask", "combine_masks",
    "lengths_to_padding_mask", "band_mask", "window_buckets", "local_attention", "blocked_local_attention",
    "StandardAttention", "IntegratedAttention",
]

# Myelinated, adaptive-span and adaptive-focus-window types (registered on import).
from .myelinated import MyelinatedAttention  # noqa: E402
from .adaptive import AdaptiveSpanAttention  # noqa: E402
from .focus import AdaptiveFocusAttention  # noqa: E402

__all__ += ["MyelinatedAttention", "AdaptiveSpanAttention", "AdaptiveFocusAttention"]
