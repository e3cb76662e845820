"""Integrated attention: a coarse global view decides how wide a fine local window should be.

Two branches read one set of keys and values (projected, rotated and cached once) with their own
queries, and a learned projection fuses them, ``out = W_f [local ; global]``:

* **global branch** — multi-head attention over the whole sequence at *block resolution*: keys and
  values are averaged over blocks of ``P = global_pool`` positions (``P = 1``: exactly standard
  attention). Cost ``O(T · T/P)``. A causal query sees the complete blocks before its own block plus
  one more key: the running mean of its own block up to itself — every past token is covered once, no
  future token ever, and no row is ever empty (so the branch trains on short sequences too).
* **local branch** — multi-head sliding-window attention at full resolution, with one window per token
  chosen from a fixed set of band widths ``windows`` (static shapes; the blocked kernel makes it
  ``O(T · 3·max(windows))``).

**Span choice = a contextual bandit** (:class:`echo_edu.attention.refiner.QLearningRefiner`, ``gamma = 0``). For
every query token:

* *state* — two bounded statistics of that token's global attention (head-averaged, no gradient):
  which window bucket its expected attended distance ``E|t − c_j|`` falls in (``A + 1`` bins), and
  whether its normalised entropy is above ½ (diffuse vs peaked); ``S = 2(A + 1)`` states.
* *action* — a bucket index ``a``, window ``w = windows[a] ≥ 1`` (never zero span).
* *reward* — ``coverage − width_cost · w / max(windows)`` ∈ ``[−width_cost, 1]``, where coverage is the
  global attention mass on blocks whose centre lies inside the chosen band. It rewards the narrowest
  window that still covers where the layer is looking.

Updates run only in ``train()`` (ε-greedy exploration with a seeded generator); ``eval()`` is greedy,
deterministic and leaves the table alone. Because the state of token ``t`` comes from token ``t``'s own
causal global attention, the span choice in a decoder uses no future token, and decoding token by token
with a :class:`KVCache` (the shared keys/values are cached once; the global branch pools them again
at every step) reproduces the full pass.

Cross-attention (``context_dims`` given): text and audio positions are not aligned, so a band makes no
sense; the layer is then the global branch at full resolution with an output projection.
"""

from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, ShapeError
from ..utils import DerivedBuffers
from .refiner import QLearningRefiner
from .base import AttentionBase, KVCache, info_dict, merge_heads
from .masks import rows_with_keys
from .windows import local_attention

__all__ = ["IntegratedAttention", "pool_blocks"]


def pool_blocks(k: torch.Tensor, v: torch.Tensor, key_padding_mask: torch.Tensor | None, pool: int):
    """Average keys/values over blocks of ``pool`` positions (padding keys excluded).

    Args:
        k, v: ``(B, H, L, d)``; key_padding_mask: ``(B, L)`` bool or ``None``.
    Returns:
        ``(k_pooled (B, H, K, d), v_pooled (B, H, K, d), block_has_key (B, K) bool)`` with ``K = ⌈L/pool⌉``.
    """
    B, H, L, d = k.shape
    if pool == 1:
        has_key = torch.ones(B, L, dtype=torch.bool, device=k.device) if key_padding_mask is None else key_padding_mask
        return k, v, has_key
    K = math.ceil(L / pool)
    pad = K * pool - L
    if key_padding_mask is None:  # only the last block may be short: count its real positions
        count = torch.full((K,), pool, dtype=k.dtype, device=k.device)
        count[-1] = pool - pad
        count = count.view(1, 1, K, 1)  # (1, 1, K, 1)
        kp = F.pad(k, (0, 0, 0, pad)).view(B, H, K, pool, d).sum(dim=3) / count
        vp = F.pad(v, (0, 0, 0, pad)).view(B, H, K, pool, d).sum(dim=3) / count
        return kp, vp, torch.ones(B, K, dtype=torch.bool, device=k.device)
    real = F.pad(key_padding_mask.to(k.dtype), (0, pad)).view(B, 1, K, pool, 1)  # (B, 1, K, P, 1)
    count = real.sum(dim=3)  # (B, 1, K, 1)
    kp = (F.pad(k, (0, 0, 0, pad)).view(B, H, K, pool, d) * real).sum(dim=3) / count.clamp(min=1)
    vp = (F.pad(v, (0, 0, 0, pad)).view(B, H, K, pool, d) * real).sum(dim=3) / count.clamp(min=1)
    return kp, vp, count.view(B, K) > 0  # (B, H, K, d) ×2, (B, K)


def _running_block_means(k, v, key_padding_mask, pool: int):
    """Running means inside every block: position ``i`` of block ``b`` gets the mean key/value of the real
    positions ``0 … i`` of that block (padding and the positions past ``L`` excluded).

    One small matrix product per block instead of a cumulative sum: the averaging matrix
    ``A[i, j] = real_j · [j ≤ i] / count_i`` is ``(P, P)`` per block (its backward is another product,
    where a cumsum's backward flips the gradient twice). The last row of each block is the whole block's
    mean, i.e. :func:`pool_blocks`.

    Args:
        k, v: ``(B, H, L, d)``; key_padding_mask: ``(B, L)`` bool or ``None``; pool: block size ``P``.
    Returns:
        ``(k_mean (B, H, K, P, d), v_mean (B, H, K, P, d), has_key (B|1, K, P) bool)`` with ``K = ⌈L/P⌉``.
    """
    B, H, L, d = k.shape
    K = math.ceil(L / pool)
    pad = K * pool - L
    if key_padding_mask is None:  # only the positions past L (the last block's tail) are not real
        real = (torch.arange(K * pool, device=k.device) < L).to(k.dtype).view(1, 1, K, 1, pool)
    else:
        real = F.pad(key_padding_mask.to(k.dtype), (0, pad)).view(B, 1, K, 1, pool)  # (B, 1, K, 1, P)
    i = torch.arange(pool, device=k.device)
    average = (i[None, :] <= i[:, None]).to(k.dtype) * real  # (B|1, 1, K, P, P): row i sees keys j ≤ i
    count = average.sum(dim=-1, keepdim=True)  # (B|1, 1, K, P, 1) real keys so far
    average = average / count.clamp(min=1)
    kb = F.pad(k, (0, 0, 0, pad)).view(B, H, K, pool, d)  # (B, H, K, P, d)
    vb = F.pad(v, (0, 0, 0, pad)).view(B, H, K, pool, d)
    return torch.matmul(average, kb), torch.matmul(average, vb), count.view(-1, K, pool) > 0


def _prefix_block_means(running, offset: int, t: int):
    """For queries at positions ``offset … offset+t−1``: the mean key/value of their own block up to and
    including themselves (padding excluded), read from :func:`_running_block_means`' output ``running``.

    Returns:
        ``(k_mean (B, H, t, d), v_mean (B, H, t, d), has_key (B, t) bool)``.
    """
    km, vm, has_key = running  # (B, H, K, P, d) ×2, (B|1, K, P)
    window = slice(offset, offset + t)
    return (km.flatten(2, 3)[:, :, window], vm.flatten(2, 3)[:, :, window],
            has_key.flatten(1)[:, window].expand(km.shape[0], t))


class IntegratedAttention(DerivedBuffers, nn.Module):
    """Local banded + global pooled attention with Q-learned per-token windows.

    Args:
        dims, heads, context_dims, rotary, dropout: as for every attention type.
        windows: the fixed, increasing band widths the refiner chooses from (each ≥ 1).
        global_pool: block size ``P`` of the global branch (1 = full-resolution global attention).
            Keep ``P`` well below the sequence length: with only one or two blocks the global branch has
            little to choose between.
        width_cost: price of width in the reward (see module docstring).
        epsilon, alpha, seed: the refiner's exploration rate, learning rate and generator seed.
    """

    kind = "integrated"  # its name in ATTENTION_TYPES

    def __init__(self, dims: int, heads: int, *, context_dims: int | None = None, rotary: dict | None = None,
                 dropout: float = 0.0, windows=(16, 32, 64, 128), global_pool: int = 16, width_cost: float = 0.25,
                 epsilon: float = 0.1, alpha: float = 0.1, seed: int = 0) -> None:
        super().__init__()
        windows = tuple(int(w) for w in windows)
        if not windows or min(windows) < 1 or list(windows) != sorted(set(windows)):
            raise ConfigError(f"integrated attention windows must be increasing integers ≥ 1, got {windows}")
        if global_pool < 1:
            raise ConfigError(f"integrated attention global_pool must be ≥ 1, got {global_pool}")
        self.dims, self.heads = dims, heads
        self.is_cross = context_dims is not None
        self.global_pool = 1 if self.is_cross else global_pool
        self.width_cost = width_cost
        self.max_window = max(windows)
        self.entropy_bins = 2
        # one set of keys and values, read two ways (fine band, coarse summary); in cross mode a plain MHA
        self.attn = AttentionBase(dims, heads, context_dims=context_dims, rotary=rotary, dropout=dropout,
                                  project_out=self.is_cross)
        self.window_sizes = tuple(windows)
        self.register_derived_buffers(windows=partial(torch.tensor, self.window_sizes))   # (A,) band widths
        if not self.is_cross:
            self.global_query = nn.Linear(dims, dims)
            self.fuse = nn.Linear(2 * dims, dims)
            self.refiner = QLearningRefiner((len(windows) + 1) * self.entropy_bins, len(windows), alpha=alpha,
                                            gamma=0.0, epsilon=epsilon, seed=seed, initial_q=1.0)

    def residual_outputs(self) -> list[nn.Linear]:
        """The layer that writes into the residual stream: ``fuse`` (self-attention) or the MHA output (cross)."""
        return self.attn.residual_outputs() if self.is_cross else [self.fuse]

    def extra_repr(self) -> str:
        return (f"windows={self.window_sizes}, global_pool={self.global_pool}, "
                f"width_cost={self.width_cost}, cross={self.is_cross}")

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, *, causal: bool = False,
                key_padding_mask: torch.Tensor | None = None, cache: KVCache | None = None,
                need_weights: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """See the module docstring. ``x`` ``(B, T, D)`` → ``(out (B, T, D), info)``.

        ``info``: ``window``/``action``/``state`` ``(B, T)`` long, ``reward`` ``(B, T)``; with
        ``need_weights`` also ``weights`` (local, ``(B, H, T, keys)``) and ``global_weights``
        (``(B, H, T, blocks)``; in causal mode one more column: the query's own partial block).
        """
        self.attn.check_inputs(x, context, cache)
        if self.is_cross:
            return self.attn.attend(self.attn.prepare(x, context, key_padding_mask=key_padding_mask, cache=cache,
                                                      need_weights=need_weights))
        if context is not None:
            raise ShapeError("IntegratedAttention was built for self-attention; build it with context_dims=... "
                             "for cross-attention")
        B, T, _ = x.shape
        call = self.attn.prepare(x, causal=causal, key_padding_mask=key_padding_mask, cache=cache,
                                 need_weights=need_weights)
        k, v, offset = call.k, call.v, call.offset  # (B, H, L, d) ×2
        q_l = self.attn.project_query(x, call)  # (B, H, T, d)
        q_g = self.attn.project_query(x, call, self.global_query)
        out_g, w_g, visible, distance = self._global(q_g, k, v, offset, causal, key_padding_mask)
        # --- the refiner picks one window per token from the global view (no gradient, no host sync)
        with torch.no_grad():
            p, state = self._statistics(w_g, visible, distance)
            action = self.refiner.act(state)  # (B, T)
            window = self.windows[action]  # (B, T)
            reward = self._reward(p, distance, window)  # (B, T) in [-width_cost, 1]
            valid = None if key_padding_mask is None else key_padding_mask[:, -T:]
            self.refiner.update(state, action, reward, valid=valid)  # no-op in eval

        # --- local branch: full resolution inside the chosen band
        out_l, w_l = local_attention(q_l, k, v, window, max_window=self.max_window, causal=causal,
                                     key_padding_mask=key_padding_mask, dropout=self.attn.attn_dropout,
                                     need_weights=need_weights)
        out = self.fuse(torch.cat([merge_heads(out_l), merge_heads(out_g)], dim=-1))  # (B, T, D)
        info = info_dict(window=window, action=action, state=state, reward=reward,
                         weights=w_l, global_weights=w_g.detach() if need_weights else None)
        return out, info

    def _global(self, q, k, v, offset, causal, key_padding_mask):
        """Global branch over pooled blocks (causal: complete past blocks + the query's own partial block).

        Returns:
            ``out (B, H, T, d)``, ``weights (B, H, T, K')``, ``visible (B, 1, T|1, K')`` and the
            token–column distances ``(T, K')``; ``K' = K`` blocks, plus one column in causal mode.
        """
        B, H, T, d = q.shape
        P = self.global_pool
        if causal:  # one pass gives both: running means inside each block, whose last rows are the pools
            running = _running_block_means(k, v, key_padding_mask, P)  # (B, H, K, P, d) ×2, (B|1, K, P)
            kp, vp, has_key = running[0][..., -1, :], running[1][..., -1, :], running[2][..., -1].expand(B, -1)
        else:
            kp, vp, has_key = pool_blocks(k, v, key_padding_mask, P)  # (B, H, K, d), (B, K)
        K = kp.shape[-2]
        q_pos = torch.arange(T, device=q.device) + offset  # (T,) absolute query positions
        centre = torch.arange(K, device=q.device, dtype=torch.float32) * P + (P - 1) / 2
        distance = (q_pos[:, None].float() - centre[None, :]).abs()  # (T, K)
        visible = has_key[:, None, None, :]  # (B, 1, 1, K)
        qs = q * (1.0 / math.sqrt(d))
        scores = torch.matmul(qs, kp.transpose(-1, -2))  # (B, H, T, K)
        if causal:
            # complete blocks strictly before the query's own block, plus the running mean of that block up
            # to and including the query: every past key is seen exactly once, no future key ever
            before = torch.arange(K, device=q.device) < torch.div(q_pos, P, rounding_mode="floor")[:, None]
            kc, vc, own_has_key = _prefix_block_means(running, offset, T)  # (B, H, T, d) ×2, (B, T)
            scores = torch.cat([scores, (qs * kc).sum(-1, keepdim=True)], dim=-1)  # (B, H, T, K + 1)
            visible = torch.cat([(visible & before).expand(B, 1, T, K), own_has_key[:, None, :, None]], dim=-1)
            start = torch.div(q_pos, P, rounding_mode="floor") * P
            distance = torch.cat([distance, ((q_pos - start).float() / 2)[:, None]], dim=-1)  # (T, K + 1)
        # only padding can leave a row without any key (a causal query always has its own block)
        guard = key_padding_mask is not None
        safe, has_row = rows_with_keys(visible) if guard else (visible, None)
        scores.masked_fill_(~safe, float("-inf"))  # in place: the matmul/cat backward does not need it
        weights = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)  # (B, H, T, K')
        if guard:
            weights = weights * has_row.to(q.dtype)
        dropped = F.dropout(weights, p=self.attn.attn_dropout) if self.attn.attn_dropout > 0 else weights
        if causal:  # a zero value row for the own-block column keeps the product on the whole, contiguous weights
            out = torch.matmul(dropped, F.pad(vp, (0, 0, 0, 1))) + dropped[..., K:] * vc  # (B, H, T, d)
        else:
            out = torch.matmul(dropped, vp)  # (B, H, T, d)
        return out, weights, visible, distance

    def _statistics(self, w_g, visible, distance):
        """Head-averaged global weights ``p (B, T, K')`` and each token's state ``(B, T)`` (no gradient)."""
        B, _, T, K = w_g.shape
        p = w_g.detach().float().mean(dim=1)  # (B, T, K')
        expected = (p * distance).sum(-1)  # (B, T) expected attended distance
        n_visible = visible.expand(B, 1, T, K).sum(-1).squeeze(1).clamp(min=2).float()  # (B, T)
        entropy = -(p * p.clamp(min=1e-12).log()).sum(-1) / n_visible.log()  # (B, T) in [0, 1]
        dist_bin = torch.bucketize(expected, self.windows.to(expected.dtype))  # (B, T) in 0..A
        ent_bin = (entropy * self.entropy_bins).long().clamp(0, self.entropy_bins - 1)
        return p, dist_bin * self.entropy_bins + ent_bin

    def _reward(self, p, distance, window):
        """``coverage − width_cost · w / max_w`` for windows ``(B, T)`` → ``(B, T)``."""
        inside = distance[None] < window[..., None].float()  # (B, T, K) block centre inside the band
        return (p * inside).sum(-1) - self.width_cost * window.float() / self.max_window

    @torch.no_grad()
    def span_rewards(self, x: torch.Tensor, *, causal: bool = False,
                     key_padding_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """For analysis: every token's state ``(B, T)`` and the reward every window would earn ``(B, T, A)``."""
        call = self.attn.prepare(x, causal=causal, key_padding_mask=key_padding_mask)
        q_g = self.attn.project_query(x, call, self.global_query)  # (B, H, T, d)
        _, w_g, visible, distance = self._global(q_g, call.k, call.v, call.offset, causal, key_padding_mask)
        p, state = self._statistics(w_g, visible, distance)
        rewards = [self._reward(p, distance, w.expand(state.shape)) for w in self.windows]  # A is small
        return state, torch.stack(rewards, dim=-1)
