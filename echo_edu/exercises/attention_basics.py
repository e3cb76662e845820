"""Checkers for lesson 02 (attention from scratch). Each prints a verdict and returns a bool."""

from __future__ import annotations

import math

import torch

from . import verdict
from ..attention import build_attention

__all__ = ["check_scale", "check_layers_needed", "check_cross_cache"]


def check_scale(max_weight_default: float, max_weight_unscaled: float) -> bool:
    """Exercise 1: mean largest attention weight per row at d = 256, with the default ``1/√d`` and with ``scale=1``."""
    ok = max_weight_default < 0.3 and max_weight_unscaled > 0.8
    return verdict(ok, f"without 1/√d the softmax saturates: the top key takes {max_weight_unscaled:.2f} of each row "
                       f"(against {max_weight_default:.2f}), so almost every weight has a near-zero gradient.",
                   "compute torch.softmax(q @ k.mT * scale, -1).max(-1).values.mean() for random q, k of width 256 "
                   "with scale = 1/16 and scale = 1; raw dot products have a standard deviation of √256 = 16.")


def check_layers_needed(layers_needed) -> bool:
    """Exercise 2: ``layers_needed(lag, w)`` — fewest causal-band layers (keys ``0 ≤ t − j < w``) that reach ``t − lag``."""
    cases = [(5, 4), (2, 4), (3, 4), (4, 4), (7, 4), (5, 2), (5, 6), (9, 3)]
    wrong = [(lag, w) for lag, w in cases if layers_needed(lag, w) != math.ceil(lag / (w - 1))]
    return verdict(not wrong, "each causal band layer moves information back by at most w − 1 = 3 positions, so "
                              "lag = 5 needs ⌈5 / 3⌉ = 2 layers.",
                   f"wrong for (lag, w) in {wrong}; multiply the boolean band mask by itself (one product per layer) "
                   "and find the first power whose row t reaches column t − lag.")


def check_cross_cache(cached_cross_attention) -> bool:
    """Exercise 3: ``cached_cross_attention(attn, x, context) -> (out, cache)`` — step by step through one cache."""

    gen = torch.Generator().manual_seed(3)
    attn = build_attention("standard", 16, 2, context_dims=12).eval()
    x, context = torch.randn(2, 5, 16, generator=gen), torch.randn(2, 7, 12, generator=gen)
    with torch.no_grad():
        full, _ = attn(x, context)
        out, cache = cached_cross_attention(attn, x, context)
    ok = (out.shape == full.shape and torch.allclose(out, full, atol=1e-5) and cache.static
          and tuple(cache.keys.shape) == (2, 2, 7, 8) and tuple(cache.values.shape) == (2, 2, 7, 8))
    return verdict(ok, "the cache holds the context's keys and values (B, H, S, d), computed once; later steps "
                       "only project their own queries.",
                   "first call attn(x[:, :1], context, cache=cache), then attn(x[:, t:t+1], None, cache=cache) for "
                   "the rest, concatenate the steps on dim 1 and return (out, cache).")
