"""Adaptive focus window: sliding-window attention whose width each example picks from its own content.

The original Echo cut the sequence into windows in a Python loop, re-ran attention up to ten times per
window until a data-dependent tolerance was met, and chose window sizes from a scalar that changed on
every call — slow, unsynchronisable, and impossible to compile. Here the same idea is one banded mask:

1. **Activity** of the input: the relative change between neighbouring frames,
   ``ν_t = ‖x_t − x_{t−1}‖² / (‖x_t‖² + ‖x_{t−1}‖²)`` (0 for a steady signal or silence, 1 for
   unrelated frames, 2 for a sign flip). It does not care about loudness, so it means the same before
   and after the block's norm. Pooled as a masked mean: one number per example in the encoder, a
   *prefix* mean per position in the decoder (nothing from the future; carried in ``cache.state``).
2. **Window**: ``thresholds`` cut the activity into buckets; busier examples get narrower windows
   from the fixed set ``windows`` (static shapes — the choice is an index, never a new shape).
3. **Banded attention** with that width per example (per position when causal):
   ``|p − j| < w`` (bidirectional) or ``0 ≤ p − j < w`` (causal) — see :mod:`.windows`, whose blocked
   kernel makes long sequences cost ``O(T · w_max)``.
4. **Focus iterations** (fixed ``K``; ``K = 1`` is plain windowed attention): keys and values stay put
   while the query is refined, ``z ← z + Attn(q(LN z), K, V)``; the update returned is ``z_K − x``.

Cross-attention has no distance between text and audio positions: there the window does not apply
(plain attention, still with the focus iterations).

``info``: ``"window"`` ``(B, T)`` long, ``"activity"`` ``(B, T)``, and with ``need_weights``
``"weights"`` (last iteration) ``(B, H, T, S)``.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from ..errors import ConfigError
from ..utils import DerivedBuffers
from .base import AttentionBase, AttentionCall, KVCache
from .pooling import running_mean
from .windows import local_attention

__all__ = ["AdaptiveFocusAttention", "frame_activity"]


def frame_activity(x: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """Relative change ``‖x − prev‖² / (‖x‖² + ‖prev‖²)`` per frame: ``(B, T, D)`` ×2 → ``(B, T)`` float32 in [0, 2]."""
    x, previous = x.float(), previous.float()
    change = (x - previous).pow(2).sum(-1)
    return change / (x.pow(2).sum(-1) + previous.pow(2).sum(-1) + 1e-6)


class AdaptiveFocusAttention(DerivedBuffers, AttentionBase):
    """Banded attention with a content-chosen width and optional focus iterations (see the module doc).

    Args:
        dims, heads, context_dims, rotary, dropout, bias: as :class:`~echo_edu.attention.AttentionBase`.
        windows: the allowed band widths (sorted, distinct, ≥ 1); the widest is the block size of the
            fast blocked kernel.
        thresholds: ``len(windows) − 1`` increasing activity cut points; activity above ``thresholds[i]``
            moves one bucket narrower. Default: evenly spaced in ``(0, 0.5)``.
        iterations: number ``K ≥ 1`` of focus iterations.
    """

    kind = "focus"  # its name in ATTENTION_TYPES

    def __init__(self, dims: int, heads: int, *, context_dims: int | None = None, rotary: dict | None = None,
                 dropout: float = 0.0, bias: bool = True, windows: tuple[int, ...] = (8, 16, 32, 64),
                 thresholds: tuple[float, ...] | None = None, iterations: int = 1) -> None:
        super().__init__(dims, heads, context_dims=context_dims, rotary=rotary, dropout=dropout, bias=bias)
        windows = tuple(int(w) for w in windows)
        if not windows or any(w < 1 for w in windows) or list(windows) != sorted(set(windows)):
            raise ConfigError(f"focus windows must be distinct, increasing and ≥ 1, got {windows}")
        n = len(windows)
        if thresholds is None:
            thresholds = tuple(0.5 * (i + 1) / n for i in range(n - 1))
        thresholds = tuple(float(t) for t in thresholds)
        if len(thresholds) != n - 1 or list(thresholds) != sorted(set(thresholds)):
            raise ConfigError(f"focus thresholds must be {n - 1} increasing numbers (one fewer than windows), "
                              f"got {thresholds}")
        if not isinstance(iterations, int) or iterations < 1:
            raise ConfigError(f"focus iterations must be an int ≥ 1, got {iterations!r}")
        self.windows, self.iterations = windows, iterations
        # narrowest-last lookup: bucket 0 (calm) → widest window
        self.register_derived_buffers(window_table=partial(torch.tensor, windows[::-1], dtype=torch.long))  # (n,)
        # adaptive state (see calibrate), so it is saved with the weights
        self.register_buffer("thresholds", torch.tensor(thresholds, dtype=torch.float32))
        self.focus_norm = nn.LayerNorm(dims) if iterations > 1 else None

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, windows={self.windows}, iterations={self.iterations}"

    @torch.no_grad()
    def calibrate(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Set the thresholds to quantiles of the activity of the examples in ``x``, so every window
        bucket gets an equal share of them. Call it once on a representative batch before training.

        Args:
            x: ``(B, T, D)`` layer inputs; key_padding_mask: ``(B, T)`` bool, True = real frame.
        Returns:
            the new thresholds ``(len(windows) − 1,)``.
        """
        _, activity = self.choose_windows(x, key_padding_mask, causal=False)  # (B, T), constant over T
        levels = torch.linspace(0, 1, len(self.windows) + 1, device=x.device)[1:-1]
        self.thresholds.copy_(torch.quantile(activity[:, 0], levels))
        return self.thresholds.clone()

    def choose_windows(self, x: torch.Tensor, valid: torch.Tensor | None = None, *, causal: bool,
                       cache: KVCache | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Pick a window per example (per position when causal) from the input's activity.

        Args:
            x: ``(B, T, D)``; valid: ``(B, T)`` bool (True = real token) or ``None``.
            causal: prefix statistic (decoder) or whole-sequence statistic (encoder).
            cache: carries the previous frame and the running sums between decoding steps.
        Returns:
            ``(window (B, T) long, activity (B, T) float32)``.
        """
        B, T, D = x.shape
        valid = torch.ones(B, T, dtype=torch.bool, device=x.device) if valid is None else valid
        if cache is not None and "focus_last" in cache.state:
            first, first_valid = cache.state["focus_last"][:, None], cache.state["focus_last_valid"]
        else:  # the very first frame has no predecessor: its pair does not count
            first, first_valid = x[:, :1], torch.zeros(B, 1, dtype=torch.bool, device=x.device)
        previous = torch.cat([first.to(x.dtype), x[:, :-1]], dim=1)          # (B, T, D)
        pair_valid = valid & torch.cat([first_valid, valid[:, :-1]], dim=1)  # (B, T)
        change = frame_activity(x, previous)                                 # (B, T)
        activity = running_mean(change[..., None], pair_valid, causal=causal, cache=cache, name="focus")[..., 0]
        if cache is not None:
            cache.state["focus_last"], cache.state["focus_last_valid"] = x[:, -1], valid[:, -1:]
        bucket = torch.bucketize(activity, self.thresholds)  # (B, T|1): how many cut points lie below
        window = self.window_table[bucket]                   # busier → narrower
        return window.expand(B, T), activity.expand(B, T)

    def attend(self, call: AttentionCall) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Attend inside each example's focus window, ``iterations`` times (cross-attention: no window).

        ``call``: see :class:`~echo_edu.attention.base.AttentionCall`. Returns ``(out (B, T, D), info)``;
        ``out`` is the update, the caller adds the residual.
        """
        x, k, v = call.x, call.k, call.v
        info: dict[str, torch.Tensor] = {}
        if not call.cross:
            window, activity = self.choose_windows(x, call.valid, causal=call.causal, cache=call.cache)
            info.update(window=window, activity=activity)
            per_example = window[:, 0] if not call.causal else window  # (B,) or (B, T)
        stream, weights = x, None
        for step in range(self.iterations):  # a fixed count, never a data-dependent stop
            q = self.project_query(x if step == 0 else self.focus_norm(stream), call)  # (B, H, T, d)
            if call.cross:
                o, weights = self.core(q, k, v, call)
            else:
                o, weights = local_attention(q, k, v, per_example, max_window=self.windows[-1], causal=call.causal,
                                             key_padding_mask=call.key_padding_mask, dropout=self.attn_dropout,
                                             need_weights=call.need_weights)
            stream = stream + self.finish(o)
        if call.need_weights:
            info["weights"] = weights
        return stream - x, info
