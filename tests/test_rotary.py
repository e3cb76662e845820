"""RotaryEmbedding: every mode is a norm-preserving, relative position encoding (review §1.4 tests 1–11),
standard mode equals rotary-embedding-torch, and sharing one module between q and k matters."""

import math

import pytest
import torch
from rotary_embedding_torch import RotaryEmbedding as LucidrainsRotary

from echo_edu.errors import ConfigError, ShapeError
from echo_edu.quaternion import quat_from_axis_angle, quat_rotate
from echo_edu.rotary import RotaryEmbedding

MODES = {
    "standard": {},
    "quaternion": {"use_quaternion": True},
    "projection": {"use_quaternion": True, "use_projection": True},
}


def make(mode, dim=16, **kw):
    return RotaryEmbedding(dim, **MODES[mode], **kw)


def score(rope, q, k, m, n):
    """⟨R(m) q, R(n) k⟩ for vectors q, k of shape (dim,) at positions m, n."""
    rq = rope.rotate_at(q[None], torch.tensor([m]))[0]
    rk = rope.rotate_at(k[None], torch.tensor([n]))[0]
    return (rq * rk).sum()


# ---------------------------------------------------------------- 1, 3: norm, identity at 0
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_norm_preserved_and_identity_at_zero(mode, dtype):
    rope = make(mode, dim=16)
    x = torch.randn(2, 3, 40, 16).to(dtype)
    y = rope.rotate_queries_or_keys(x)
    assert y.shape == x.shape and y.dtype == dtype
    atol = {torch.float32: 1e-5, torch.float64: 1e-5, torch.bfloat16: 5e-2}[dtype]
    torch.testing.assert_close(y.norm(dim=-1).float(), x.norm(dim=-1).float(), atol=atol, rtol=atol)
    torch.testing.assert_close(y[..., 0, :], x[..., 0, :])
    assert (y[..., 1:, :] - x[..., 1:, :]).abs().amax() > 0.1            # positions > 0 do move


# ---------------------------------------------------------------- 2: relative (shift invariance)
@pytest.mark.parametrize("mode", MODES)
def test_scores_depend_only_on_relative_position(mode):
    rope = make(mode, dim=16)
    g = torch.Generator().manual_seed(3)
    q, k = torch.randn(16, generator=g), torch.randn(16, generator=g)
    for m, n, s in torch.randint(0, 300, (6, 3), generator=g).tolist():
        torch.testing.assert_close(score(rope, q, k, m, n), score(rope, q, k, m + s, n + s), atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(score(rope, q, k, m, n), score(rope, q, k, 0, n - m), atol=1e-4, rtol=1e-4)
    assert not torch.allclose(score(rope, q, k, 0, 1), score(rope, q, k, 0, 5), atol=1e-3)   # it is positional


def test_different_rotaries_on_q_and_k_break_the_relative_property():
    """The original applied rotary1 (θ) to q and rotary2 (-θ) to k; scores then depend on m + n."""
    g = torch.Generator().manual_seed(4)
    q, k = torch.randn(16, generator=g), torch.randn(16, generator=g)
    for rq, rk in [(RotaryEmbedding(16, theta=10000), RotaryEmbedding(16, theta=-10000)),
                   (make("quaternion"), make("quaternion"))]:                # two sets of random axes
        def mixed(m, n):
            return (rq.rotate_at(q[None], torch.tensor([m]))[0] * rk.rotate_at(k[None], torch.tensor([n]))[0]).sum()
        assert (mixed(2, 7) - mixed(12, 17)).abs() > 1e-2
        assert torch.allclose(score(rq, q, k, 2, 7), score(rq, q, k, 12, 17), atol=1e-4)   # one module: fine


# ---------------------------------------------------------------- 4: the materialised matrices
@pytest.mark.parametrize("mode", MODES)
def test_rotation_matrices_are_a_one_parameter_group(mode):
    rope = make(mode, dim=10).double()
    a, b = torch.tensor([3.0, 11.0, 0.0]), torch.tensor([5.0, 2.0, 7.0])
    ma, mb, mab = rope.rotation_matrix(a), rope.rotation_matrix(b), rope.rotation_matrix(a + b)
    eye = torch.eye(10, dtype=torch.float64).expand(3, 10, 10)
    torch.testing.assert_close(ma.mT @ ma, eye)
    torch.testing.assert_close(torch.linalg.det(ma), torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(ma @ mb, mab)
    torch.testing.assert_close(ma[2], eye[0])                              # M(0) = I


# ---------------------------------------------------------------- 5: quaternion blocks
def test_quaternion_blocks_equal_the_sandwich_product_and_fix_their_axis():
    rope = RotaryEmbedding(9, use_quaternion=True)                         # three 3-D blocks
    assert (rope.n_blocks, rope.n_pairs) == (3, 0)
    x = torch.randn(2, 12, 9)
    y = rope.rotate_queries_or_keys(x)
    pos = torch.arange(12.0)
    for b in range(3):                                                     # reference loop, sandwich q v q*
        q = quat_from_axis_angle(rope.unit_axes[b], pos * rope.freqs[b])   # (12, 4)
        want = quat_rotate(q, x[..., 3 * b:3 * b + 3])
        torch.testing.assert_close(y[..., 3 * b:3 * b + 3], want, atol=1e-5, rtol=1e-5)
    along = rope.unit_axes.detach().reshape(1, 9).expand(12, 9)           # each block's own axis
    torch.testing.assert_close(rope.rotate_queries_or_keys(along), along, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dim,blocks,pairs", [(2, 0, 1), (3, 1, 0), (4, 0, 2), (5, 1, 1), (7, 1, 2),
                                              (8, 2, 1), (64, 20, 2)])
def test_quaternion_mode_falls_back_to_pairs_and_rotates_every_channel(dim, blocks, pairs):
    rope = RotaryEmbedding(dim, use_quaternion=True)
    assert (rope.n_blocks, rope.n_pairs, rope.rot_dim) == (blocks, pairs, dim)


# ---------------------------------------------------------------- 6: negative theta
@pytest.mark.parametrize("mode", MODES)
def test_negative_theta_transposes_the_rotation(mode):
    torch.manual_seed(0)
    pos_rope = make(mode, dim=12, theta=500.0)
    torch.manual_seed(0)                                                   # same axes / projection
    neg_rope = make(mode, dim=12, theta=-500.0)
    p = torch.arange(6.0)
    torch.testing.assert_close(neg_rope.rotation_matrix(p), pos_rope.rotation_matrix(p).mT, atol=1e-5, rtol=1e-5)
    q, k = torch.randn(12), torch.randn(12)
    torch.testing.assert_close(score(neg_rope, q, k, 3, 8), score(pos_rope, q, k, 8, 3), atol=1e-4, rtol=1e-4)


# ---------------------------------------------------------------- 7: offset (incremental decoding) and cache
@pytest.mark.parametrize("mode", MODES)
def test_offset_pieces_equal_the_full_sequence_inside_and_beyond_the_cache(mode):
    rope = make(mode, dim=16, cache_max_seq_len=8)
    x = torch.randn(2, 2, 20, 16)
    full = rope.rotate_queries_or_keys(x)
    pieces = [rope.rotate_queries_or_keys(x[..., s:e, :], offset=s) for s, e in [(0, 5), (5, 6), (6, 13), (13, 20)]]
    torch.testing.assert_close(torch.cat(pieces, dim=-2), full, atol=1e-5, rtol=1e-5)
    cached = make(mode, dim=16, cache_max_seq_len=64)
    cached.load_state_dict(rope.state_dict())
    torch.testing.assert_close(cached.rotate_queries_or_keys(x), full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dim,kw", [(16, {}), (12, {"use_quaternion": True}), (10, {"rot_scale": 0.6}),
                                    (9, {}), (8, {"learned_freq": True})])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cached_table_path_is_bit_for_bit_the_computed_angles_path(dim, kw, dtype):
    """A decoding step reads cos/sin rows from the table (plain RoPE takes a shorter path); positions
    beyond the table compute their angles. Both must give exactly the same bits, at every offset."""
    torch.manual_seed(0)
    table = RotaryEmbedding(dim, cache_max_seq_len=64, **kw)
    computed = RotaryEmbedding(dim, cache_max_seq_len=0, **kw)
    computed.load_state_dict(table.state_dict())
    x = torch.randn(2, 3, 9, dim).to(dtype)
    for offset in (0, 1, 17, 55):
        got = table.rotate_queries_or_keys(x, offset=offset)
        assert got.dtype == dtype
        assert torch.equal(got, computed.rotate_queries_or_keys(x, offset=offset))
        assert torch.equal(got, table.rotate_at(x, torch.arange(offset, offset + 9)))


def test_plain_rope_is_the_textbook_pair_formula_exactly():
    rope = RotaryEmbedding(8)
    x = torch.randn(3, 5, 8)
    c, s = rope.cos_cached[4:9], rope.sin_cached[4:9]                     # (5, 4) for positions 4..8
    x0, x1 = x[..., 0::2], x[..., 1::2]
    want = torch.stack((x0 * c - x1 * s, x1 * c + x0 * s), dim=-1).flatten(-2)
    assert torch.equal(rope.rotate_queries_or_keys(x, offset=4), want)
    assert torch.equal(rope.sin_pm_cached[4:9], torch.stack((-s, s), dim=-1))


# ---------------------------------------------------------------- 8: partial rotary
@pytest.mark.parametrize("kw,planes", [({"rot_scale": 4, "rot_count": 1}, 4), ({"rot_count": 4}, 4),
                                       ({"rot_scale": 0.5}, 8), ({}, 16), ({"rot_count": 100}, 16)])
def test_partial_rotary_leaves_later_channels_untouched(kw, planes):
    rope = RotaryEmbedding(32, **kw)
    assert rope.n_pairs == planes
    x = torch.randn(3, 10, 32)
    y = rope.rotate_queries_or_keys(x)
    torch.testing.assert_close(y[..., 2 * planes:], x[..., 2 * planes:], rtol=0, atol=0)
    assert (y[..., 1:, :2 * planes] - x[..., 1:, :2 * planes]).abs().amax() > 0.1


# ---------------------------------------------------------------- 9: projection mode
def test_projection_stays_orthonormal_through_training_and_fixes_its_complement():
    rope = make("projection", dim=16, rot_count=2)
    opt = torch.optim.Adam(rope.parameters(), lr=0.1)
    x = torch.randn(4, 30, 16)
    for _ in range(3):
        opt.zero_grad()
        rope.rotate_queries_or_keys(x)[..., -1, :3].sum().backward()      # any loss
        opt.step()
        p = rope.projection                                                # (6, 16)
        torch.testing.assert_close(p @ p.mT, torch.eye(6), atol=1e-5, rtol=1e-5)
    p = rope.projection.detach()
    complement = x - (x @ p.mT) @ p                                        # ⊥ the row space of P
    torch.testing.assert_close(rope.rotate_queries_or_keys(complement), complement, atol=1e-5, rtol=1e-5)
    y = rope.rotate_queries_or_keys(x)
    delta = y - x
    torch.testing.assert_close((delta @ p.mT) @ p, delta, atol=1e-5, rtol=1e-5)   # change lies inside P


# ---------------------------------------------------------------- 10: state_dict
@pytest.mark.parametrize("mode", MODES)
def test_state_dict_round_trip_before_any_forward_and_cache_not_saved(mode):
    a = make(mode, dim=12, learned_freq=True)
    b = make(mode, dim=12, learned_freq=True)
    assert not any("cached" in key for key in a.state_dict())
    fixed = make(mode, dim=12).state_dict()
    assert "freqs" not in fixed                                          # derived from theta, not saved
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 7, 12)
    torch.testing.assert_close(a(x, offset=3), b(x, offset=3))


# ---------------------------------------------------------------- 11: compile, gradients
def test_fullgraph_trace_every_mode_without_graph_breaks():
    x = torch.randn(1, 2, 6, 12)
    for mode in MODES:
        rope = make(mode, dim=12, learned_freq=True)
        compiled = torch.compile(rope, fullgraph=True, backend="aot_eager")
        torch.testing.assert_close(compiled(x, offset=2), rope(x, offset=2))


@pytest.mark.slow
def test_inductor_compile_quaternion_mode(monkeypatch):
    """The real compiler (inductor) on CPU, generating, building and running C++ kernels: the slow test here.

    Inductor first proves every vector ISA the CPU reports with a probe build loaded by a Python subprocess
    that imports torch: six probes on this AMX machine, even with ``cpp.vec_isa_ok`` (the AVX-512 and AMX
    extension probes). On x86 CPUs with AVX2 the test has inductor trust the CPU and use AVX2, which has no
    extension probe; the quaternion kernels are still vectorised, built and compared with eager below.
    With an empty inductor cache the test went from 39 s to 17 s (pytest on this file's one test, alone).
    """
    from torch._inductor import config as inductor_config
    from torch._inductor import cpu_vec_isa

    if "avx2" in cpu_vec_isa.x86_isa_checker():
        monkeypatch.setattr(cpu_vec_isa, "valid_vec_isa_list", lambda: [cpu_vec_isa.VecAVX2()])
    rope = make("quaternion", dim=8)                                       # blocks and a pair
    x = torch.randn(1, 2, 5, 8)
    with inductor_config.patch({"cpp.vec_isa_ok": True}):
        compiled = torch.compile(rope, fullgraph=True)(x, offset=1)
    torch.testing.assert_close(compiled, rope(x, offset=1), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_gradients_reach_learned_freqs_axes_and_projection(mode):
    rope = make(mode, dim=12, learned_freq=True)
    x = torch.randn(2, 9, 12, requires_grad=True)
    (rope(x) * torch.randn(2, 9, 12)).sum().backward()
    for name, param in rope.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert x.grad is not None


def test_gradcheck_float64_input_and_parameters():
    rope = make("projection", dim=8, learned_freq=True).double()
    x = torch.randn(2, 4, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: rope(t, offset=1), (x,))
    x = x.detach()
    for name in ("freqs", "axes", "proj_raw"):
        value = getattr(rope, name).detach().clone().requires_grad_()
        assert torch.autograd.gradcheck(lambda v: torch.func.functional_call(rope, {name: v}, (x,)), (value,)), name


# ---------------------------------------------------------------- rotary-embedding-torch and a plain loop
@pytest.mark.parametrize("dim,theta,rescale,offset", [(8, 10000.0, 1.0, 0), (64, 10000.0, 1.0, 17),
                                                      (32, 500.0, 2.0, 3), (6, 10000.0, 1.0, 0)])
def test_standard_mode_equals_rotary_embedding_torch(dim, theta, rescale, offset):
    x = torch.randn(2, 4, 33, dim)
    ours = RotaryEmbedding(dim, theta=theta, theta_rescale_factor=rescale).rotate_queries_or_keys(x, offset=offset)
    theirs = LucidrainsRotary(dim, theta=theta, theta_rescale_factor=rescale).rotate_queries_or_keys(x, offset=offset)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-6)


def test_partial_rotary_equals_rotary_embedding_torch_with_the_same_frequencies():
    ours = RotaryEmbedding(32, rot_count=5)
    theirs = LucidrainsRotary(10, custom_freqs=ours.freqs.clone())        # rotates the first 10 channels
    x = torch.randn(2, 3, 20, 32)
    torch.testing.assert_close(ours.rotate_queries_or_keys(x), theirs.rotate_queries_or_keys(x), atol=1e-6, rtol=1e-6)


def test_standard_mode_equals_an_explicit_loop():
    dim, theta = 8, 100.0
    x = torch.randn(5, dim, dtype=torch.float64)
    want = x.clone()
    for p in range(5):
        for k in range(dim // 2):
            a = p * theta ** (-2 * k / dim)
            x0, x1 = x[p, 2 * k], x[p, 2 * k + 1]
            want[p, 2 * k], want[p, 2 * k + 1] = x0 * math.cos(a) - x1 * math.sin(a), x0 * math.sin(a) + x1 * math.cos(a)
    got = RotaryEmbedding(dim, theta=theta).double().rotate_queries_or_keys(x)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-6)


# ---------------------------------------------------------------- devices, dtypes, errors
def test_module_follows_device_and_dtype(device):
    rope = make("quaternion", dim=8).to(device=device, dtype=torch.float64)
    assert rope.cos_cached.device.type == device.type and rope.cos_cached.dtype == torch.float64
    assert rope.sin_pm_cached.device.type == device.type and rope.sin_pm_cached.dtype == torch.float64
    x = torch.randn(1, 3, 8, dtype=torch.float64, device=device)
    y = rope(x, offset=5)
    assert y.device.type == device.type and y.dtype == torch.float64


@pytest.mark.parametrize("kwargs", [{"dim": 1}, {"dim": 8, "theta": 0.0}, {"dim": 8, "use_projection": True},
                                    {"dim": 3, "use_quaternion": True, "use_projection": True},
                                    {"dim": 8, "rot_count": 0}, {"dim": 2, "theta_rescale_factor": 2.0}])
def test_bad_configs_raise_config_error(kwargs):
    with pytest.raises(ConfigError, match="RotaryEmbedding"):
        RotaryEmbedding(**kwargs)


@pytest.mark.parametrize("bad", [torch.randn(2, 5, 12), torch.randn(16), torch.ones(2, 5, 16, dtype=torch.long)])
def test_bad_inputs_raise_shape_error(bad):
    with pytest.raises(ShapeError, match="RotaryEmbedding"):
        RotaryEmbedding(16).rotate_queries_or_keys(bad)


@pytest.mark.parametrize("offset", [-1, 2.0, torch.tensor(3)])
def test_offset_must_be_a_non_negative_int(offset):
    with pytest.raises(ConfigError, match="offset"):
        RotaryEmbedding(8).rotate_queries_or_keys(torch.randn(2, 3, 8), offset=offset)


@pytest.mark.parametrize("mode", MODES)
def test_mixed_precision_autocast_keeps_the_rotation_orthogonal(mode):
    rope = make(mode, dim=16)
    x = torch.randn(2, 30, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = rope(x)
    assert y.dtype == torch.float32
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("offset", [0, 120])
def test_double_precision_module_rotates_in_double_precision(offset):
    """After ``.double()`` the cached tables (and frequencies) are float64 values, not float32 ones cast."""
    dim, T = 32, 16
    rope = RotaryEmbedding(dim).double()
    t = torch.randn(2, 3, T, dim, dtype=torch.float64)
    out = rope.rotate_queries_or_keys(t, offset=offset)
    positions = torch.arange(offset, offset + T, dtype=torch.float64)
    freqs = 1.0 / 10000.0 ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    angle = positions[:, None] * freqs                                   # (T, dim/2)
    x0, x1 = t[..., 0::2], t[..., 1::2]
    expected = torch.stack([x0 * angle.cos() - x1 * angle.sin(), x0 * angle.sin() + x1 * angle.cos()], -1)
    assert rope.cos_cached.dtype == torch.float64
    assert torch.allclose(out, expected.flatten(-2), rtol=0, atol=1e-12)
    back = rope.float()                                                   # and back: float32 tables again
    assert back.cos_cached.dtype == torch.float32 and torch.equal(back.cos_cached, RotaryEmbedding(dim).cos_cached)
