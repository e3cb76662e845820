"""Myelinated attention: importance gates, skip policy and working memory each change the computation."""

import pytest
import torch

from attention_contract import (check_batch_independent, check_cache_equals_recompute, check_causal,
                                check_cross_uses_context, check_dtype_device, check_eval_deterministic,
                                check_every_parameter_learns, one_thread)  # noqa: F401 (autouse fixture)
from echo_edu.attention import ATTENTION_TYPES, StandardAttention, build_attention
from echo_edu.attention.myelinated import MyelinatedAttention
from echo_edu.errors import ConfigError

D, H = 32, 4


def _make(**kw):
    torch.manual_seed(0)
    return MyelinatedAttention(D, H, rotary={}, **kw)


def _x(B=3, T=12, seed=1):
    return torch.randn(B, T, D, generator=torch.Generator().manual_seed(seed))


def test_registered_and_info_shapes():
    assert ATTENTION_TYPES["myelinated"] is MyelinatedAttention
    m = build_attention("myelinated", D, H, layers=2).eval()
    out, info = m(_x(T=7), need_weights=True)
    assert out.shape == (3, 7, D)
    for name in ("importance", "skip", "skip_prob", "memory_gate", "memory_read", "memory_norm"):
        assert info[name].shape == (3, 2, 7), name
    assert info["weights"].shape == (3, H, 7, 7) and info["layer_weights"].shape == (3, 2, H // 2, 7, 7)
    assert info["memory"].shape == (3, 2, 7, D)
    torch.testing.assert_close(info["weights"].sum(-1), torch.ones(3, H, 7))


def test_config_errors():
    for bad in (dict(layers=0), dict(layers=3), dict(temperature=0.0), dict(compute_cost=-1.0)):
        with pytest.raises(ConfigError):
            MyelinatedAttention(D, H, **bad)


@pytest.mark.parametrize("causal", [False, True])
def test_gates_policy_and_memory_all_get_gradients(causal):
    # four sub-layers (one head each), so that with this seed every one of them runs for some example in both modes
    check_every_parameter_learns(_make(run_bias=0.0, layers=4), _x(B=8), causal=causal)


def test_cross_attention_gradients_and_context():
    m = MyelinatedAttention(D, H, context_dims=16)
    ctx = torch.randn(3, 9, 16)
    check_every_parameter_learns(m, _x(), context=ctx)
    check_cross_uses_context(m, _x(), ctx)
    check_cache_equals_recompute(m, _x(), chunks=(2, 1), context=ctx)


def test_skipping_changes_the_output():
    m, x = _make().eval(), _x()
    with torch.no_grad():
        run_all, info_run = m(x)
        m.policy[-1].bias.fill_(-20.0)  # the policy now skips every sub-layer
        skip_all, info_skip = m(x)
    assert info_run["skip"].sum() == 0 and info_skip["skip"].min() == 1
    assert not torch.allclose(run_all, skip_all, atol=1e-4)
    # with the memory off as well, skipping everything leaves no update at all
    with torch.no_grad():
        for gate in m.gates:
            gate.bias[2] = -60.0  # column 2 = the memory read gate ρ
        torch.testing.assert_close(m(x)[0], torch.zeros_like(x), atol=1e-6, rtol=0)


def test_skip_decisions_are_per_example_and_seeded_in_training():
    a, b = _make(run_bias=0.0, seed=3), _make(run_bias=0.0, seed=3)
    x = _x(B=16)
    a.train(), b.train()
    skip_a, skip_b = a(x)[1]["skip"], b(x)[1]["skip"]
    assert torch.equal(skip_a, skip_b), "same seed, same training noise"
    per_example = skip_a[:, :, 0]  # bidirectional: one decision per example and sub-layer
    assert torch.equal(skip_a, per_example[..., None].expand_as(skip_a))
    assert 0 < per_example.mean() < 1, "a coin-flip policy skips some examples and runs others"


def test_importance_gates_the_update():
    m, x = _make(memory=False).eval(), _x()
    with torch.no_grad():
        base, info = m(x)
        assert ((info["importance"] > 0) & (info["importance"] < 1)).all()
        m.gates[1].bias[0] = -60.0  # sub-layer 1 now finds no token important
        changed, info2 = m(x)
    assert info2["importance"][:, 1].max() < 1e-20
    assert not torch.allclose(base, changed, atol=1e-4)


def test_memory_gate_changes_the_output():
    m, x = _make().eval(), _x()
    with torch.no_grad():
        base, info = m(x)
        assert info["memory_norm"].gt(0).all()
        m.gates[1].bias[1] = 8.0  # sub-layer 1 keeps its old memory instead of writing
        kept, info2 = m(x)
    assert not torch.allclose(base, kept, atol=1e-4)
    assert (info2["memory_gate"][:, 1] > 0.99).all()


def test_reduces_to_standard_attention_with_open_gates():
    std = StandardAttention(D, H, rotary={}).eval()
    m = MyelinatedAttention(D, H, rotary={}, layers=1, memory=False).eval()
    m.load_state_dict(std.state_dict(), strict=False)
    with torch.no_grad():
        m.gates[0].weight.zero_(), m.gates[0].bias.fill_(60.0)
        m.policy[-1].bias.fill_(60.0)
        for causal in (False, True):
            torch.testing.assert_close(m(_x(), causal=causal)[0], std(_x(), causal=causal)[0])


def test_causal_pooling_never_sees_the_future():
    m = _make()
    check_causal(m, _x(T=14), cut=6)
    with torch.no_grad():  # the skip policy and memory of early positions ignore later tokens too
        x = _x(T=14)
        y = x.clone()
        y[:, 6:] += 5.0
        a, b = m(x, causal=True)[1], m(y, causal=True)[1]
    for name in ("skip_prob", "memory_gate", "memory_norm"):
        torch.testing.assert_close(a[name][..., :6], b[name][..., :6])


def test_cached_decoding_equals_full_pass():
    check_cache_equals_recompute(_make(), _x(T=10), chunks=(1,))
    check_cache_equals_recompute(_make(), _x(T=10), chunks=(3, 2))


@pytest.mark.parametrize("causal", [False, True])
def test_batch_independence_and_determinism(causal):
    check_batch_independent(_make(), _x(B=4), causal)
    check_eval_deterministic(_make(), _x(), causal=causal)


def test_padding_is_ignored_by_attention_and_pooling():
    m, x = _make().eval(), _x(B=2, T=10)
    padded = torch.cat([x, torch.randn(2, 4, D) * 10], 1)
    kpm = torch.arange(14)[None, :].expand(2, 14) < 10
    with torch.no_grad():
        torch.testing.assert_close(m(padded, key_padding_mask=kpm)[0][:, :10], m(x)[0], atol=1e-5, rtol=1e-5)


def test_compute_cost_is_an_aux_loss_that_pushes_towards_skipping():
    m = _make(compute_cost=0.5)
    opt = torch.optim.SGD(m.policy.parameters(), lr=3.0)
    first = None
    for _ in range(8):
        _, info = m(_x())
        first = info["skip_prob"].mean().item() if first is None else first
        opt.zero_grad(), info["aux_loss"].backward(), opt.step()
    assert m(_x())[1]["skip_prob"].mean().item() > first + 0.05


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_dtype_and_device(device, dtype):
    info = check_dtype_device(_make(), _x(), dtype, device, causal=True, need_weights=True)
    assert info["importance"].dtype == dtype


def test_policy_learns_per_example_routing():
    """Hard examples (flag +2) need attention, easy ones (flag −2) need nothing: with a compute cost the
    policy learns to run every sub-layer on hard examples and skip every one on easy examples."""
    g = torch.Generator().manual_seed(0)

    def batch():
        x = torch.randn(32, 16, D, generator=g)
        hard = torch.rand(32, generator=g) < 0.5
        x[:, :, 0] = torch.where(hard, 2.0, -2.0)[:, None]
        target = torch.where(hard[:, None, None], 4 * x.mean(1, keepdim=True).expand(-1, 16, -1), torch.zeros_like(x))
        return x, target, hard

    m = _make(compute_cost=0.1)
    policy = list(m.policy.parameters())
    rest = [p for n, p in m.named_parameters() if not n.startswith("policy.")]
    opt = torch.optim.Adam([{"params": rest, "lr": 3e-3}, {"params": policy, "lr": 5e-3}])
    for _ in range(120):
        x, target, _ = batch()
        out, info = m(x)
        loss = (out - target).pow(2).mean() + info["aux_loss"]
        opt.zero_grad(), loss.backward(), opt.step()
    m.eval()
    x, _, hard = batch()
    with torch.no_grad():
        skip = m(x)[1]["skip"][:, :, 0]  # (B, L)
    assert skip[hard].mean() < 0.2 and skip[~hard].mean() > 0.8


def test_views_build_headless():
    from echo_edu.viz.myelinated import (myelinated_figure, myelinated_static, myelinated_widget, skip_rates_figure,
                                         skip_rates_static, sublayer_maps)
    from echo_edu.errors import ShapeError

    with torch.no_grad():
        _, info = _make(layers=4).eval()(_x(T=6), causal=True, need_weights=True)
    fig = myelinated_figure(info, example=1, tokens=list("abcdef"))
    assert len(fig.data) == 2 + 2 * 4  # importance heatmap, skip markers, 2 memory lines per sub-layer
    assert myelinated_static(info, example=2).axes
    layer = _make(layers=4)
    widget = myelinated_widget(layer, _x(T=6), tokens=list("abcdef"))
    assert "image/png" in widget._repr_mimebundle_()
    skipped = lambda: len(widget.figure.data[1].x)  # the crosses: (sub-layer, token) cells skipped
    widget.controls["run_bias"].value = 4.0
    assert skipped() == 0
    widget.controls["run_bias"].value = -4.0   # the widget runs the layer again: the policy now skips
    assert skipped() == 4 * 6 and "run bias -4.0" in widget.figure.layout.title.text
    assert float(layer.policy[-1].bias.mean()) != -4.0  # on a copy: the lesson's layer keeps its weights
    with pytest.raises(ShapeError):
        myelinated_widget(layer, _x(T=6)[0])
    assert len(skip_rates_figure(info).data) == 2 and skip_rates_static(info).axes
    assert list(sublayer_maps(info)) == [f"sub-layer {i}" for i in range(4)]
    with pytest.raises(ShapeError):
        myelinated_figure(info, example=7)
    with pytest.raises(ShapeError):
        myelinated_figure({"weights": info["weights"]})
    with pytest.raises(ShapeError):
        sublayer_maps({})


def test_traces_as_one_graph():
    """torch.compile(fullgraph=True) fails on any graph break: no .item(), no host sync, no data-dependent `if`."""
    x = _x(T=10)
    m = _make().eval()
    torch.testing.assert_close(torch.compile(m, fullgraph=True, backend="eager")(x, causal=True)[0], m(x, causal=True)[0])
    train = _make(seed=None).train()  # seed=None: skip noise from the global RNG, which dynamo can trace
    out, _ = torch.compile(train, fullgraph=True, backend="eager")(x, causal=True)
    out.sum().backward()
    assert train.policy[0].weight.grad.abs().sum() > 0


def test_import_leaves_dynamo_unloaded_and_a_seeded_layer_runs_its_generator_eagerly():
    """``import echo_edu`` must not import ``torch._dynamo`` (1.7 s in every kernel and CLI call); the first
    seeded layer marks ``_generator`` for ``torch.compile`` to run eagerly, as the decorator did."""
    import subprocess
    import sys

    code = "import sys, echo_edu, echo_edu.attention; print('torch._dynamo' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "False"
    _make(seed=3)
    assert getattr(MyelinatedAttention._generator, "_runs_eagerly", False)
