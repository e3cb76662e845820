"""Standard multi-head attention with rotary: the baseline every other attention type is compared with.

``out = W_o · concat_h softmax(q_h k_hᵀ / √d + mask) v_h`` with ``q = W_q x``, ``k = W_k x`` (or
``W_k context``), ``v = W_v x`` (or ``W_v context``); rotary rotates q and k of self-attention by their
absolute positions (``offset`` = cached length while decoding), so scores depend on relative position.

This is :class:`~echo_edu.attention.base.AttentionBase` unchanged: its ``attend`` *is* plain multi-head
attention, and every other type starts from it and overrides only ``attend``.
"""

from __future__ import annotations

from .base import AttentionBase

__all__ = ["StandardAttention"]


class StandardAttention(AttentionBase):
    """Multi-head self- or cross-attention. Constructor arguments and ``forward``: see :class:`AttentionBase`."""

    kind = "standard"  # its name in ATTENTION_TYPES

