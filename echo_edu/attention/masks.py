"""Boolean attention masks with one convention everywhere: **True = may attend**.

That is the convention of :func:`torch.nn.functional.scaled_dot_product_attention`. Masks are
combined by logical AND of "allowed" (equivalently: OR of "blocked"), and they broadcast against
attention scores shaped ``(B, H, T_q, T_k)``:

* :func:`causal_mask` ``(T_q, T_k)`` — query ``i`` (absolute position ``offset + i``) sees keys ``j <= offset + i``.
* :func:`padding_mask` ``(B, 1, 1, T_k)`` — from a key padding mask ``(B, T_k)`` (True = real key).
* :func:`combine_masks` — AND of any number of masks (``None`` entries are ignored).

A query row with *no* allowed key (an all-padding example) would make softmax produce NaN;
:func:`rows_with_keys` finds such rows so the attention core can return zeros for them instead.
"""

from __future__ import annotations

import torch

from ..errors import ShapeError

__all__ = ["causal_mask", "padding_mask", "combine_masks", "lengths_to_padding_mask", "rows_with_keys",
           "check_key_padding_mask"]


def causal_mask(t_q: int, t_k: int, offset: int | None = None, device=None) -> torch.Tensor:
    """Lower-triangular "may attend" mask, aligned bottom-right for cached decoding.

    Args:
        t_q: number of queries; t_k: number of keys.
        offset: absolute position of the first query (the number of cached keys before it).
            Defaults to ``t_k - t_q``, which is right both without a cache (0) and with one.
        device: where to build it.
    Returns:
        ``(t_q, t_k)`` bool, ``True`` where key ``j <= offset + i``.
    """
    offset = t_k - t_q if offset is None else offset
    q_pos = torch.arange(t_q, device=device) + offset
    k_pos = torch.arange(t_k, device=device)
    return k_pos[None, :] <= q_pos[:, None]  # (T_q, T_k)


def check_key_padding_mask(key_padding_mask: torch.Tensor | None, batch: int, t_k: int) -> None:
    """Raise :class:`ShapeError` unless ``key_padding_mask`` is ``None`` or a ``(batch, t_k)`` bool tensor."""
    if key_padding_mask is None:
        return
    if key_padding_mask.dtype != torch.bool:
        raise ShapeError(f"key_padding_mask must be a bool tensor (True = real key), got dtype "
                         f"{key_padding_mask.dtype}")
    if tuple(key_padding_mask.shape) != (batch, t_k):
        raise ShapeError(f"key_padding_mask must have shape (batch, keys) = ({batch}, {t_k}) "
                         f"(keys include cached ones), got {tuple(key_padding_mask.shape)}")


def padding_mask(key_padding_mask: torch.Tensor) -> torch.Tensor:
    """``(B, T_k)`` bool (True = real key) → ``(B, 1, 1, T_k)``, ready to broadcast over heads and queries."""
    return key_padding_mask[:, None, None, :]


def lengths_to_padding_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """``(B,)`` integer lengths → ``(B, max_len)`` bool, True on the first ``lengths[b]`` positions."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def combine_masks(*masks: torch.Tensor | None) -> torch.Tensor | None:
    """Logical AND of every non-``None`` mask (broadcasting); ``None`` when there is none."""
    result = None
    for mask in masks:
        if mask is None:
            continue
        result = mask if result is None else result & mask
    return result


def rows_with_keys(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Make every query row attendable and report which rows really had a key.

    Args:
        mask: ``(..., T_q, T_k)`` bool.
    Returns:
        ``(safe_mask, has_key)``: ``safe_mask`` equals ``mask`` except that rows with no allowed key are
        fully opened (so softmax stays finite); ``has_key`` ``(..., T_q, 1)`` is False on those rows, and
        the attention core multiplies their output by it (they return zeros).
    """
    has_key = mask.any(dim=-1, keepdim=True)  # (..., T_q, 1)
    return mask | ~has_key, has_key
