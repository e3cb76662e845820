"""Integrated attention: local band + pooled global branch + Q-learned per-token windows."""

import pytest
import torch

from echo_edu.attention import KVCache, attention_core, build_attention
from echo_edu.attention.integrated import pool_blocks
from echo_edu.errors import ConfigError


def make(windows=(4, 8, 16), pool=4, seed=0, **kw):
    torch.manual_seed(seed)
    return build_attention("integrated", 32, 4, windows=windows, global_pool=pool, **kw)


def _select_branch(attn, branch):
    """Make the fusion pass one branch through unchanged: out = [local ; global] → chosen half."""
    with torch.no_grad():
        eye = torch.eye(32)
        attn.fuse.weight.copy_(torch.cat([eye, torch.zeros(32, 32)] if branch == "local" else
                                         [torch.zeros(32, 32), eye], dim=1))
        attn.fuse.bias.zero_()


def _reference(attn, x, causal, branch):
    """Plain full multi-head attention with the layer's keys/values and the branch's queries."""
    call = attn.attn.prepare(x, causal=causal)
    q = attn.attn.project_query(x, call, attn.attn.query if branch == "local" else attn.global_query)
    out, _ = attention_core(q, call.k, call.v, causal=causal)
    return attn.attn.finish(out)


@pytest.mark.parametrize("causal", [True, False])
def test_window_at_least_length_local_branch_is_full_attention(causal):
    attn = make(windows=(24, 48)).eval()
    _select_branch(attn, "local")
    x = torch.randn(2, 20, 32)
    out, info = attn(x, causal=causal)
    assert (info["window"] >= 20).all()
    torch.testing.assert_close(out, _reference(attn, x, causal, "local"), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("causal", [True, False])
def test_pool_one_global_branch_is_standard_attention(causal):
    attn = make(pool=1).eval()
    _select_branch(attn, "global")
    x = torch.randn(2, 11, 32)
    out, _ = attn(x, causal=causal)
    torch.testing.assert_close(out, _reference(attn, x, causal, "global"), atol=1e-5, rtol=1e-5)


def test_pool_blocks_averages_real_keys_only():
    k = torch.arange(6.0).view(1, 1, 6, 1)
    kpm = torch.tensor([[True, True, True, True, True, False]])
    kp, vp, has = pool_blocks(k, k, kpm, 4)
    assert kp.flatten().tolist() == [1.5, 4.0] and has.tolist() == [[True, True]]


def test_prefix_block_means_match_a_loop():
    from echo_edu.attention.integrated import _prefix_block_means, _running_block_means

    k = torch.randn(2, 1, 11, 3, dtype=torch.float64)
    kpm = torch.ones(2, 11, dtype=torch.bool)
    kpm[1, 4] = False
    km, _, has = _prefix_block_means(_running_block_means(k, k, kpm, 4), offset=3, t=8)  # queries at 3..10
    for b in range(2):
        for i, t in enumerate(range(3, 11)):
            keys = [j for j in range(t - t % 4, t + 1) if kpm[b, j]]
            assert has[b, i] == bool(keys)
            if keys:
                torch.testing.assert_close(km[b, 0, i], k[b, 0, keys].mean(0))


def test_short_decoder_sequences_still_train_the_global_branch():
    """A causal query also sees its own partial block: with T = 12 and blocks of 8, queries 8..11 choose
    between block 0 and their own block (complete blocks alone would leave every row a single key)."""
    attn = make(pool=8).train()
    out, info = attn(torch.randn(2, 12, 32), causal=True)
    out.square().mean().backward()
    assert attn.global_query.weight.grad.abs().sum() > 0
    assert torch.isfinite(out).all()


def test_windows_are_chosen_per_token_and_change_the_output():
    attn = make().eval()
    x = torch.randn(2, 40, 32)
    out, info = attn(x, causal=True)
    assert info["window"].shape == (2, 40) and (info["window"] >= 4).all()
    # force every token to the narrowest window: the output must change (the choice is not hollow)
    attn.refiner.q_table.zero_()
    attn.refiner.q_table[:, 0] = 1.0
    out_narrow, info_narrow = attn(x, causal=True)
    assert (info_narrow["window"] == 4).all() and not torch.allclose(out, out_narrow)


def test_span_choice_is_causal_and_cached_decoding_matches():
    attn = make().eval()
    x = torch.randn(2, 19, 32)
    full, info = attn(x, causal=True)
    x2 = x.clone()
    x2[:, 12:] = torch.randn(2, 7, 32)
    out2, info2 = attn(x2, causal=True)
    torch.testing.assert_close(out2[:, :12], full[:, :12])
    assert torch.equal(info2["window"][:, :12], info["window"][:, :12])  # no future token in the span choice
    cache, steps, windows = KVCache(), [], []
    for t in range(19):
        out, step_info = attn(x[:, t:t + 1], causal=True, cache=cache)
        steps.append(out)
        windows.append(step_info["window"])
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-5)
    assert torch.equal(torch.cat(windows, 1), info["window"])


@pytest.mark.parametrize("batch", [1, 2])  # batch 1: the band mask broadcasts over heads instead of a copy
@pytest.mark.parametrize("causal", [True, False])
def test_blocked_long_sequence_path_equals_dense_path(causal, batch):
    attn = make().eval()
    x = torch.randn(batch, 50, 32)  # 50 > 2·max window: the blocked kernel runs when weights are not asked for
    fast, _ = attn(x, causal=causal)
    dense, info = attn(x, causal=causal, need_weights=True)
    torch.testing.assert_close(fast, dense, atol=1e-5, rtol=1e-5)
    # 13 blocks of 4 (+ the query's own partial block when causal)
    assert info["weights"].shape == (batch, 4, 50, 50)
    assert info["global_weights"].shape == (batch, 4, 50, 13 + causal)


@pytest.mark.parametrize("padded", [False, True])
def test_running_block_means_end_in_the_pooled_blocks(padded):
    """The causal global branch takes its pooled keys/values from the last row of the running means
    (one product with a (P, P) averaging matrix), so both must agree, short last block and padding included."""
    from echo_edu.attention.integrated import _running_block_means

    k, v = torch.randn(2, 3, 2, 11, 5, dtype=torch.float64).unbind(0)  # (B, H, L, d) = (3, 2, 11, 5)
    kpm = None
    if padded:
        kpm = torch.ones(3, 11, dtype=torch.bool)
        kpm[1, 4:8] = False  # a whole block without keys
        kpm[2, 9] = False
    km, vm, has = _running_block_means(k, v, kpm, 4)  # 3 blocks, the last one 3 long
    kp, vp, has_block = pool_blocks(k, v, kpm, 4)
    torch.testing.assert_close(km[:, :, :, -1], kp)
    torch.testing.assert_close(vm[:, :, :, -1], vp)
    assert torch.equal(has[:, :, -1].expand(3, -1), has_block)


def test_eval_is_deterministic_and_leaves_the_table_alone():
    attn = make(epsilon=0.5).eval()
    x = torch.randn(2, 30, 32)
    before = attn.refiner.q_table.clone()
    a, _ = attn(x, causal=True)
    b, _ = attn(x, causal=True)
    assert torch.equal(a, b) and torch.equal(attn.refiner.q_table, before)
    attn.train()
    attn(x, causal=True)
    assert not torch.equal(attn.refiner.q_table, before) and attn.refiner.visits.sum() == 60


def test_q_table_survives_state_dict_round_trip():
    attn = make().train()
    for _ in range(3):
        attn(torch.randn(2, 30, 32), causal=True)
    fresh = make(seed=1)
    fresh.load_state_dict(attn.state_dict())
    assert torch.equal(fresh.refiner.q_table, attn.refiner.q_table)
    assert torch.equal(fresh.refiner.visits, attn.refiner.visits)
    x = torch.randn(1, 30, 32)
    torch.testing.assert_close(fresh.eval()(x, causal=True)[0], attn.eval()(x, causal=True)[0])


def test_the_refiner_learns_inside_integrated_attention():
    """On a fixed input the best window of each state is computable by brute force; 40 training passes
    bring the greedy policy within 0.01 of that optimum, and above every fixed window."""
    attn = make(windows=(4, 8, 16, 32), epsilon=0.2)
    with torch.no_grad():
        attn.global_query.weight.mul_(6)  # peaky global attention, so different tokens want different windows
    x = torch.randn(4, 64, 32)
    state, rewards = attn.span_rewards(x, causal=True)  # (B, T), (B, T, A)
    S = attn.refiner.n_states
    per_state = torch.nn.functional.one_hot(state.flatten(), S).float().T @ rewards.flatten(0, 1)  # (S, A)
    oracle = per_state.max(-1).values.sum() / state.numel()
    best_fixed = rewards.mean((0, 1)).max()

    def policy_value():
        greedy = attn.refiner.greedy(torch.arange(S))
        return rewards.gather(-1, greedy[state][..., None]).mean()

    assert policy_value() < oracle - 0.01  # untrained: everything tied, the widest window
    attn.train()
    with torch.no_grad():
        for _ in range(40):
            attn(x, causal=True)
    assert policy_value() >= oracle - 0.01
    assert policy_value() > best_fixed + 0.01


def test_cross_attention_path_and_config_errors():
    attn = build_attention("integrated", 32, 4, context_dims=16).eval()
    out, info = attn(torch.randn(2, 5, 32), torch.randn(2, 9, 16), need_weights=True)
    assert out.shape == (2, 5, 32) and info["weights"].shape == (2, 4, 5, 9)
    with pytest.raises(ConfigError, match="windows"):
        build_attention("integrated", 32, 4, windows=(8, 4))
    with pytest.raises(ConfigError, match="global_pool"):
        build_attention("integrated", 32, 4, global_pool=0)


@pytest.mark.parametrize("kind", ["standard", "integrated"])
def test_eval_forward_traces_as_one_graph(kind):
    """No .item(), no host sync, no data-dependent Python branch: dynamo captures the whole eval forward.
    (Training-mode exploration draws from a torch.Generator, which dynamo cannot trace.)"""
    torch.manual_seed(0)
    options = {"windows": (4, 8), "global_pool": 4} if kind == "integrated" else {}
    attn = build_attention(kind, 32, 4, rotary={"theta": 10000.0}, **options).eval()
    x = torch.randn(2, 20, 32)
    compiled = torch.compile(attn, fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(x, causal=True)[0], attn(x, causal=True)[0])
