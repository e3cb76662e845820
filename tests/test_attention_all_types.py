"""Every registered attention type honours the shared contract (docs/interfaces.md).

Types added to ``ATTENTION_TYPES`` later are picked up automatically.
"""

import pytest
import torch

from echo_edu.attention import ATTENTION_TYPES, KVCache, build_attention

KINDS = sorted(ATTENTION_TYPES)
D, H, C = 32, 4, 24
ROTARY = {"theta": 10000.0}


def make(kind, cross=False, seed=0):
    torch.manual_seed(seed)
    return build_attention(kind, D, H, context_dims=C if cross else None, rotary=None if cross else ROTARY)


def test_the_four_echo_types_are_registered():
    assert {"standard", "integrated"} <= set(ATTENTION_TYPES)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cross", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_builds_and_runs(kind, cross, causal):
    attn = make(kind, cross).eval()
    x, ctx = torch.randn(2, 9, D), torch.randn(2, 13, C)
    out, info = attn(x, ctx if cross else None, causal=causal, need_weights=True)
    assert out.shape == (2, 9, D) and torch.isfinite(out).all()
    assert isinstance(info, dict) and all(isinstance(v, torch.Tensor) for v in info.values())
    if "weights" in info:
        assert info["weights"].shape[:3] == (2, H, 9)
        assert info["weights"].shape[-1] == (13 if cross else 9)
    if "aux_loss" in info:
        assert info["aux_loss"].dim() == 0


@pytest.mark.parametrize("kind", KINDS)
def test_decoder_self_attention_is_causal(kind):
    attn = make(kind).eval()
    x = torch.randn(2, 16, D)
    out, _ = attn(x, causal=True)
    x2 = x.clone()
    x2[:, 10:] = torch.randn(2, 6, D) * 3
    out2, _ = attn(x2, causal=True)
    torch.testing.assert_close(out2[:, :10], out[:, :10], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(out2[:, 10:], out[:, 10:])


@pytest.mark.parametrize("kind", KINDS)
def test_encoder_self_attention_is_bidirectional(kind):
    attn = make(kind).eval()
    x = torch.randn(1, 16, D)
    x2 = x.clone()
    x2[:, 8:] = torch.randn(1, 8, D) * 3
    assert not torch.allclose(attn(x2)[0][:, :8], attn(x)[0][:, :8])  # earlier tokens see later ones


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cross", [False, True])
def test_batch_independence(kind, cross):
    attn = make(kind, cross).eval()
    x, ctx = torch.randn(4, 12, D), torch.randn(4, 7, C)
    together, _ = attn(x, ctx if cross else None, causal=not cross)
    for b in range(4):
        alone, _ = attn(x[b:b + 1], ctx[b:b + 1] if cross else None, causal=not cross)
        torch.testing.assert_close(alone, together[b:b + 1], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_eval_is_deterministic(kind):
    attn = make(kind).eval()
    x = torch.randn(2, 12, D)
    state = {k: v.clone() for k, v in attn.state_dict().items()}
    a, _ = attn(x, causal=True)
    b, _ = attn(x, causal=True)
    assert torch.equal(a, b)
    assert all(torch.equal(state[k], v) for k, v in attn.state_dict().items())  # nothing learned in eval


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cross", [False, True])
def test_every_parameter_gets_a_gradient(kind, cross):
    attn = make(kind, cross).train()
    x, ctx = torch.randn(2, 48, D), torch.randn(2, 7, C)  # long enough for coarse (pooled) branches to have a choice
    out, info = attn(x, ctx if cross else None, causal=not cross)
    loss = out.square().mean() + info.get("aux_loss", torch.zeros(()))
    loss.backward()
    dead = [n for n, p in attn.named_parameters() if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)]
    assert not dead, f"{kind}: parameters without gradient: {dead}"


@pytest.mark.parametrize("kind", KINDS)
def test_cached_decoding_matches_full_pass(kind):
    attn = make(kind).eval()
    x = torch.randn(2, 11, D)
    full, _ = attn(x, causal=True)
    cache, steps = KVCache(), []
    for t in range(11):
        steps.append(attn(x[:, t:t + 1], causal=True, cache=cache)[0])
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_cross_attention_cache_and_context_sensitivity(kind):
    attn = make(kind, cross=True).eval()
    x, ctx = torch.randn(2, 6, D), torch.randn(2, 9, C)
    full, _ = attn(x, ctx)
    cache = KVCache()
    steps = [attn(x[:, :1], ctx, cache=cache)[0]] + [attn(x[:, t:t + 1], None, cache=cache)[0] for t in range(1, 6)]
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(attn(x, torch.randn(2, 9, C))[0], full)


@pytest.mark.parametrize("kind", KINDS)
def test_padded_keys_are_ignored(kind):
    attn = make(kind).eval()
    x = torch.randn(2, 10, D)
    kpm = torch.ones(2, 10, dtype=torch.bool)
    kpm[1, 7:] = False
    out, _ = attn(x, key_padding_mask=kpm)
    x2 = x.clone()
    x2[1, 7:] = torch.randn(3, D) * 5
    out2, _ = attn(x2, key_padding_mask=kpm)
    torch.testing.assert_close(out2[1, :7], out[1, :7], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_dtype_and_device(kind, dtype, device):
    attn = make(kind).to(device=device, dtype=dtype).train()
    x = torch.randn(2, 12, D, device=device, dtype=dtype)
    out, _ = attn(x, causal=True)
    assert out.dtype == dtype and out.device.type == device.type and torch.isfinite(out.float()).all()
    out.float().mean().backward()


@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_round_trip(kind):
    attn = make(kind).train()
    attn(torch.randn(2, 12, D), causal=True)  # let any adaptive state move
    fresh = make(kind, seed=1)
    fresh.load_state_dict(attn.state_dict())
    x = torch.randn(1, 12, D)
    torch.testing.assert_close(fresh.eval()(x, causal=True)[0], attn.eval()(x, causal=True)[0])
