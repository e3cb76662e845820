"""Standard multi-head attention with rotary: the baseline every other attention type is compared with.

``out = W_o · concat_h softmax(q_h k_hᵀ / √d + mask) v_h`` with ``q = W_q x``, ``k = W_k x`` (or
``W_k context``), ``v = W_v x`` (or ``W_v context``); rotary rotates q and k of self-attention by their
absolute positions (``offset`` = cached length while decoding), so scores depend on relative position.
"""

from __future__ import annotations

import torch

from .base import AttentionBase, KVCache, attention_core, info_dict

__all__ = ["StandardAttention"]


class StandardAttention(AttentionBase):
    """Multi-head self- or cross-attention. Constructor arguments: see :class:`AttentionBase`."""

    kind = "standard"  # its name in ATTENTION_TYPES

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, *, causal: bool = False,
                key_padding_mask: torch.Tensor | None = None, cache: KVCache | None = None,
                need_weights: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Attend from ``x`` to itself (or to ``context``).

        Args:
            x: ``(B, T, D)`` queries (and keys/values for self-attention).
            context: ``(B, S, C)`` for cross-attention, else ``None``.
            causal: decoder self-attention (query ``t`` sees keys ``≤ t``); ignored for cross-attention.
            key_padding_mask: ``(B, keys)`` bool, True = real key (keys include cached ones).
            cache: :class:`KVCache` for incremental decoding, or ``None``.
            need_weights: also return ``info["weights"]`` ``(B, H, T, keys)``.
        Returns:
            ``(out (B, T, D), info)`` — ``out`` is the update; the caller adds the residual.
        """
        self.check_inputs(x, context, cache)
        q, k, v, _, cross = self.project(x, context, cache)  # (B, H, T, d), (B, H, L, d) ×2
        mask = self.key_mask(key_padding_mask, x.shape[0], k.shape[-2])
        out, weights = attention_core(q, k, v, mask, causal=causal and not cross, dropout=self.attn_dropout,
                                      need_weights=need_weights)
        return self.finish(out), info_dict(weights=weights)
