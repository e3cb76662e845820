"""Banded sliding-window masks and local attention, checked against explicit loops."""

import math

import pytest
import torch

from echo_edu.attention import attention_core, band_mask, blocked_local_attention, local_attention, window_buckets


def reference_band(t_q, t_k, window, causal, offset):
    """The definition, one (query, key) pair at a time."""
    m = torch.zeros(t_q, t_k, dtype=torch.bool)
    for i in range(t_q):
        p = offset + i
        for j in range(t_k):
            m[i, j] = (0 <= p - j < window) if causal else (abs(p - j) < window)
    return m


def reference_local(q, k, v, windows, causal, kpm=None):
    """Sliding-window attention with a loop over examples, heads and queries. windows: (B, T) ints."""
    B, H, T, d = q.shape
    out = torch.zeros_like(q)
    for b in range(B):
        for h in range(H):
            for i in range(T):
                keys = [j for j in range(T) if ((0 <= i - j < windows[b][i]) if causal else abs(i - j) < windows[b][i])
                        and (kpm is None or kpm[b, j])]
                if not keys:
                    continue
                s = torch.stack([q[b, h, i] @ k[b, h, j] for j in keys]) / math.sqrt(d)
                p = torch.softmax(s, 0)
                out[b, h, i] = sum(p[n] * v[b, h, j] for n, j in enumerate(keys))
    return out


@pytest.mark.parametrize("causal", [True, False])
def test_band_mask_matches_reference_loop(causal):
    g = torch.Generator().manual_seed(1)
    for _ in range(20):
        t_k = int(torch.randint(1, 12, (1,), generator=g))
        t_q = int(torch.randint(1, t_k + 1, (1,), generator=g))
        w = int(torch.randint(1, 14, (1,), generator=g))
        mask = band_mask(t_q, t_k, w, causal=causal)
        assert torch.equal(mask, reference_band(t_q, t_k, w, causal, t_k - t_q)), (t_q, t_k, w)
        assert mask.any(-1).all() or not causal  # causal rows always keep themselves
        assert band_mask(t_q, t_k, w, causal=False).any(-1).all()


def test_per_example_and_per_query_windows():
    w_b = torch.tensor([1, 3])
    m = band_mask(4, 4, w_b, causal=True, batch=2)
    assert m.shape == (2, 1, 4, 4)
    assert torch.equal(m[0, 0], reference_band(4, 4, 1, True, 0))
    assert torch.equal(m[1, 0], reference_band(4, 4, 3, True, 0))
    w_t = torch.tensor([[1, 2, 3, 4], [4, 4, 1, 1]])
    m = band_mask(4, 4, w_t, causal=False, batch=2)
    for b in range(2):
        for i in range(4):
            assert torch.equal(m[b, 0, i], reference_band(4, 4, int(w_t[b, i]), False, 0)[i])


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("T", [5, 13])
def test_local_attention_dense_and_blocked_match_reference_loop(causal, T):
    g = torch.Generator().manual_seed(T)
    B, H, d, max_w = 2, 2, 4, 4
    q, k, v = torch.randn(3, B, H, T, d, generator=g, dtype=torch.float64).unbind(0)
    windows = torch.randint(1, max_w + 1, (B, T), generator=g)
    kpm = torch.ones(B, T, dtype=torch.bool)
    kpm[1, -2:] = False
    ref = reference_local(q, k, v, windows.tolist(), causal, kpm)
    dense, w = local_attention(q, k, v, windows, max_window=max_w, causal=causal, key_padding_mask=kpm,
                               need_weights=True)
    blocked = blocked_local_attention(q, k, v, windows, block=max_w, causal=causal, key_padding_mask=kpm)
    torch.testing.assert_close(dense, ref)
    torch.testing.assert_close(blocked, ref)
    assert w.shape == (B, H, T, T)
    # weights are zero outside the band
    outside = ~band_mask(T, T, windows, causal=causal, batch=B)
    assert (w.masked_select(outside.expand_as(w)) == 0).all()


@pytest.mark.parametrize("causal", [True, False])
def test_blocked_path_with_int_and_per_example_windows(causal):
    q, k, v = torch.randn(3, 3, 2, 23, 8, dtype=torch.float64).unbind(0)
    for window in (3, torch.tensor([1, 4, 8])):
        dense, _ = local_attention(q, k, v, window, max_window=8, causal=causal, blocked=False)
        blocked, _ = local_attention(q, k, v, window, max_window=8, causal=causal, blocked=True)
        torch.testing.assert_close(blocked, dense)
    # an int window wider than the block meets r = ⌈w/C⌉ blocks on each side (here 3, padding included)
    kpm = torch.ones(3, 23, dtype=torch.bool)
    kpm[1, 19:] = False
    dense, _ = local_attention(q, k, v, 7, max_window=8, causal=causal, key_padding_mask=kpm, blocked=False)
    for block in (3, 4, 7):
        wide = blocked_local_attention(q, k, v, 7, block=block, causal=causal, key_padding_mask=kpm)
        torch.testing.assert_close(wide, dense)


@pytest.mark.parametrize("causal", [True, False])
def test_window_at_least_length_equals_full_attention(causal):
    q, k, v = torch.randn(3, 2, 2, 9, 8, dtype=torch.float64).unbind(0)
    full, _ = attention_core(q, k, v, causal=causal)
    for blocked in (False, True):
        local, _ = local_attention(q, k, v, 9, max_window=9, causal=causal, blocked=blocked)
        torch.testing.assert_close(local, full)
    # and a window shorter than the sequence really differs
    short, _ = local_attention(q, k, v, 2, max_window=9, causal=causal)
    assert not torch.allclose(short, full)


def test_band_mask_with_cache_offset():
    # one query at absolute position 6 of a 7-key cache, window 3: keys 4, 5, 6
    m = band_mask(1, 7, 3, causal=True)
    assert m[0].nonzero().flatten().tolist() == [4, 5, 6]


def test_window_buckets_are_static_sorted_and_never_zero():
    assert window_buckets(64, 4) == (8, 16, 32, 64)
    assert window_buckets(4, 4) == (1, 2, 4)  # duplicates collapse
    assert min(window_buckets(3, 8)) >= 1
