"""Property-based tests (hypothesis): the algebra and invariants hold over random shapes, dtypes,
offsets and lengths, not just the handful of cases the unit tests pick.

* quaternions: the Hamilton product is associative, the norm is multiplicative, conjugation reverses
  products, ``q q⁻¹ = 1``, rotating keeps lengths and equals the matrix, the matrix round-trip respects
  the double cover, slerp hits its endpoints and stays unit;
* rotary: every mode keeps norms, is the identity at position 0, gives scores that depend only on the
  relative position, agrees between ``offset`` and explicit positions inside and beyond the cos/sin
  cache, rotates a sequence in pieces exactly as in one go, and keeps the input's dtype;
* masks and attention: ``causal_mask`` and ``lengths_to_padding_mask`` equal their definitions, the
  core equals an explicit softmax and never yields NaN for rows with no key, and every registered
  attention type ignores padded keys and (with ``causal=True``) the future, for random lengths.

Tensors come from a ``torch.Generator`` seeded by hypothesis, so every failure replays exactly.
"""

from __future__ import annotations

import math

import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

quaternion = pytest.importorskip("echo_edu.quaternion")

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=10, deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow])

seeds = st.integers(min_value=0, max_value=2**31 - 1)
batch_shapes = st.lists(st.integers(min_value=1, max_value=4), min_size=0, max_size=3).map(tuple)
float_dtypes = st.sampled_from([torch.float32, torch.float64])
TOL = {torch.float32: dict(atol=2e-5, rtol=2e-5), torch.float64: dict(atol=1e-10, rtol=1e-10),
       torch.bfloat16: dict(atol=3e-2, rtol=3e-2)}


def randn(seed: int, *shape: int, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def unit(seed: int, shape: tuple, dtype) -> torch.Tensor:
    q = randn(seed, *shape, 4, dtype=torch.float64)
    q = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    return q.to(dtype)


# ------------------------------------------------------------------ quaternion algebra

@SETTINGS
@given(seed=seeds, shape=batch_shapes, dtype=float_dtypes)
def test_product_is_associative_and_norm_is_multiplicative(seed, shape, dtype):
    q, r, s = (randn(seed + i, *shape, 4, dtype=dtype) for i in range(3))
    mul, norm = quaternion.quat_multiply, quaternion.quat_norm
    torch.testing.assert_close(mul(mul(q, r), s), mul(q, mul(r, s)), **TOL[dtype])
    torch.testing.assert_close(norm(mul(q, r)), norm(q) * norm(r), **TOL[dtype])
    assert mul(q, r).shape == (*shape, 4) and mul(q, r).dtype == dtype


@SETTINGS
@given(seed=seeds, shape=batch_shapes, dtype=float_dtypes)
def test_conjugate_reverses_products_and_inverse_inverts(seed, shape, dtype):
    q, r = randn(seed, *shape, 4, dtype=dtype), randn(seed + 1, *shape, 4, dtype=dtype)
    q = q + 0.5 * q / q.norm(dim=-1, keepdim=True).clamp_min(1e-6)  # |q| >= 0.5: a well-conditioned inverse
    conj, mul = quaternion.quat_conjugate, quaternion.quat_multiply
    torch.testing.assert_close(conj(mul(q, r)), mul(conj(r), conj(q)), **TOL[dtype])
    identity = torch.zeros(*shape, 4, dtype=dtype)
    identity[..., 0] = 1
    tol = dict(atol=1e-4, rtol=1e-4) if dtype == torch.float32 else TOL[dtype]
    torch.testing.assert_close(mul(q, quaternion.quat_inverse(q)), identity, **tol)
    torch.testing.assert_close(mul(quaternion.quat_inverse(q), q), identity, **tol)


@SETTINGS
@given(seed=seeds, shape=batch_shapes, dtype=float_dtypes)
def test_rotation_keeps_length_equals_matrix_and_composes(seed, shape, dtype):
    q, r = unit(seed, shape, dtype), unit(seed + 1, shape, dtype)
    v = randn(seed + 2, *shape, 3, dtype=dtype)
    turned = quaternion.quat_rotate(q, v)
    torch.testing.assert_close(turned.norm(dim=-1), v.norm(dim=-1), **TOL[dtype])
    by_matrix = (quaternion.quat_to_matrix(q) @ v.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(turned, by_matrix, **TOL[dtype])
    # rotate by r, then by q  ==  rotate by q r
    torch.testing.assert_close(quaternion.quat_rotate(q, quaternion.quat_rotate(r, v)),
                               quaternion.quat_rotate(quaternion.quat_multiply(q, r), v), **TOL[dtype])


@SETTINGS
@given(seed=seeds, shape=batch_shapes, dtype=float_dtypes)
def test_matrix_round_trip_up_to_the_double_cover(seed, shape, dtype):
    q = unit(seed, shape, dtype)
    back = quaternion.quat_from_matrix(quaternion.quat_to_matrix(q))
    assert back.shape == q.shape and back.dtype == dtype
    assert bool((back[..., 0] >= -1e-6).all())  # w >= 0 is the chosen representative
    same = torch.minimum((back - q).abs().amax(-1), (back + q).abs().amax(-1))  # q and -q: one rotation
    assert float(same.max()) < (1e-4 if dtype == torch.float32 else 1e-9)
    m = quaternion.quat_to_matrix(q)
    eye = torch.eye(3, dtype=dtype).expand(*shape, 3, 3)
    torch.testing.assert_close(m @ m.transpose(-1, -2), eye, **TOL[dtype])
    torch.testing.assert_close(torch.linalg.det(m), torch.ones(shape, dtype=dtype), **TOL[dtype])


@SETTINGS
@given(seed=seeds, shape=batch_shapes, dtype=float_dtypes, t=st.floats(0.0, 1.0))
def test_slerp_hits_endpoints_and_stays_unit(seed, shape, dtype, t):
    q0, q1 = unit(seed, shape, dtype), unit(seed + 1, shape, dtype)
    slerp = quaternion.quat_slerp
    tol = dict(atol=1e-4, rtol=1e-4) if dtype == torch.float32 else dict(atol=1e-8, rtol=1e-8)
    for end, target in ((0.0, q0), (1.0, q1)):
        got = slerp(q0, q1, end)
        same = torch.minimum((got - target).abs().amax(-1), (got + target).abs().amax(-1))
        assert float(same.max()) < tol["atol"] * 10
    mid = slerp(q0, q1, t)
    torch.testing.assert_close(quaternion.quat_norm(mid), torch.ones(shape, dtype=dtype), **tol)


@SETTINGS
@given(seed=seeds, shape=batch_shapes, angle=st.floats(-3.0, 3.0))
def test_axis_angle_matches_rodrigues(seed, shape, angle):
    axis = randn(seed, *shape, 3, dtype=torch.float64) + 0.1
    q = quaternion.quat_from_axis_angle(axis, angle)
    torch.testing.assert_close(quaternion.quat_to_matrix(q), quaternion.rodrigues_matrix(axis, angle),
                               atol=1e-10, rtol=1e-10)


# ------------------------------------------------------------------ rotary invariants

rotary = pytest.importorskip("echo_edu.rotary")
MODES = {"standard": {}, "quaternion": {"use_quaternion": True},
         "projection": {"use_quaternion": True, "use_projection": True}}
modes = st.sampled_from(sorted(MODES))


def make_rope(mode: str, dim: int, seed: int, **kw):
    torch.manual_seed(seed)
    return rotary.RotaryEmbedding(dim, **MODES[mode], **kw)


@st.composite
def rope_cases(draw):
    mode = draw(modes)
    dim = draw(st.integers(min_value=4 if mode == "projection" else 2, max_value=20))
    return dict(mode=mode, dim=dim, lead=draw(st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)),
                T=draw(st.integers(1, 9)), offset=draw(st.integers(0, 40)), seed=draw(seeds),
                theta=draw(st.sampled_from([10000.0, 500.0, -10000.0])))


@SETTINGS
@given(case=rope_cases(), dtype=float_dtypes)
def test_rotary_keeps_norms_and_is_identity_at_zero(case, dtype):
    rope = make_rope(case["mode"], case["dim"], case["seed"], theta=case["theta"]).to(dtype)
    t = randn(case["seed"], *case["lead"], case["T"], case["dim"], dtype=dtype)
    out = rope.rotate_queries_or_keys(t, offset=case["offset"])
    assert out.shape == t.shape and out.dtype == dtype
    # float64 modules still build their cos/sin cache in float32 (then cast), so norms hold to ~1e-7
    torch.testing.assert_close(out.norm(dim=-1), t.norm(dim=-1), atol=1e-4, rtol=1e-4)
    at_zero = rope.rotate_queries_or_keys(t[..., :1, :], offset=0)
    torch.testing.assert_close(at_zero, t[..., :1, :], **(TOL[dtype] if dtype == torch.float64
                                                         else dict(atol=1e-5, rtol=1e-5)))


@SETTINGS
@given(case=rope_cases(), shift=st.integers(0, 30))
def test_rotary_scores_depend_only_on_relative_position(case, shift):
    rope = make_rope(case["mode"], case["dim"], case["seed"], theta=case["theta"]).double()
    q = randn(case["seed"], case["T"], case["dim"], dtype=torch.float64)
    k = randn(case["seed"] + 1, case["T"], case["dim"], dtype=torch.float64)
    pos = torch.arange(case["T"], dtype=torch.float64) * 3 + case["offset"]
    scores = rope.rotate_at(q, pos) @ rope.rotate_at(k, pos).T
    shifted = rope.rotate_at(q, pos + shift) @ rope.rotate_at(k, pos + shift).T
    torch.testing.assert_close(shifted, scores, atol=1e-8, rtol=1e-8)


@SETTINGS
@given(case=rope_cases(), split=st.integers(0, 9), cache=st.sampled_from([4, 16, 4096]))
def test_rotary_offset_pieces_equal_one_pass_inside_and_beyond_the_cache(case, split, cache):
    rope = make_rope(case["mode"], case["dim"], case["seed"], theta=case["theta"], cache_max_seq_len=cache)
    T, off = case["T"], case["offset"]
    t = randn(case["seed"], *case["lead"], T, case["dim"])
    whole = rope.rotate_queries_or_keys(t, offset=off)
    explicit = rope.rotate_at(t, torch.arange(off, off + T))
    torch.testing.assert_close(whole, explicit, atol=1e-4, rtol=1e-4)
    split = min(split, T)
    pieces = torch.cat([rope.rotate_queries_or_keys(t[..., :split, :], offset=off),
                        rope.rotate_queries_or_keys(t[..., split:, :], offset=off + split)], dim=-2)
    torch.testing.assert_close(pieces, whole, atol=1e-4, rtol=1e-4)


@FEW
@given(case=rope_cases())
def test_rotary_bfloat16_keeps_dtype_and_roughly_norms(case):
    rope = make_rope(case["mode"], case["dim"], case["seed"])
    t = randn(case["seed"], *case["lead"], case["T"], case["dim"], dtype=torch.bfloat16)
    out = rope.rotate_queries_or_keys(t, offset=case["offset"])
    assert out.dtype == torch.bfloat16 and out.shape == t.shape
    torch.testing.assert_close(out.float().norm(dim=-1), t.float().norm(dim=-1), atol=5e-2, rtol=3e-2)


@SETTINGS
@given(dim=st.integers(4, 24).filter(lambda d: d % 2 == 0), scale=st.sampled_from([0.25, 0.5, 0.75]),
       seed=seeds, offset=st.integers(0, 20))
def test_partial_rotary_passes_later_channels_through(dim, scale, seed, offset):
    try:
        rope = rotary.RotaryEmbedding(dim, rot_scale=scale)
    except Exception as exc:  # rotating nothing is a documented ConfigError
        from echo_edu.errors import ConfigError
        assert isinstance(exc, ConfigError)
        return
    t = randn(seed, 2, 5, dim)
    out = rope.rotate_queries_or_keys(t, offset=offset)
    torch.testing.assert_close(out[..., rope.rot_dim:], t[..., rope.rot_dim:], atol=0, rtol=0)


# ------------------------------------------------------------------ masks and attention

attention = pytest.importorskip("echo_edu.attention")


@SETTINGS
@given(t_q=st.integers(1, 12), extra=st.integers(0, 12), offset=st.one_of(st.none(), st.integers(0, 20)))
def test_causal_mask_is_its_definition(t_q, extra, offset):
    t_k = t_q + extra
    mask = attention.causal_mask(t_q, t_k, offset=offset)
    start = t_k - t_q if offset is None else offset
    expected = torch.tensor([[j <= start + i for j in range(t_k)] for i in range(t_q)], dtype=torch.bool)
    assert mask.dtype == torch.bool and torch.equal(mask, expected.reshape(t_q, t_k))


@SETTINGS
@given(lengths=st.lists(st.integers(0, 10), min_size=1, max_size=5), pad=st.integers(0, 4))
def test_lengths_to_padding_mask_is_its_definition(lengths, pad):
    max_len = max(lengths) + pad
    mask = attention.lengths_to_padding_mask(torch.tensor(lengths), max_len)
    assert mask.shape == (len(lengths), max_len) and mask.dtype == torch.bool
    assert mask.sum(-1).tolist() == lengths
    assert all(bool(mask[b, :n].all()) for b, n in enumerate(lengths))


@SETTINGS
@given(seed=seeds, lead=st.lists(st.integers(1, 3), min_size=1, max_size=2).map(tuple), t_q=st.integers(1, 8),
       t_k=st.integers(1, 8), d=st.integers(1, 8), causal=st.booleans(), dtype=float_dtypes)
def test_attention_core_equals_explicit_softmax_and_never_nan(seed, lead, t_q, t_k, d, causal, dtype):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(*lead, t, d, generator=g, dtype=dtype) for t in (t_q, t_k, t_k))
    mask = torch.rand(*lead, t_q, t_k, generator=g) < 0.6
    mask[..., 0, :] = False  # at least one row with no key at all
    full = mask & attention.causal_mask(t_q, t_k) if causal else mask
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(d)
    weights = torch.softmax(scores.masked_fill(~full, float("-inf")), dim=-1).nan_to_num(0.0)
    expected = weights @ v
    for need_weights in (False, True):
        out, w = attention.attention_core(q, k, v, mask, causal=causal, need_weights=need_weights)
        assert not torch.isnan(out).any()
        # SDPA's CPU kernel is not exact to float64 precision (~1e-8 seen), so float64 gets 1e-7
        tol = dict(atol=1e-5, rtol=1e-4) if dtype == torch.float32 else dict(atol=1e-7, rtol=1e-7)
        torch.testing.assert_close(out, expected, **tol)
        if need_weights:
            torch.testing.assert_close(w, weights, **tol)


KINDS = sorted(attention.ATTENTION_TYPES)
DIMS, HEADS = 16, 2


def _attn(kind: str, seed: int, cross: bool = False):
    torch.manual_seed(seed)
    return attention.build_attention(kind, DIMS, HEADS, context_dims=DIMS if cross else None,
                                     rotary=None if cross else {"theta": 10000.0}).eval()


@FEW
@given(kind=st.sampled_from(KINDS), seed=seeds, lengths=st.lists(st.integers(1, 10), min_size=1, max_size=3),
       pad=st.integers(1, 5), t=st.integers(1, 6))
def test_every_attention_type_ignores_padded_context_keys(kind, seed, lengths, pad, t):
    attn = _attn(kind, seed, cross=True)
    s = max(lengths) + pad
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), t, DIMS, generator=g)
    context = torch.randn(len(lengths), s, DIMS, generator=g)
    keep = attention.lengths_to_padding_mask(torch.tensor(lengths), s)
    changed = torch.where(keep[..., None], context, torch.randn(context.shape, generator=g) * 5)
    with torch.no_grad():
        out, _ = attn(x, context, key_padding_mask=keep)
        out2, _ = attn(x, changed, key_padding_mask=keep)
    assert not torch.isnan(out).any()
    torch.testing.assert_close(out2, out, atol=1e-5, rtol=1e-5)


@FEW
@given(kind=st.sampled_from(KINDS), seed=seeds, t=st.integers(2, 12), cut=st.integers(1, 11), batch=st.integers(1, 2))
def test_every_attention_type_is_causal_for_any_length_and_cut(kind, seed, t, cut, batch):
    cut = min(cut, t - 1)
    attn = _attn(kind, seed)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, t, DIMS, generator=g)
    x2 = x.clone()
    x2[:, cut:] = torch.randn(batch, t - cut, DIMS, generator=g) * 3
    with torch.no_grad():
        out, _ = attn(x, causal=True)
        out2, _ = attn(x2, causal=True)
    torch.testing.assert_close(out2[:, :cut], out[:, :cut], atol=1e-5, rtol=1e-5)


@FEW
@given(kind=st.sampled_from(KINDS), seed=seeds, t=st.integers(1, 10), prefix=st.integers(0, 9))
def test_every_attention_type_decodes_with_a_cache_as_in_one_pass(kind, seed, t, prefix):
    prefix = min(prefix, t - 1)
    attn = _attn(kind, seed)
    x = torch.randn(1, t, DIMS, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        full, _ = attn(x, causal=True)
        cache = attention.KVCache()
        steps = [attn(x[:, :prefix], causal=True, cache=cache)[0]] if prefix else []
        steps += [attn(x[:, i:i + 1], causal=True, cache=cache)[0] for i in range(prefix, t)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-4, rtol=1e-4)
