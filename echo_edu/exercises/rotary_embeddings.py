"""Checkers for lesson 03 (rotary position embeddings). Each prints a verdict and returns a bool."""

from __future__ import annotations

import torch

from . import verdict

__all__ = ["check_relative_rotation", "check_theta", "check_rotated_channels", "check_two_axes",
           "check_fixed_rotation", "bag_of_tokens_bound", "check_no_rotary"]

PAIRS = [(3, 7), (0, 5), (10, 2), (4, 4), (25, 31)]


def _orthogonal(m: torch.Tensor) -> bool:
    eye = torch.eye(m.shape[-1], dtype=m.dtype)
    return torch.allclose(m.mT @ m, eye, atol=1e-5) and abs(float(torch.linalg.det(m)) - 1) < 1e-4


def _relative_gap(rotation) -> float:
    """Largest |R(m)ᵀ R(n) − R(n − m)| over a few (m, n)."""
    return max(float((rotation(m).mT @ rotation(n) - rotation(n - m)).abs().max()) for m, n in PAIRS)


def check_relative_rotation(rotation) -> bool:
    """Exercise 1: ``rotation(p)`` — your block-diagonal RoPE matrix ``(d, d)`` at integer position ``p``."""
    turns = float((rotation(1) - torch.eye(rotation(1).shape[-1], dtype=rotation(1).dtype)).abs().max()) > 1e-3
    rotations = all(_orthogonal(rotation(p)) for p in (1, 5, -3))
    gap = _relative_gap(rotation)
    ok = turns and rotations and gap < 1e-4
    return verdict(ok, f"R(m)ᵀ R(n) = R(n − m) (largest gap {gap:.1e}): each block is R(mω)ᵀR(nω) = R((n − m)ω) "
                       "because 2-D rotations commute and add their angles; a block-diagonal stack does it per block.",
                   "R(p) must be orthogonal, must turn (R(1) ≠ I) and must hold R(m)ᵀR(n) = R(n − m); build "
                   "torch.block_diag of [[cos pω_k, −sin pω_k], [sin pω_k, cos pω_k]] with ω_k = θ^(−2k/d)."
                   if rotations else "R(p) is not a rotation (RᵀR = I, det 1).")


def check_theta(mean_10: torch.Tensor, mean_10000: torch.Tensor) -> bool:
    """Exercise 2: mean score against distance ``n − m = 0, 1, …`` (q = k) for θ = 10 and θ = 10000, ≥ 32 long."""
    far_10, far_10000 = float(mean_10[4:].mean()), float(mean_10000[4:].mean())
    ok = (len(mean_10) >= 32 and len(mean_10000) >= 32 and abs(float(mean_10[0]) - 1) < 1e-4
          and abs(far_10) < 0.15 and far_10000 > 0.4)
    return verdict(ok, f"beyond 4 tokens the score averages {far_10:+.2f} for θ = 10 and {far_10000:+.2f} for θ = 10000: "
                       "with θ = 10 every wavelength is under 2π·θ ≈ 63 tokens, so at a distance the hands point every "
                       "way and their cosines cancel; with θ = 10000 the slow hands (wavelengths of thousands of "
                       "tokens) barely turn over 48 tokens and keep q·k high.",
                   "take similarity_map(theta=..., length=48) with the default q = k vectors and pass "
                   "s['mean'][length - 1:] (distances 0, 1, …) for θ = 10 first, θ = 10000 second.")


def check_rotated_channels(dim: int, channels) -> bool:
    """Exercise 3: the channels of ``RotaryEmbedding(dim, rot_scale=0.25)`` that change with position."""
    pairs = int(round(0.25 * (dim // 2)))
    got = sorted(int(c) for c in channels)
    ok = dim >= 16 and got == list(range(2 * pairs))
    return verdict(ok, f"only channels 0 … {2 * pairs - 1} turn: rot_scale = 0.25 keeps round(0.25 · {dim // 2}) = "
                       f"{pairs} of the {dim // 2} pairs, the fastest ones; the other channels pass through as in "
                       "a plain dot product.",
                   "compute M = rope.rotation_matrix(positions) for several positions and keep the channels c where "
                   "M[:, c, :] differs from the identity's row c (channels, not pairs).")


def check_two_axes(rotation) -> bool:
    """Exercise 4: ``rotation(p) = R_a(p) · R_b(p)`` with two different axes, a ``(3, 3)`` matrix."""
    rotations = all(_orthogonal(rotation(p)) for p in (1, 5, -3))
    turns = float((rotation(1) - torch.eye(3, dtype=rotation(1).dtype)).abs().max()) > 1e-3
    gap = _relative_gap(rotation)
    ok = rotations and turns and gap > 1e-2
    return verdict(ok, f"R(m)ᵀR(n) differs from R(n − m) by up to {gap:.2f}: rotations about different axes do not "
                       "commute, so R_b(m)ᵀR_a(m)ᵀR_a(n)R_b(n) does not collapse to a function of n − m.",
                   "the product must be a rotation that depends on p; with the same axis twice it is R_a(2p), "
                   "which *is* relative, so use two different axes (e.g. x and z with rodrigues_matrix).")


def check_fixed_rotation(rotation: torch.Tensor, gap: float) -> bool:
    """Exercise 5: a fixed rotation ``(d, d)`` and the largest ``|(R q)·(R k) − q·k|`` over random q, k."""
    eye = torch.eye(rotation.shape[-1], dtype=rotation.dtype)
    ok = _orthogonal(rotation) and float((rotation - eye).abs().max()) > 1e-2 and gap < 1e-4
    return verdict(ok, "(R q)·(R k) = qᵀ RᵀR k = q·k: a rotation shared by q and k that ignores position leaves "
                       "every score, hence every attention weight, exactly as it was.",
                   "use one rotation R (not the identity) for both q and k, the same for every position, and "
                   "measure the score change over many random q, k.")


def bag_of_tokens_bound(vocab: int = 10, length: int = 14, lag: int = 2, samples: int = 20000) -> float:
    """Best accuracy of a causal guess that knows only *which* tokens query ``t`` sees, not their order.

    Query ``t`` knows its own token and the multiset of ``x_0 … x_{t-1}``; the target ``x_{t-lag}`` is one
    of them, so the best order-blind guess is the most frequent one. Averaged over ``t = lag … length-1``.
    """
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(vocab, (samples, length), generator=gen)
    rates = []
    for t in range(lag, length):
        counts = torch.nn.functional.one_hot(ids[:, :t], vocab).sum(1)  # (N, vocab) over the t earlier tokens
        rates.append((counts.max(1).values / t).mean().item())
    return sum(rates) / len(rates)


def check_no_rotary(accuracy_plain: float, accuracy_rotary: float) -> bool:
    """Exercise 6: accuracies of section 9's ``LookBack`` trained with ``rotary=None`` and with rotary, same steps and seed."""
    bound = bag_of_tokens_bound()
    ok = accuracy_rotary > 0.9 and abs(accuracy_plain - bound) < 0.1 and accuracy_plain < accuracy_rotary - 0.3
    return verdict(ok, f"without rotary the model reaches {accuracy_plain:.0%} (chance 10 %, rotary {accuracy_rotary:.0%}): "
                       f"about what guessing the most frequent visible token gives ({bound:.0%}). It never finds t−2; "
                       "the causal mask only tells each query which tokens exist before it.",
                   f"train both for the lesson's number of steps and measure on fresh sequences; an order-blind "
                   f"guess of the most frequent visible token scores {bound:.0%} (bag_of_tokens_bound()).")
