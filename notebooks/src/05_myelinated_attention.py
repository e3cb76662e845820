# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 05 · Myelinated attention: node importance, learned skips, working memory
#
# Myelin lets a nerve impulse *jump* from node to node instead of crawling along the whole axon. Echo's
# "myelinated" layer borrows the picture: a stack of attention **sub-layers** (the nodes), a small
# **policy** that decides per example which sub-layers to run and which to jump over, a per-token
# **importance** score that scales each update, and a **working memory** that carries a summary of the
# sequence from sub-layer to sub-layer.
#
# **What you'll learn**
#
# 1. Why the original version never trained (hard thresholds, `.item()`, a loop) and leaked the future.
# 2. Node importance: a soft per-token gate `s = σ(wᵀh + c)` on every sub-layer's update.
# 3. Skips that train: the straight-through binary Gumbel sample (hard forward, soft gradient, seeded).
# 4. A working memory that never looks ahead: the **prefix mean** in the decoder, exact under a KV cache.
# 5. Reading a layer with plots: important tokens, skipped sub-layers, memory over time.
# 6. Training the policy: it learns to skip every sub-layer on examples that do not need attention;
#    then a layer trained on real speech features skips silence, compared with its untrained self.
#
# **What you need:** lessons 02 (attention, masks, the KV cache) and 03 (rotary, the attention-map widget).

# %%
import torch
import torch.nn.functional as F

import echo_edu
from echo_edu.attention import KVCache, MyelinatedAttention, StandardAttention
from echo_edu.attention.pooling import running_mean, straight_through_bernoulli
from echo_edu.viz.attention import attention_map_static, attention_map_widget
from echo_edu.viz.myelinated import (myelinated_static, myelinated_widget, skip_rates_static, sublayer_maps)

gen = echo_edu.set_seed(0)
QUICK = echo_edu.quick_mode()
torch.set_printoptions(precision=3, sci_mode=False)

# %% [markdown]
# ## 1. What went wrong in the original
#
# The original `MyelinatedLayer` made every decision with a hard rule: a token counted as important if
# `σ(·) > 0.1`, a sub-layer ran if more than 30 % of tokens were important, a jump happened if *any*
# example drew a random number below the policy's probability — read with `.item()` inside a Python
# `while` loop. None of those steps has a gradient, so the importance predictors and the policy
# **never learned anything**. Its memory was a mean over *all* time steps, added to every position, so
# in the decoder a token could see the future. And it returned `x + update`, to which the block added
# `x` again.
#
# The version here keeps the ideas and makes each step differentiable, per example, and causal:
#
# ```
# x₀ = x;  for i in 0…L−1:
#     hᵢ = x₀ if i = 0 else LNᵢ(xᵢ)
#     aᵢ = Attnᵢ(hᵢ → keys/values of x₀, heads group i) own query + output projection per sub-layer
#     sᵢ = σ(wᵢᵀhᵢ + cᵢ)                             node importance, one per token
#     rᵢ ∈ {0, 1}                                    run / skip, from the policy
#     mᵢ = γᵢ·mᵢ₋₁ + (1 − γᵢ)·pool(xᵢ)               working memory, γᵢ = memory gate
#     xᵢ₊₁ = xᵢ + rᵢ·sᵢ·aᵢ + ρᵢ·mᵢ                   ρᵢ = memory read gate
# return x_L − x₀                                    the update; the block adds the residual once
# ```
#
# The heads are shared out among the nodes: keys and values are projected once for all `H` heads, and
# sub-layer `i` attends with its own group of `H/L` heads. Ordinary multi-head attention runs its heads
# side by side; here they run in sequence, each group's query reading a stream the groups before it have
# already updated. So the whole stack does the work of one standard attention plus small gates (a
# training step stays well within 2× of standard attention for any `L`; `heads` must be divisible by
# `layers`). The default is `layers=2`; here we build 4 sub-layers of one head each to see more.
# One small `Linear(dims, 3)` per sub-layer gives its three per-token gates at once: importance `s`,
# memory gate `γ` and read gate `ρ` (columns 0, 1, 2 of `layer.gates[i]`).

# %%
layer = MyelinatedAttention(dims=32, heads=4, layers=4, rotary={"theta": 100.0})
x = torch.randn(4, 12, 32, generator=gen)  # (B, T, D): 4 examples, 12 tokens
layer.eval()
with torch.no_grad():
    update, info = layer(x, need_weights=True)
print("update:", tuple(update.shape))
for name, value in info.items():
    print(f"  info[{name!r}]: {tuple(value.shape)}")

# %% [markdown]
# ## 2. Node importance, by hand
#
# Each sub-layer scores every token from its own normalised input: `s = σ(wᵀh + c)`. The score is
# soft, so the gradient reaches `w` and `c`; it multiplies the update, so a token the layer finds
# unimportant is barely changed. Sub-layer 0 reads the block input directly — let's recompute it.

# %%
with torch.no_grad():
    s0 = torch.sigmoid(layer.gates[0](x))[..., 0]  # (B, T); column 0 of the gates is importance
print(s0[0])
assert torch.allclose(s0, info["importance"][:, 0], atol=1e-6)

# %% [markdown]
# ## 3. Skips that can be trained: straight-through Gumbel
#
# The policy sees a pooled summary of the example and outputs one logit per sub-layer: "run it?". A
# two-way Gumbel-softmax reduces to one logistic noise `g = log u − log(1 − u)`, so during training
# `soft = σ((logit + g)/τ)` and the forward pass uses the hard decision `soft > 0.5`. The backward pass
# pretends we used `soft`: `hard + soft − soft.detach()`. In eval there is no noise: run iff `logit > 0`.

# %%
logits = torch.tensor([-2.0, 0.0, 0.5, 3.0], requires_grad=True)
decision, prob = straight_through_bernoulli(logits, training=True, generator=torch.Generator().manual_seed(1))
decision.sum().backward()
print("P(run)   ", prob.detach())
print("decision ", decision.detach(), " ← exactly 0 or 1")
print("gradient ", logits.grad, " ← non-zero: the policy can learn")
assert set(decision.detach().tolist()) <= {0.0, 1.0} and (logits.grad.abs() > 0).all()
assert torch.equal(straight_through_bernoulli(logits, training=False)[0], (logits > 0).float())

# %% [markdown]
# A skipped sub-layer is still *computed* — shapes never depend on data, which is what GPUs and
# `torch.compile` need — its update is simply multiplied by 0. So skipping is a routing decision.
# Forcing the policy to skip everything changes the output; that is the test that keeps the mechanism honest.

# %%
with torch.no_grad():
    bias = layer.policy[-1].bias.clone()
    layer.policy[-1].bias.fill_(-20.0)  # skip every sub-layer
    skipped, info_skip = layer(x)
    layer.policy[-1].bias.copy_(bias)
print("skip decisions now:", info_skip["skip"][0, :, 0].tolist())
print("output change:", (skipped - update).abs().mean().item())
assert not torch.allclose(skipped, update, atol=1e-4)

# %% [markdown]
# ## 4. Working memory that never looks ahead
#
# The memory mixes the previous memory with a pooled summary of the stream. In the encoder the summary
# can be the mean over the whole sequence. In the decoder that would leak: position 3 would "know"
# about token 11. The decoder uses the **prefix mean** `cumsum(x)/t` instead — the same function with
# `causal=True`. Change the last token and compare:

# %%
y = x.clone()
y[:, -1] += 10.0
full_x, full_y = running_mean(x, causal=False), running_mean(y, causal=False)        # (B, 1, D)
prefix_x, prefix_y = running_mean(x, causal=True), running_mean(y, causal=True)      # (B, T, D)
print("whole-sequence mean moved by", (full_y - full_x).abs().max().item(), "— at every position")
print("prefix mean moved at positions 0…10 by", (prefix_y - prefix_x)[:, :-1].abs().max().item())
assert torch.equal(prefix_y[:, :-1], prefix_x[:, :-1])

# %% [markdown]
# The whole layer in decoder mode: perturbing tokens from position 6 on leaves positions 0–5 untouched,
# and decoding token by token with a KV cache (which carries the running sums in `cache.state`) gives
# exactly the full pass.

# %%
with torch.no_grad():
    out_x, info_x = layer(x, causal=True)
    z = x.clone()
    z[:, 6:] = torch.randn(4, 6, 32, generator=gen) * 3
    out_z, info_z = layer(z, causal=True)
    cache = KVCache()
    stepwise = torch.cat([layer(x[:, t:t + 1], causal=True, cache=cache)[0] for t in range(12)], dim=1)
print("largest change before position 6:", (out_z - out_x)[:, :6].abs().max().item())
print("cache vs full pass:", (stepwise - out_x).abs().max().item(), "| cache state:", sorted(cache.state))
assert torch.allclose(out_z[:, :6], out_x[:, :6], atol=1e-5)
assert torch.allclose(stepwise, out_x, atol=1e-5)

# %% [markdown]
# ## 5. Looking inside
#
# Top: the importance of every token in every sub-layer (a red × marks a skipped cell). Middle: the
# memory gate γ — close to 1 means "keep the old memory", close to 0 "write the new summary". Bottom:
# the size of the memory. In decoder mode the summary is a prefix mean, so memory settles as the
# sequence goes on. A static picture first, then the widget, which runs the layer again for what you
# pick: the example; decoder or encoder mode (in decoder mode the summary is the prefix mean, so in
# example 0 sub-layer 0's memory norm falls from 3.8 at the first token to 0.6 at the last; in encoder
# mode every position gets the whole sequence's mean and it stays between 0.4 and 0.9); and the policy's
# run bias. This layer starts at +2 and runs everything; at 0 it skips sub-layers 0, 1 and 3 of example
# 0 — a whole row of crosses each, since the policy decides once per example and sub-layer — and at
# −0.5 all four. The layer is untrained: section 6 trains the policy, and the speech widget at its end
# shows trained gates on real log-mel.

# %%
with torch.no_grad():
    _, info_dec = layer(x, causal=True, need_weights=True)
myelinated_static(info_dec, example=0);

# %%
myelinated_widget(layer, x)

# %% [markdown]
# Each sub-layer has its own query and heads, so each has its own attention maps over the same tokens
# (here one head per sub-layer). The attention-map widget of lesson 03 takes them directly.

# %%
maps = sublayer_maps(info_dec)
attention_map_static(maps, layer="sub-layer 2", head="mean", example=0);

# %%
attention_map_widget(maps)

# %% [markdown]
# ## 6. Teaching the policy when to jump
#
# A task with two kinds of examples. **Hard** ones (channel 0 = +2) must output the mean of the whole
# sequence at every position (times 4). **Easy** ones (channel 0 = −2) must output nothing. Two paths
# can carry a mean: attention (uniform weights) and the working memory, whose pooled summary *is* the
# sequence mean — and a skip turns off only the attention updates, never the memory. So attention is
# not the only way to the answer; the cell after training measures how far the memory alone gets.
# A `compute_cost` adds `cost · P(run)` to the loss (`info["aux_loss"]`), so running a sub-layer must
# pay for itself. The policy should learn to run everything on hard examples and jump over everything
# on easy ones. (The policy gets its own learning rate, 5e-3 against 3e-3 for the rest; exercise 2
# measures what a much faster policy does.)

# %%
def routing_batch(batch=32, T=16, D=32):
    """x (B, T, D), target (B, T, D) and which examples are hard (B,)."""
    x = torch.randn(batch, T, D, generator=gen)
    hard = torch.rand(batch, generator=gen) < 0.5
    x[:, :, 0] = torch.where(hard, 2.0, -2.0)[:, None]
    target = torch.where(hard[:, None, None], 4 * x.mean(1, keepdim=True).expand(-1, T, -1), torch.zeros_like(x))
    return x, target, hard


torch.manual_seed(0)
router = MyelinatedAttention(32, 4, layers=2, compute_cost=0.1)
policy_params = list(router.policy.parameters())
others = [p for n, p in router.named_parameters() if not n.startswith("policy.")]
opt = torch.optim.Adam([{"params": others, "lr": 3e-3}, {"params": policy_params, "lr": 5e-3}])
history = []
for step in range(130 if QUICK else 400):
    xb, target, hard = routing_batch()
    out, info_r = router(xb)
    loss = F.mse_loss(out, target) + info_r["aux_loss"]
    opt.zero_grad()
    loss.backward()
    opt.step()
    p_skip = info_r["skip_prob"][:, :, 0]  # (B, L): one decision per example and sub-layer
    history.append((loss.item(), p_skip[hard].mean().item(), p_skip[~hard].mean().item()))
print("step   loss   P(skip | hard)   P(skip | easy)")
for step in range(0, len(history), max(1, len(history) // 6)):
    print(f"{step:4d}  {history[step][0]:.3f}        {history[step][1]:.2f}             {history[step][2]:.2f}")

# %%
router.eval()
xb, target, hard = routing_batch()
with torch.no_grad():
    _, info_eval = router(xb)
skip_hard = {k: v[hard] for k, v in info_eval.items() if v.dim() > 0}  # per-example entries of the hard ones
skip_easy = {k: v[~hard] for k, v in info_eval.items() if v.dim() > 0}
print("eval skip rate per sub-layer — hard:", skip_hard["skip"].mean((0, 2)).tolist(),
      " easy:", skip_easy["skip"].mean((0, 2)).tolist())
assert skip_hard["skip"].mean() < 0.2 and skip_easy["skip"].mean() > 0.8
skip_rates_static(skip_hard, title="Hard examples: sub-layers skipped");

# %%
skip_rates_static(skip_easy, title="Easy examples: sub-layers skipped");

# %% [markdown]
# How much of the hard examples' answer comes from attention? Force the policy open (run every
# sub-layer) or shut (skip every one) and compare the loss on hard examples with outputting zeros.
# Skipping everything still leaves the memory's mean, which gets part of the way.

# %%
def hard_loss(policy_bias):
    """MSE on the hard examples of the batch with every sub-layer forced to run (+60) or skip (-60)."""
    saved = router.policy[-1].bias.detach().clone()
    with torch.no_grad():
        router.policy[-1].bias.fill_(policy_bias)
        out_forced, _ = router(xb)
        router.policy[-1].bias.copy_(saved)
    return F.mse_loss(out_forced[hard], target[hard]).item()


forced = {"run all": hard_loss(60.0), "skip all (memory only)": hard_loss(-60.0),
          "output zeros": target[hard].pow(2).mean().item()}
for name, value in forced.items():
    print(f"hard-example loss, {name:22s} {value:.3f}")
assert forced["run all"] < forced["skip all (memory only)"] < forced["output zeros"]

# %% [markdown]
# ### The same gates on real speech
#
# Everything so far ran on random vectors. Now real features: the log-mel (lesson 04 builds it) of the
# bundled synthetic clips in `assets/samples/`, each padded with 0.3 s of silence, measured above the
# clip's floor so digital silence is 0. A clip is cut into windows of 24 frames (0.24 s), one example
# each; a frame counts as **speech** when its mean over the 80 bands exceeds 0.6. The layer must output,
# on every speech frame, the mean of its window's speech frames, and 0 on silence. So the gates have
# something to learn: skipping a window without speech saves the compute cost and loses nothing, and a
# silent frame inside a speech window needs its update switched off. This layer has no working memory
# (`memory=False`): the memory carries a mean of its own that no skip turns off (the cell before
# measured how far it gets on the routing task), and we want the answer to have to come through the gates. `train_speech_gates` trains on the twelve training clips (clean, and with white noise at
# 30 and 15 dB SNR) and returns the layer before training too, from the same initial weights.

# %%
from echo_edu.data.locate import find_data_root
from echo_edu.experiments.speech_gates import SAMPLES, clip_features, gate_report, train_speech_gates
from echo_edu.viz.myelinated import speech_gates_static, speech_gates_widget

speech_layer, untrained_layer, speech_history = train_speech_gates(steps=150, seed=0)
print(f"training loss {speech_history[0]:.3f} → {speech_history[-1]:.3f}")
clips = {"held-out piper voice": SAMPLES / "digits_heldout_piper_0.flac",
         "held-out espeak voice": SAMPLES / "digits_heldout_espeak_0.flac"}
data_root = find_data_root("an4")
if data_root is not None:   # a real person (AN4 test set) when ../shared/data or $ECHO_EDU_DATA has it
    clips["AN4 test speaker (real)"] = sorted((data_root / "an4" / "wav" / "an4test_clstk").glob("*/*.flac"))[0]
else:
    print("no AN4 recordings here (set ECHO_EDU_DATA): the real-speech row is left out")
print(f"{'clip':24s} {'weights':10s} skip: silence  speech   importance: silence  speech   MSE")
reports = {}
for clip_name, path in clips.items():
    features = clip_features(path)
    for weights, net in (("untrained", untrained_layer), ("trained", speech_layer)):
        r = reports[clip_name, weights] = gate_report(net, features)
        print(f"{clip_name:24s} {weights:10s} {r['skip_silence']:8.0%} {r['skip_speech']:8.0%} "
              f"{r['importance_silence']:14.2f} {r['importance_speech']:8.2f}   {r['mse']:.3f}")
for clip_name in clips:
    before, after = reports[clip_name, "untrained"], reports[clip_name, "trained"]
    assert before["skip_silence"] == 0 and after["skip_silence"] > 0.5 and after["skip_speech"] < 0.1
    assert after["mse"] < 0.3 * before["mse"] and after["importance_speech"] < before["importance_speech"] - 0.2

# %% [markdown]
# Read the table: the untrained policy runs every sub-layer on every window (its run logit starts at
# +0.5). After training it skips most of the silent windows and none with speech — on voices and, when
# the AN4 row is there, a real speaker it never heard. Importance moved too: on speech frames it fell
# by more than 0.2 from the untrained layer's value (the output projection can make up any scale, so a
# smaller gate costs nothing). Compare its value on silent and on speech frames row by row, and
# remember exercise 4's point: on a skipped window importance gets no gradient at all, so its value there
# is whatever it drifted to. The MSE column is the task itself: training cut it several-fold. The widget runs
# the layer again for the clip, weights and added noise you pick: watch the crosses (skipped
# sub-layers) sit on the silent stretches, and the noise turn silence into something the policy
# must judge.

# %%
speech_gates_static(reports["held-out piper voice", "trained"], title="held-out piper voice · trained");

# %%
speech_gates_widget(clips, {"trained": speech_layer, "untrained": untrained_layer})

# %% [markdown]
# ## 7. A sanity anchor: one sub-layer with open gates *is* standard attention
#
# Sub-layer 0 uses the ordinary projections. With one sub-layer, no memory, importance and policy
# forced open, the layer must match `StandardAttention` with the same weights — a check that nothing
# else sneaks into the computation.

# %%
std = StandardAttention(32, 4, rotary={"theta": 100.0}).eval()
one = MyelinatedAttention(32, 4, rotary={"theta": 100.0}, layers=1, memory=False).eval()
one.load_state_dict(std.state_dict(), strict=False)
with torch.no_grad():
    one.gates[0].weight.zero_()
    one.gates[0].bias.fill_(60.0)
    one.policy[-1].bias.fill_(60.0)
    assert torch.allclose(one(x, causal=True)[0], std(x, causal=True)[0], atol=1e-5)
print("one open sub-layer == standard attention")

# %% [markdown]
# ## Summary
#
# * A myelinated layer runs `L` attention sub-layers in sequence over shared keys and values; each has its
#   own query and its own group of `H/L` heads, so the stack costs about one standard attention.
# * **Node importance** `σ(wᵀh + c)` scales each token's update — soft, so it trains.
# * **Skips** come from a small policy; the straight-through binary Gumbel sample gives hard decisions
#   in the forward pass and gradients in the backward pass. Training noise is seeded; eval is
#   deterministic. Shapes never change, so a skip is routing, not a speed-up.
# * The **working memory** is a gated mix of a pooled summary; in the decoder the summary is a prefix
#   mean, so nothing leaks from the future, and a KV cache carries the running sums.
# * The layer returns the update only; the block adds the residual once.
# * With a compute cost the policy learns **per-example** routing: jump over everything when attention
#   is not needed. Skipping never turns off the memory, which carries a mean of its own.
#
# ## Exercises
#
# `echo_edu.exercises.myelinated_attention` has section 6's task and loop as functions, `routing_batch(generator)` and
# `train_router(compute_cost, policy_lr, steps, seed) -> (router, history, generator)`, so each run below
# takes about a second.
#
# 1. Train the router with `compute_cost=0.0`, for three seeds, next to the lesson's `0.1`. What happens to
#    `P(skip | easy)` (mean of the last 20 steps) and to the hard examples' skip rate, and why does the
#    policy learn to skip at all when skipping saves nothing? Check with
#    `check_no_cost(easy_free, easy_paid, hard_free)` (lists, one entry per seed).
# 2. Give the policy a learning rate of `1e-1` (the rest keeps `3e-3`) and read `P(skip | hard)` after 30
#    steps, for seeds 0–4; compare with the lesson's `5e-3`. Explain the "death spiral": on a batch where
#    the fast router skips every sub-layer, what gradient do the sub-layers' queries get, and what can still
#    bring them back? `check_death_spiral(fast, slow, query_grad, policy_grad)`.
# 3. Make the pooling use the whole-sequence mean in decoder mode (`running_mean(..., causal=False)`; patch
#    the function the layer calls). Run the perturbation test of section 4 and watch it fail:
#    `check_future_leak(change_causal, change_leaky)`.
# 4. The importance score is computed per sub-layer. Compare `info["importance"]` of the trained router on
#    easy and hard examples with `info["skip"]`. Does importance also separate them? Why might it not need
#    to? (Hint: what gradient does `s` get on an example whose sub-layer is skipped?)
#    `check_importance(importance_hard, importance_easy, skip_hard, skip_easy, importance_grad_skipped)`.
#
# Worked solutions follow, one collapsed cell each (click to expand; try first).

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1: the same router with and without the cost, three seeds.
from echo_edu.exercises.myelinated_attention import check_no_cost, routing_batch, train_router

easy_free, easy_paid, hard_free = [], [], []
for seed1 in range(3):
    for cost1, easy1 in ((0.0, easy_free), (0.1, easy_paid)):
        router1, history1, gen1 = train_router(compute_cost=cost1, seed=seed1)
        easy1.append(sum(e for _, e in history1[-20:]) / 20)
        if cost1 == 0.0:
            router1.eval()
            x1, _, hard1 = routing_batch(gen1)
            hard_free.append(router1(x1)[1]["skip"][hard1].mean().item())
print("P(skip | easy) without cost", [round(v, 2) for v in easy_free], " with", [round(v, 2) for v in easy_paid])
print("eval skip rate on hard examples without cost", hard_free)
# An easy example's target is 0: every attention update there is pure error, so the MSE alone pushes the
# policy towards "skip". The cost adds a constant push on top; it speeds the routing up, it does not create it.
assert check_no_cost(easy_free, easy_paid, hard_free)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 2: a fast policy, five seeds; then the gradients of a router that has shut its sub-layers.
import torch.nn.functional as F
from echo_edu.exercises.myelinated_attention import check_death_spiral, routing_batch, train_router

fast, slow = [], []
for seed2 in range(5):
    fast.append(train_router(policy_lr=1e-1, steps=30, seed=seed2)[1][-1][0])
    slow.append(train_router(policy_lr=5e-3, steps=30, seed=seed2)[1][-1][0])
print("P(skip | hard) after 30 steps, lr 1e-1:", [round(v, 2) for v in fast], " 5e-3:", [round(v, 2) for v in slow])

dead, _, gen2 = train_router(policy_lr=1e-1, steps=30, seed=max(range(5), key=fast.__getitem__))
for _ in range(20):                          # a training batch on which every sub-layer was skipped
    x2, target2, _ = routing_batch(gen2)
    out2, info2 = dead(x2)
    if info2["skip"].min() == 1:
        break
dead.zero_grad()
F.mse_loss(out2, target2).backward()
query_grad = (dead.query.weight.grad.norm() + dead.queries[0].weight.grad.norm()).item()
policy_grad = sum(p.grad.norm() for p in dead.policy.parameters()).item()
print(f"all skipped: {bool(info2['skip'].min() == 1)}; query gradient {query_grad}, policy gradient {policy_grad:.2e}")
# r = 0 multiplies the update, so the attention gets no gradient and cannot improve; the straight-through
# gradient still tells the policy how much the (computed but unused) update would have helped.
assert check_death_spiral(fast, slow, query_grad, policy_grad)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 3: the layer calls `running_mean` from its own module; patch it there to ignore `causal`.
import torch
import echo_edu.attention.myelinated as myelinated3
from echo_edu.attention import MyelinatedAttention
from echo_edu.attention.pooling import running_mean
from echo_edu.exercises.myelinated_attention import check_future_leak


def whole_mean(x, valid=None, *, causal=False, cache=None, name=None):
    return running_mean(x, valid, causal=False)                # (B, 1, D): sees every position


gen3 = torch.Generator().manual_seed(0)
layer3 = MyelinatedAttention(dims=32, heads=4, layers=4, rotary={"theta": 100.0}).eval()
x3 = torch.randn(4, 12, 32, generator=gen3)
z3 = x3.clone()
z3[:, 6:] = torch.randn(4, 6, 32, generator=gen3) * 3
changes = {}
for name3, pool3 in (("causal", running_mean), ("leaky", whole_mean)):
    myelinated3.running_mean = pool3
    with torch.no_grad():
        changes[name3] = (layer3(z3, causal=True)[0] - layer3(x3, causal=True)[0])[:, :6].abs().max().item()
myelinated3.running_mean = running_mean                         # undo the patch
print(changes)
assert check_future_leak(changes["causal"], changes["leaky"])

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 4: importance against skips on the trained router; then the importance gradient where it skips.
import torch
import torch.nn.functional as F
from echo_edu.exercises.myelinated_attention import check_importance, routing_batch, train_router

router4, _, gen4 = train_router()
router4.eval()
x4, target4, hard4 = routing_batch(gen4)
with torch.no_grad():
    info4 = router4(x4)[1]
imp_hard, imp_easy = info4["importance"][hard4].mean().item(), info4["importance"][~hard4].mean().item()
skip_hard, skip_easy = info4["skip"][hard4].mean().item(), info4["skip"][~hard4].mean().item()
print(f"importance hard {imp_hard:.2f} easy {imp_easy:.2f} | skip rate hard {skip_hard:.2f} easy {skip_easy:.2f}")

router4.train()
with torch.no_grad():
    router4.policy[-1].bias.fill_(-60.0)                        # every sub-layer skipped
router4.zero_grad()
out4 = router4(x4[~hard4])[0]
F.mse_loss(out4, target4[~hard4]).backward()
imp_grad = router4.gates[0].weight.grad[0].norm().item()        # row 0 of the gates: importance
print("importance gradient on skipped easy examples:", imp_grad)
assert check_importance(imp_hard, imp_easy, skip_hard, skip_easy, imp_grad)
#
# ## Questionnaire
#
# 1. Why does `hard + soft − soft.detach()` have the value of `hard` and the gradient of `soft`?
# 2. What shape does `info["skip"]` have for a batch of 4, 4 sub-layers and 12 tokens, and why is it
#    constant along the token axis in the encoder but not in the decoder?
# 3. What two running tensors does the KV cache need for the memory to stay exact while decoding?

# %% [markdown]
# ## Experiment: does myelination help?
#
# Everything above shows that the layer *works*: its skips train, its memory never looks ahead, a cache
# reproduces the full pass. None of it shows that the layer *helps*. This section asks that, the way an
# experiment should be run, with `echo_edu.experiments` (the same helper ends lessons 06 and 07, and
# lesson 09 collects the three verdicts):
#
# 1. **The plan is fixed first**: one task, two arms, one metric, a fixed budget of training steps, at
#    least five seeds, and the rule that turns the numbers into a verdict.
# 2. **You write down a prediction** before any number exists. Otherwise every outcome looks obvious
#    afterwards.
# 3. **Both arms train once per seed** with the same batches and are scored on the same held-out
#    examples, so each seed gives one paired difference.
# 4. **The verdict is read off a 95 % confidence interval** of the mean difference, never typed in.
#
# The task is section 6's routing task. The baseline is standard attention of the same width and heads:
# it has no policy and no gates, so it can reweight its values but cannot switch its update off on an
# example.

# %%
from echo_edu.experiments import VERDICTS, myelinated_routing, save_result

experiment = myelinated_routing(quick=QUICK)
print(experiment.plan())

# %% [markdown]
# **Your prediction.** Before you run the cell after this one, set `my_prediction` to one of the three
# verdicts. (What must a layer output on an easy example, and which of the two arms can do that?)

# %%
my_prediction = None  # one of VERDICTS, e.g. "helps"
print("choices:", VERDICTS)

# %% [markdown]
# How the numbers are read: for seed `i` the difference `dᵢ = MSE(myelinated) − MSE(standard)`, then the
# mean `d̄`, the standard deviation `s` and the interval `d̄ ± t · s/√n`, where `t` comes from Student's t
# distribution with `n − 1` degrees of freedom (2.776 for five seeds, more than the normal's 1.96,
# because `s` itself is estimated from five numbers). Negative differences favour the mechanism.
# `echo_edu.experiments.stats` computes t from its closed form, no tables. Quick mode runs five seeds;
# the full version runs more seeds for more steps, with a progress bar (a minute or two).

# %%
result = experiment.run(progress=not QUICK)
save_result(experiment, result)  # lesson 09 collects it
print(result.report(prediction=my_prediction))
assert len(result.seeds) >= 5 and result.interval.low <= result.interval.mean <= result.interval.high

# %% [markdown]
# The verdict printed above holds for *this task at this budget*, nothing more: another task, a longer
# run or a bigger model can come out differently, and lesson 09 sets it beside the other verdicts and the
# ablation on speech. Why at least five seeds? With two, the interval's multiplier is t = 12.7, and the
# gap between two seeds is often no larger than their spread: two seeds within one standard deviation is
# not a result. If your prediction and the verdict disagree, find the step of your reasoning that the
# numbers contradict: that is what the experiment taught you.
