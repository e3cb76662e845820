"""Adaptive span (soft ramp, learned from content) and the adaptive focus window (bucketed band + iterations)."""

import pytest
import torch

from attention_contract import (check_batch_independent, check_cache_equals_recompute, check_causal,
                                check_cross_uses_context, check_dtype_device, check_eval_deterministic,
                                check_every_parameter_learns, one_thread)  # noqa: F401 (autouse fixture)
from echo_edu.attention import ATTENTION_TYPES, StandardAttention, build_attention, local_attention
from echo_edu.attention.adaptive import AdaptiveSpanAttention, span_ramp
from echo_edu.attention.focus import AdaptiveFocusAttention, frame_activity
from echo_edu.errors import ConfigError, ShapeError

D, H = 32, 4


def _x(B=3, T=12, seed=1):
    return torch.randn(B, T, D, generator=torch.Generator().manual_seed(seed))


def _span(**kw):
    torch.manual_seed(0)
    kw = {"max_span": 8, "ramp": 2, "init_span": 3.0, **kw}
    m = AdaptiveSpanAttention(D, H, rotary={}, **kw)
    with torch.no_grad():  # content-dependent from the start, so the tests see it
        m.span_predictor.weight.normal_(0, 0.5)
    return m


def _focus(**kw):
    torch.manual_seed(0)
    return AdaptiveFocusAttention(D, H, rotary={}, **{"windows": (2, 4, 8), "thresholds": (0.3, 0.6), **kw})


# ----------------------------------------------------------------------------------- adaptive span
def test_ramp_matches_its_formula():
    z, R = torch.tensor(3.0), 2.0
    d = torch.arange(7.0)
    torch.testing.assert_close(span_ramp(z, d, R), torch.tensor([1, 1, 1, 1, 0.5, 0, 0]).float())


def test_span_masks_the_weights():
    m = _span().eval()
    _, info = m(_x(T=16), need_weights=True)
    z = info["span"][..., None]                                   # (B, H, T, 1)
    dist = (torch.arange(16)[:, None] - torch.arange(16)[None, :]).abs()
    outside = dist >= z + m.ramp                                  # beyond the ramp: exactly zero
    assert info["weights"][outside].abs().max() == 0 and outside.any()
    torch.testing.assert_close(info["weights"].sum(-1), torch.ones(3, H, 16))
    assert info["span"].std() > 0, "spans depend on the example's content"


def test_long_span_reduces_to_standard_attention():
    std = StandardAttention(D, H, rotary={}).eval()
    m = AdaptiveSpanAttention(D, H, rotary={}, max_span=200, init_span=150.0).eval()
    m.load_state_dict(std.state_dict(), strict=False)
    for causal in (False, True):
        torch.testing.assert_close(m(_x(), causal=causal)[0], std(_x(), causal=causal)[0])


@pytest.mark.parametrize("causal", [False, True])
def test_long_sequences_take_the_blocked_span_path_with_the_same_result(causal):
    """Keys beyond max_span + ramp are never seen, so blocks of half that size, each meeting the two blocks
    on either side, give exactly the dense result."""
    m = _span(max_span=6, ramp=3, init_span=1.0).train()
    x = torch.randn(3, 37, D, requires_grad=True)  # T > 2 · (6 + 3): blocked path when no weights are asked
    kpm = torch.ones(3, 37, dtype=torch.bool)
    kpm[1, 30:] = False
    kpm[2, :3] = False  # in the decoder, the first three queries of example 2 have no key at all
    fast, info = m(x, causal=causal, key_padding_mask=kpm)
    dense, _ = m(x, causal=causal, key_padding_mask=kpm, need_weights=True)
    torch.testing.assert_close(fast, dense, atol=1e-5, rtol=1e-5)
    (fast.square().sum() + info["aux_loss"]).backward()
    assert torch.isfinite(x.grad).all() and all(torch.isfinite(p.grad).all() for p in m.parameters())


def _train_span(task: str, steps: int = 70) -> tuple[float, float]:
    """Train a causal span layer to recall the first token (long) or copy itself (local)."""
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    m = AdaptiveSpanAttention(16, 2, max_span=64, ramp=8, init_span=12.0, span_penalty=0.05)
    opt = torch.optim.Adam(m.parameters(), lr=3e-2)
    for _ in range(steps):
        x = torch.randn(16, 48, 16, generator=g)
        x[:, :, 0] = 0.0
        x[:, 0, 0] = 4.0  # a flag marks the first token, so content can find it
        target = x[:, :1, 1:].expand(-1, 48, -1) if task == "long" else x[:, :, 1:]
        out, info = m(x, causal=True)
        loss = (out[..., 1:] - target).pow(2).mean() + info["aux_loss"]
        opt.zero_grad(), loss.backward(), opt.step()
    return 12.0, info["span"].mean().item()


def test_span_grows_when_the_task_needs_long_context():
    start, end = _train_span("long")
    assert end > 2 * start, f"span {start} -> {end}"


def test_span_shrinks_when_local_context_is_enough():
    start, end = _train_span("local", steps=40)
    assert end < start / 2, f"span {start} -> {end}"


def test_span_contract():
    check_causal(_span(), _x(T=14), cut=6)
    check_cache_equals_recompute(_span(), _x(T=11), chunks=(1,))
    check_cache_equals_recompute(_span(), _x(T=11), chunks=(4, 3))
    for causal in (False, True):
        check_batch_independent(_span(), _x(B=4), causal)
        check_eval_deterministic(_span(), _x(), causal=causal)
        check_every_parameter_learns(_span(), _x(), causal=causal)


def test_span_cross_attention_is_plain_attention_to_the_context():
    m = AdaptiveSpanAttention(D, H, context_dims=16)
    assert m.span_predictor is None
    ctx = torch.randn(3, 9, 16)
    check_cross_uses_context(m, _x(), ctx)
    check_every_parameter_learns(m, _x(), context=ctx)
    check_cache_equals_recompute(m, _x(), chunks=(5, 7), context=ctx)


def test_padding_is_ignored_by_span_and_attention():
    m, x = _span().eval(), _x(B=2, T=10)
    padded = torch.cat([x, torch.randn(2, 5, D) * 10], 1)
    kpm = torch.arange(15)[None, :].expand(2, 15) < 10
    torch.testing.assert_close(m(padded, key_padding_mask=kpm)[0][:, :10], m(x)[0], atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------------------- adaptive focus window
def reference_windows(x, thresholds, windows):
    """The window rule one example at a time (bidirectional: the whole-sequence mean activity)."""
    chosen = []
    for b in range(x.shape[0]):
        changes = [frame_activity(x[b, t][None, None], x[b, t - 1][None, None]).item() for t in range(1, x.shape[1])]
        activity = sum(changes) / len(changes)
        bucket = sum(activity > th for th in thresholds)
        chosen.append(windows[len(windows) - 1 - bucket])
    return chosen


def test_window_choice_matches_reference_rule_calm_wide_busy_narrow():
    calm = torch.randn(1, 1, D).expand(1, 20, D) * torch.linspace(1, 2, 20)[None, :, None]  # one shape, louder
    busy = torch.randn(1, 20, D)
    x = torch.cat([calm, busy, 0.5 * calm + 0.5 * busy])
    m = _focus()
    window, activity = m.choose_windows(x, causal=False)
    assert window[:, 0].tolist() == reference_windows(x, (0.3, 0.6), (2, 4, 8))
    assert window[0, 0] == 8 and window[1, 0] == 2, "calm → widest window, busy → narrowest"
    assert (window == window[:, :1]).all(), "bidirectional: one window per example"


def test_calibrated_thresholds_share_the_buckets_and_are_saved():
    m = _focus(windows=(2, 4, 8, 16), thresholds=None)
    x = torch.randn(8, 20, D) * torch.linspace(0.1, 1.0, 8)[:, None, None]
    x = x + torch.randn(8, 1, D) * torch.linspace(3.0, 0.0, 8)[:, None, None]  # calmer → busier
    m.calibrate(x)
    window, _ = m.choose_windows(x, causal=False)
    assert sorted(window[:, 0].tolist()) == [2, 2, 4, 4, 8, 8, 16, 16]
    fresh = _focus(windows=(2, 4, 8, 16), thresholds=None)
    fresh.load_state_dict(m.state_dict())
    assert torch.equal(fresh.thresholds, m.thresholds)


@pytest.mark.parametrize("causal", [False, True])
def test_focus_mask_equals_reference_loop(causal):
    g = torch.Generator().manual_seed(4)
    m = _focus(thresholds=(0.9, 1.0)).eval()  # random frames sit near activity 1: all three buckets occur
    for trial in range(4):
        T = int(torch.randint(5, 14, (1,), generator=g))
        x = torch.randn(3, T, D, generator=g) * torch.rand(3, 1, 1, generator=g)
        x[0] = x[0, :1]  # a steady example
        kpm = torch.ones(3, T, dtype=torch.bool)
        kpm[2, T - 2:] = False
        _, info = m(x, causal=causal, key_padding_mask=kpm, need_weights=True)
        w = info["window"]
        ref = torch.zeros(3, T, T, dtype=torch.bool)
        for b in range(3):
            for i in range(T):
                for j in range(T):
                    inside = (0 <= i - j < w[b, i]) if causal else abs(i - j) < w[b, i]
                    ref[b, i, j] = inside and bool(kpm[b, j])
        allowed = info["weights"] > 0  # softmax is positive exactly where attention is allowed
        assert torch.equal(allowed, ref[:, None].expand_as(allowed)), (trial, w)


def test_window_at_least_length_is_plain_attention():
    std = StandardAttention(D, H, rotary={}).eval()
    m = AdaptiveFocusAttention(D, H, rotary={}, windows=(16,)).eval()
    m.load_state_dict(std.state_dict(), strict=False)
    for causal in (False, True):
        torch.testing.assert_close(m(_x(), causal=causal)[0], std(_x(), causal=causal)[0])


def test_focus_iterations_refine_the_query():
    m, x = _focus(iterations=2).eval(), _x()
    one = _focus(iterations=1).eval()
    one.load_state_dict(m.state_dict(), strict=False)
    out, info = m(x)
    win = info["window"][:, 0]

    def step(z, norm):  # one focus iteration by hand: z + W_o Attn(W_q LN(z), K, V)
        q = m.query(norm(z)).view(3, 12, H, D // H).transpose(1, 2)
        k = m.key(x).view(3, 12, H, D // H).transpose(1, 2)
        v = m.value(x).view(3, 12, H, D // H).transpose(1, 2)
        q, k = m.rotary.rotate_queries_or_keys(q), m.rotary.rotate_queries_or_keys(k)
        o, _ = local_attention(q, k, v, win, max_window=8, causal=False)
        return z + m.out(o.transpose(1, 2).reshape(3, 12, D))

    with torch.no_grad():
        z1 = step(x, lambda t: t)
        torch.testing.assert_close(one(x)[0], z1 - x)
        torch.testing.assert_close(out, step(z1, m.focus_norm) - x)
    assert not torch.allclose(out, one(x)[0], atol=1e-4)


def test_long_sequences_take_the_blocked_path_with_the_same_result():
    m, x = _focus().eval(), _x(B=2, T=40)
    fast, _ = m(x)                      # T > 2·max window: blocked kernel, no weights
    dense, _ = m(x, need_weights=True)  # dense banded mask
    torch.testing.assert_close(fast, dense, atol=1e-5, rtol=1e-5)


def test_focus_contract():
    check_causal(_focus(), _x(T=14), cut=6)
    check_cache_equals_recompute(_focus(iterations=2), _x(T=11), chunks=(1,))
    check_cache_equals_recompute(_focus(), _x(T=11), chunks=(4, 3))
    for causal in (False, True):
        check_batch_independent(_focus(), _x(B=4), causal)
        check_eval_deterministic(_focus(), _x(), causal=causal)
        check_every_parameter_learns(_focus(iterations=2), _x(), causal=causal)
    ctx = torch.randn(3, 9, 16)
    cross = AdaptiveFocusAttention(D, H, context_dims=16, iterations=2)
    check_cross_uses_context(cross, _x(), ctx)
    check_every_parameter_learns(cross, _x(), context=ctx)


# ------------------------------------------------------------------------------------------ shared
def test_registry_and_config_errors():
    assert ATTENTION_TYPES["adaptive"] is AdaptiveSpanAttention
    assert ATTENTION_TYPES["focus"] is AdaptiveFocusAttention
    assert isinstance(build_attention("adaptive", D, H, max_span=16, init_span=4.0), AdaptiveSpanAttention)
    bad = [("adaptive", dict(init_span=500.0)), ("adaptive", dict(ramp=0)), ("adaptive", dict(span_penalty=-1.0)),
           ("focus", dict(windows=(8, 4))), ("focus", dict(thresholds=(0.1,))), ("focus", dict(iterations=0))]
    for kind, options in bad:
        with pytest.raises(ConfigError):
            build_attention(kind, D, H, **options)


@pytest.mark.parametrize("kind", ["adaptive", "focus"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_dtype_and_device(device, dtype, kind):
    torch.manual_seed(0)
    module = build_attention(kind, D, H, rotary={})
    info = check_dtype_device(module, _x(), dtype, device, causal=True, need_weights=True)
    assert info["weights"].dtype == dtype


def test_views_build_headless():
    from echo_edu.viz.windows import (demo_signals, focus_figure, focus_static, focus_widget, span_figure, span_static,
                                      span_widget, window_choice_figure, window_choice_static)

    waves, labels = demo_signals(seconds=0.3)
    assert waves.shape == (4, 4800) and len(labels) == 4 and waves.abs().max() <= 0.5
    with torch.no_grad():
        _, span_info = _span().eval()(_x(T=10), causal=True, need_weights=True)
    assert len(span_figure(span_info, example=1, head=2).data) == H + 2
    assert span_static(span_info).axes and "image/png" in span_widget(span_info)._repr_mimebundle_()

    x = _x(T=10)
    focus = _focus().eval()
    with torch.no_grad():
        _, info = focus(x, need_weights=True)
    fig = focus_figure(x, info, example=2, query=3, head=1)
    assert len(fig.data) == 4  # input, attention map, two band edges
    assert focus_static(x, info, causal=False).axes and "image/png" in focus_widget(x, info)._repr_mimebundle_()
    assert len(window_choice_figure(info, [0.3, 0.6], ["a", "b", "c"]).data) == 1
    assert window_choice_static(info, [0.3, 0.6]).axes
    with pytest.raises(ShapeError):
        focus_figure(x[:, :5], info)  # features must match the layer input
    with pytest.raises(ShapeError):
        focus_figure(x, info, query=10)
    with pytest.raises(ShapeError):
        span_figure({"span": span_info["span"]})


@pytest.mark.parametrize("make", [_span, _focus])
def test_traces_as_one_graph(make):
    """torch.compile(fullgraph=True) fails on any graph break: no .item(), no host sync, no data-dependent `if`."""
    m, x = make().eval(), _x(T=40)  # long enough for the blocked kernels
    for causal in (False, True):
        compiled = torch.compile(m, fullgraph=True, backend="eager")
        torch.testing.assert_close(compiled(x, causal=causal)[0], m(x, causal=causal)[0])


def test_log_ramp_lookup_is_log_of_the_ramp_with_the_same_span_gradient():
    """The table look-up gives log m exactly (−∞ beyond the ramp and at δ = +∞) and the gradient of z."""
    from echo_edu.attention.adaptive import log_span_ramp

    z = torch.tensor([[2.5], [4.5]], requires_grad=True)            # (2, 1): two heads
    d = torch.tensor([0.0, 1.0, 3.0, 4.0, 5.0, 9.0, float("inf")])  # integer distances, one blocked
    bias = log_span_ramp(z, d, ramp=2.0, reach=9)
    torch.testing.assert_close(bias.exp(), span_ramp(z, d.clamp(max=9), 2.0))
    assert bias[:, -1].eq(float("-inf")).all() and bias[0, 4] == float("-inf")
    weights = torch.softmax(bias, -1)  # what the attention does with it
    (weights[:, 3] * torch.tensor([1.0, 2.0])).sum().backward()
    z_ref = z.detach().clone().requires_grad_()
    ref = torch.softmax(span_ramp(z_ref, d.clamp(max=9), 2.0).log(), -1)
    (ref[:, 3] * torch.tensor([1.0, 2.0])).sum().backward()
    torch.testing.assert_close(z.grad, z_ref.grad)
    assert z.grad.abs().min() > 0
