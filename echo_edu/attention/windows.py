"""Banded (sliding-window) attention: each query sees only keys near it.

Definition used everywhere in echo_edu. A query at absolute position ``p`` may attend key ``j`` when

* bidirectional: ``|p − j| < w``            (``w`` positions on each side, itself included),
* causal:        ``0 ≤ p − j < w``          (itself and the ``w − 1`` previous positions).

So ``w ≥ T`` gives full (or full causal) attention. ``w`` may be one int, one per example ``(B,)`` or one
per query ``(B, T_q)`` — the integrated attention picks it per token from a fixed set of **buckets**
(:func:`window_buckets`), which keeps every tensor shape static.

Two implementations, tested equal to each other and to a reference loop:

* :func:`band_mask` + the attention core: a dense ``(T_q, T_k)`` mask — simple, returns weights, works
  with a KV cache (queries at ``offset + i``). Cost ``O(T²)``.
* :func:`blocked_local_attention`: cut the sequence into blocks of ``C ≥ max w`` queries; block ``b``
  only needs keys from blocks ``b−1, b`` (causal) or ``b−1, b, b+1``. Cost ``O(T · 3C)`` — this is what
  makes long sequences cheap. An int window may also span ``r`` smaller blocks on each side.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from ..errors import ConfigError, ShapeError
from .base import attention_core
from .masks import combine_masks, padding_mask

__all__ = ["band_mask", "window_buckets", "local_attention", "blocked_local_attention", "masked_distance"]


def window_buckets(max_window: int, count: int, min_window: int = 1) -> tuple[int, ...]:
    """A fixed, sorted set of band widths: ``count`` roughly geometric steps from ``min_window`` up to ``max_window``.

    >>> window_buckets(64, 4)
    (8, 16, 32, 64)
    """
    if count < 1 or max_window < 1 or not 1 <= min_window <= max_window:
        raise ConfigError(f"window buckets need count ≥ 1 and 1 ≤ min_window ≤ max_window, got "
                          f"count={count}, min_window={min_window}, max_window={max_window}")
    widths = {max(min_window, round(max_window / 2 ** i)) for i in range(count)}
    widths = sorted(widths)
    return tuple(widths[-count:])


def _band(rel: torch.Tensor, window, causal: bool) -> torch.Tensor:
    """``rel = p − j`` (any shape, long) vs window (int or broadcastable long tensor) → bool band."""
    if causal:
        return (rel >= 0) & (rel < window)
    return rel.abs() < window


def _per_query_window(window, batch: int, t_q: int, device) -> torch.Tensor | int:
    """Normalise ``window`` to an int or a ``(B, 1, T_q, 1)`` long tensor."""
    if isinstance(window, int):
        if window < 1:
            raise ConfigError(f"window must be ≥ 1, got {window}")
        return window
    if not isinstance(window, torch.Tensor) or window.dtype not in (torch.int32, torch.int64):
        raise ShapeError(f"window must be an int or an integer tensor, got {type(window).__name__}")
    if window.dim() == 1 and window.shape[0] == batch:
        return window.to(device)[:, None, None, None]  # (B, 1, 1, 1)
    if window.dim() == 2 and tuple(window.shape) == (batch, t_q):
        return window.to(device)[:, None, :, None]  # (B, 1, T_q, 1)
    raise ShapeError(f"window tensor must be (batch,) = ({batch},) or (batch, queries) = ({batch}, {t_q}), "
                     f"got {tuple(window.shape)}")


def band_mask(t_q: int, t_k: int, window, *, causal: bool, offset: int | None = None, batch: int = 1,
              device=None) -> torch.Tensor:
    """Dense banded "may attend" mask.

    Args:
        t_q, t_k: query and key counts; ``offset`` is the absolute position of query 0 (default
            ``t_k − t_q``: right with or without a cache).
        window: int, ``(B,)`` or ``(B, T_q)`` long tensor.
        causal: one-sided band (decoder) or two-sided (encoder).
    Returns:
        ``(T_q, T_k)`` for an int window, else ``(B, 1, T_q, T_k)``; bool, True = may attend.
    """
    offset = t_k - t_q if offset is None else offset
    w = _per_query_window(window, batch, t_q, device)
    rel = (torch.arange(t_q, device=device) + offset)[:, None] - torch.arange(t_k, device=device)[None, :]
    return _band(rel, w, causal)  # (T_q, T_k) or (B, 1, T_q, T_k)


def local_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window, *, max_window: int,
                    causal: bool, key_padding_mask: torch.Tensor | None = None, dropout: float = 0.0,
                    need_weights: bool = False, blocked: bool | None = None):
    """Sliding-window attention with the cheapest exact implementation for the shapes at hand.

    Args:
        q: ``(B, H, T_q, d)``; k, v: ``(B, H, T_k, d)`` (``T_k > T_q`` while decoding with a cache).
        window: int, ``(B,)`` or ``(B, T_q)``; every value must be ≤ ``max_window``.
        max_window: the largest possible window (sets the block size of the blocked path).
        key_padding_mask: ``(B, T_k)`` bool, True = real key.
        blocked: force a path; by default the blocked path is used when ``T_q == T_k > 2·max_window``
            and no weights are requested (a decision on shapes only, never on values).
    Returns:
        ``(out (B, H, T_q, d), weights (B, H, T_q, T_k) or None)``.
    """
    B, H, t_q, _ = q.shape
    t_k = k.shape[-2]
    if blocked is None:
        blocked = t_q == t_k and t_q > 2 * max_window and not need_weights
    if blocked:
        if t_q != t_k or need_weights:
            raise ShapeError("blocked local attention needs T_q == T_k (no cache) and need_weights=False")
        out = blocked_local_attention(q, k, v, window, block=max_window, causal=causal,
                                      key_padding_mask=key_padding_mask, dropout=dropout)
        return out, None
    mask = band_mask(t_q, t_k, window, causal=causal, batch=B, device=q.device)
    if key_padding_mask is not None:
        mask = combine_masks(mask, padding_mask(key_padding_mask))
    # a band always contains the query itself, so only padding can leave a row without keys
    return attention_core(q, k, v, mask, dropout=dropout, need_weights=need_weights,
                          guard_empty_rows=key_padding_mask is not None)


def _shifted_blocks(x: torch.Tensor, n_blocks: int, shifts: int, dim: int) -> torch.Tensor:
    """Concatenate ``shifts`` consecutive block-views: block ``b`` gets blocks ``b, b+1, …`` (of the padded x)."""
    parts = [x.narrow(dim, s, n_blocks) for s in range(shifts)]
    return torch.cat(parts, dim=dim + 1)


def blocked_local_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window, *, block: int,
                            causal: bool, key_padding_mask: torch.Tensor | None = None, dropout: float = 0.0,
                            score_bias: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """Exact sliding-window attention that only computes the band (plus block slack).

    Queries are grouped into ``n = ⌈T/C⌉`` blocks of ``C = block`` positions. With ``w ≤ r·C``, every key
    a query in block ``b`` may see lies in blocks ``b−r … b`` (causal) or ``b−r … b+r`` (bidirectional),
    so scores are ``(B, H, n, C, sC)`` with ``s = r + 1`` or ``2r + 1`` instead of ``(B, H, T, T)``.
    A tensor window has ``r = 1``; an int window may be wider than the block, ``r = ⌈w/C⌉``: smaller
    blocks waste fewer key columns (``sC`` approaches the ``2w + 1`` a query needs) but make more, smaller
    matrix products.

    Args:
        q, k, v: ``(B, H, T, d)``; window: int, or ``(B,)`` / ``(B, T)`` with values ≤ ``block``.
        score_bias: optional function of the query–key **distance** ``(B|1, 1, n, C, sC)`` (float32, so
            integers stay exact; ``|p − j|``, or ``p − j`` when causal, and ``+∞`` wherever the band, the causal order, the
            sequence ends or the padding block the key) returning an additive logit bias broadcastable to
            ``(B, H, n, C, sC)`` that is ``−∞`` where the distance is ``+∞``. It replaces the boolean band
            mask, so a soft mask of the distance (adaptive span's ramp) runs through this same kernel.
    Returns:
        ``(B, H, T, d)``.
    """
    B, H, T, d = q.shape
    C = block
    n = math.ceil(T / C)
    pad = n * C - T
    r = math.ceil(window / C) if isinstance(window, int) else 1  # neighbour blocks on each side
    shifts = r + 1 if causal else 2 * r + 1
    qb = F.pad(q, (0, 0, 0, pad)).view(B, H, n, C, d)  # (B, H, n, C, d)
    kp = F.pad(k, (0, 0, r * C, r * C + pad)).view(B, H, n + 2 * r, C, d)  # r empty blocks in front, r behind
    vp = F.pad(v, (0, 0, r * C, r * C + pad)).view(B, H, n + 2 * r, C, d)
    kb = _shifted_blocks(kp, n, shifts, dim=2).view(B, H, n, shifts * C, d)  # (B, H, n, sC, d)
    vb = _shifted_blocks(vp, n, shifts, dim=2).view(B, H, n, shifts * C, d)

    q_pos = torch.arange(n * C, device=q.device).view(n, C)  # (n, C)
    k_pos = torch.arange(-r * C, (n + r) * C, device=q.device).view(n + 2 * r, C)
    k_pos = _shifted_blocks(k_pos, n, shifts, dim=0).view(n, shifts * C)  # (n, sC)
    rel = q_pos[:, :, None] - k_pos[:, None, :]  # (n, C, sC)
    # keys outside [0, T) are blocked, except for the padded queries past T (discarded at the end), which
    # keep their (zero) band so that no row is ever empty
    valid = ((k_pos >= 0) & (k_pos < T))[:, None, :] | (q_pos >= T)[:, :, None]  # (n, C, sC)

    if isinstance(window, int):
        w = window
    else:
        w = _per_query_window(window, B, T, q.device)  # (B, 1, 1|T, 1)
        if w.shape[2] == T:
            w = F.pad(w.view(B, T), (0, pad), value=1).view(B, 1, n, C, 1)  # (B, 1, n, C, 1)
        else:
            w = w.view(B, 1, 1, 1, 1)
    mask = _band(rel, w, causal) & valid  # (n, C, sC) or (B, 1, n, C, sC)
    if key_padding_mask is not None:
        kpm = F.pad(key_padding_mask, (r * C, r * C + pad), value=False).view(B, n + 2 * r, C)
        kpm = _shifted_blocks(kpm, n, shifts, dim=1).view(B, n, shifts * C)  # (B, n, sC)
        mask = mask & kpm[:, None, :, None, :]  # (B, 1, n, C, sC)
    mask = mask if mask.dim() == 5 else mask[None, None]  # (B|1, 1, n, C, sC)
    bias = None
    if score_bias is not None:  # the soft mask of the distance replaces the boolean one
        bias, mask = score_bias(masked_distance(rel, mask, causal=causal, dtype=torch.float32)), None

    def fold(t):  # (B|1, H|1, n, C, sC) → (1 or B·H, n, C, sC)
        if t.shape[0] == 1 and t.shape[1] == 1:  # shared by every example and head: broadcast, no copy
            return t.view(1, n, C, shifts * C)
        return t.expand(B, H, n, C, shifts * C).reshape(B * H, n, C, shifts * C)

    # fold batch and heads into one axis and let blocks play the heads, so the fused kernels see ordinary
    # 4-D (batch·heads, blocks, C, ·) tensors and a mask shared by every head broadcasts instead of being
    # copied once per head
    out, _ = attention_core(qb.reshape(B * H, n, C, d), kb.reshape(B * H, n, shifts * C, d),
                            vb.reshape(B * H, n, shifts * C, d), None if mask is None else fold(mask),
                            bias=None if bias is None else fold(bias), dropout=dropout,
                            guard_empty_rows=key_padding_mask is not None)  # (B·H, n, C, d)
    return out.reshape(B, H, n * C, d)[:, :, :T]


def masked_distance(rel: torch.Tensor, allowed: torch.Tensor | None, *, causal: bool,
                    dtype: torch.dtype) -> torch.Tensor:
    """Query–key distance with the boolean mask folded in: ``+∞`` where a key may not be attended.

    A soft mask of the distance (a ramp, a decay) then needs no separate ``where`` over the scores:
    its value at ``+∞`` is its value "blocked" (``−∞`` as a logit bias).

    Args:
        rel: ``p − j`` (long), any shape; allowed: bool broadcastable against it (True = may attend), or
            ``None`` (every key allowed).
        causal: the distance is ``p − j`` (``allowed`` already blocks ``j > p``), else ``|p − j|``.
        dtype: the float dtype to return (the queries' dtype).
    Returns:
        the broadcast shape, ``dtype``, ``≥ 0`` or ``+∞``.
    """
    distance = (rel if causal else rel.abs()).to(dtype)
    return distance if allowed is None else distance.masked_fill(~allowed, float("inf"))
