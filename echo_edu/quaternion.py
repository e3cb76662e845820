"""Quaternion algebra for 3-D rotations, batched and differentiable.

Every quaternion here is a tensor whose **last axis holds (w, x, y, z)**, real part first; every
3-D vector's last axis holds (x, y, z). Leading axes are batch axes and broadcast like any torch op,
so one call rotates a whole ``(B, H, T, 3)`` tensor. Any float dtype, CPU or CUDA, and every function
is differentiable (``torch.autograd.gradcheck`` passes in float64).

The maths in four lines:

* ``q = (cos φ/2, sin φ/2 · u)`` is the *unit* quaternion of the rotation by angle φ about the unit axis u.
* A vector v rotates by the *sandwich product* ``q v q*`` (v written as the pure quaternion (0, v)).
* Composing rotations is multiplying quaternions: rotate by r, then by q  ==  rotate by ``q r``.
* ``q`` and ``-q`` give the same rotation (the "double cover"), so :func:`quat_from_matrix` picks w ≥ 0.

The same rotation as a matrix is Rodrigues' formula ``R = I + sin φ K + (1 - cos φ) K²`` with
``K = [u]×`` the cross-product matrix of u (:func:`rodrigues_matrix`).
"""

from __future__ import annotations

import torch

from .errors import ShapeError

__all__ = [
    "quat_multiply", "quat_conjugate", "quat_inverse", "quat_normalize", "quat_norm",
    "quat_from_axis_angle", "quat_to_axis_angle", "quat_to_matrix", "quat_from_matrix",
    "quat_rotate", "quat_slerp", "quat_angle_between", "quat_random", "skew_matrix",
    "rodrigues_matrix", "rodrigues_matrix_cs", "rodrigues_rotate", "rodrigues_rotate_cs",
]


def _check(t: torch.Tensor, size: int, name: str, what: str) -> None:
    """Raise ShapeError unless ``t`` is a float tensor whose last axis has ``size`` entries."""
    if not isinstance(t, torch.Tensor):
        raise ShapeError(f"{name} must be a torch.Tensor of shape (..., {size}) {what}, got {type(t).__name__}")
    if t.ndim == 0 or t.shape[-1] != size:
        raise ShapeError(f"{name} must have shape (..., {size}) {what}, got shape {tuple(t.shape)}")
    if not t.is_floating_point():
        raise ShapeError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")


def _angle(angle, like: torch.Tensor) -> torch.Tensor:
    """A Python number or tensor of angles (radians) as a tensor with ``like``'s dtype and device."""
    return torch.as_tensor(angle, dtype=like.dtype, device=like.device)


def quat_multiply(q: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``q r`` of quaternions in (w, x, y, z) order.

    Args:
        q, r: ``(..., 4)`` (w, x, y, z); leading axes broadcast.
    Returns:
        ``(..., 4)`` (w, x, y, z). As rotations: first apply ``r``, then ``q``. Not commutative.
    """
    _check(q, 4, "q", "(w, x, y, z)")
    _check(r, 4, "r", "(w, x, y, z)")
    w1, x1, y1, z1 = q.unbind(-1)
    w2, x2, y2, z2 = r.unbind(-1)
    return torch.stack((
        w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
        w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
        w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
        w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
    ), dim=-1)


def quat_conjugate(q: torch.Tensor) -> torch.Tensor:
    """Conjugate ``q* = (w, -x, -y, -z)`` of ``(..., 4)`` quaternions in (w, x, y, z) order."""
    _check(q, 4, "q", "(w, x, y, z)")
    return q * q.new_tensor([1.0, -1.0, -1.0, -1.0])


def quat_norm(q: torch.Tensor) -> torch.Tensor:
    """Euclidean norm ``|q|`` of ``(..., 4)`` quaternions in (w, x, y, z) order; returns ``(...)``."""
    _check(q, 4, "q", "(w, x, y, z)")
    return torch.linalg.vector_norm(q, dim=-1)


def quat_inverse(q: torch.Tensor) -> torch.Tensor:
    """Inverse ``q⁻¹ = q* / |q|²`` of non-zero ``(..., 4)`` quaternions in (w, x, y, z) order.

    For a unit quaternion the inverse is just the conjugate.
    """
    return quat_conjugate(q) / (q * q).sum(-1, keepdim=True)


def quat_normalize(q: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Scale ``(..., 4)`` quaternions in (w, x, y, z) order to unit norm (``eps`` guards zero)."""
    return q / quat_norm(q).clamp_min(eps).unsqueeze(-1)


def quat_from_axis_angle(axis: torch.Tensor, angle) -> torch.Tensor:
    """Unit quaternion ``(cos φ/2, sin φ/2 · u)`` in (w, x, y, z) order for a rotation by φ about u.

    Args:
        axis: ``(..., 3)`` rotation axes (x, y, z); normalised here, so any non-zero length works.
        angle: ``(...)`` angles φ in radians (tensor or Python number), broadcast against ``axis[..., 0]``.
    Returns:
        ``(..., 4)`` unit quaternions (w, x, y, z).
    """
    _check(axis, 3, "axis", "(x, y, z)")
    half = _angle(angle, axis) / 2
    u = axis / torch.linalg.vector_norm(axis, dim=-1, keepdim=True).clamp_min(1e-12)
    batch = torch.broadcast_shapes(half.shape, u.shape[:-1])       # a scalar angle meets a batch of axes
    half, u = half.expand(batch), u.expand(*batch, 3)
    return torch.cat((torch.cos(half).unsqueeze(-1), torch.sin(half).unsqueeze(-1) * u), dim=-1)


def quat_to_axis_angle(q: torch.Tensor, eps: float = 1e-12) -> tuple[torch.Tensor, torch.Tensor]:
    """Axis and angle of ``(..., 4)`` quaternions in (w, x, y, z) order.

    Returns:
        ``(axis (..., 3), angle (...))`` with angle in [0, π] (``q`` and ``-q`` give the same answer).
        For the identity the axis is arbitrary; (1, 0, 0) is returned.
    """
    q = quat_normalize(q)
    q = torch.where(q[..., :1] < 0, -q, q)                      # w ≥ 0: the shorter way round
    vec = q[..., 1:]
    s = torch.linalg.vector_norm(vec, dim=-1)
    angle = 2 * torch.atan2(s, q[..., 0])
    default = torch.zeros_like(vec)
    default[..., 0] = 1.0
    axis = torch.where((s > eps).unsqueeze(-1), vec / s.clamp_min(eps).unsqueeze(-1), default)
    return axis, angle


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """The 3×3 matrix of the sandwich map ``v ↦ q v q*`` for ``(..., 4)`` quaternions in (w, x, y, z) order.

    For a unit ``q`` this is a rotation matrix (orthogonal, det +1). For a non-unit ``q`` it is
    ``|q|²`` times that rotation: the sandwich with the *conjugate* scales vectors — normalise first.

    Returns:
        ``(..., 3, 3)``; ``quat_to_matrix(q) @ v == quat_rotate(q, v)``.
    """
    _check(q, 4, "q", "(w, x, y, z)")
    w, x, y, z = q.unbind(-1)
    ww, xx, yy, zz = w * w, x * x, y * y, z * z
    xy, xz, yz, wx, wy, wz = x * y, x * z, y * z, w * x, w * y, w * z
    entries = (ww + xx - yy - zz, 2 * (xy - wz), 2 * (xz + wy),      # row 0
               2 * (xy + wz), ww - xx + yy - zz, 2 * (yz - wx),      # row 1
               2 * (xz - wy), 2 * (yz + wx), ww - xx - yy + zz)      # row 2
    return torch.stack(entries, dim=-1).unflatten(-1, (3, 3))


def quat_from_matrix(matrix: torch.Tensor) -> torch.Tensor:
    """Unit quaternion (w, x, y, z) with w ≥ 0 of ``(..., 3, 3)`` rotation matrices.

    Shepperd's method, vectorised: four algebraically equal formulas are computed and, per matrix, the
    one with the largest (best-conditioned) denominator is kept — no Python branch on tensor values.

    Returns:
        ``(..., 4)`` (w, x, y, z), the representative with non-negative real part.
    """
    if not isinstance(matrix, torch.Tensor) or matrix.ndim < 2 or matrix.shape[-2:] != (3, 3):
        shape = tuple(matrix.shape) if isinstance(matrix, torch.Tensor) else type(matrix).__name__
        raise ShapeError(f"matrix must have shape (..., 3, 3), got {shape}")
    m = matrix
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    # 4·(w², x², y², z²) read off the diagonal; choose the largest to divide by.
    diag4 = torch.stack((1 + m00 + m11 + m22, 1 + m00 - m11 - m22,
                         1 - m00 + m11 - m22, 1 - m00 - m11 + m22), dim=-1)
    d21, d02, d10 = m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]
    s21, s02, s10 = m[..., 2, 1] + m[..., 1, 2], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 0] + m[..., 0, 1]
    # Row i is 4·c_i·(w, x, y, z) where c_i is the component whose square is diag4[i] / 4.
    candidates = torch.stack((
        torch.stack((diag4[..., 0], d21, d02, d10), -1),
        torch.stack((d21, diag4[..., 1], s10, s02), -1),
        torch.stack((d02, s10, diag4[..., 2], s21), -1),
        torch.stack((d10, s02, s21, diag4[..., 3]), -1),
    ), dim=-2)                                                   # (..., 4, 4)
    best = diag4.argmax(dim=-1, keepdim=True)                    # (..., 1)
    q = torch.gather(candidates, -2, best.unsqueeze(-1).expand(*best.shape, 4)).squeeze(-2)
    q = quat_normalize(q)
    return torch.where(q[..., :1] < 0, -q, q)


def quat_rotate(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate 3-D vectors by the sandwich product ``q v q*`` (quaternions in (w, x, y, z) order).

    Expanded without building any quaternion: with ``q = (w, u)``,
    ``q v q* = (w² - |u|²) v + 2 (u·v) u + 2 w (u × v)``. For unit ``q`` this is the rotation;
    for non-unit ``q`` it also scales by ``|q|²`` (exactly like :func:`quat_to_matrix`).

    Args:
        q: ``(..., 4)`` (w, x, y, z); v: ``(..., 3)`` (x, y, z); leading axes broadcast.
    Returns:
        ``(..., 3)`` rotated vectors.
    """
    _check(q, 4, "q", "(w, x, y, z)")
    _check(v, 3, "v", "(x, y, z)")
    w, u = q[..., :1], q[..., 1:]
    u, v = torch.broadcast_tensors(u, v)
    uv = (u * v).sum(-1, keepdim=True)
    return (w * w - (u * u).sum(-1, keepdim=True)) * v + 2 * uv * u + 2 * w * torch.linalg.cross(u, v)


def quat_slerp(q0: torch.Tensor, q1: torch.Tensor, t) -> torch.Tensor:
    """Spherical linear interpolation between unit quaternions in (w, x, y, z) order.

    ``slerp(q0, q1, t) = q0 (q0⁻¹ q1)^t``: constant angular speed along the shorter great arc (``q1`` is
    flipped to ``-q1`` when that is closer, which is the same rotation). Falls back to normalised linear
    interpolation when the two are nearly equal, where the formula's ``sin Ω`` denominator vanishes.

    Args:
        q0, q1: ``(..., 4)`` unit quaternions; t: ``(...)`` fractions in [0, 1] (tensor or number),
            broadcast against ``q0[..., 0]`` (e.g. ``t`` of shape ``(N,)`` with single ``(4,)`` endpoints).
    Returns:
        ``(..., 4)`` unit quaternions; ``t = 0`` gives ``q0`` and ``t = 1`` gives ``±q1``.
    """
    _check(q0, 4, "q0", "(w, x, y, z)")
    _check(q1, 4, "q1", "(w, x, y, z)")
    t = _angle(t, q0).unsqueeze(-1)                               # (..., 1)
    dot = (q0 * q1).sum(-1, keepdim=True)
    q1 = torch.where(dot < 0, -q1, q1)
    dot = dot.abs().clamp(max=1.0)
    omega = torch.acos(dot)
    sin_omega = torch.sin(omega)
    near = sin_omega < 1e-6
    safe = torch.where(near, torch.ones_like(sin_omega), sin_omega)
    a = torch.where(near, 1 - t, torch.sin((1 - t) * omega) / safe)
    b = torch.where(near, t, torch.sin(t * omega) / safe)
    return quat_normalize(a * q0 + b * q1)


def quat_angle_between(q0: torch.Tensor, q1: torch.Tensor) -> torch.Tensor:
    """Rotation angle in [0, π] of ``q0⁻¹ q1`` for unit quaternions (w, x, y, z); returns ``(...)``."""
    _check(q0, 4, "q0", "(w, x, y, z)")
    _check(q1, 4, "q1", "(w, x, y, z)")
    rel = quat_multiply(quat_conjugate(q0), q1)                  # q0⁻¹ q1 for unit q0
    return 2 * torch.atan2(torch.linalg.vector_norm(rel[..., 1:], dim=-1), rel[..., 0].abs())


def quat_random(*shape: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32,
                device: torch.device | str | None = None) -> torch.Tensor:
    """Uniformly random unit quaternions (w, x, y, z) of shape ``(*shape, 4)`` with w ≥ 0.

    A normalised 4-D Gaussian is uniform on the 3-sphere, hence uniform over rotations.
    """
    q = torch.randn(*shape, 4, generator=generator, dtype=dtype)
    q = quat_normalize(q)
    return torch.where(q[..., :1] < 0, -q, q).to(device)


def skew_matrix(v: torch.Tensor) -> torch.Tensor:
    """Cross-product matrix ``[v]×`` of ``(..., 3)`` vectors: ``skew_matrix(v) @ w == v × w``; ``(..., 3, 3)``."""
    _check(v, 3, "v", "(x, y, z)")
    x, y, z = v.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack((torch.stack((o, -z, y), -1),
                        torch.stack((z, o, -x), -1),
                        torch.stack((-y, x, o), -1)), dim=-2)


def rodrigues_matrix(axis: torch.Tensor, angle) -> torch.Tensor:
    """Rodrigues' rotation matrix ``I + sin φ K + (1 - cos φ) K²`` with ``K = [u]×``.

    Args:
        axis: ``(..., 3)`` axes (normalised here); angle: ``(...)`` radians.
    Returns:
        ``(..., 3, 3)``; equals ``quat_to_matrix(quat_from_axis_angle(axis, angle))``.
    """
    _check(axis, 3, "axis", "(x, y, z)")
    u = axis / torch.linalg.vector_norm(axis, dim=-1, keepdim=True).clamp_min(1e-12)
    angle = _angle(angle, u)
    return rodrigues_matrix_cs(u, torch.cos(angle), torch.sin(angle))


def rodrigues_matrix_cs(axis: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rodrigues' matrix for *unit* ``axis`` ``(..., 3)`` given the angle's ``cos``/``sin`` ``(...)``; ``(..., 3, 3)``.

    Written as ``cos φ I + sin φ K + (1 - cos φ) u uᵀ`` (equal to the K² form because ``K² = u uᵀ - I``).
    Building these small matrices once per (position, block) and applying them with one ``einsum`` is several
    times faster than Rodrigues' vector formula with cross products on every (batch, head) row.
    """
    cos, sin = cos[..., None, None], sin[..., None, None]
    eye = torch.eye(3, dtype=axis.dtype, device=axis.device)
    outer = axis.unsqueeze(-1) * axis.unsqueeze(-2)
    return cos * eye + sin * skew_matrix(axis) + (1 - cos) * outer


def rodrigues_rotate_cs(axis: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate ``v`` about *unit* ``axis`` given the angle's cosine and sine (what a cached rotary uses).

    ``v cos φ + (u × v) sin φ + u (u·v)(1 - cos φ)`` — Rodrigues' formula applied to vectors, O(1) per vector.

    Args:
        axis: ``(..., 3)`` unit axes; cos, sin: ``(...)``; v: ``(..., 3)``; all broadcast together.
    Returns:
        ``(..., 3)`` rotated vectors.
    """
    cos, sin = cos.unsqueeze(-1), sin.unsqueeze(-1)
    u, v = torch.broadcast_tensors(axis, v)
    uv = (u * v).sum(-1, keepdim=True)
    return v * cos + torch.linalg.cross(u, v) * sin + u * uv * (1 - cos)


def rodrigues_rotate(axis: torch.Tensor, angle, v: torch.Tensor) -> torch.Tensor:
    """Rotate ``(..., 3)`` vectors ``v`` by ``angle`` (radians, ``(...)``) about ``axis`` (``(..., 3)``, normalised here).

    Returns ``(..., 3)``; equals ``quat_rotate(quat_from_axis_angle(axis, angle), v)``.
    """
    _check(axis, 3, "axis", "(x, y, z)")
    _check(v, 3, "v", "(x, y, z)")
    u = axis / torch.linalg.vector_norm(axis, dim=-1, keepdim=True).clamp_min(1e-12)
    angle = _angle(angle, u)
    return rodrigues_rotate_cs(u, torch.cos(angle), torch.sin(angle), v)
