"""Checkers for lesson 01 (quaternions and rotations). Each prints a verdict and returns a bool."""

from __future__ import annotations

import math

import torch

from . import verdict
from .. import (quat_conjugate, quat_from_axis_angle, quat_multiply, quat_norm, quat_rotate, quat_to_axis_angle,
                quat_to_matrix)

__all__ = ["check_norm_product", "check_slerp_outside", "check_x_to_y", "check_lock_pitches",
           "check_naive_from_matrix"]


def check_norm_product(q: torch.Tensor, r: torch.Tensor, product_norm: torch.Tensor) -> bool:
    """Exercise 1: ``product_norm = |q r|`` for a batch of random, *not* unit, quaternions ``q, r`` (N, 4)."""

    nq, nr = quat_norm(q), quat_norm(r)
    varied = q.shape[0] >= 10 and float(nq.std()) > 0.05 and float(nr.std()) > 0.05
    ok = (varied and product_norm.shape == nq.shape
          and torch.allclose(product_norm, quat_norm(quat_multiply(q, r)), rtol=1e-4, atol=1e-5)
          and torch.allclose(product_norm, nq * nr, rtol=1e-4, atol=1e-5))
    return verdict(ok, "|q r| = |q| |r|: the 16 cross terms of |q r|² cancel in pairs, leaving (Σq²)(Σr²); "
                       "so unit quaternions stay unit under multiplication.",
                   "use at least 10 random quaternions of different lengths (not normalised, or the test is "
                   "trivially 1 = 1) and pass quat_norm(quat_multiply(q, r)).")


def check_slerp_outside(q0: torch.Tensor, q1: torch.Tensor, ts: torch.Tensor, results: torch.Tensor) -> bool:
    """Exercise 2: ``results[i] = quat_slerp(q0, q1, ts[i])`` for some ``ts`` outside [0, 1]."""

    q1 = q1 if float((q0 * q1).sum()) >= 0 else -q1                   # the shorter arc
    axis, angle = quat_to_axis_angle(quat_multiply(quat_conjugate(q0), q1))
    expected = torch.stack([quat_multiply(q0, quat_from_axis_angle(axis, float(t) * angle)) for t in ts])
    close = torch.minimum((results - expected).abs().amax(-1), (results + expected).abs().amax(-1))
    outside = bool(((ts < 0) | (ts > 1)).any()) and float(angle) > 0.1
    ok = outside and bool((close < 1e-4).all()) and torch.allclose(quat_norm(results), torch.ones(len(ts)), atol=1e-5)
    return verdict(ok, "slerp keeps going along the same great circle: q0 (q0⁻¹ q1)^t turns t times the angle "
                       "between them (t < 0 turns backwards), and every result is a unit quaternion, so a rotation.",
                   "pick two quaternions that differ by a clear angle, ts with values below 0 and above 1, and "
                   "pass quat_slerp(q0, q1, t) for each t unchanged (no clamping of t).")


def check_x_to_y(q: torch.Tensor) -> bool:
    """Exercise 3: the unit quaternion (w, x, y, z) of the shortest rotation taking the x-axis to the y-axis."""

    q = torch.as_tensor(q, dtype=torch.float32)
    unit = abs(float(q.norm()) - 1) < 1e-4
    maps = torch.allclose(quat_rotate(q, torch.tensor([1.0, 0.0, 0.0])), torch.tensor([0.0, 1.0, 0.0]), atol=1e-4)
    angle = 2 * math.acos(min(1.0, abs(float(q[0]))))
    ok = unit and maps and abs(angle - math.pi / 2) < 1e-3
    problem = "is not unit" if not unit else "does not take x to y" if not maps else f"turns {math.degrees(angle):.0f}°"
    return verdict(ok, "axis x × y = z, angle acos(x·y) = 90°: q = (cos 45°, 0, 0, sin 45°). Many rotations "
                       "take x to y (e.g. 180° about (x + y)/√2); the shortest turns only 90°.",
                   f"your quaternion {problem}; use quat_from_axis_angle(x × y normalised, acos(x · y)).")


def check_lock_pitches(pitches) -> bool:
    """Exercise 4: the pitches (radians, in [-π, π]) where the Jacobian of Rz·Ry·Rx loses rank."""
    p = torch.as_tensor(pitches, dtype=torch.float64).flatten()
    wrapped = torch.remainder(p + math.pi, 2 * math.pi) - math.pi     # into [-π, π)
    near = lambda a: bool(((wrapped - a).abs() < 0.02).any())        # noqa: E731
    all_locked = bool((((wrapped.abs() - math.pi / 2).abs()) < 0.02).all())
    ok = len(p) > 0 and all_locked and near(math.pi / 2) and near(-math.pi / 2)
    return verdict(ok, "pitch = ±90°: Ry(±90°) turns the x-axis onto ∓z, so roll about x and yaw about z become "
                       "the same motion; rank 2 at those two pitches only, for any yaw and roll.",
                   "scan the pitch over torch.linspace(-π, π, 361) with fixed yaw and roll, keep the pitches where "
                   "jacobian_rank(...) < 3, and pass them (you should find two).")


def check_naive_from_matrix(naive_from_matrix) -> bool:
    """Exercise 5: ``naive_from_matrix(m)`` with ``w = √(1 + trace)/2`` and ``(x, y, z)`` from the off-diagonal."""

    gen = torch.Generator().manual_seed(5)
    axes = torch.nn.functional.normalize(torch.randn(8, 3, generator=gen), dim=-1)
    angles = torch.rand(8, generator=gen) * 2.0 + 0.3                          # 17° … 132°
    easy = quat_from_axis_angle(axes, angles)
    got = torch.stack([naive_from_matrix(quat_to_matrix(e)) for e in easy])
    works = bool((torch.minimum((got - easy).abs().amax(-1), (got + easy).abs().amax(-1)) < 1e-4).all())
    half_turn = quat_from_axis_angle(torch.tensor([0.0, 0.6, 0.8]), math.pi)
    bad = naive_from_matrix(quat_to_matrix(half_turn))
    fails = (not bool(torch.isfinite(bad).all())
             or float(torch.minimum((bad - half_turn).abs().max(), (bad + half_turn).abs().max())) > 1e-2)
    ok = works and fails
    return verdict(ok, "at 180° trace = −1, so w = 0 and the off-diagonal differences (4wx, …) are 0 too: 0/0. "
                       "Shepperd's method divides by the largest of 4w², 4x², 4y², 4z² instead.",
                   "the naive formula must reproduce moderate rotations (w = √(1 + trace)/2, x = (m21 − m12)/(4w), "
                   "y = (m02 − m20)/(4w), z = (m10 − m01)/(4w)); don't fall back on quat_from_matrix."
                   if not works else "your function copes with 180°: is it really the naive one-formula version?")
