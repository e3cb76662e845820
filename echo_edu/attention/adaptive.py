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
``C = max_span + ramp`` can ever be seen, so long sequences are cut into blocks of ``C/2`` queries that
only meet the keys of the two blocks on either side (``O(T · 5C/2)`` instead of ``O(T²)``; same result,
tested; blocks of ``C`` would need ``3C`` keys per query, a third of them always out of reach, and
smaller blocks than ``C/2`` saved no more time on a CPU). Cross-attention has no meaningful
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
from .base import AttentionBase, AttentionCall, KVCache, attention_core
from .masks import causal_mask, combine_masks
from .pooling import running_mean
from .windows import blocked_local_attention, masked_distance

__all__ = ["AdaptiveSpanAttention", "span_ramp", "log_span_ramp"]


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


def log_span_ramp(span: torch.Tensor, distance: torch.Tensor, ramp: float, reach: int,
                  dtype: torch.dtype | None = None) -> torch.Tensor:
    """``log m_z(δ)``: the ramp as an additive logit bias, differentiable in ``z``, by table look-up.

    ``log m`` is ``0`` inside the span, falls along the ramp and is ``−∞`` beyond it. Distances are
    integers and no key at ``δ ≥ reach`` (``reach ≥ max z + R``) is ever inside a ramp, so the ramp is
    computed once per head (and query) for ``δ = 0 … reach`` — a table of ``reach + 1`` values — and
    each score looks its value up. Only the look-up (one ``gather``, and a scatter-add backward) touches
    the full score shape; the ``log`` and the ``where`` that keeps ``log 0`` out of the backward pass run
    on the table. ``δ = +∞`` (a blocked key, see :func:`~echo_edu.attention.windows.masked_distance`)
    reads the entry ``reach``, which is ``−∞``: the masks cost nothing extra.

    Args:
        span: ``z`` in tokens with a trailing axis of 1, broadcastable against ``distance`` (e.g.
            ``(B, H, T, 1)`` or ``(B, H, 1, 1)``).
        distance: integer-valued ``δ ≥ 0`` or ``+∞`` (e.g. ``(T, S)``), any real dtype.
        ramp: ``R`` in tokens; reach: the table length − 1 (see above).
        dtype: dtype of the result (default: ``span``'s).
    Returns:
        the broadcast shape of ``span`` and ``distance``, values in ``[−∞, 0]``.
    """
    steps = torch.arange(reach + 1, device=span.device, dtype=span.dtype)      # δ = 0 … reach
    m = span_ramp(span, steps, ramp)                                              # (…, reach + 1)
    table = torch.where(m > 0, m.clamp_min(1e-30).log(), float("-inf")).to(dtype or span.dtype)
    # +∞ → reach; int64, the gather's own index type (an int32 index is converted, a full-size copy), and
    # ``expand`` leaves it a view of the distance's (n, C, sC) storage, so the backward keeps no big index
    index = distance.clamp(max=reach).long()
    shape = torch.broadcast_shapes(span.shape[:-1] + (1,), index.shape)
    return table.expand(shape[:-1] + (reach + 1,)).gather(-1, index.expand(shape))


class AdaptiveSpanAttention(AttentionBase):
    """Multi-head attention whose per-head span is predicted from content (see the module doc).

    Args:
        dims, heads, context_dims, rotary, dropout, bias: as :class:`~echo_edu.attention.AttentionBase`.
        max_span: the longest span a head can take, in tokens.
        ramp: width ``R`` of the soft ramp, in tokens (the gradient reaches ``z`` through it).
        init_span: starting span of every head, in tokens (``0 < init_span < max_span``).
        span_penalty: ``λ`` of the penalty ``λ · mean(z) / max_span`` in ``info["aux_loss"]``.
    """

    kind = "adaptive"  # its name in ATTENTION_TYPES

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

    #: the blocked path cuts the reach ``C`` into this many query blocks (see the module doc)
    blocks_per_reach = 2

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, max_span={self.max_span}, ramp={self.ramp}"

    def spans(self, x: torch.Tensor, valid: torch.Tensor | None = None, *, causal: bool,
              cache: KVCache | None = None) -> torch.Tensor:
        """Predict the span of every head from content: ``(B, T, D)`` → ``(B, H, T or 1)`` in tokens."""
        pooled = running_mean(x, valid, causal=causal, cache=cache, name="span")  # (B, T|1, D)
        z = self.max_span * torch.sigmoid(self.span_predictor(pooled).float())     # (B, T|1, H)
        return z.transpose(1, 2)  # (B, H, T|1)

    def attend(self, call: AttentionCall) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Attend within each head's predicted span (cross-attention: plain attention).

        ``call``: see :class:`~echo_edu.attention.base.AttentionCall`. Returns ``(out (B, T, D), info)``;
        ``out`` is the update, the caller adds the residual.
        """
        if call.cross:
            return super().attend(call)
        x, k, v, causal, key_padding_mask = call.x, call.k, call.v, call.causal, call.key_padding_mask
        B, T, _ = x.shape
        q = self.project_query(x, call)  # (B, H, T, d)
        S = k.shape[-2]
        z = self.spans(x, call.valid, causal=causal, cache=call.cache)  # (B, H, T|1)
        info = {"span": z.detach().expand(B, self.heads, T),
                "aux_loss": self.span_penalty * (z / self.max_span).mean()}
        reach = math.ceil(self.max_span + self.ramp)  # no key further than this is ever seen
        if S == T and T > 2 * reach and not call.need_weights:  # a decision on shapes only
            block = math.ceil(reach / self.blocks_per_reach)
            n = math.ceil(T / block)
            if z.shape[-1] == 1:  # one span per example and head (encoder): one table per head, broadcast
                z_rows = z.view(B, self.heads, 1, 1, 1)
            else:  # one span per query; padded query rows past T get z = 0 (they still see themselves)
                z_rows = F.pad(z, (0, n * block - T)).view(B, self.heads, n, block, 1)
            out = blocked_local_attention(q, k, v, reach, block=block, causal=causal,
                                          key_padding_mask=key_padding_mask, dropout=self.attn_dropout,
                                          score_bias=lambda distance: log_span_ramp(z_rows, distance, self.ramp,
                                                                                    reach, dtype=q.dtype))
            return self.finish(out), info
        rel = (torch.arange(T, device=x.device) + call.offset)[:, None] - torch.arange(S, device=x.device)[None, :]
        allowed = combine_masks(call.mask, causal_mask(T, S, call.offset, device=x.device) if causal else None)
        distance = masked_distance(rel, allowed, causal=causal, dtype=torch.float32)  # (T, S) or (B, 1, T, S)
        bias = log_span_ramp(z[..., None], distance, self.ramp, reach, dtype=q.dtype)  # (B, H, T, S)
        out, weights = attention_core(q, k, v, bias=bias, dropout=self.attn_dropout, need_weights=call.need_weights,
                                      guard_empty_rows=key_padding_mask is not None)
        if call.need_weights:
            plain = rel.clamp_min(0) if causal else rel.abs()
            info.update(weights=weights, span_mask=span_ramp(z.detach()[..., None], plain, self.ramp))
        return self.finish(out), info
