"""Content statistics that never look into the future, plus the straight-through binary Gumbel sample.

Several attention types summarise "what the sequence is like" — the myelinated block's skip policy
and working memory, the adaptive span's predictor, the focus window's activity measure. A summary
pooled over the *whole* sequence is fine in the encoder, but in the decoder it leaks future tokens
into earlier positions (the original Echo's bug). So every such statistic here is a **masked mean**:

* bidirectional (``causal=False``): the mean over all real tokens, one row per example ``(B, 1, D)``;
* causal: the **prefix mean** ``cumsum_t(x) / t`` — position ``t`` sees only positions ``≤ t`` ``(B, T, D)``.

While decoding with a :class:`~echo_edu.attention.KVCache`, the running sum and count of real tokens
are carried in ``cache.state`` so a token-by-token pass gives the same statistic as one full pass.
Sums are kept in float32, whatever the input dtype.
"""

from __future__ import annotations

import torch

from .base import KVCache

__all__ = ["running_mean", "straight_through_bernoulli"]


def running_mean(x: torch.Tensor, valid: torch.Tensor | None = None, *, causal: bool,
                 cache: KVCache | None = None, name: str = "mean") -> torch.Tensor:
    """Masked (prefix) mean over time that is safe for decoders and exact under a KV cache.

    Args:
        x: ``(B, T, D)``.
        valid: ``(B, T)`` bool, True = a real token that counts (``None``: all count).
        causal: prefix mean (decoder) or whole-sequence mean (encoder).
        cache: when given, the sums of earlier chunks are read from and written to
            ``cache.state[f"{name}_sum"]`` ``(B, D)`` and ``cache.state[f"{name}_count"]`` ``(B, 1)``.
        name: key prefix in ``cache.state`` (one per statistic a layer keeps).
    Returns:
        ``(B, T, D)`` when causal, else ``(B, 1, D)``; dtype of ``x``. Positions with no real token
        before them (all padding so far) get zeros.
    """
    B, T, D = x.shape
    x32 = x.float()
    w = x32.new_ones(B, T, 1) if valid is None else valid.to(torch.float32)[..., None]  # (B, T, 1)
    past_sum = past_count = None
    if cache is not None and f"{name}_sum" in cache.state:
        past_sum, past_count = cache.state[f"{name}_sum"], cache.state[f"{name}_count"]
    if causal:
        sums = torch.cumsum(x32 * w, dim=1)   # (B, T, D)
        counts = torch.cumsum(w, dim=1)       # (B, T, 1)
        if past_sum is not None:
            sums = sums + past_sum[:, None, :]
            counts = counts + past_count[:, None, :]
        total_sum, total_count = sums[:, -1], counts[:, -1]
    else:
        sums = (x32 * w).sum(dim=1, keepdim=True)  # (B, 1, D)
        counts = w.sum(dim=1, keepdim=True)        # (B, 1, 1)
        if past_sum is not None:
            sums = sums + past_sum[:, None, :]
            counts = counts + past_count[:, None, :]
        total_sum, total_count = sums[:, 0], counts[:, 0]
    if cache is not None:
        cache.state[f"{name}_sum"], cache.state[f"{name}_count"] = total_sum, total_count
    return (sums / counts.clamp_min(1.0)).to(x.dtype)


def straight_through_bernoulli(logits: torch.Tensor, *, training: bool, temperature: float = 1.0,
                               generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A hard 0/1 decision that still passes gradients to ``logits`` (binary Gumbel-softmax, straight-through).

    Two-class Gumbel-softmax reduces to one logit: the difference of two Gumbel variables is a
    logistic variable ``g = log u − log(1 − u)``, so ``soft = σ((logits + g) / τ)``. The forward
    value is ``hard = [soft > 0.5]``; the backward pass uses the gradient of ``soft``
    (``hard + soft − soft.detach()``). In eval there is no noise: ``hard = [logits > 0]``.

    Args:
        logits: any shape; log-odds of "yes".
        training: sample with noise (True) or decide deterministically (False).
        temperature: ``τ`` of the relaxed sample (lower = closer to hard, noisier gradients).
        generator: seeded ``torch.Generator`` on ``logits``' device (``None``: the global RNG).
    Returns:
        ``(decision, probability)``: the 0/1 decision (float, logits' dtype, straight-through gradient in
        training) and ``σ(logits)``, the policy's probability of "yes".
    """
    prob = torch.sigmoid(logits)
    if not training:
        return (logits > 0).to(logits.dtype), prob
    # rand_like, not rand(logits.shape): the same draws, and it also traces when dynamo makes the shape symbolic
    u = torch.rand_like(logits, dtype=torch.float32, memory_format=torch.contiguous_format, generator=generator)
    u = u.clamp(1e-6, 1.0 - 1e-6)
    noise = (torch.log(u) - torch.log1p(-u)).to(logits.dtype)  # logistic(0, 1)
    soft = torch.sigmoid((logits + noise) / temperature)
    hard = (soft > 0.5).to(logits.dtype)
    return hard + soft - soft.detach(), prob
