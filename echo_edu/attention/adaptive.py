"""Adaptive-span attention: every head learns how far back (and ahead) it needs to look, from content.

Adaptive span (Sukhbaatar et al., 2019, "Adaptive Attention Span in Transformers") multiplies the
attention weights by a *soft ramp* of the distance ``δ`` between query and key and renormalises::

    m_z(δ) = clamp((R + z − δ) / R, 0, 1)        1 inside the span z, a linear ramp of width R, then 0
    w_tj  ∝ m_z(δ_tj) · exp(q_t · k_j / √d)      same as adding log m_z(δ) to the logits

Because the ramp is linear, ``∂loss/∂z`` exists wherever a key sits on the ramp, so the span is
learned by gradient descent. A penalty ``λ · mean(z) / max_span`` (returned as ``info["aux_loss"]``;
the training loss adds it) pulls spans down, so a head keeps a long span only if the task pays for it.

Here the span is **content-dependent**: ``z = max_span · σ(W · pool(x) + b)``, one per head, where
``pool`` is the masked mean of the layer input — over the whole sequence in the encoder, the *prefix*
mean in the decoder (so no future token changes an earlier span; carried in ``cache.state`` while
decoding, see :mod:`.pooling`). ``W`` starts at zero, so every head starts at ``init_span`` tokens.

Distance is ``|p − j|`` (bidirectional) or ``p − j`` (causal, keys ``j ≤ p``). The query itself
(``δ = 0``) is always inside the span, so no row is ever empty. No key further than
``C = max_span + ramp`` can ever be seen, so long sequences are cut into blocks of ``C`` queries that
only meet the keys of neighbouring blocks (``O(T · 3C)`` instead of ``O(T²)``; same result, tested). Cross-attention has no meaningful
distance between a text token and an audio frame: there this type is plain attention and builds no
span parameters.

``info``: ``"span"`` ``(B, H, T)`` in tokens, ``"aux_loss"``, and with ``need_weights`` ``"weights"``
``(B, H, T, S)`` and ``"span_mask"`` (the ramp ``m``) ``(B, H, T, S)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from .base import AttentionBase, KVCache, attention_core, info_dict, register_attention
from .masks import causal_mask, combine_masks, rows_with_keys
from .pooling import running_mean

__all__ = ["AdaptiveSpanAttention", "span_ramp"]


def span_ramp(span: torch.Tensor, distance: torch.Tensor, ramp: float) -> torch.Tensor:
    """The soft span mask ``clamp((R + z − δ) / R, 0, 1)``.

    Args:
        span: ``z``, broadcastable against ``distance`` (e.g. ``(B, H, T, 1)``), in tokens.
        distance: ``δ ≥ 0`` (e.g. ``(T, S)``), in tokens.
        ramp: ``R``, the width of the linear part, in tokens.
    Returns:
        the broadcast shape, float32, values in ``[0, 1]``.
    """
    return ((ramp + span.float() - distance.float()) / ramp).clamp(0.0, 1.0)


def _biased_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, ramp: torch.Tensor, allowed: torch.Tensor,
                      *, dropout: float, need_weights: bool, check_rows: bool):
    """Attention with the ramp as a multiplicative mask: logits ``+ log m`` (−∞ where ``m = 0`` or not allowed).

    Args:
        q: ``(…, T, d)``; k, v: ``(…, S, d)``; ramp: ``m`` ``(…, T, S)`` float32 in [0, 1];
        allowed: bool broadcastable to ``ramp`` (causal, padding and range masks).
        check_rows: some row may have no allowed key (padding): give those rows zeros instead of NaN.
    Returns:
        ``(out (…, T, d), weights (…, T, S) or None)``.
    """
    allowed = allowed & (ramp > 0)
    has_key = None
    if check_rows:
        allowed, has_key = rows_with_keys(allowed.expand(ramp.shape))
    # clamp before log: log(0) would make the backward pass produce 0 · ∞ = NaN
    bias = torch.where(allowed, ramp.clamp_min(1e-30).log(), float("-inf"))  # (…, T, S)
    scale = 1.0 / math.sqrt(q.shape[-1])
    if need_weights:
        scores = torch.matmul(q, k.transpose(-1, -2)).float() * scale + bias
        weights = torch.softmax(scores, dim=-1).to(q.dtype)  # (…, T, S)
        out = torch.matmul(F.dropout(weights, p=dropout) if dropout > 0 else weights, v)
    else:
        weights = None
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype), dropout_p=dropout, scale=scale)
    if has_key is not None:
        out = out * has_key.to(out.dtype)
        if weights is not None:
            weights = weights * has_key.to(weights.dtype)
    return out, weights


def _blocked_span_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, span: torch.Tensor, *, ramp: float,
                            block: int, causal: bool, key_padding_mask: torch.Tensor | None, dropout: float):
    """Span attention computing only the keys a span can reach.

    Queries are grouped in ``n = ⌈T/C⌉`` blocks of ``C = block ≥ max_span + ramp``; block ``b`` meets the
    keys of blocks ``b−1, b`` (causal) or ``b−1, b, b+1`` as one unfolded window of ``s·C`` keys.

    Args:
        q, k, v: ``(B, H, T, d)`` (no cache); span: ``(B, H, T or 1)`` in tokens;
        key_padding_mask: ``(B, T)`` bool or ``None``.
    Returns:
        ``(B, H, T, d)``.
    """
    B, H, T, d = q.shape
    C, s = block, (2 if causal else 3)
    n = math.ceil(T / C)
    pad = n * C - T
    widths = (C, (s - 2) * C + pad)  # zero keys before and after, so every block has s·C of them
    qb = F.pad(q, (0, 0, 0, pad)).view(B, H, n, C, d)                                   # (B, H, n, C, d)
    kb = F.pad(k, (0, 0) + widths).unfold(2, s * C, C).transpose(-1, -2)                # (B, H, n, sC, d)
    vb = F.pad(v, (0, 0) + widths).unfold(2, s * C, C).transpose(-1, -2)
    k_pos = torch.arange(-C, (n + s - 2) * C, device=q.device).unfold(0, s * C, C)       # (n, sC)
    rel = torch.arange(n * C, device=q.device).view(n, C, 1) - k_pos[:, None, :]        # (n, C, sC)
    allowed = ((k_pos >= 0) & (k_pos < T))[:, None, :]                                  # (n, 1, sC)
    if causal:
        allowed = allowed & (rel >= 0)
    if key_padding_mask is not None:
        kpm = F.pad(key_padding_mask, widths, value=False).unfold(1, s * C, C)          # (B, n, sC)
        allowed = allowed & kpm[:, None, :, None, :]                                    # (B, 1, n, C, sC)
    # padded query rows get the longest span, so even they always reach a real key (no empty rows)
    z = F.pad(span.expand(B, H, T), (0, pad), value=float(C)).view(B, H, n, C, 1)    # (B, H, n, C, 1)
    m = span_ramp(z, rel.clamp_min(0) if causal else rel.abs(), ramp)                   # (B, H, n, C, sC)
    out, _ = _biased_attention(qb, kb, vb, m, allowed, dropout=dropout, need_weights=False,
                               check_rows=key_padding_mask is not None)
    return out.reshape(B, H, n * C, d)[:, :, :T]


@register_attention("adaptive")
class AdaptiveSpanAttention(AttentionBase):
    """Multi-head attention whose per-head span is predicted from content (see the module doc).

    Args:
        dims, heads, context_dims, rotary, dropout, bias: as :class:`~echo_edu.attention.AttentionBase`.
        max_span: the longest span a head can take, in tokens.
        ramp: width ``R`` of the soft ramp, in tokens (the gradient reaches ``z`` through it).
        init_span: starting span of every head, in tokens (``0 < init_span < max_span``).
        span_penalty: ``λ`` of the penalty ``λ · mean(z) / max_span`` in ``info["aux_loss"]``.
    """

    def __init__(self, dims: int, heads: int, *, context_dims: int | None = None, rotary: dict | None = None,
                 dropout: float = 0.0, bias: bool = True, max_span: int = 128, ramp: int = 16,
                 init_span: float = 32.0, span_penalty: float = 0.01) -> None:
        super().__init__(dims, heads, context_dims=context_dims, rotary=rotary, dropout=dropout, bias=bias)
        if max_span < 1 or ramp < 1:
            raise ConfigError(f"adaptive span needs max_span ≥ 1 and ramp ≥ 1, got max_span={max_span}, ramp={ramp}")
        if not 0 < init_span < max_span:
            raise ConfigError(f"adaptive span init_span must be in (0, max_span={max_span}), got {init_span}")
        if span_penalty < 0:
            raise ConfigError(f"adaptive span span_penalty must be ≥ 0, got {span_penalty}")
        self.max_span, self.ramp, self.span_penalty = max_span, ramp, span_penalty
        self.span_predictor = None
        if not self.is_cross:
            self.span_predictor = nn.Linear(dims, heads)  # pooled content → one span logit per head
            with torch.no_grad():
                self.span_predictor.weight.zero_()
                self.span_predictor.bias.fill_(math.log(init_span / (max_span - init_span)))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, max_span={self.max_span}, ramp={self.ramp}"

    def spans(self, x: torch.Tensor, valid: torch.Tensor | None = None, *, causal: bool,
              cache: KVCache | None = None) -> torch.Tensor:
        """Predict the span of every head from content: ``(B, T, D)`` → ``(B, H, T or 1)`` in tokens."""
        pooled = running_mean(x, valid, causal=causal, cache=cache, name="span")  # (B, T|1, D)
        z = self.max_span * torch.sigmoid(self.span_predictor(pooled).float())     # (B, T|1, H)
        return z.transpose(1, 2)  # (B, H, T|1)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, *, causal: bool = False,
                key_padding_mask: torch.Tensor | None = None, cache: KVCache | None = None,
                need_weights: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Attend within each head's predicted span.

        Args:
            x: ``(B, T, D)``; context: ``(B, S, C)`` for (plain) cross-attention or ``None``.
            causal: decoder self-attention; key_padding_mask: ``(B, keys)`` bool, True = real key.
            cache: :class:`~echo_edu.attention.KVCache` or ``None``; need_weights: return maps and the ramp.
        Returns:
            ``(out (B, T, D), info)``; ``out`` is the update, the caller adds the residual.
        """
        self.check_inputs(x, context, cache)
        B, T, _ = x.shape
        q, k, v, offset, cross = self.project(x, context, cache)  # (B, H, T, d), (B, H, S, d) ×2
        mask = self.key_mask(key_padding_mask, B, k.shape[-2])    # (B, 1, 1, S) or None
        if cross:
            out, weights = attention_core(q, k, v, mask, dropout=self.attn_dropout, need_weights=need_weights)
            return self.finish(out), info_dict(weights=weights)
        S = k.shape[-2]
        valid = None if key_padding_mask is None else key_padding_mask[:, -T:]
        z = self.spans(x, valid, causal=causal, cache=cache)  # (B, H, T|1)
        info = {"span": z.detach().expand(B, self.heads, T),
                "aux_loss": self.span_penalty * (z / self.max_span).mean()}
        block = math.ceil(self.max_span + self.ramp)
        if S == T and T > 2 * block and not need_weights:  # a decision on shapes only
            out = _blocked_span_attention(q, k, v, z, ramp=self.ramp, block=block, causal=causal,
                                          key_padding_mask=key_padding_mask, dropout=self.attn_dropout)
            return self.finish(out), info
        rel = (torch.arange(T, device=x.device) + offset)[:, None] - torch.arange(S, device=x.device)[None, :]
        distance = rel.clamp_min(0) if causal else rel.abs()   # (T, S)
        ramp = span_ramp(z[..., None], distance, self.ramp)    # (B, H, T, S)
        allowed = combine_masks(ramp > 0, mask, causal_mask(T, S, offset, device=x.device) if causal else None)
        out, weights = _biased_attention(q, k, v, ramp, allowed, dropout=self.attn_dropout, need_weights=need_weights,
                                         check_rows=key_padding_mask is not None)
        if need_weights:
            info.update(weights=weights, span_mask=ramp.detach())
        return self.finish(out), info
