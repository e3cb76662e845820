"""The mechanism lessons' experiments: one small task per mechanism where it could plausibly matter.

Each function returns an :class:`~echo_edu.experiments.Experiment` at the quick budget (CI) or the full
one (people: more steps, more seeds). Every trial seeds the weights, the training batches and the
held-out examples from its seed, so the two arms of one seed see exactly the same data.

* **myelinated_attention** (lesson 05) :func:`myelinated_routing` — its routing task (hard examples need
  4 × the sequence mean, easy ones nothing): myelinated attention, whose policy can skip sub-layers per
  example, against standard attention, which has no way to switch its update off. Metric: held-out MSE.
* **q_learning_refiner** (lesson 06) :func:`refiner_lookback` — its look-six-back task: integrated attention
  whose refiner picks each token's local window from (2, 4, 8, 16), against the same layer with the refiner
  switched off (one window, 16: always the widest). Metric: held-out cross-entropy.
* **adaptive_windows** (lesson 07) :func:`span_local_mean` — every position must output the mean of its last
  four inputs (speech is mostly local): adaptive span, which can learn to narrow its view, against standard
  attention with the same rotary embedding. Metric: held-out MSE.

Lesson 09 collects the three verdicts (:mod:`.verdicts`).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..attention import AdaptiveSpanAttention, MyelinatedAttention, StandardAttention, build_attention
from ..exercises.myelinated_attention import routing_batch
from ..utils import set_seed
from .paired import Experiment

__all__ = ["myelinated_routing", "refiner_lookback", "span_local_mean", "LESSON_EXPERIMENTS", "local_mean_batch"]

#: held-out examples of seed ``s`` are drawn from ``HELD_OUT + s``: never the training stream's generator
HELD_OUT = 1_000_003

Batch = tuple[torch.Tensor, ...]


def _budget(quick: bool, quick_steps: int, full_steps: int) -> dict:
    """Quick mode (CI): 5 seeds at ``quick_steps``; the full version: 10 seeds at ``full_steps``."""
    return {"steps": quick_steps if quick else full_steps, "seeds": tuple(range(5 if quick else 10))}


def _fit_and_score(model: nn.Module, groups: list[dict], steps: int, batch: Callable[[], Batch],
                   loss: Callable[[nn.Module, Batch], tuple[torch.Tensor, torch.Tensor]], held_out: Batch) -> float:
    """Adam on ``groups`` for ``steps`` steps of task loss + aux loss, then the task loss on ``held_out`` in eval.

    ``loss(model, batch)`` returns ``(task loss, aux loss)``; the aux loss (a compute cost, a span
    penalty) shapes training only and is never part of the score.
    """
    opt = torch.optim.Adam(groups)
    model.train()
    for _ in range(steps):
        task, aux = loss(model, batch())
        opt.zero_grad()
        (task + aux).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        return loss(model, held_out)[0].item()


def _mse(layer: nn.Module, batch: Batch, causal: bool = False):
    x, target = batch[0], batch[1]
    out, info = layer(x, causal=causal)
    return F.mse_loss(out, target), info.get("aux_loss", out.new_zeros(()))


# --- myelinated attention on the routing task ------------------------------------------------------------

def _routing_trial(use_mechanism: bool, seed: int, steps: int) -> float:
    generator = set_seed(seed)
    if use_mechanism:   # lesson 05's router: 2 sub-layers, compute cost 0.1, the policy at lr 5e-3
        layer = MyelinatedAttention(32, 4, layers=2, compute_cost=0.1)
        policy = list(layer.policy.parameters())
        rest = [p for name, p in layer.named_parameters() if not name.startswith("policy.")]
        groups = [{"params": rest, "lr": 3e-3}, {"params": policy, "lr": 5e-3}]
    else:
        layer = StandardAttention(32, 4)
        groups = [{"params": list(layer.parameters()), "lr": 3e-3}]
    held_out = routing_batch(torch.Generator().manual_seed(HELD_OUT + seed), batch=256)
    return _fit_and_score(layer, groups, steps, lambda: routing_batch(generator), _mse, held_out)


def myelinated_routing(quick: bool = True) -> Experiment:
    """Lesson 05: does myelinated attention beat standard attention on the routing task at a small budget?"""
    return Experiment(
        name="myelinated-routing",
        question="Does myelinated attention (skips, importance, memory) fit the routing task better than "
                 "standard attention after the same number of steps?",
        task="section 6's routing task: 32 random sequences of 16 tokens per step; hard examples (channel 0 = +2) "
             "must output 4 × the sequence mean, easy ones (−2) zeros; scored on 256 held-out sequences.",
        mechanism="myelinated", baseline="standard", metric="held-out MSE", lower_is_better=True,
        trial=_routing_trial, **_budget(quick, 60, 200))


# --- the refiner on the look-back task -------------------------------------------------------------------

VOCAB, LAG, LENGTH = 10, 6, 24


class LookBackModel(nn.Module):
    """Embed tokens, one causal integrated-attention layer with a residual, read out the token ``LAG`` back."""

    def __init__(self, windows: tuple[int, ...], seed: int):
        super().__init__()
        self.embed, self.norm, self.head = nn.Embedding(VOCAB, 32), nn.LayerNorm(32), nn.Linear(32, VOCAB)
        self.attn = build_attention("integrated", 32, 4, rotary={"theta": 100.0}, windows=windows, global_pool=2,
                                    seed=seed)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """``ids (B, T)`` → logits ``(B, T, VOCAB)``."""
        x = self.embed(ids)  # (B, T, 32)
        return self.head(x + self.attn(self.norm(x), causal=True)[0])


def _lookback_loss(model: nn.Module, batch: Batch):
    ids = batch[0]
    logits = model(ids)[:, LAG:]  # (B, T − LAG, V): position t predicts the token at t − LAG
    return F.cross_entropy(logits.reshape(-1, VOCAB), ids[:, :-LAG].reshape(-1)), logits.new_zeros(())


def _lookback_trial(use_mechanism: bool, seed: int, steps: int) -> float:
    generator = set_seed(seed)
    model = LookBackModel((2, 4, 8, 16) if use_mechanism else (16,), seed)  # one window: nothing to choose
    held_out = (torch.randint(VOCAB, (256, LENGTH), generator=torch.Generator().manual_seed(HELD_OUT + seed)),)
    return _fit_and_score(model, [{"params": list(model.parameters()), "lr": 1e-2}], steps,
                          lambda: (torch.randint(VOCAB, (16, LENGTH), generator=generator),), _lookback_loss, held_out)


def refiner_lookback(quick: bool = True) -> Experiment:
    """Lesson 06: does the refiner's per-token window beat always using the widest window?"""
    return Experiment(
        name="refiner-lookback",
        question="Does integrated attention learn the look-back task better when the refiner picks each token's "
                 "window from (2, 4, 8, 16) than when it always uses the widest, 16?",
        task=f"section 5's task: output the token {LAG} positions back; 16 random sequences of {LENGTH} tokens from "
             f"{VOCAB} symbols per step, Adam lr 1e-2; scored on 256 held-out sequences (refiner greedy, frozen).",
        mechanism="refiner", baseline="widest window", metric="held-out cross-entropy", lower_is_better=True,
        trial=_lookback_trial, **_budget(quick, 40, 150))


# --- adaptive span on a local task -----------------------------------------------------------------------

def local_mean_batch(generator: torch.Generator, batch: int = 16, T: int = 48, D: int = 16, k: int = 4) -> Batch:
    """``x (B, T, D)`` random and its target: at every position the mean of the last ``k`` inputs (fewer at the start).

    A cumulative sum gives every window sum at once: ``Σ x[t−k+1 … t] = c[t] − c[t−k]``.
    """
    x = torch.randn(batch, T, D, generator=generator)
    c = x.cumsum(1)  # (B, T, D)
    before = F.pad(c, (0, 0, k, 0))[:, :T]  # c[t − k], zero for t < k
    count = torch.arange(1, T + 1).clamp(max=k).view(1, T, 1)
    return x, (c - before) / count


def _span_trial(use_mechanism: bool, seed: int, steps: int) -> float:
    generator = set_seed(seed)
    rotary = {"theta": 100.0}
    layer = (AdaptiveSpanAttention(16, 2, rotary=rotary, max_span=64, ramp=8, init_span=12.0, span_penalty=0.05)
             if use_mechanism else StandardAttention(16, 2, rotary=rotary))
    held_out = local_mean_batch(torch.Generator().manual_seed(HELD_OUT + seed), batch=128)
    return _fit_and_score(layer, [{"params": list(layer.parameters()), "lr": 3e-2}], steps,
                          lambda: local_mean_batch(generator), lambda m, b: _mse(m, b, causal=True), held_out)


def span_local_mean(quick: bool = True) -> Experiment:
    """Lesson 07: does adaptive span beat standard attention when each output needs only the last few inputs?"""
    return Experiment(
        name="span-local-mean",
        question="Does adaptive span (which can learn to narrow its view) learn a local task better than "
                 "standard attention with the same rotary embedding, after the same number of steps?",
        task="every position of a causal sequence outputs the mean of its last 4 inputs; 16 random sequences of "
             "48 tokens × 16 channels per step, Adam lr 3e-2 (span penalty 0.05 for the span arm); scored on 128 "
             "held-out sequences.",
        mechanism="adaptive span", baseline="standard", metric="held-out MSE", lower_is_better=True,
        trial=_span_trial, **_budget(quick, 70, 200))


#: lesson topic (its notebook's name without the number, as in ``05_myelinated_attention``) → the function
#: that builds its experiment (``quick`` → budget). Topics, not numbers: reordering the lessons changes nothing.
LESSON_EXPERIMENTS: dict[str, Callable[[bool], Experiment]] = {
    "myelinated_attention": myelinated_routing, "q_learning_refiner": refiner_lookback,
    "adaptive_windows": span_local_mean}
