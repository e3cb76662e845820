"""Quaternion algebra: properties, round trips, an independent library (roma), gradients, errors."""

import math

import pytest
import roma
import torch

from echo_edu.errors import ShapeError
from echo_edu.quaternion import (quat_angle_between, quat_conjugate, quat_from_axis_angle, quat_from_matrix,
                                 quat_inverse, quat_multiply, quat_norm, quat_normalize, quat_random,
                                 quat_rotate, quat_slerp, quat_to_axis_angle, quat_to_matrix, rodrigues_matrix,
                                 rodrigues_rotate, skew_matrix)

DTYPES = [torch.float32, torch.float64]


def tol(dtype):
    return {"atol": 1e-5, "rtol": 1e-5} if dtype == torch.float32 else {"atol": 1e-10, "rtol": 1e-10}


def wxyz(q_xyzw):
    return roma.quat_xyzw_to_wxyz(q_xyzw)


def xyzw(q_wxyz):
    return roma.quat_wxyz_to_xyzw(q_wxyz)


def same_rotation(q, r, **kw):
    """q and r are equal up to the double cover (q ~ -q)."""
    sign = torch.sign((q * r).sum(-1, keepdim=True))
    torch.testing.assert_close(q, sign * r, **kw)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1234)


# ---------------------------------------------------------------- algebra
@pytest.mark.parametrize("dtype", DTYPES)
def test_axis_angle_gives_unit_quaternion_with_half_angle(dtype, gen):
    axis = torch.randn(5, 7, 3, generator=gen, dtype=dtype) * 3       # lengths far from 1
    angle = torch.rand(5, 7, generator=gen, dtype=dtype) * 2 * math.pi
    q = quat_from_axis_angle(axis, angle)
    assert q.shape == (5, 7, 4) and q.dtype == dtype
    torch.testing.assert_close(quat_norm(q), torch.ones(5, 7, dtype=dtype), **tol(dtype))
    torch.testing.assert_close(q[..., 0], torch.cos(angle / 2), **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_inverse_is_inverse_for_non_unit_quaternions(dtype, gen):
    q = torch.randn(10, 4, generator=gen, dtype=dtype) * 2
    one = torch.zeros(10, 4, dtype=dtype)
    one[:, 0] = 1
    torch.testing.assert_close(quat_multiply(q, quat_inverse(q)), one, **tol(dtype))
    torch.testing.assert_close(quat_multiply(quat_inverse(q), q), one, **tol(dtype))


def test_hamilton_units_ijk():
    i, j, k = torch.eye(4)[1], torch.eye(4)[2], torch.eye(4)[3]
    torch.testing.assert_close(quat_multiply(i, j), k)
    torch.testing.assert_close(quat_multiply(j, i), -k)                  # not commutative
    torch.testing.assert_close(quat_multiply(quat_multiply(i, j), k), -torch.eye(4)[0])   # ijk = -1


@pytest.mark.parametrize("dtype", DTYPES)
def test_sandwich_equals_matrix_equals_rodrigues(dtype, gen):
    axis = torch.randn(6, 3, generator=gen, dtype=dtype)
    angle = torch.randn(6, generator=gen, dtype=dtype) * 3
    v = torch.randn(6, 3, generator=gen, dtype=dtype)
    q = quat_from_axis_angle(axis, angle)
    by_sandwich = quat_rotate(q, v)
    pure = torch.cat((torch.zeros(6, 1, dtype=dtype), v), -1)          # the definition, literally
    literal = quat_multiply(quat_multiply(q, pure), quat_conjugate(q))
    torch.testing.assert_close(literal[..., 0], torch.zeros(6, dtype=dtype), **tol(dtype))
    torch.testing.assert_close(by_sandwich, literal[..., 1:], **tol(dtype))
    torch.testing.assert_close(by_sandwich, (quat_to_matrix(q) @ v[..., None])[..., 0], **tol(dtype))
    torch.testing.assert_close(rodrigues_matrix(axis, angle), quat_to_matrix(q), **tol(dtype))
    torch.testing.assert_close(rodrigues_rotate(axis, angle, v), by_sandwich, **tol(dtype))
    # a vector along the axis does not move
    torch.testing.assert_close(quat_rotate(q, axis), axis, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_matrix_is_a_proper_rotation(dtype, gen):
    m = quat_to_matrix(quat_random(50, generator=gen, dtype=dtype))
    eye = torch.eye(3, dtype=dtype).expand(50, 3, 3)
    torch.testing.assert_close(m.mT @ m, eye, **tol(dtype))
    torch.testing.assert_close(torch.linalg.det(m), torch.ones(50, dtype=dtype), **tol(dtype))


def test_non_unit_quaternion_scales_by_its_squared_norm(gen):
    q = quat_random(4, generator=gen) * 1.5
    m = quat_to_matrix(q)
    torch.testing.assert_close(m.mT @ m, 1.5 ** 4 * torch.eye(3).expand(4, 3, 3))
    v = torch.randn(4, 3, generator=gen)
    torch.testing.assert_close(quat_rotate(q, v).norm(dim=-1), 1.5 ** 2 * v.norm(dim=-1))


def test_composition_is_the_product(gen):
    q, r = quat_random(20, generator=gen), quat_random(20, generator=gen)
    v = torch.randn(20, 3, generator=gen)
    torch.testing.assert_close(quat_rotate(quat_multiply(q, r), v), quat_rotate(q, quat_rotate(r, v)),
                               atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(quat_to_matrix(quat_multiply(q, r)), quat_to_matrix(q) @ quat_to_matrix(r),
                               atol=1e-5, rtol=1e-5)


def test_double_cover(gen):
    q = quat_random(10, generator=gen)
    torch.testing.assert_close(quat_to_matrix(q), quat_to_matrix(-q))
    torch.testing.assert_close(quat_from_matrix(quat_to_matrix(-q)), q, atol=1e-5, rtol=1e-5)  # w ≥ 0 pick


@pytest.mark.parametrize("dtype", DTYPES)
def test_matrix_round_trips_including_half_turns(dtype, gen):
    q = quat_random(200, generator=gen, dtype=dtype)
    # half turns (w = 0) and near half turns, where the naive w-based formula divides by ~0
    axes = torch.randn(6, 3, generator=gen, dtype=dtype)
    angles = torch.tensor([math.pi, math.pi - 1e-4, math.pi, 1e-5, 0.0, math.pi], dtype=dtype)
    q = torch.cat((q, quat_from_axis_angle(axes, angles)))
    q = torch.where(q[..., :1] < 0, -q, q)
    same_rotation(quat_from_matrix(quat_to_matrix(q)), q, atol=1e-5 if dtype == torch.float32 else 1e-9, rtol=0)
    m = quat_to_matrix(q)
    torch.testing.assert_close(quat_to_matrix(quat_from_matrix(m)), m, **tol(dtype))


def test_axis_angle_round_trip(gen):
    axis = torch.nn.functional.normalize(torch.randn(30, 3, generator=gen), dim=-1)
    angle = torch.rand(30, generator=gen) * (math.pi - 0.1) + 0.05
    a, phi = quat_to_axis_angle(quat_from_axis_angle(axis, angle))
    torch.testing.assert_close(a, axis, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(phi, angle, atol=1e-5, rtol=1e-5)


def test_slerp_endpoints_and_constant_angular_speed(gen):
    q0, q1 = quat_random(8, generator=gen), quat_random(8, generator=gen)
    t = torch.linspace(0, 1, 11)[:, None]                              # (11, 1) broadcasts with (8,)
    path = quat_slerp(q0, q1, t)                                       # (11, 8, 4)
    assert path.shape == (11, 8, 4)
    torch.testing.assert_close(path[0], q0, atol=1e-6, rtol=0)
    same_rotation(path[-1], q1, atol=1e-5, rtol=0)
    steps = quat_angle_between(path[:-1], path[1:])                    # (10, 8): equal steps
    torch.testing.assert_close(steps, steps[:1].expand_as(steps), atol=1e-4, rtol=0)
    total = quat_angle_between(q0, q1)
    torch.testing.assert_close(steps.sum(0), total, atol=1e-4, rtol=0)
    torch.testing.assert_close(quat_norm(path), torch.ones(11, 8), atol=1e-6, rtol=0)


def test_slerp_takes_the_short_way_and_survives_equal_endpoints(gen):
    q = quat_random(3, generator=gen)
    mid = quat_slerp(q, -q, 0.5)                                        # -q is the same rotation
    same_rotation(mid, q, atol=1e-6, rtol=0)
    assert torch.isfinite(quat_slerp(q, q, torch.tensor(0.3))).all()


# ---------------------------------------------------------------- independent library
@pytest.mark.parametrize("dtype", DTYPES)
def test_agrees_with_roma(dtype, gen):
    q, r = quat_random(64, generator=gen, dtype=dtype), quat_random(64, generator=gen, dtype=dtype)
    v = torch.randn(64, 3, generator=gen, dtype=dtype)
    torch.testing.assert_close(quat_multiply(q, r), wxyz(roma.quat_product(xyzw(q), xyzw(r))), **tol(dtype))
    torch.testing.assert_close(quat_to_matrix(q), roma.unitquat_to_rotmat(xyzw(q)), **tol(dtype))
    torch.testing.assert_close(quat_rotate(q, v), roma.quat_action(xyzw(q), v, is_normalized=True), **tol(dtype))
    same_rotation(quat_from_matrix(quat_to_matrix(q)), wxyz(roma.rotmat_to_unitquat(quat_to_matrix(q))),
                  **tol(dtype))
    rotvec = torch.randn(64, 3, generator=gen, dtype=dtype)
    same_rotation(quat_from_axis_angle(rotvec, rotvec.norm(dim=-1)), wxyz(roma.rotvec_to_unitquat(rotvec)),
                  **tol(dtype))
    t = torch.tensor([0.0, 0.25, 0.8], dtype=dtype)
    ours = quat_slerp(q, r, t[:, None])                                  # (3, 64, 4)
    theirs = wxyz(roma.unitquat_slerp(xyzw(q), xyzw(r), t))               # (3, 64, 4)
    same_rotation(ours, theirs, atol=1e-5 if dtype == torch.float32 else 1e-9, rtol=0)


# ---------------------------------------------------------------- gradients, batching, errors
def test_gradcheck_float64(gen):
    q = torch.randn(3, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    r = torch.randn(3, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    v = torch.randn(3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    angle = torch.rand(3, generator=gen, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.2, 0.5, 0.7], dtype=torch.float64, requires_grad=True)
    m = quat_to_matrix(quat_random(3, generator=gen, dtype=torch.float64)).requires_grad_()
    qa, qb = quat_random(3, generator=gen, dtype=torch.float64), quat_random(3, generator=gen, dtype=torch.float64)
    checks = [
        (quat_multiply, (q, r)), (quat_inverse, (q,)), (quat_normalize, (q,)), (quat_rotate, (q, v)),
        (quat_to_matrix, (q,)), (quat_from_matrix, (m,)), (quat_from_axis_angle, (v, angle)),
        (rodrigues_matrix, (v, angle)), (rodrigues_rotate, (v, angle, r[:, :3])),
        (lambda a, b, s: quat_slerp(a, b, s), (qa.requires_grad_(), qb.requires_grad_(), t)),
    ]
    for fn, args in checks:
        assert torch.autograd.gradcheck(fn, args), fn


def test_any_leading_shape_and_broadcasting(gen):
    q = quat_random(2, 1, 5, generator=gen)
    v = torch.randn(2, 7, 5, 3, generator=gen)
    out = quat_rotate(q, v)
    assert out.shape == (2, 7, 5, 3)
    torch.testing.assert_close(out[1, 3], quat_rotate(q[1, 0], v[1, 3]))
    assert quat_to_matrix(q).shape == (2, 1, 5, 3, 3)
    assert skew_matrix(v).shape == (2, 7, 5, 3, 3)


def test_runs_on_device_and_keeps_dtype(device):
    q = quat_random(4, dtype=torch.float64, device=device)
    v = torch.randn(4, 3, dtype=torch.float64, device=device)
    out = quat_rotate(q, v)
    assert out.device.type == device.type and out.dtype == torch.float64
    assert quat_from_matrix(quat_to_matrix(q)).device.type == device.type


@pytest.mark.parametrize("call", [
    lambda: quat_multiply(torch.zeros(3), torch.zeros(4)),
    lambda: quat_rotate(torch.zeros(4), torch.zeros(4)),
    lambda: quat_from_axis_angle(torch.zeros(2, 4), 0.1),
    lambda: quat_from_matrix(torch.zeros(4, 4)),
    lambda: quat_to_matrix(torch.zeros(4, dtype=torch.long)),
    lambda: quat_conjugate([1.0, 0.0, 0.0, 0.0]),
])
def test_bad_shapes_raise_shape_error_naming_the_argument(call):
    with pytest.raises(ShapeError, match=r"shape|dtype|Tensor"):
        call()
