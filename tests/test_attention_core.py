"""Masks, the attention core, the KV cache, the registry and standard attention."""

import pytest
import torch

from echo_edu.attention import (ATTENTION_TYPES, KVCache, StandardAttention, attention_core, build_attention,
                                causal_mask, combine_masks, lengths_to_padding_mask, padding_mask)
from echo_edu.errors import ConfigError, ShapeError


def test_causal_mask_is_lower_triangular_and_offset_aware():
    assert torch.equal(causal_mask(3, 3), torch.tril(torch.ones(3, 3, dtype=torch.bool)))
    # one query after 4 cached keys sees all 5 keys
    assert causal_mask(1, 5).all()
    m = causal_mask(2, 5)  # queries at positions 3 and 4
    assert m[0].tolist() == [True, True, True, True, False] and m[1].all()


def test_mask_convention_true_means_may_attend():
    # the explicit path and SDPA must agree on what True means, and a blocked key must get zero weight
    q, k, v = torch.randn(3, 1, 2, 4, 8).unbind(0)
    mask = torch.tensor([True, False, True, True])
    out_sdpa, _ = attention_core(q, k, v, mask)
    out_explicit, w = attention_core(q, k, v, mask, need_weights=True)
    torch.testing.assert_close(out_sdpa, out_explicit)
    assert (w[..., 1] == 0).all() and (w[..., 0] > 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(1, 2, 4))


def test_combine_masks_is_and_and_ignores_none():
    a = torch.tensor([True, True, False])
    b = torch.tensor([True, False, True])
    assert combine_masks(a, None, b).tolist() == [True, False, False]
    assert combine_masks(None, None) is None
    kpm = lengths_to_padding_mask(torch.tensor([2, 3]), 3)
    assert kpm.tolist() == [[True, True, False], [True, True, True]]
    assert padding_mask(kpm).shape == (2, 1, 1, 3)


@pytest.mark.parametrize("need_weights", [False, True])
def test_row_without_keys_gives_zeros_not_nan(need_weights):
    q, k, v = torch.randn(3, 2, 1, 3, 4).unbind(0)
    mask = torch.ones(2, 1, 3, 3, dtype=torch.bool)
    mask[1] = False  # example 1 has no real key at all
    out, w = attention_core(q, k, v, mask, need_weights=need_weights)
    assert torch.isfinite(out).all() and (out[1] == 0).all() and (out[0] != 0).any()


def test_kv_cache_append_static_and_reorder():
    cache = KVCache()
    assert cache.length == 0
    k = torch.arange(2 * 1 * 3 * 2, dtype=torch.float).view(2, 1, 3, 2)
    keys, _ = cache.append(k, k)
    assert cache.length == 3 and keys.shape == (2, 1, 3, 2)
    keys, _ = cache.append(k[:, :, :1], k[:, :, :1])
    assert cache.length == 4
    cache.state["count"] = torch.tensor([[1.0], [2.0]])
    cache.reorder(torch.tensor([1, 1]))
    assert torch.equal(cache.keys[0], cache.keys[1]) and torch.equal(cache.keys[0, :, :3], k[1])
    assert cache.state["count"].tolist() == [[2.0], [2.0]]
    cross = KVCache()
    cross.set_static(k, k)
    with pytest.raises(ShapeError):
        cross.append(k, k)


def _standard(rotary=True, **kw):
    torch.manual_seed(0)
    return build_attention("standard", 32, 4, rotary={"theta": 10000.0} if rotary else None, **kw).eval()


def test_cached_decoding_equals_full_pass_with_rotary():
    attn = _standard()
    x = torch.randn(2, 7, 32)
    full, _ = attn(x, causal=True)
    cache, steps = KVCache(), []
    for t in range(7):
        out, _ = attn(x[:, t:t + 1], causal=True, cache=cache)
        steps.append(out)
    assert cache.length == 7
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-5)
    # a chunk of 3 then 4 tokens too (queries at offset 3 need the bottom-right causal mask)
    cache = KVCache()
    a, _ = attn(x[:, :3], causal=True, cache=cache)
    b, _ = attn(x[:, 3:], causal=True, cache=cache)
    torch.testing.assert_close(torch.cat([a, b], 1), full, atol=1e-5, rtol=1e-5)


def test_cross_attention_computes_context_once_and_reuses_it():
    attn = build_attention("standard", 32, 4, context_dims=24).eval()
    x, ctx = torch.randn(2, 5, 32), torch.randn(2, 9, 24)
    full, info = attn(x, ctx, need_weights=True)
    assert info["weights"].shape == (2, 4, 5, 9)
    cache = KVCache()
    first, _ = attn(x[:, :2], ctx, cache=cache)
    rest, _ = attn(x[:, 2:], None, cache=cache)  # no context: the cached keys are used
    torch.testing.assert_close(torch.cat([first, rest], 1), full, atol=1e-5, rtol=1e-5)
    # cross-attention really reads the context
    other, _ = attn(x, torch.randn(2, 9, 24))
    assert not torch.allclose(other, full)
    # and is never causal: the first query may look at the last frame
    assert (info["weights"][:, :, 0, -1] > 0).all()


def test_cache_reorder_matches_reordered_batch():
    attn = _standard()
    x = torch.randn(3, 4, 32)
    cache = KVCache()
    attn(x[:, :3], causal=True, cache=cache)
    index = torch.tensor([2, 0, 0])
    cache.reorder(index)
    out, _ = attn(x[index, 3:], causal=True, cache=cache)
    full, _ = attn(x[index], causal=True)
    torch.testing.assert_close(out, full[:, 3:], atol=1e-5, rtol=1e-5)


def test_padded_keys_do_not_change_real_outputs():
    attn = _standard()
    x = torch.randn(1, 6, 32)
    kpm = torch.tensor([[True] * 4 + [False] * 2])
    out, info = attn(x, key_padding_mask=kpm, need_weights=True)
    x2 = x.clone()
    x2[:, 4:] = torch.randn(1, 2, 32) * 10
    out2, _ = attn(x2, key_padding_mask=kpm)
    torch.testing.assert_close(out[:, :4], out2[:, :4])
    assert (info["weights"][..., 4:] == 0).all()


def test_registry_and_errors():
    assert "standard" in ATTENTION_TYPES and ATTENTION_TYPES["standard"] is StandardAttention
    with pytest.raises(ConfigError, match="standard"):
        build_attention("nope", 32, 4)
    with pytest.raises(ValueError):  # ConfigError is a ValueError
        build_attention("nope", 32, 4)
    with pytest.raises(ConfigError, match="divisible"):
        build_attention("standard", 30, 4)
    with pytest.raises(ConfigError, match="does not take"):
        build_attention("standard", 32, 4, window=3)
    assert {kind: cls.kind for kind, cls in ATTENTION_TYPES.items()} == {k: k for k in ATTENTION_TYPES}
    for kind in ATTENTION_TYPES:   # every type, experimental ones included: a typo is a ConfigError, not a TypeError
        with pytest.raises(ConfigError, match="does not take"):
            build_attention(kind, 32, 4, no_such_option=1)
    attn = build_attention("standard", 32, 4)
    with pytest.raises(ShapeError, match=r"\(batch, seq, 32\)"):
        attn(torch.randn(2, 5, 16))
    with pytest.raises(ShapeError, match="key_padding_mask"):
        attn(torch.randn(2, 5, 32), key_padding_mask=torch.ones(2, 4, dtype=torch.bool))
    cross = build_attention("standard", 32, 4, context_dims=8)
    with pytest.raises(ShapeError, match="context"):
        cross(torch.randn(2, 5, 32))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_standard_runs_in_dtype_and_device(device, dtype):
    attn = _standard().to(device=device, dtype=dtype).train()
    x = torch.randn(2, 6, 32, device=device, dtype=dtype)
    out, info = attn(x, causal=True, need_weights=True)
    assert out.dtype == dtype and out.device.type == device.type and torch.isfinite(out.float()).all()
    out.float().square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in attn.parameters() if p.requires_grad)


def test_attention_map_views_headless():
    from echo_edu.viz.attention import (MEAN_HEAD, attention_map_figure, attention_map_static, attention_map_widget,
                                        collect_attention, masks_figure)

    attn = _standard()
    maps = collect_attention([attn, attn], torch.randn(2, 5, 32), causal=True)
    assert list(maps) == ["layer 0", "layer 1"] and maps["layer 0"].shape == (2, 4, 5, 5)
    fig = attention_map_figure(maps, layer="layer 1", head=MEAN_HEAD, example=1, query_tokens=list("abcde"))
    z = torch.tensor(fig.data[0].z)
    assert z.shape == (5, 5) and torch.isfinite(z).all()
    torch.testing.assert_close(z, maps["layer 1"][1].mean(0))
    assert "weight" in fig.data[0].hovertemplate
    attention_map_static(maps, 0, 2, 0)
    widget = attention_map_widget(maps)
    assert set(widget.controls) == {"layer", "head", "example"}
    widget.controls["head"].value = 3
    assert widget.figure.layout.title.text == "layer 0, head 3, example 0"
    assert "image/png" in widget._repr_mimebundle_()
    with pytest.raises(ShapeError, match="head 9"):
        attention_map_figure(maps, head=9)
    assert len(masks_figure({"a": causal_mask(3, 3), "b": causal_mask(3, 3)}).data) == 2


@pytest.mark.parametrize("need_weights", [False, True])
def test_float_bias_equals_reference_softmax_with_mask(need_weights):
    """attention_core(bias=b, mask=m) == softmax(q kᵀ/√d + b, masked) v, and the bias gets a gradient."""
    g = torch.Generator().manual_seed(0)
    q, k, v = torch.randn(3, 2, 2, 5, 8, generator=g).unbind(0)
    bias = torch.randn(2, 2, 5, 5, generator=g).requires_grad_()
    mask = torch.rand(2, 1, 5, 5, generator=g) > 0.3
    mask[..., 0] = True  # every row keeps a key
    out, w = attention_core(q, k, v, mask, bias=bias, need_weights=need_weights)
    scores = (q @ k.transpose(-1, -2)) / 8 ** 0.5 + bias
    ref = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1) @ v
    torch.testing.assert_close(out, ref)
    out.sum().backward()
    assert bias.grad[~mask.expand(2, 2, 5, 5)].abs().max() == 0 and bias.grad.abs().sum() > 0
    # a row whose bias blocks every key returns zeros, not NaN
    blocked = bias.detach().clone()
    blocked[1, :, 2] = float("-inf")
    out, _ = attention_core(q, k, v, bias=blocked, need_weights=need_weights)
    assert torch.isfinite(out).all() and (out[1, :, 2] == 0).all() and (out[0, :, 2] != 0).any()


def test_matmul_flops_counts_linear_layers_and_fused_attention_from_shapes():
    """Exact counts: 2·N·in·out for a linear layer, 2·T_q·T_k·(d_q + d_v) per (batch, head) for attention,
    with or without a mask (the fused CPU kernel included, which torch's own counter does not know)."""
    from echo_edu.utils import matmul_flops

    linear, x = torch.nn.Linear(12, 5), torch.randn(3, 7, 12)
    assert matmul_flops(lambda: linear(x)) == 2 * 3 * 7 * 12 * 5
    q, k, v = torch.randn(2, 3, 50, 8), torch.randn(2, 3, 70, 8), torch.randn(2, 3, 70, 4)
    expected = 2 * (2 * 3 * 50) * 70 * (8 + 4)
    sdpa = torch.nn.functional.scaled_dot_product_attention
    assert matmul_flops(lambda: sdpa(q, k, v)) == expected
    assert matmul_flops(lambda: sdpa(q, k, v, attn_mask=torch.ones(50, 70, dtype=torch.bool))) == expected
    out, _ = attention_core(q, k, v, need_weights=True)                                # explicit path: bmm
    assert matmul_flops(lambda: attention_core(q, k, v, need_weights=True)) == expected and out.shape == (2, 3, 50, 4)
