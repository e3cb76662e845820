# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 01 · Quaternions: rotations you can multiply
#
# Echo's rotary position embedding rotates queries and keys, and its "quaternion" variant rotates
# 3-D blocks of them. Before we can judge that idea we need the tool itself: quaternions, the
# four-number representation of 3-D rotations used in graphics, robotics and spacecraft.
#
# **What you'll learn**
#
# 1. Why multiplying by a unit complex number is a 2-D rotation, and how quaternions extend that to 3-D.
# 2. The axis–angle form `q = (cos φ/2, sin φ/2 · u)` and the *sandwich product* `q v q*`.
# 3. That quaternion multiplication *is* composition of rotations, and that `q` and `−q` are the same rotation.
# 4. Why Euler angles lose a degree of freedom (gimbal lock) and quaternions do not.
# 5. Slerp: interpolating rotations at constant speed, and why averaging matrices is not a rotation.
#
# **What you need:** vectors, dot and cross products, matrix multiplication, complex numbers.
# Everything below uses `echo_edu.quaternion`; every quaternion is stored **real part first, (w, x, y, z)**.

# %%
import math

import torch

import echo_edu
from echo_edu.quaternion import (quat_conjugate, quat_from_axis_angle, quat_from_matrix, quat_multiply,
                                 quat_norm, quat_random, quat_rotate, quat_slerp, quat_to_matrix,
                                 rodrigues_matrix)
from echo_edu.viz.quaternion import rotation_explorer_widget, slerp_widget

gen = echo_edu.set_seed(0)
QUICK = echo_edu.quick_mode()
torch.set_printoptions(precision=4, sci_mode=False)

# %% [markdown]
# ## 1. Rotations in the plane are complex multiplications
#
# Write a point of the plane as `z = x + iy`. Multiplying by `e^{iφ} = cos φ + i sin φ` turns it by φ:
# lengths multiply (`|e^{iφ}| = 1`) and angles add. So the 2×2 rotation matrix and the unit complex
# number are two spellings of one thing, and composing rotations is just multiplying numbers.

# %%
phi = 0.7
z = complex(2.0, 1.0)
turned = z * complex(math.cos(phi), math.sin(phi))                   # multiply by e^{iφ}
R2 = torch.tensor([[math.cos(phi), -math.sin(phi)], [math.sin(phi), math.cos(phi)]])
by_matrix = R2 @ torch.tensor([z.real, z.imag])
print("complex:", turned, "  matrix:", by_matrix.tolist())
assert abs(turned.real - by_matrix[0]) < 1e-6 and abs(turned.imag - by_matrix[1]) < 1e-6
assert abs(abs(turned) - abs(z)) < 1e-12                             # length is kept

# %% [markdown]
# ## 2. Quaternions: three imaginary units
#
# Hamilton's idea (1843): one real part and *three* imaginary units with
# `i² = j² = k² = ijk = −1`. From those rules follow `ij = k`, `jk = i`, `ki = j` and — unlike
# complex numbers — `ji = −k`: **the product does not commute**, exactly like 3-D rotations.
# Writing `q = (w, v)` with a scalar `w` and a vector `v`, the product is
#
# `(w₁, v₁)(w₂, v₂) = (w₁w₂ − v₁·v₂,  w₁v₂ + w₂v₁ + v₁ × v₂)`.
#
# Here it is from scratch, checked against the library:

# %%
def hamilton(q1, q2):
    """Teaching version of the Hamilton product in (w, x, y, z) order, with dot and cross products."""
    w1, v1 = q1[0], q1[1:]
    w2, v2 = q2[0], q2[1:]
    return torch.cat([(w1 * w2 - v1 @ v2).reshape(1), w1 * v2 + w2 * v1 + torch.linalg.cross(v1, v2)])


one, i, j, k = torch.eye(4)
assert torch.equal(hamilton(i, j), k) and torch.equal(hamilton(j, i), -k)        # ij = k, ji = -k
assert torch.equal(hamilton(hamilton(i, j), k), -one)                            # ijk = -1
a, b = torch.randn(2, 4, generator=gen)
assert torch.allclose(hamilton(a, b), quat_multiply(a, b), atol=1e-6)
print("ab =", quat_multiply(a, b), "\nba =", quat_multiply(b, a))

# %% [markdown]
# ## 3. Axis–angle and the sandwich product
#
# A rotation by angle φ about the unit axis `u` is the **unit** quaternion
# `q = (cos φ/2, sin φ/2 · u)`. A vector `v` is written as the *pure* quaternion `(0, v)` and rotated by
#
# `v' = q v q*`, where `q* = (w, −v)` is the conjugate (and the inverse, for a unit `q`).
#
# Why the half angle? `q` acts twice in the sandwich — once from the left, once from the right — and each
# side turns the plane ⊥ `u` by φ/2. Let's check it literally against the library's fast formula, the 3×3
# matrix and Rodrigues' formula `R = I + sin φ K + (1 − cos φ) K²` (with `K` the cross-product matrix of `u`).

# %%
axis, angle = torch.tensor([1.0, 2.0, 2.0]) / 3, 2.0
q = quat_from_axis_angle(axis, angle)
v = torch.tensor([0.3, -1.0, 0.5])
sandwich = hamilton(hamilton(q, torch.cat([torch.zeros(1), v])), quat_conjugate(q))
print("q =", q, "  |q| =", float(quat_norm(q)))
print("q v q* =", sandwich)
assert abs(sandwich[0]) < 1e-6                                        # still a pure quaternion
assert torch.allclose(sandwich[1:], quat_rotate(q, v), atol=1e-6)
assert torch.allclose(quat_to_matrix(q) @ v, quat_rotate(q, v), atol=1e-6)
assert torch.allclose(rodrigues_matrix(axis, angle), quat_to_matrix(q), atol=1e-6)
assert torch.allclose(quat_rotate(q, axis), axis, atol=1e-6)          # the axis itself does not move

# %% [markdown]
# ### Explore
#
# Move the sliders: the axis (any length — it is normalised) and the angle. The orange box is rotated;
# the faint one is where it started. Solid arrows are the rotated frame (the matrix's columns), dotted
# ones the original. The table shows the quaternion and the matrix, live. Try: angle 360° — the box is
# back, but `q = (−1, 0, 0, 0)`. A full turn in space is half a turn on the quaternion sphere.

# %%
rotation_explorer_widget()

# %% [markdown]
# ## 4. Multiplying is composing; `q` and `−q` agree
#
# Rotating by `r` and then by `q` is the same as rotating once by the product `q r`:
# `q (r v r*) q* = (q r) v (q r)*`. Composition costs 16 multiplications for quaternions versus 27 for
# 3×3 matrices, and renormalising a quaternion (divide by its norm) is far cheaper than re-orthogonalising a
# drifted matrix. And since `q` appears twice in the sandwich, `−q` gives the same rotation: every rotation
# has exactly two unit quaternions (the *double cover*). `quat_from_matrix` therefore picks the one with `w ≥ 0`.

# %%
q, r = quat_random(2, generator=gen)
v = torch.randn(3, generator=gen)
assert torch.allclose(quat_rotate(quat_multiply(q, r), v), quat_rotate(q, quat_rotate(r, v)), atol=1e-5)
assert torch.allclose(quat_to_matrix(quat_multiply(q, r)), quat_to_matrix(q) @ quat_to_matrix(r), atol=1e-5)
assert torch.allclose(quat_to_matrix(-q), quat_to_matrix(q))
back = quat_from_matrix(quat_to_matrix(-q))
print("q =", q, "\n-q =", -q, "\nfrom the matrix:", back)
assert torch.allclose(back, q if q[0] >= 0 else -q, atol=1e-5)

# %% [markdown]
# ## 5. Gimbal lock: where Euler angles lose a dimension
#
# Euler angles describe a rotation as three turns about fixed axes, say `R = Rz(yaw) · Ry(pitch) · Rx(roll)`.
# Three numbers for a three-dimensional set of rotations — but at `pitch = 90°` the first and last axes line
# up and yaw and roll do *the same thing*. We can measure it: the Jacobian of the 9 matrix entries with
# respect to the 3 angles has rank 3 normally, and rank **2** at pitch 90°. One direction of motion is gone.
# The quaternion → matrix map has no such point: every unit quaternion has a full-rank neighbourhood.

# %%
E = torch.eye(3)


def euler_matrix(angles):
    """Teaching helper: yaw, pitch, roll (radians) → Rz(yaw) Ry(pitch) Rx(roll)."""
    yaw, pitch, roll = angles
    return rodrigues_matrix(E[2], yaw) @ rodrigues_matrix(E[1], pitch) @ rodrigues_matrix(E[0], roll)


def jacobian_rank(angles):
    jac = torch.autograd.functional.jacobian(euler_matrix, angles).reshape(9, 3)
    return int(torch.linalg.matrix_rank(jac, atol=1e-5))


fine, locked = torch.tensor([0.3, 0.5, -0.2]), torch.tensor([0.3, math.pi / 2, -0.2])
print("rank at pitch 29°:", jacobian_rank(fine), "   rank at pitch 90°:", jacobian_rank(locked))
assert jacobian_rank(fine) == 3 and jacobian_rank(locked) == 2
# at the lock, adding 0.4 to yaw and to roll gives the same matrix: only yaw - roll matters
same = euler_matrix(locked + torch.tensor([0.4, 0.0, 0.4]))
print("yaw+0.4 & roll+0.4 changes R by", float((same - euler_matrix(locked)).abs().max()))
assert torch.allclose(same, euler_matrix(locked), atol=1e-6)

# %% [markdown]
# ## 6. Slerp: interpolating rotations
#
# To move smoothly from rotation `q₀` to `q₁` (an animation, a camera), walk along the great arc between them
# on the unit sphere of quaternions:
#
# `slerp(q₀, q₁, t) = sin((1−t)Ω)/sin Ω · q₀ + sin(tΩ)/sin Ω · q₁`, with `cos Ω = q₀·q₁`.
#
# Every intermediate point is a unit quaternion, and the angular speed is constant. (If `q₀·q₁ < 0`, use `−q₁`:
# same rotation, shorter arc.) Below, the step angles between consecutive slerp samples are all equal.

# %%
q0, q1 = quat_random(2, generator=gen)
t = torch.linspace(0, 1, 9 if QUICK else 33)
path = quat_slerp(q0, q1, t)                                          # (steps, 4)
rel = quat_multiply(quat_conjugate(path[:-1]), path[1:])              # rotation from one sample to the next
steps = 2 * torch.atan2(rel[:, 1:].norm(dim=-1), rel[:, 0].abs())
print("step angles (rad):", steps)
assert torch.allclose(steps, steps.mean().expand_as(steps), atol=1e-4)
assert torch.allclose(quat_norm(path), torch.ones(len(t)), atol=1e-6)

# %% [markdown]
# ### Pitfall: averaging two rotation matrices is not a rotation
#
# The tempting shortcut `(R₀ + R₁)/2` is not orthogonal: it shrinks vectors. Numbers for two rotations
# 150° apart: the singular values of a rotation are all 1; of the average, not even close.
# (The original Echo code averaged a Givens rotation with a "quaternion" matrix in exactly this way.)

# %%
R0 = torch.eye(3)
R1 = quat_to_matrix(quat_from_axis_angle(torch.tensor([1.0, 1.0, 0.2]), math.radians(150)))
avg = (R0 + R1) / 2
mid = quat_to_matrix(quat_slerp(quat_from_matrix(R0), quat_from_matrix(R1), 0.5))
print("singular values of the average:", torch.linalg.svdvals(avg), " det:", float(torch.linalg.det(avg)))
print("singular values of slerp's midpoint:", torch.linalg.svdvals(mid), " det:", float(torch.linalg.det(mid)))
assert torch.linalg.svdvals(avg).min() < 0.3                          # a vector loses > 70% of its length
assert torch.allclose(torch.linalg.svdvals(mid), torch.ones(3), atol=1e-5)

# %%
slerp_widget()

# %% [markdown]
# ### Pitfall: scaling a quaternion's axis wrongly breaks orthogonality
#
# Only **unit** quaternions are rotations. Two common ways to lose that:
#
# * forgetting to normalise the axis (`u` of length 2), so `|q| ≠ 1` and the sandwich scales every vector by `|q|²`;
# * putting the unit axis `u` where `sin(φ/2)·u` belongs — the original Echo's `q_rotation` did this,
#   computing `x + 2w(u×x) + 2u×(u×x)`. At φ = 0 that should be the identity; it is not even orthogonal.

# %%
u = torch.tensor([0.0, 0.0, 2.0])                                     # un-normalised axis, length 2
half = math.radians(60) / 2
bad_q = torch.cat([torch.tensor([math.cos(half)]), math.sin(half) * u])
M = quat_to_matrix(bad_q)
print("|q| =", float(quat_norm(bad_q)), "  MᵀM diagonal:", torch.diagonal(M.T @ M))
assert not torch.allclose(M.T @ M, torch.eye(3), atol=0.1)


def echo_q_rotation(x, theta, u):
    """The original's formula (reproduced to measure it): u used where sin(θ/2)·u belongs."""
    w = math.cos(theta / 2)
    return x + 2 * (w * torch.linalg.cross(u, x) + torch.linalg.cross(u, torch.linalg.cross(u, x)))


M_echo = torch.stack([echo_q_rotation(e, 0.0, E[0]) for e in E], dim=1)   # columns = images of the basis
print("original formula at θ = 0:\n", M_echo, "\ndet =", float(torch.linalg.det(M_echo)))
assert abs(float(torch.linalg.det(M_echo)) - 5.0) < 1e-5              # volume ×5: not a rotation
assert torch.allclose(torch.linalg.det(quat_to_matrix(quat_from_axis_angle(E[0], 0.0))), torch.tensor(1.0))

# %% [markdown]
# ## Summary
#
# * A unit quaternion `(cos φ/2, sin φ/2 · u)` is a rotation by φ about `u`; vectors rotate by the sandwich `q v q*`,
#   which equals the Rodrigues matrix `I + sin φ K + (1 − cos φ) K²`.
# * Quaternion products compose rotations (and do not commute); `q` and `−q` are the same rotation.
# * Euler angles have gimbal lock (the Jacobian drops rank); quaternions do not.
# * Slerp interpolates at constant angular speed; averaging matrices (or non-unit quaternions) is not a rotation.
#
# Next, lesson 02 builds attention, and lesson 03 uses these rotations to encode *positions* in it.
#
# ## Exercises
#
# 1. Show from the product formula that `|q r| = |q| |r|`, then check it numerically on random quaternions
#    of different lengths: `check_norm_product(q, r, product_norm)`.
# 2. Use `quat_slerp` with `t` outside [0, 1]. What happens, and is the result still a rotation?
#    Check `check_slerp_outside(q0, q1, ts, results)`.
# 3. Find the quaternion of the rotation that maps the x-axis to the y-axis by the shortest path. Check with
#    `quat_rotate`, then `check_x_to_y(q)`.
# 4. With Euler order `Rz·Ry·Rx`, which pitch values lock? Verify with `jacobian_rank` over a scan of pitches
#    and pass the locking ones to `check_lock_pitches(pitches)`.
# 5. Why does `quat_from_matrix` choose among four formulas? Write the naive `w = √(1 + trace)/2` one,
#    `naive_from_matrix(m)`, and try it on a 180° turn; `check_naive_from_matrix(naive_from_matrix)`.
#
# Worked solutions follow, one collapsed cell each (click to expand; try first).

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1: |q r|² expands into (Σ q_i²)(Σ r_j²); numerically, on quaternions of many lengths:
import torch
from echo_edu import quat_multiply, quat_norm
from echo_edu.exercises.quaternions import check_norm_product

gen1 = torch.Generator().manual_seed(1)
q1, r1 = torch.randn(2, 100, 4, generator=gen1) * torch.rand(2, 100, 1, generator=gen1) * 3
norm_qr = quat_norm(quat_multiply(q1, r1))
print("max | |qr| − |q||r| | =", float((norm_qr - quat_norm(q1) * quat_norm(r1)).abs().max()))
assert check_norm_product(q1, r1, norm_qr)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 2: slerp extrapolates along the same great circle; the angle from q0 grows like |t|·Ω.
import torch
from echo_edu import quat_angle_between, quat_from_axis_angle, quat_norm, quat_slerp
from echo_edu.exercises.quaternions import check_slerp_outside

q0 = quat_from_axis_angle(torch.tensor([0.0, 0.0, 1.0]), 0.2)
q1 = quat_from_axis_angle(torch.tensor([0.0, 0.0, 1.0]), 0.8)           # 0.6 rad from q0
ts = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0])
results = torch.stack([quat_slerp(q0, q1, float(t)) for t in ts])
for t, qt in zip(ts, results):
    print(f"t = {float(t):+.1f}: |q| = {float(quat_norm(qt)):.4f}, angle from q0 = {float(quat_angle_between(q0, qt)):.2f} rad")
assert check_slerp_outside(q0, q1, ts, results)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 3: the shortest turn is about x × y by the angle between them.
import math

import torch
from echo_edu import quat_from_axis_angle, quat_rotate
from echo_edu.exercises.quaternions import check_x_to_y

ex, ey = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
axis3 = torch.linalg.cross(ex, ey)
q3 = quat_from_axis_angle(axis3 / axis3.norm(), math.acos(float(ex @ ey)))
print("q =", q3, " rotates x to", quat_rotate(q3, ex))
assert check_x_to_y(q3)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 4: scan the pitch and keep the points where the 9×3 Jacobian has rank < 3.
import math

import torch
from echo_edu import rodrigues_matrix
from echo_edu.exercises.quaternions import check_lock_pitches

E4 = torch.eye(3)
turns = lambda a: [rodrigues_matrix(E4[axis], a[i]) for i, axis in enumerate((2, 1, 0))]  # noqa: E731
jac4 = lambda a: torch.autograd.functional.jacobian(lambda b: torch.linalg.multi_dot(turns(b)), a)  # noqa: E731
rank4 = lambda a: int(torch.linalg.matrix_rank(jac4(a).reshape(9, 3), atol=1e-5))  # noqa: E731

pitches = torch.linspace(-math.pi, math.pi, 361)                    # 1° steps, ±90° included
locked4 = [float(p) for p in pitches if rank4(torch.stack([torch.tensor(0.3), p, torch.tensor(-0.2)])) < 3]
print("locking pitches (degrees):", [round(math.degrees(p), 1) for p in locked4])
assert check_lock_pitches(locked4)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 5: the one-formula conversion divides by 4w, and w = 0 exactly for a half turn.
import math

import torch
from echo_edu import quat_from_axis_angle, quat_to_matrix
from echo_edu.exercises.quaternions import check_naive_from_matrix


def naive_from_matrix(m):
    w = torch.sqrt(1 + m[0, 0] + m[1, 1] + m[2, 2]) / 2
    return torch.stack([w, (m[2, 1] - m[1, 2]) / (4 * w), (m[0, 2] - m[2, 0]) / (4 * w),
                        (m[1, 0] - m[0, 1]) / (4 * w)])


half = quat_from_axis_angle(torch.tensor([0.0, 0.6, 0.8]), math.pi)
print("true", half, " naive", naive_from_matrix(quat_to_matrix(half)))   # 0/0 → nan (or garbage)
assert check_naive_from_matrix(naive_from_matrix)
