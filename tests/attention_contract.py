"""Checks every attention type must pass (the contract of docs/interfaces.md), shared by the test files.

Each function builds nothing itself: it takes a module (or a factory) and raises AssertionError with a
message naming what broke.
"""

from __future__ import annotations

import pytest
import torch

from echo_edu.attention import KVCache


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread; several threads crawl on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def check_causal(module, x: torch.Tensor, cut: int, **kwargs) -> None:
    """Perturbing tokens ≥ ``cut`` leaves outputs < ``cut`` unchanged (decoder mode, eval)."""
    module.eval()
    with torch.no_grad():
        out, _ = module(x, causal=True, **kwargs)
        y = x.clone()
        y[:, cut:] = torch.randn_like(y[:, cut:]) * 3
        out2, _ = module(y, causal=True, **kwargs)
    torch.testing.assert_close(out2[:, :cut], out[:, :cut], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(out2[:, cut:], out[:, cut:]), "future tokens changed nothing at all"


def check_cache_equals_recompute(module, x: torch.Tensor, chunks=(1,), context=None) -> None:
    """Decoding chunk by chunk with a KVCache equals one full pass (eval, causal self-attention or cross)."""
    module.eval()
    causal = context is None
    with torch.no_grad():
        full, _ = module(x, context, causal=causal)
        cache, outs, t, i = KVCache(), [], 0, 0
        while t < x.shape[1]:
            step = chunks[i % len(chunks)]
            outs.append(module(x[:, t:t + step], context, causal=causal, cache=cache)[0])
            t, i = t + step, i + 1
    torch.testing.assert_close(torch.cat(outs, 1), full, atol=1e-5, rtol=1e-4)


def check_batch_independent(module, x: torch.Tensor, causal: bool) -> None:
    """Each example's output is the same alone (B = 1) as inside the batch (eval)."""
    module.eval()
    with torch.no_grad():
        out, _ = module(x, causal=causal)
        for b in range(x.shape[0]):
            alone, _ = module(x[b:b + 1], causal=causal)
            torch.testing.assert_close(alone[0], out[b], atol=1e-5, rtol=1e-5)


def check_eval_deterministic(module, x: torch.Tensor, **kwargs) -> None:
    module.eval()
    with torch.no_grad():
        a, _ = module(x, **kwargs)
        b, _ = module(x, **kwargs)
    assert torch.equal(a, b)


def check_every_parameter_learns(module, x: torch.Tensor, **kwargs) -> None:
    """One training step gives every parameter a non-zero gradient (no dead sub-modules)."""
    module.train()
    module.zero_grad()
    out, info = module(x, **kwargs)
    loss = out.pow(2).mean() + info.get("aux_loss", out.new_zeros(()))
    loss.backward()
    dead = [n for n, p in module.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not dead, f"parameters without gradient: {dead}"


def check_cross_uses_context(module, x: torch.Tensor, context: torch.Tensor) -> None:
    """Cross-attention output depends on the context (it truly attends to it)."""
    module.eval()
    with torch.no_grad():
        a, _ = module(x, context)
        b, _ = module(x, context + torch.randn_like(context))
    assert not torch.allclose(a, b, atol=1e-4)


def check_dtype_device(module, x: torch.Tensor, dtype: torch.dtype, device, **kwargs) -> dict:
    """Runs in ``dtype`` on ``device``; output keeps both and is finite. Returns ``info``."""
    module = module.to(device=device, dtype=dtype).eval()
    out, info = module(x.to(device=device, dtype=dtype), **kwargs)
    assert out.dtype == dtype and out.device.type == torch.device(device).type
    assert torch.isfinite(out.float()).all()
    return info
