# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 02 · Attention from scratch: masks, heads, caches
#
# Every Echo layer — standard, myelinated, integrated, adaptive — is a variation on one operation:
# *scaled dot-product attention*. This lesson builds it by hand and checks it against `echo_edu.attention`.
#
# **What you'll learn**
#
# 1. `softmax(q kᵀ / √d) v`, written out, and why the `1/√d` is there.
# 2. Boolean masks with one convention — **True = may attend** — for causality, padding and sliding windows.
# 3. Multi-head attention: splitting the width into heads, and the `(B, H, T, d)` layout.
# 4. Why attention by itself is blind to the order of its keys (lesson 03's rotary embeddings fix that).
# 5. The KV cache: decoding token by token gives exactly the full pass.
#
# **What you need:** matrix products, softmax, PyTorch tensors (as in lesson 01).

# %%
import math

import torch

import echo_edu
from echo_edu.attention import (KVCache, attention_core, band_mask, build_attention, causal_mask, combine_masks,
                                lengths_to_padding_mask, padding_mask, split_heads)
from echo_edu.viz.attention import masks_figure, masks_static

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
# **Try it.** The widget draws one mask and the weights it gives to 8 random queries and keys. Pick a
# mask, then move the band width or the number of real keys: blocked keys get exactly 0 and every row
# still sums to 1, so each row's entropy is at most ln(number of allowed keys), the value the title
# sets beside it. Then widen the head to `d = 512` and switch the scale off: the rows collapse onto
# one key, the saturation of section 1.

# %%
from echo_edu.viz.masked_weights import SCALES, masked_weights, masked_weights_widget

masked_weights_widget(kind="causal band")

# %% [markdown]
# The numbers behind that last step, with no mask:

# %%
peak = {}
for scale in SCALES:
    r = masked_weights("none", scale=scale, d=512)
    peak[scale] = r["weights"].amax(-1).mean().item()
    print(f"d = 512, scale {scale:12s}: largest weight per row {peak[scale]:.2f} on average, "
          f"entropy {r['entropy'].mean():.2f} of at most {r['max_entropy'].mean():.2f} nats")
assert peak["1 (unscaled)"] > 0.95 > 0.6 > peak["1/√d"]

# %% [markdown]
# With `1/√d` the largest weight of a row averages 0.41 here (entropy 1.62 of at most ln 8 = 2.08
# nats); without it 0.97 (entropy 0.09): nearly one-hot. A saturated softmax passes almost no gradient
# back to the scores, which exercise 1 measures.

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
# ## 4. Attention is blind to order
#
# Nothing in `softmax(q kᵀ/√d) v` says *where* a key sits: permute the tokens and the outputs are permuted
# the same way. Without a causal mask a query cannot tell "two back" from "five back"; with one it only
# knows *which* tokens come before it. Lesson 03 puts position into the scores with rotary embeddings.

# %%
perm = torch.randperm(T, generator=gen)
plain_out, _ = attn(x)
assert torch.allclose(attn(x[:, perm])[0], plain_out[:, perm], atol=1e-5)        # order-blind: outputs just permute
print("largest change after permuting the tokens and un-permuting the outputs:",
      (attn(x[:, perm])[0] - plain_out[:, perm]).abs().max().item())

# %% [markdown]
# ## 5. The KV cache
#
# When a decoder generates text it produces one token at a time. Recomputing keys and values of the
# whole prefix at every step costs `O(T²)` projections; a `KVCache` keeps them. The causal mask is
# aligned bottom-right (the new query is the *last* row), so the cached computation is *exactly* the
# full one. (Lesson 03 adds the one more thing a cache must know with rotary: the new token's position.)

# %%
x = torch.randn(1, 7, D, generator=gen)
full, _ = attn(x, causal=True)
cache, steps = KVCache(), []
for t in range(7):
    step, _ = attn(x[:, t:t + 1], causal=True, cache=cache)
    steps.append(step)
print(cache)
assert torch.allclose(torch.cat(steps, 1), full, atol=1e-5)

# %% [markdown]
# ## Summary
#
# * Attention is `softmax(q kᵀ/√d + mask) v`; the `√d` keeps the softmax out of saturation.
# * Masks are boolean with **True = may attend** and combine by AND: causal, padding and sliding-window
#   bands are all just masks. Rows without any key return zeros, not NaN.
# * Heads split the width; tensors are `(B, H, T, d)`.
# * Attention alone is order-blind: permuting the tokens permutes the outputs.
# * A KV cache reproduces the full pass exactly while decoding token by token.
#
# Next, lesson 03 makes the scores depend on relative position and trains a tiny model that uses it.
#
# ## Exercises
#
# 1. `attention_core` takes a `scale` (default `1/√d`; `build_attention` does not expose it). On random
#    `q, k` of shape `(64, 32, 256)`, compute the mean of the largest weight of each row with the default
#    scale and with `scale=1.0`. What happens to the softmax without `1/√d`, and what does that do to
#    its gradients? Check with `check_scale(default, unscaled)`.
# 2. A token must read the token 5 positions back (`lag = 5`), but every layer sees only a causal band of
#    `w = 4` keys (`band_mask(T, T, 4, causal=True)`). Why can't a single layer reach it, and how many
#    stacked layers are needed? Write `layers_needed(lag, w)` and check it with `check_layers_needed(layers_needed)`.
# 3. Write the cache test of section 5 for cross-attention: call once with `context`, then with
#    `context=None` and the same cache. Which tensors does the cache hold? Check your
#    `cached_cross_attention(attn, x, context) -> (out, cache)` with `check_cross_cache`.
#
# Worked solutions follow, one collapsed cell each (click to expand; try first).

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1: without 1/√d the logits of width-256 vectors have std 16, the softmax is nearly one-hot.
import torch
from echo_edu.attention import attention_core
from echo_edu.exercises.attention_basics import check_scale

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
# Solution 2: compose the band mask with itself, one boolean product per layer, until t sees t − lag.
import torch
from echo_edu.attention import band_mask
from echo_edu.exercises.attention_basics import check_layers_needed


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
# Solution 3: the first call stores the context's keys and values; every later step reuses them.
import torch
from echo_edu.attention import KVCache
from echo_edu.exercises.attention_basics import check_cross_cache


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
