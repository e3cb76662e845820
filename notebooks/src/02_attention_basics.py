# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 03 · Attention from scratch: masks, heads, rotary, caches
#
# Every Echo layer — standard, myelinated, integrated, adaptive — is a variation on one operation:
# *scaled dot-product attention*. This lesson builds it by hand, checks it against `echo_edu.attention`,
# and introduces the attention-map widget that later lessons reuse.
#
# **What you'll learn**
#
# 1. `softmax(q kᵀ / √d) v`, written out, and why the `1/√d` is there.
# 2. Boolean masks with one convention — **True = may attend** — for causality, padding and sliding windows.
# 3. Multi-head attention: splitting the width into heads, and the `(B, H, T, d)` layout.
# 4. Rotary embeddings *inside* attention: scores that depend on relative position only.
# 5. The KV cache: decoding token by token gives exactly the full pass.
# 6. Reading attention maps of a tiny trained model with a widget (layer / head / example, hover for weights).
#
# **What you need:** lesson 02 (rotary), matrix products, softmax.

# %%
import math

import torch
import torch.nn.functional as F
from torch import nn

import echo_edu
from echo_edu.attention import (KVCache, attention_core, band_mask, build_attention, causal_mask, combine_masks,
                                lengths_to_padding_mask, padding_mask, split_heads)
from echo_edu.viz.attention import (attention_map_static, attention_map_widget, masks_figure, masks_static)

gen = echo_edu.set_seed(0)
QUICK = echo_edu.quick_mode()
torch.set_printoptions(precision=3, sci_mode=False)

# %% [markdown]
# ## 1. Attention by hand
#
# Each query asks "which keys look like me?". The answer is a probability distribution over keys,
# `softmax(q·k / √d)`, and the output is the matching average of the values. Without the `1/√d`, dot
# products of random `d`-dimensional vectors grow like `√d`, the softmax saturates and gradients vanish.

# %%
T, d = 5, 8
q, k, v = torch.randn(3, T, d, generator=gen).unbind(0)

scores = q @ k.T / math.sqrt(d)          # (T_q, T_k): how well each query matches each key
weights = torch.softmax(scores, dim=-1)  # each row is a distribution over keys
out = weights @ v                        # (T_q, d): weighted average of the values
print(weights)

lib_out, lib_weights = attention_core(q, k, v, need_weights=True)   # explicit path, returns weights
fused_out, _ = attention_core(q, k, v)                              # fused SDPA path, no weights
assert torch.allclose(weights.sum(-1), torch.ones(T))
assert torch.allclose(out, lib_out, atol=1e-6) and torch.allclose(out, fused_out, atol=1e-6)

# %% [markdown]
# Why `√d`: the spread of raw dot products grows with the width, the scaled ones do not.

# %%
for width in (8, 64, 512):
    a, b = torch.randn(2, 2000, width, generator=gen)
    raw = (a * b).sum(-1)
    print(f"d = {width:3d}: std of q·k = {raw.std():6.2f}, std of q·k/√d = {(raw / math.sqrt(width)).std():.2f}")

# %% [markdown]
# ## 2. Masks: True = may attend
#
# A mask says which keys each query may use. echo_edu uses the convention of PyTorch's
# `scaled_dot_product_attention` everywhere: **True = may attend**, and masks combine with logical AND.
#
# * **causal** — a decoder must not peek: query `t` sees keys `≤ t`;
# * **padding** — batches are padded to one length; pad keys must be ignored;
# * **sliding window (band)** — query `t` sees keys with `|t − j| < w` (or `0 ≤ t − j < w` when causal).

# %%
T = 8
masks = {
    "causal": causal_mask(T, T),
    "padding (last 3 are pads)": padding_mask(lengths_to_padding_mask(torch.tensor([5]), T))[0, 0].expand(T, T),
    "band w=3": band_mask(T, T, 3, causal=False),
    "causal band w=3": band_mask(T, T, 3, causal=True),
}
masks["causal AND padding"] = combine_masks(masks["causal"], masks["padding (last 3 are pads)"])
masks_static(masks);

# %%
masks_figure(masks)

# %% [markdown]
# A blocked key gets exactly zero weight. Every row of "causal AND padding" keeps at least key 0, so
# each row is still a distribution over its allowed keys — even the rows of the pad *queries* 5–7:

# %%
q, k, v = torch.randn(3, 1, T, d, generator=gen).unbind(0)
_, w = attention_core(q, k, v, masks["causal AND padding"], need_weights=True)
assert (w[0][~masks["causal AND padding"]] == 0).all()
assert torch.allclose(w[0].sum(-1), torch.ones(T))
print(w[0])

# %% [markdown]
# A row with *no* allowed key would divide by zero in a naive softmax. It happens when a window or a
# mask of finished sequences blocks every key of a query; here we block query 2 by hand. The row comes
# back as zeros (weights and output) rather than NaN, on the explicit and on the fused path:

# %%
empty = masks["causal AND padding"].clone()
empty[2] = False                                   # query 2 may attend to nothing
out_e, w_e = attention_core(q, k, v, empty, need_weights=True)
fused_e, _ = attention_core(q, k, v, empty)
print("weights of query 2:", w_e[0, 2], " output of query 2:", out_e[0, 2, :4])
assert (w_e[0, 2] == 0).all() and (out_e[0, 2] == 0).all() and not out_e.isnan().any()
assert torch.allclose(out_e, fused_e, atol=1e-6)

# %% [markdown]
# ## 3. Many heads
#
# One head computes one weighted average. Multi-head attention splits the width `D` into `H` heads of
# `d = D/H` channels, lets each attend on its own, and concatenates the results. The layout is
# `(batch, heads, seq, head_dim)` everywhere in echo_edu.

# %%
B, T, D, H = 2, 6, 32, 4
x = torch.randn(B, T, D, generator=gen)
heads = split_heads(x, H)
print("stream", tuple(x.shape), "→ heads", tuple(heads.shape))   # (B, T, D) → (B, H, T, D/H)

attn = build_attention("standard", D, H).eval()
out, info = attn(x, causal=True, need_weights=True)
print("output", tuple(out.shape), " weights", tuple(info["weights"].shape))
assert out.shape == x.shape and info["weights"].shape == (B, H, T, T)

# %% [markdown]
# ## 4. Rotary position inside attention
#
# Attention by itself is blind to order: permute the tokens and the outputs are permuted the same way.
# Rotary embeddings (lesson 02) rotate each query and key by an angle proportional to its position,
# so the score `⟨R(m) q, R(n) k⟩ = ⟨q, R(n − m) k⟩` depends only on the **distance** `n − m`.
# One `RotaryEmbedding` per layer is applied to both q and k.

# %%
rot_attn = build_attention("standard", D, H, rotary={"theta": 10000.0}).eval()
qv, kv_ = torch.randn(2, 1, 1, 1, D // H, generator=gen)
Tpos = 10
qs = rot_attn.rotary.rotate_queries_or_keys(qv.expand(1, 1, Tpos, -1))
ks = rot_attn.rotary.rotate_queries_or_keys(kv_.expand(1, 1, Tpos, -1))
score = (qs @ ks.transpose(-1, -2))[0, 0]                 # (T, T) scores of the same q and k at all positions
for offset in range(-3, 4):                               # constant along every diagonal: relative position
    diagonal = torch.diagonal(score, offset)
    assert torch.allclose(diagonal, diagonal[0].expand_as(diagonal), atol=1e-5)
print(score[:4, :4])

perm = torch.randperm(T, generator=gen)
plain_out, _ = attn(x)
assert torch.allclose(attn(x[:, perm])[0], plain_out[:, perm], atol=1e-5)        # no rotary: order-blind
assert not torch.allclose(rot_attn(x[:, perm])[0], rot_attn(x)[0][:, perm], atol=1e-3)  # rotary: order matters

# %% [markdown]
# ## 5. The KV cache
#
# When a decoder generates text it produces one token at a time. Recomputing keys and values of the
# whole prefix at every step costs `O(T²)` projections; a `KVCache` keeps them. The new token's
# rotary offset is `cache.length`, and the causal mask is aligned bottom-right, so the cached
# computation is *exactly* the full one.

# %%
x = torch.randn(1, 7, D, generator=gen)
full, _ = rot_attn(x, causal=True)
cache, steps = KVCache(), []
for t in range(7):
    step, _ = rot_attn(x[:, t:t + 1], causal=True, cache=cache)
    steps.append(step)
print(cache)
assert torch.allclose(torch.cat(steps, 1), full, atol=1e-5)

# %% [markdown]
# ## 6. Watching a tiny model learn to look back
#
# Task: at each position, output the token that appeared **two steps earlier**. To solve it exactly a
# head must attend from position `t` to `t − 2`, and "two back" is a *relative* position — what rotary
# puts into the scores. Two pre-norm attention layers and a linear read-out; a few dozen Adam steps on
# random sequences. (Exercise 2 asks what the same model does without rotary: it does better than
# chance, but not by finding `t − 2`.)

# %%
V, LAG, T = 10, 2, 14


class LookBack(nn.Module):
    """Embedding → 2 × (x + attention(norm(x))) → logits. Returns the attention maps when asked."""

    def __init__(self, dims=32, heads=4):
        super().__init__()
        self.embed = nn.Embedding(V, dims)
        self.norms = nn.ModuleList(nn.LayerNorm(dims) for _ in range(2))
        self.layers = nn.ModuleList(build_attention("standard", dims, heads, rotary={"theta": 100.0}) for _ in range(2))
        self.head = nn.Linear(dims, V)

    def forward(self, ids, need_weights=False):
        x, maps = self.embed(ids), {}
        for i, (norm, attn) in enumerate(zip(self.norms, self.layers)):
            update, info = attn(norm(x), causal=True, need_weights=need_weights)
            x = x + update
            maps[f"layer {i}"] = info.get("weights")
        return self.head(x), maps


model = LookBack()
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
losses = []
for step in range(60 if QUICK else 300):
    ids = torch.randint(V, (16, T), generator=gen)
    logits, _ = model(ids)
    loss = F.cross_entropy(logits[:, LAG:].reshape(-1, V), ids[:, :-LAG].reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
print(f"loss {losses[0]:.2f} → {losses[-1]:.3f}")

model.eval()
probe = torch.randint(V, (4, T), generator=gen)
with torch.no_grad():
    logits, maps = model(probe, need_weights=True)
accuracy = (logits[:, LAG:].argmax(-1) == probe[:, :-LAG]).float().mean()
print(f"accuracy on fresh sequences: {accuracy:.0%}")
assert losses[-1] < 0.5 * losses[0] and accuracy > 0.6

# %% [markdown]
# The head-averaged map of a layer should show a bright diagonal two places left of the main one
# (query `t` reading key `t − 2`). A static picture first, then the live widget: pick the layer, the head
# (or their mean) and the example, and hover over a cell to read its weight.

# %%
tokens = [str(t) for t in probe[0].tolist()]
attention_map_static(maps, layer="layer 0", head="mean", example=0, query_tokens=tokens);

# %%
attention_map_widget(maps, query_tokens=None)

# %% [markdown]
# A check in numbers: some head of some layer puts most of its weight exactly two positions back.

# %%
back2 = torch.stack([torch.diagonal(w, offset=-LAG, dim1=-2, dim2=-1).mean(-1) for w in maps.values()])  # (L, B, H)
print("mean weight on t−2, per layer and head:\n", back2.mean(1))
assert back2.mean(1).max() > 0.5

# %% [markdown]
# ## Summary
#
# * Attention is `softmax(q kᵀ/√d + mask) v`; the `√d` keeps the softmax out of saturation.
# * Masks are boolean with **True = may attend** and combine by AND: causal, padding and sliding-window
#   bands are all just masks. Rows without any key return zeros, not NaN.
# * Heads split the width; tensors are `(B, H, T, d)`.
# * Rotary on q and k (one module, both sides) makes scores depend on relative position only.
# * A KV cache reproduces the full pass exactly while decoding token by token.
# * `echo_edu.viz.attention_map_widget` shows any layer's maps; every Echo attention type returns its
#   weights with `need_weights=True`, so the later lessons reuse it.
#
# ## Exercises
#
# 1. `attention_core` takes a `scale` (default `1/√d`; `build_attention` does not expose it). On random
#    `q, k` of shape `(64, 32, 256)`, compute the mean of the largest weight of each row with the default
#    scale and with `scale=1.0`. What happens to the softmax without `1/√d`, and what does that do to
#    its gradients? Check with `check_scale(default, unscaled)`.
# 2. Train `LookBack` with `rotary=None` (copy the class with a `rotary` argument), same steps, and
#    measure the accuracy on fresh sequences. Chance is 10 %: why does it score clearly more, yet far
#    less than with rotary? (Hint: section 4 — without rotary, what does query `t` know about its keys
#    besides *which* tokens it may see?) Check with `check_no_rotary(plain, rotary)`.
# 3. Change `LAG` to 5 and replace the full causal mask by a causal band with `w = 4`
#    (`band_mask(T, T, 4, causal=True)`). Why can't a single layer succeed, and how many layers are needed?
#    Write `layers_needed(lag, w)` and check it with `check_layers_needed(layers_needed)`.
# 4. Write the cache test of section 5 for cross-attention: call once with `context`, then with
#    `context=None` and the same cache. Which tensors does the cache hold? Check your
#    `cached_cross_attention(attn, x, context) -> (out, cache)` with `check_cross_cache`.
#
# Worked solutions follow, one collapsed cell each (click to expand; try first).

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1: without 1/√d the logits of width-256 vectors have std 16, the softmax is nearly one-hot.
import torch
from echo_edu.attention import attention_core
from echo_edu.exercises.lesson03 import check_scale

gen1 = torch.Generator().manual_seed(0)
q1, k1, v1 = torch.randn(3, 64, 32, 256, generator=gen1).unbind(0)
top = {}
for name, scale in (("default", None), ("unscaled", 1.0)):
    _, w1 = attention_core(q1, k1, v1, scale=scale, need_weights=True)
    top[name] = w1.max(-1).values.mean().item()
    # softmax Jacobian size: Σ p(1 − p) = 1 − Σ p², tiny when one weight is ≈ 1
    print(f"{name:8s}: largest weight {top[name]:.2f}, mean 1 − Σp² = {(1 - w1.pow(2).sum(-1)).mean():.2f}")
assert check_scale(top["default"], top["unscaled"])

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 2: without rotary the layers are order-blind over the keys a query may see.
import torch
import torch.nn.functional as F
from torch import nn

import echo_edu
from echo_edu.attention import build_attention
from echo_edu.exercises.lesson03 import bag_of_tokens_bound, check_no_rotary


class LookBack2(nn.Module):
    def __init__(self, rotary, dims=32, heads=4, vocab=10):
        super().__init__()
        self.embed = nn.Embedding(vocab, dims)
        self.norms = nn.ModuleList(nn.LayerNorm(dims) for _ in range(2))
        self.layers = nn.ModuleList(build_attention("standard", dims, heads, rotary=rotary) for _ in range(2))
        self.head = nn.Linear(dims, vocab)

    def forward(self, ids):
        x = self.embed(ids)
        for norm, attn in zip(self.norms, self.layers):
            x = x + attn(norm(x), causal=True)[0]
        return self.head(x)


def lookback_accuracy(rotary, steps, seed=0, vocab=10, lag=2, length=14):
    gen2 = echo_edu.set_seed(seed)
    model2 = LookBack2(rotary)
    opt2 = torch.optim.Adam(model2.parameters(), lr=1e-2)
    for _ in range(steps):
        ids = torch.randint(vocab, (16, length), generator=gen2)
        loss = F.cross_entropy(model2(ids)[:, lag:].reshape(-1, vocab), ids[:, :-lag].reshape(-1))
        opt2.zero_grad()
        loss.backward()
        opt2.step()
    probe2 = torch.randint(vocab, (256, length), generator=gen2)
    with torch.no_grad():
        return (model2(probe2)[:, lag:].argmax(-1) == probe2[:, :-lag]).float().mean().item()


steps2 = 60 if echo_edu.quick_mode() else 300
plain, rotary = lookback_accuracy(None, steps2), lookback_accuracy({"theta": 100.0}, steps2)
print(f"no rotary {plain:.0%}, rotary {rotary:.0%}, most-frequent-visible-token guess {bag_of_tokens_bound():.0%}")
# Query t sees tokens x_0..x_t but not their order: it can only guess a token that occurs before it.
# Early queries see few tokens, so the guess is often right there; that is all the causal mask leaks.
assert check_no_rotary(plain, rotary)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 3: compose the band mask with itself, one boolean product per layer, until t sees t − lag.
import torch
from echo_edu.attention import band_mask
from echo_edu.exercises.lesson03 import check_layers_needed


def layers_needed(lag, w, length=32):
    band = band_mask(length, length, w, causal=True).float()
    reach = band.clone()
    for layers in range(1, length):
        if reach[length - 1, length - 1 - lag] > 0:
            return layers
        reach = (reach @ band).clamp(max=1)       # one more layer: paths of one more hop
    raise ValueError("unreachable")


print("LAG = 5, w = 4 needs", layers_needed(5, 4), "layers")   # one layer reaches only t − 3
assert check_layers_needed(layers_needed)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 4: the first call stores the context's keys and values; every later step reuses them.
import torch
from echo_edu.attention import KVCache
from echo_edu.exercises.lesson03 import check_cross_cache


def cached_cross_attention(attn, x, context):
    cache = KVCache()
    steps = [attn(x[:, :1], context, cache=cache)[0]]
    steps += [attn(x[:, t:t + 1], None, cache=cache)[0] for t in range(1, x.shape[1])]
    return torch.cat(steps, 1), cache


assert check_cross_cache(cached_cross_attention)
#
# ## Questionnaire
#
# 1. What shape do attention weights have for a batch of 2, 4 heads, 6 queries and 9 keys?
# 2. In echo_edu's mask convention, what does `False` mean?
# 3. Why does the cached decoder need the causal mask aligned "bottom-right"?
