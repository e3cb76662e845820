"""What every attention type shares: the KV cache, head split/merge, the attention core and the base layer.

:class:`AttentionBase` is the one layer all five types are: its ``forward`` checks the inputs, projects
keys and values (rotary, cache) and checks the masks the same way for every type, then hands an
:class:`AttentionCall` to the type's ``attend`` — the only place where types differ.

The attention core has two paths that compute the same thing:

* the **explicit** path ``softmax(q kᵀ · scale + mask) v`` returns the weights ``(…, T_q, T_k)`` for
  plots (``need_weights=True``);
* the **fused** path calls :func:`torch.nn.functional.scaled_dot_product_attention` (flash / memory-
  efficient kernels on GPU) and returns no weights.

The choice depends only on ``need_weights`` (a Python flag), never on tensor values. Both take a bool
mask with "True = may attend" and, optionally, an additive float **bias** on the logits (``−∞`` =
blocked; adaptive span adds ``log`` of its soft ramp this way); a query row with no allowed key returns
zeros instead of NaN. Every attention type goes through this one function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, ShapeError
from ..rotary import RotaryEmbedding
from .masks import causal_mask, check_key_padding_mask, combine_masks, padding_mask, rows_with_keys

__all__ = ["KVCache", "split_heads", "merge_heads", "attention_core", "AttentionCall", "AttentionBase",
           "info_dict"]


class KVCache:
    """Keys and values of one attention layer, kept between decoding steps.

    * Self-attention: :meth:`append` adds this step's keys/values (already rotated) and returns all of
      them; :attr:`length` is the number of cached positions — the rotary offset of the next token.
    * Cross-attention: :meth:`set_static` stores the context's keys/values once; later steps reuse
      them (:attr:`static` is True).
    * :attr:`state` holds small layer-specific running tensors (prefix sums, counters) whose first
      dimension is the batch, so a layer can stay causal and exact while decoding token by token, and
      nested caches (:meth:`child`) for layers with several branches or sub-layers.
    * :meth:`reorder` picks batch rows (beam search), applied to everything above.

    Attributes:
        keys, values: ``(B, H, L, head_dim)`` or ``None`` before the first step.
    """

    def __init__(self) -> None:
        self.keys: torch.Tensor | None = None
        self.values: torch.Tensor | None = None
        self.static = False
        self.state: dict[str, torch.Tensor] = {}

    @property
    def length(self) -> int:
        """Number of cached positions (a Python int taken from the shape: no device sync)."""
        return 0 if self.keys is None else self.keys.shape[-2]

    def append(self, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add ``(B, H, T, head_dim)`` keys/values after the cached ones; return all ``(B, H, L+T, head_dim)``."""
        if self.static:
            raise ShapeError("this KVCache holds cross-attention keys; use a separate cache per layer and kind")
        if self.keys is not None:
            keys = torch.cat([self.keys, keys], dim=-2)
            values = torch.cat([self.values, values], dim=-2)
        self.keys, self.values = keys, values
        return keys, values

    def set_static(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Store cross-attention keys/values ``(B, H, S, head_dim)`` computed once from the context."""
        self.keys, self.values, self.static = keys, values, True

    def reorder(self, index: torch.Tensor) -> "KVCache":
        """Keep batch rows ``index`` ``(B',)`` (long) of keys, values and state, in that order (beam search)."""
        if self.keys is not None:
            self.keys = self.keys.index_select(0, index)
            self.values = self.values.index_select(0, index)
        self.state = {name: t.reorder(index) if isinstance(t, KVCache) else t.index_select(0, index)
                      for name, t in self.state.items()}
        return self

    def child(self, name: str) -> "KVCache":
        """A nested cache kept in :attr:`state` under ``name`` (for a second branch or a sub-layer)."""
        if name not in self.state:
            self.state[name] = KVCache()
        return self.state[name]

    def __repr__(self) -> str:
        kind = "cross" if self.static else "self"
        return f"KVCache({kind}, length={self.length}, state={sorted(self.state)})"


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """``(B, T, heads·d)`` → ``(B, heads, T, d)``."""
    B, T, D = x.shape
    return x.view(B, T, heads, D // heads).transpose(1, 2)  # (B, H, T, d)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``(B, H, T, d)`` → ``(B, T, H·d)``."""
    B, H, T, d = x.shape
    return x.transpose(1, 2).reshape(B, T, H * d)  # (B, T, D)


def attention_core(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None, *,
                   bias: torch.Tensor | None = None, causal: bool = False, scale: float | None = None,
                   dropout: float = 0.0, need_weights: bool = False,
                   guard_empty_rows: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Scaled dot-product attention over any leading dims: ``softmax(q kᵀ · scale + bias, masked) v``.

    Args:
        q: ``(…, T_q, d)``; k, v: ``(…, T_k, d)``.
        mask: bool, broadcastable to ``(…, T_q, T_k)``, True = may attend.
        bias: float, broadcastable to ``(…, T_q, T_k)``, added to the logits (``−∞`` blocks a key); it may
            carry a gradient (the fused CPU kernels then fall back to bmm + softmax). With a bias, the
            mask is folded into it, so a caller that can build its bias with the ``−∞`` already in place
            should pass no mask.
        causal: also apply :func:`causal_mask` (aligned bottom-right, so it is right with a cache).
        scale: logit scale, default ``1/√d``.
        dropout: dropout probability on the weights (pass 0 in eval).
        need_weights: take the explicit path and return the weights.
        guard_empty_rows: make rows without any allowed key return zeros (not NaN). A caller whose mask
            always allows at least one key per row (e.g. a band that contains the query itself) may turn
            this off to save two passes over the mask and one over the output.
    Returns:
        ``(out (…, T_q, d), weights (…, T_q, T_k) or None)``; the weights are detached (for plots and
        statistics), the output carries the gradient.
    """
    t_q, t_k = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    if causal and t_q == 1:
        causal = False  # one query, aligned bottom-right (a cached decoding step), sees every key
    if causal and mask is None and bias is None and t_q == t_k and not need_weights:
        # the fastest fused path: no mask tensor at all
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True, scale=scale), None
    if causal:
        mask = combine_masks(mask, causal_mask(t_q, t_k, device=q.device))
    if mask is not None:
        mask = mask[None, :] if mask.dim() == 1 else mask  # a (T_k,) key mask → (1, T_k)
    if bias is not None and mask is not None:
        bias, mask = bias.masked_fill(~mask, float("-inf")), None  # one float mask
    has_key = None
    if guard_empty_rows and mask is not None:
        mask, has_key = rows_with_keys(mask)
    elif guard_empty_rows and bias is not None:
        has_key = (bias > float("-inf")).any(dim=-1, keepdim=True)  # (…, T_q, 1)
        bias = bias.masked_fill(~has_key, 0.0)  # open the empty rows (their output is zeroed below)
    if need_weights:
        scores = torch.matmul(q * scale, k.transpose(-1, -2))  # (…, T_q, T_k); scaling q is the cheaper side
        if bias is not None:
            scores = scores + bias
        elif mask is not None:
            scores.masked_fill_(~mask, float("-inf"))  # in place: matmul's backward does not need its output
        weights = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        dropped = F.dropout(weights, p=dropout) if dropout > 0 else weights
        out = torch.matmul(dropped, v)  # (…, T_q, d)
    else:
        weights = None
        attn_mask = mask if bias is None else bias.to(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout, scale=scale)
    if has_key is not None:
        out = out * has_key.to(out.dtype)
    if weights is not None:
        with torch.no_grad():  # the weights are for plots and statistics: returned detached
            weights = weights.detach() if has_key is None else weights * has_key.to(weights.dtype)
    return out, weights


def info_dict(**entries: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """The ``info`` returned by every attention forward: the given entries, ``None`` ones left out."""
    return {name: value for name, value in entries.items() if value is not None}


@dataclass(slots=True)
class AttentionCall:
    """What :meth:`AttentionBase.forward` has prepared when it hands over to a type's :meth:`~AttentionBase.attend`.

    Every type receives its keys and values the same way: projected for all ``H`` heads, rotated (self-
    attention) and read from or added to the cache; the masks are checked. What a type does with them —
    its queries, its masks, its extra statistics — is its own ``attend``.

    Attributes:
        x: ``(B, T, D)`` the layer input; queries are projected from it (or from a stream refined from it).
        k, v: ``(B, H, L, d)`` keys and values: the context's (cross-attention) or, for self-attention, the
            cached positions followed by this call's ``T``.
        offset: absolute position of the first query (the cached length; 0 for cross-attention).
        cross: the keys and values came from a context (or a filled cross-attention cache).
        causal: decoder self-attention, query ``t`` sees keys ``≤ t`` (always False when ``cross``).
        key_padding_mask: ``(B, L)`` bool, True = real key, or ``None`` (already shape-checked).
        mask: the same as ``(B, 1, 1, L)`` for :func:`attention_core`, or ``None``.
        cache: the layer's :class:`KVCache` or ``None`` (types keep running statistics in ``cache.state``).
        need_weights: return attention maps in ``info``.
    """

    x: torch.Tensor
    k: torch.Tensor
    v: torch.Tensor
    offset: int
    cross: bool
    causal: bool
    key_padding_mask: torch.Tensor | None
    mask: torch.Tensor | None
    cache: KVCache | None
    need_weights: bool

    @property
    def valid(self) -> torch.Tensor | None:
        """``(B, T)`` bool: which of this call's own tokens are real (self-attention with a padding mask), else ``None``."""
        if self.cross or self.key_padding_mask is None:
            return None
        return self.key_padding_mask[:, -self.x.shape[1]:]


class AttentionBase(nn.Module):
    """The one attention layer every type is: shared projections, rotary, cache and masks, then :meth:`attend`.

    :meth:`forward` is the same for every type: check the inputs, project keys and values for all heads
    (rotated for self-attention, appended to or read from the cache), check the key padding mask, and
    call :meth:`attend` with an :class:`AttentionCall`. ``attend`` is plain multi-head attention here —
    which is all :class:`~echo_edu.attention.StandardAttention` is — and each other type overrides it with
    what makes it different, calling :meth:`project_query`, :meth:`core` and :meth:`finish` (or
    ``super().attend``, where it reduces to plain attention, e.g. cross-attention).

    Args:
        dims: model width ``D`` (queries and output).
        heads: number of heads ``H``; ``D`` must be divisible by ``H``.
        context_dims: width of the context for cross-attention (keys/values come from it); ``None``
            builds a self-attention layer (which may still be handed a ``context`` of width ``D``).
        rotary: keyword options of :class:`echo_edu.rotary.RotaryEmbedding` (``dim`` is set to the head
            size), or ``None`` for no rotary. Rotary applies to self-attention only (q and k alike).
        dropout: dropout on attention weights while training.
        bias: whether q/v/out projections have a bias (k never needs one: it cancels in softmax).
        project_out: build the output projection (off when a layer fuses several branches itself).
    """

    def __init__(self, dims: int, heads: int, *, context_dims: int | None = None, rotary: dict | None = None,
                 dropout: float = 0.0, bias: bool = True, project_out: bool = True) -> None:
        super().__init__()
        if not isinstance(dims, int) or not isinstance(heads, int) or dims <= 0 or heads <= 0:
            raise ConfigError(f"attention needs positive integer dims and heads, got dims={dims!r}, heads={heads!r}")
        if dims % heads:
            raise ConfigError(f"attention dims={dims} must be divisible by heads={heads}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"attention dropout must be in [0, 1), got {dropout}")
        if rotary is not None and not isinstance(rotary, dict):
            raise ConfigError(f"rotary must be a dict of RotaryEmbedding options or None, got {type(rotary).__name__}")
        self.dims, self.heads, self.head_dim = dims, heads, dims // heads
        self.context_dims = context_dims
        self.is_cross = context_dims is not None
        kv_dims = context_dims if context_dims is not None else dims
        self.query = nn.Linear(dims, dims, bias=bias)
        self.key = nn.Linear(kv_dims, dims, bias=False)
        self.value = nn.Linear(kv_dims, dims, bias=bias)
        self.out = nn.Linear(dims, dims, bias=bias) if project_out else None
        self.dropout = dropout
        self.rotary = None
        if rotary is not None and not self.is_cross:
            self.rotary = RotaryEmbedding(self.head_dim, **rotary)

    def extra_repr(self) -> str:
        return f"dims={self.dims}, heads={self.heads}, cross={self.is_cross}, rotary={self.rotary is not None}"

    @property
    def attn_dropout(self) -> float:
        """Dropout probability to use now: the configured one while training, 0 in eval."""
        return self.dropout if self.training else 0.0

    # ---- the shared forward ----
    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, *, causal: bool = False,
                key_padding_mask: torch.Tensor | None = None, cache: KVCache | None = None,
                need_weights: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Attend from ``x`` to itself (or to ``context``): :meth:`prepare`, then the type's :meth:`attend`.

        Args:
            x: ``(B, T, D)`` queries (and keys/values for self-attention).
            context: ``(B, S, C)`` for cross-attention, else ``None``.
            causal: decoder self-attention (query ``t`` sees keys ``≤ t``); ignored for cross-attention.
            key_padding_mask: ``(B, keys)`` bool, True = real key (keys include cached ones).
            cache: :class:`KVCache` for incremental decoding, or ``None``.
            need_weights: also return ``info["weights"]`` ``(B, H, T, keys)`` (and the type's maps).
        Returns:
            ``(out (B, T, D), info)`` — ``out`` is the update; the caller adds the residual.
        """
        return self.attend(self.prepare(x, context, causal=causal, key_padding_mask=key_padding_mask, cache=cache,
                                        need_weights=need_weights))

    def prepare(self, x: torch.Tensor, context: torch.Tensor | None = None, *, causal: bool = False,
                key_padding_mask: torch.Tensor | None = None, cache: KVCache | None = None,
                need_weights: bool = False) -> AttentionCall:
        """Everything before :meth:`attend` (arguments as :meth:`forward`): checks, keys/values, cache, masks."""
        self.check_inputs(x, context, cache)
        k, v, offset, cross = self.project_kv(x, context, cache)  # (B, H, L, d) ×2
        check_key_padding_mask(key_padding_mask, x.shape[0], k.shape[-2])
        mask = None if key_padding_mask is None else padding_mask(key_padding_mask)  # (B, 1, 1, L)
        return AttentionCall(x, k, v, offset, cross, causal and not cross, key_padding_mask, mask, cache,
                             need_weights)

    def attend(self, call: AttentionCall) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Plain multi-head attention of ``call.x``'s queries over ``call.k``/``call.v``: ``(out (B, T, D), info)``.

        Types override this with their mechanism (and call it where they reduce to plain attention).
        """
        out, weights = self.core(self.project_query(call.x, call), call.k, call.v, call)  # (B, H, T, d)
        return self.finish(out), info_dict(weights=weights)

    # ---- pieces an ``attend`` is built from ----
    def check_inputs(self, x: torch.Tensor, context: torch.Tensor | None, cache: KVCache | None) -> None:
        """Raise :class:`ShapeError` naming the tensor and its shape when the inputs cannot be used."""
        name = type(self).__name__
        if x.dim() != 3 or x.shape[-1] != self.dims:
            raise ShapeError(f"{name}: x must be (batch, seq, {self.dims}), got {tuple(x.shape)}")
        if context is not None:
            width = self.context_dims if self.context_dims is not None else self.dims
            if context.dim() != 3 or context.shape[-1] != width or context.shape[0] != x.shape[0]:
                raise ShapeError(f"{name}: context must be (batch={x.shape[0]}, seq, {width}), "
                                 f"got {tuple(context.shape)}")
        elif self.is_cross and not (cache is not None and cache.static):
            raise ShapeError(f"{name} was built for cross-attention (context_dims={self.context_dims}) "
                             "but got no context and no filled cross-attention cache")

    def project_query(self, h: torch.Tensor, call: AttentionCall, linear: nn.Module | None = None) -> torch.Tensor:
        """Queries of ``h`` ``(B, T, D)`` through ``linear`` (default :attr:`query`; any multiple of ``head_dim``
        wide), split into heads ``(B, h, T, d)`` and rotated from position ``call.offset`` (self-attention)."""
        q = (self.query if linear is None else linear)(h).unflatten(-1, (-1, self.head_dim)).transpose(1, 2)
        if self.rotary is not None and not call.cross:
            q = self.rotary.rotate_queries_or_keys(q, offset=call.offset)
        return q  # (B, h, T, d)

    def project_kv(self, x: torch.Tensor, context: torch.Tensor | None = None, cache: KVCache | None = None):
        """Keys and values of every head: ``(k (B, H, L, d), v (B, H, L, d), offset, cross)``.

        Cross-attention projects the context once (or reads the filled cache); self-attention projects
        ``x``, rotates the keys from ``offset`` = the cached length, and appends them to the cache.
        """
        cross = context is not None or (cache is not None and cache.static)
        if cross:
            if cache is not None and cache.static:
                return cache.keys, cache.values, 0, True
            k = split_heads(self.key(context), self.heads)  # (B, H, S, d)
            v = split_heads(self.value(context), self.heads)
            if cache is not None:
                cache.set_static(k, v)
            return k, v, 0, True
        offset = cache.length if cache is not None else 0
        k = split_heads(self.key(x), self.heads)  # (B, H, T, d)
        v = split_heads(self.value(x), self.heads)
        if self.rotary is not None:
            k = self.rotary.rotate_queries_or_keys(k, offset=offset)
        if cache is not None:
            k, v = cache.append(k, v)  # (B, H, offset + T, d)
        return k, v, offset, False

    def core(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
             call: AttentionCall) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:func:`attention_core` with the call's padding mask, causality, weights flag and the dropout in force.

        ``q`` ``(B, h, T, d)``, ``k``/``v`` ``(B, h, L, d)`` (a group of heads or all of them) →
        ``(out (B, h, T, d), weights (B, h, T, L) or None)``.
        """
        return attention_core(q, k, v, call.mask, causal=call.causal, dropout=self.attn_dropout,
                              need_weights=call.need_weights)

    def residual_outputs(self) -> list[nn.Linear]:
        """The layers whose output is added to the residual stream (scaled down at init by the model)."""
        return [] if self.out is None else [self.out]

    def finish(self, out: torch.Tensor) -> torch.Tensor:
        """``(B, H, T, d)`` → merged heads → output projection (when built) ``(B, T, D)``."""
        merged = merge_heads(out)  # (B, T, D)
        return merged if self.out is None else self.out(merged)
