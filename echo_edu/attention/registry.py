"""The attention types by name, and :func:`build_attention`, the one way the model builds them.

The registry is a literal dict: every type is listed here, so reading this file tells you all there
is. A new type is a module with a class (``kind = "name"``) and one line below.
"""

from __future__ import annotations

import inspect

from ..errors import ConfigError
from .adaptive import AdaptiveSpanAttention
from .focus import AdaptiveFocusAttention
from .integrated import IntegratedAttention
from .myelinated import MyelinatedAttention
from .standard import StandardAttention

__all__ = ["ATTENTION_TYPES", "build_attention"]

#: name → class; each class's ``kind`` is its key here.
ATTENTION_TYPES: dict[str, type] = {
    "standard": StandardAttention,
    "myelinated": MyelinatedAttention,
    "integrated": IntegratedAttention,
    "adaptive": AdaptiveSpanAttention,
    "focus": AdaptiveFocusAttention,
}

_SHARED = ("self", "dims", "heads", "context_dims", "rotary", "dropout")


def build_attention(kind: str, dims: int, heads: int, *, context_dims: int | None = None,
                    rotary: dict | None = None, dropout: float = 0.0, **options):
    """Build an attention module of type ``kind`` (a key of :data:`ATTENTION_TYPES`).

    Args:
        kind: ``"standard"``, ``"myelinated"``, ``"integrated"``, ``"adaptive"`` or ``"focus"``.
        dims, heads: model width and number of heads.
        context_dims: context width for cross-attention (``None`` = self-attention).
        rotary: :class:`echo_edu.rotary.RotaryEmbedding` keyword options, or ``None``.
        dropout: attention-weight dropout while training.
        **options: type-specific options (see each class).
    Raises:
        ConfigError: unknown ``kind`` (the message lists the valid names) or an option the type does not
            take (the message lists the ones it does), instead of Python's ``TypeError``.
    """
    if kind not in ATTENTION_TYPES:
        raise ConfigError(f"unknown attention type {kind!r}; valid types: {', '.join(sorted(ATTENTION_TYPES))}")
    cls = ATTENTION_TYPES[kind]
    params = inspect.signature(cls.__init__).parameters
    unknown = sorted(set(options) - set(params))
    if unknown:
        valid = sorted(n for n in params if n not in _SHARED)
        raise ConfigError(f"attention type {kind!r} does not take option(s) {unknown}; its options are {valid}")
    return cls(dims, heads, context_dims=context_dims, rotary=rotary, dropout=dropout, **options)
