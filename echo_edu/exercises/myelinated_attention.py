"""Checkers for lesson 05 (myelinated attention). Each prints a verdict and returns a bool.

``routing_batch`` and ``train_router`` are section 6's task and loop as functions, so a solution can
change one setting (the cost, the policy's learning rate, the seed) and train again in a second.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import verdict
from ..attention import MyelinatedAttention
from ..utils import set_seed

__all__ = ["routing_batch", "train_router", "check_no_cost", "check_death_spiral", "check_future_leak",
           "check_importance"]


def routing_batch(generator: torch.Generator, batch: int = 32, T: int = 16, D: int = 32):
    """Section 6's task: ``x`` (B, T, D), ``target`` (4 × the sequence mean on hard examples, 0 on easy), ``hard`` (B,)."""
    x = torch.randn(batch, T, D, generator=generator)
    hard = torch.rand(batch, generator=generator) < 0.5
    x[:, :, 0] = torch.where(hard, 2.0, -2.0)[:, None]
    mean = x.mean(1, keepdim=True).expand(-1, T, -1)
    return x, torch.where(hard[:, None, None], 4 * mean, torch.zeros_like(x)), hard


def train_router(compute_cost: float = 0.1, policy_lr: float = 5e-3, steps: int = 130, seed: int = 0):
    """Train section 6's router (2 sub-layers; lr 3e-3, the policy ``policy_lr``).

    Returns ``(router, history, generator)``; ``history[step] = (P(skip | hard), P(skip | easy))`` in training.
    """

    generator = set_seed(seed)
    router = MyelinatedAttention(32, 4, layers=2, compute_cost=compute_cost)
    policy = list(router.policy.parameters())
    rest = [p for name, p in router.named_parameters() if not name.startswith("policy.")]
    opt = torch.optim.Adam([{"params": rest, "lr": 3e-3}, {"params": policy, "lr": policy_lr}])
    history = []
    for _ in range(steps):
        x, target, hard = routing_batch(generator)
        out, info = router(x)
        loss = F.mse_loss(out, target) + info.get("aux_loss", 0.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        p_skip = info["skip_prob"][:, :, 0]  # (B, L)
        history.append((p_skip[hard].mean().item(), p_skip[~hard].mean().item()))
    return router, history, generator


def check_no_cost(easy_free, easy_paid, hard_free) -> bool:
    """Exercise 1: per seed, P(skip | easy) over the last training steps without and with the compute cost,
    and the eval skip rate of hard examples without the cost."""
    free, paid = sum(easy_free) / len(easy_free), sum(easy_paid) / len(easy_paid)
    ok = (len(easy_free) == len(easy_paid) >= 3 and free > 0.4 and max(hard_free) < 0.1
          and all(f < p - 0.05 for f, p in zip(easy_free, easy_paid)))
    return verdict(ok, f"without a cost the policy still learns to skip easy examples (P(skip | easy) {free:.2f}, from "
                       f"about 0.12 at the start) and never hard ones: on an easy example the target is 0, so any "
                       f"attention update only adds error — the loss itself pays for the jump. The cost makes it "
                       f"faster and surer ({paid:.2f}) but is not what teaches the routing.",
                   "train with train_router(compute_cost=0.0, seed=s) and train_router(compute_cost=0.1, seed=s) for at "
                   "least three seeds; average P(skip | easy) over the last 20 steps of each history, and take the "
                   "hard examples' eval skip rate of the cost-free router.")


def check_death_spiral(fast, slow, query_grad: float, policy_grad: float) -> bool:
    """Exercise 2: per seed, P(skip | hard) after 30 steps with policy lr 1e-1 (``fast``) and 5e-3 (``slow``);
    on a batch where the dead router skips every sub-layer, the gradient norms of the queries and of the policy."""
    ok = (len(fast) == len(slow) >= 5 and max(fast) > 0.45 and max(slow) < 0.2
          and query_grad == 0.0 and policy_grad > 0.0)
    return verdict(ok, f"a fast policy can shut sub-layers off on the hard examples too (up to {max(fast):.2f}, against "
                       f"{max(slow):.2f} at 5e-3) and it depends on the seed. A skipped update is multiplied by 0, so "
                       f"its attention gets exactly no gradient and cannot get better; only the straight-through "
                       f"gradient into the policy ({policy_grad:.1e}) can bring it back.",
                   "train_router(policy_lr=1e-1, steps=30, seed=s) for seeds 0–4 (and 5e-3); take history[-1][0]. On "
                   "the seed closest to 1, switch the router to train(), run one backward pass of the MSE on a "
                   "batch where info['skip'] is all 1, and read router.query.weight.grad and the policy's gradients."
                   if len(fast) >= 5 else "use at least five seeds: whether the spiral happens depends on the seed.")


def check_future_leak(change_causal: float, change_leaky: float) -> bool:
    """Exercise 3: largest change at positions 0–5 when tokens 6… change, with the prefix mean and with the whole mean."""
    ok = change_causal < 1e-5 and change_leaky > 1e-2
    return verdict(ok, f"the whole-sequence mean moves every earlier output (by {change_leaky:.2f}); the prefix mean moves "
                       f"none ({change_causal:.0e}). In training that leak would let the decoder read the answer.",
                   "patch the pooling so the decoder calls running_mean(..., causal=False), then run section 4's "
                   "test: layer(x, causal=True) against layer(z, causal=True) with z[:, 6:] changed.")


def check_importance(importance_hard: float, importance_easy: float, skip_hard: float, skip_easy: float,
                     importance_grad_skipped: float) -> bool:
    """Exercise 4: the trained router's mean importance and eval skip rate on hard and easy examples, and the
    gradient norm of the importance gate (``gates[0].weight[0]``) on easy examples with every sub-layer skipped."""
    gap, routed = importance_hard - importance_easy, skip_easy - skip_hard
    ok = routed > 0.8 and 0.0 < gap < 0.5 * routed and importance_grad_skipped == 0.0
    return verdict(ok, f"importance separates the two kinds only weakly ({importance_hard:.2f} against "
                       f"{importance_easy:.2f}) while the skip separates them fully. It need not do more: on a skipped "
                       f"example r·s·a = 0, so s gets no gradient there — importance only learns where the sub-layer runs.",
                   "average info['importance'] and info['skip'] of the eval router over the hard and the easy examples; "
                   "then, in train() with the policy bias at −60, back-propagate the MSE of an easy batch and take "
                   "router.gates[0].weight.grad[0].norm().")
