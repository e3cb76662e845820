"""Myelinated attention: several attention sub-layers with node importance, learned skips and a working memory.

The name borrows from biology: myelin lets a nerve signal *jump* between nodes instead of flowing
through every bit of the axon. Here the signal is the residual stream and the nodes are sub-layers::

    x₀ = x                                            (the block's normalised input, (B, T, D))
    for i in 0 … L−1:
        hᵢ = x₀ if i = 0 else LNᵢ(xᵢ)
        aᵢ = Attnᵢ(hᵢ → keys/values of heads group i)   sub-layer i owns H/L of the heads
        sᵢ = σ(wᵢᵀ hᵢ + cᵢ)                             node importance: one score per token, (B, T)
        rᵢ ∈ {0, 1}                                    run (1) or skip (0), from the policy, (B, T or 1)
        xᵢ₊₁ = xᵢ + rᵢ · sᵢ · aᵢ                        the gated update
        mᵢ = γᵢ · mᵢ₋₁ + (1 − γᵢ) · poolᵢ              working memory; γᵢ = σ(·hᵢ) is the memory gate
        xᵢ₊₁ += ρᵢ · mᵢ                                 memory read gate ρᵢ = σ(·hᵢ)
    return x_L − x₀                                    the update (the calling block adds the residual)

* **The heads are shared out among the nodes.** Keys and values are projected once, for all ``H``
  heads, from the block input (or the context); sub-layer ``i`` owns the heads ``i·H/L … (i+1)·H/L − 1``
  and has its own query (``D → D/L``) and output (``D/L → D``) projections. Ordinary multi-head
  attention runs its heads side by side on the same input; here they run **in sequence**, and each
  group's query reads a stream that the groups before it have already updated — a refinement of the
  question, not of the memory. The design choice is about cost: a stack of ``L`` sub-layers does the
  work of *one* standard attention (the same projection widths, the same score matrices), plus small
  per-token gates, ``L − 1`` layer norms and the memory, so a training step stays well within 2× of
  standard attention for any ``L`` (stacking ``L`` full-width attentions would cost ``L`` times as
  much). ``heads`` must be divisible by ``layers``. With ``layers=1`` and open gates this *is* standard
  attention (tested).
* **Skip policy** ``rᵢ``: a small MLP on the pooled input picks, for every example, which sub-layers
  run. Training samples a straight-through binary Gumbel decision (hard forward, soft gradient, seeded
  ``torch.Generator``); eval takes the deterministic ``logit > 0``. Shapes never change: a skipped
  sub-layer is still computed and its update multiplied by 0, so skipping is a routing choice, not a
  speed-up. An optional ``compute_cost`` adds ``cost · P(run)`` to ``info["aux_loss"]``.
* **Pooling never sees the future**: the policy input and ``poolᵢ`` are masked means over the stream —
  the prefix mean ``cumsum/t`` when ``causal``, carried in ``cache.state`` while decoding (see
  :mod:`.pooling`). For cross-attention they pool the context's values, which every query may see.

``info``: ``"importance"``, ``"skip"`` (1 = skipped), ``"skip_prob"``, ``"memory_gate"`` (γ),
``"memory_read"`` (ρ), ``"memory_norm"`` — each ``(B, L, T)`` — and with ``need_weights`` also
``"weights"`` (every head's map, sub-layer by sub-layer, ``(B, H, T, S)``), ``"layer_weights"``
``(B, L, H/L, T, S)`` (the same maps grouped by sub-layer) and ``"memory"`` ``(B, L, T, D)``.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from .base import AttentionBase, AttentionCall, KVCache, merge_heads
from .pooling import running_mean, straight_through_bernoulli

__all__ = ["MyelinatedAttention"]


class MyelinatedAttention(AttentionBase):
    """Several gated attention sub-layers with a skip policy and a working memory (see the module doc).

    Args:
        dims, heads, context_dims, rotary, dropout, bias: as :class:`~echo_edu.attention.AttentionBase`.
        layers: number of sub-layers ``L`` (≥ 1, dividing ``heads``). Each attends with ``heads / L`` of
            the heads, so the stack costs about one standard attention whatever ``L``; the default 2 is the
            smallest stack in which skipping, importance and the memory passed between sub-layers all act.
        memory: build the gated working memory.
        policy_hidden: width of the skip policy's hidden layer (default ``max(16, dims // 2)``).
        temperature: ``τ`` of the straight-through Gumbel sample while training.
        run_bias: initial logit of "run" (2.0 ≈ 88 % of sub-layers run at the start).
        compute_cost: weight of ``P(run)`` in ``info["aux_loss"]`` (0 = no cost, no ``aux_loss``).
        seed: seed of the generator that draws the training-time skip noise; ``None`` draws from the global
            RNG instead (seed it with :func:`echo_edu.set_seed`), which ``torch.compile(fullgraph=True)`` needs.
    """

    kind = "myelinated"  # its name in ATTENTION_TYPES

    def __init__(self, dims: int, heads: int, *, context_dims: int | None = None, rotary: dict | None = None,
                 dropout: float = 0.0, bias: bool = True, layers: int = 2, memory: bool = True,
                 policy_hidden: int | None = None, temperature: float = 1.0, run_bias: float = 2.0,
                 compute_cost: float = 0.0, seed: int | None = 0) -> None:
        super().__init__(dims, heads, context_dims=context_dims, rotary=rotary, dropout=dropout, bias=bias)
        if not isinstance(layers, int) or layers < 1:
            raise ConfigError(f"myelinated attention needs layers ≥ 1, got {layers!r}")
        if heads % layers:
            raise ConfigError(f"myelinated attention shares heads={heads} out among layers={layers} sub-layers: "
                              "heads must be divisible by layers")
        if temperature <= 0:
            raise ConfigError(f"myelinated attention temperature must be > 0, got {temperature}")
        if compute_cost < 0:
            raise ConfigError(f"myelinated attention compute_cost must be ≥ 0, got {compute_cost}")
        self.layers, self.use_memory = layers, memory
        self.temperature, self.compute_cost, self.seed = temperature, compute_cost, seed
        self.group = heads // layers  # heads per sub-layer
        width = self.group * self.head_dim
        # sub-layer 0 uses the base names (self.query, self.out), narrowed to its group of heads. The base
        # drew them full width first; replacing them (rather than building them narrow) keeps the weights a
        # seed draws for this layer, and so every seeded lesson, exercise and ablation run (lesson 05's
        # exercises 1 and 2 fail their checkers with the other draw order). Change the two together.
        self.query, self.out = nn.Linear(dims, width, bias=bias), nn.Linear(width, dims, bias=bias)
        extra = layers - 1
        self.norms = nn.ModuleList(nn.LayerNorm(dims) for _ in range(extra))
        self.queries = nn.ModuleList(nn.Linear(dims, width, bias=bias) for _ in range(extra))
        self.outs = nn.ModuleList(nn.Linear(width, dims, bias=bias) for _ in range(extra))
        # one Linear per sub-layer gives all its per-token gates at once: importance s, and with memory
        # the write gate γ and the read gate ρ — one small matmul instead of three
        self.gates = nn.ModuleList(nn.Linear(dims, 3 if memory else 1) for _ in range(layers))
        hidden = policy_hidden or max(16, dims // 2)
        self.policy = nn.Sequential(nn.Linear(dims, hidden), nn.GELU(), nn.Linear(hidden, layers))
        with torch.no_grad():
            for gate in self.gates:
                gate.bias[0] = 1.0  # importance starts open (σ(1) ≈ 0.73)
                if memory:
                    gate.bias[2] = -2.0  # read little memory at first (σ(−2) ≈ 0.12)
            self.policy[-1].bias.fill_(run_bias)
        if memory:
            self.memory_init = nn.Parameter(torch.zeros(dims))
        self._generators: dict[str, torch.Generator] = {}
        if seed is not None:
            _run_generator_eagerly()

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, layers={self.layers}, memory={self.use_memory}"

    def _generator(self, device: torch.device) -> torch.Generator:
        """The seeded generator of the skip noise on ``device`` (one per device, made on first use)."""
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[key]

    def _context_summary(self, v: torch.Tensor, key_padding_mask: torch.Tensor | None,
                         cache: KVCache | None) -> torch.Tensor:
        """Masked mean of the context's values ``(B, H, S, d)`` → ``(B, 1, D)``; computed once per cache."""
        if cache is not None and "myelin_context" in cache.state:
            return cache.state["myelin_context"]
        summary = running_mean(merge_heads(v), key_padding_mask, causal=False)  # (B, 1, D)
        if cache is not None:
            cache.state["myelin_context"] = summary
        return summary

    def residual_outputs(self) -> list[nn.Linear]:
        """Every sub-layer's output projection: each adds its update to the stream."""
        return [self.out, *self.outs]

    def attend(self, call: AttentionCall) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Run the sub-layers over ``call.x`` ``(B, T, D)``; each reads its group of ``call.k``/``call.v``.

        ``call.causal`` makes attention *and* the pooled statistics see only the past; with
        ``call.need_weights`` the maps and the memory are returned too (see the module doc).
        Returns ``(out (B, T, D), info)``; ``out`` is the update, the caller adds the residual.
        """
        x, cross, causal, cache = call.x, call.cross, call.causal, call.cache
        B, T, D = x.shape
        k_groups = call.k.unflatten(1, (self.layers, self.group))  # (B, L, H/L, S, d): sub-layer i reads group i
        v_groups = call.v.unflatten(1, (self.layers, self.group))
        valid = call.valid  # (B, T) or None
        if cross:
            pooled = self._context_summary(call.v, call.key_padding_mask, cache)  # (B, 1, D)
        else:
            pooled = running_mean(x, valid, causal=causal, cache=cache, name="myelin0")  # (B, T|1, D)
        generator = self._generator(x.device) if self.training and self.seed is not None else None
        run, run_prob = straight_through_bernoulli(self.policy(pooled), training=self.training,
                                                   temperature=self.temperature, generator=generator)
        # run, run_prob: (B, T|1, L) — 1 = the sub-layer's update is applied

        stream = x
        memory = self.memory_init.to(x.dtype).expand(B, T, D) if self.use_memory else None
        records: dict[str, list[torch.Tensor]] = {name: [] for name in
                                                  ("importance", "gate", "read", "mem", "weights")}
        for i in range(self.layers):  # a loop over sub-layers (like layers of a network), not tokens
            h = stream if i == 0 else self.norms[i - 1](stream)
            q_i = self.project_query(h, call, self.query if i == 0 else self.queries[i - 1])  # (B, H/L, T, d)
            o, weights = self.core(q_i, k_groups[:, i], v_groups[:, i], call)                # (B, H/L, T, d)
            update = (self.out if i == 0 else self.outs[i - 1])(merge_heads(o))  # (B, T, D)
            gates = torch.sigmoid(self.gates[i](h))                             # (B, T, 3 or 1)
            importance = gates[..., :1]                                          # (B, T, 1)
            if self.use_memory:  # pool the stream as this sub-layer found it
                summary = pooled if cross or i == 0 else running_mean(stream, valid, causal=causal, cache=cache,
                                                                      name=f"myelin{i}")
            stream = torch.addcmul(stream, run[..., i:i + 1] * importance, update)  # x + r·s·a
            if self.use_memory:
                gate, read = gates[..., 1:2], gates[..., 2:3]  # (B, T, 1) memory gate γ and read gate ρ
                memory = torch.lerp(summary, memory, gate)      # γ·m + (1 − γ)·pool, (B, T, D)
                stream = torch.addcmul(stream, read, memory)    # + ρ·m
                records["gate"].append(gate[..., 0])
                records["read"].append(read[..., 0])
                records["mem"].append(memory)
            records["importance"].append(importance[..., 0])
            if weights is not None:
                records["weights"].append(weights)

        def stack(name: str) -> torch.Tensor:
            return torch.stack(records[name], dim=1).detach()  # (B, L, T, …)

        info = {"importance": stack("importance"),
                "skip": (1 - run.detach()).transpose(1, 2).expand(B, self.layers, T),
                "skip_prob": (1 - run_prob.detach()).transpose(1, 2).expand(B, self.layers, T)}
        if self.use_memory:
            info.update(memory_gate=stack("gate"), memory_read=stack("read"),
                        memory_norm=stack("mem").float().norm(dim=-1))
        if call.need_weights:
            layer_weights = torch.stack(records["weights"], dim=1)  # (B, L, H/L, T, S)
            info.update(weights=layer_weights.flatten(1, 2), layer_weights=layer_weights)  # weights (B, H, T, S)
            if self.use_memory:
                info["memory"] = stack("mem")
        if self.compute_cost > 0:
            info["aux_loss"] = self.compute_cost * run_prob.float().mean()
        return stream - x, info


def _run_generator_eagerly() -> None:
    """Have ``torch.compile`` call :meth:`MyelinatedAttention._generator` eagerly (one clean graph break,
    instead of tracing into ``torch.Generator`` creation and a dict). Applied when the first seeded layer
    is built, not at import: ``torch.compiler.disable`` imports ``torch._dynamo``, 1.7 s that every
    ``import echo_edu`` would pay (each lesson's kernel, each CLI call)."""
    method = MyelinatedAttention._generator
    if not getattr(method, "_runs_eagerly", False):
        method = torch.compiler.disable(method)
        method._runs_eagerly = True
        MyelinatedAttention._generator = method
