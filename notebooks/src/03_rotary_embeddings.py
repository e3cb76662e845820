# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 03 · Rotary position embeddings: positions as rotations, inside attention
#
# Attention compares every query with every key by a dot product, and a dot product knows nothing about
# *where* the tokens are. Rotary position embeddings (RoPE, Su et al. 2021) fix that by **rotating** each
# query and key by an angle proportional to its position. Echo's original code tried a "quaternion" version;
# here we build the well-posed one and test every claim.
#
# **What you'll learn**
#
# 1. Absolute vs. relative position encodings, and why relative is what attention wants.
# 2. RoPE as a stack of 2-D rotations (complex multiplications) with geometric frequencies.
# 3. The relative property `⟨R(m) q, R(n) k⟩ = ⟨q, R(n − m) k⟩`, seen in a similarity heatmap.
# 4. Partial rotary (`rot_scale`, `rot_count`), negative `theta`, and the `offset` used when decoding.
# 5. The quaternion and projection modes — what they add, and what they cannot add.
# 6. Why q and k must share **one** rotary module.
# 7. Rotary inside attention: scores by distance, a KV cache that passes its length as the offset.
# 8. A tiny two-layer model that learns to read the token two back, seen with the attention-map widget
#    (layer / head / example, hover for weights) that later lessons reuse.
# 9. How fast `echo_edu.RotaryEmbedding` is next to `rotary-embedding-torch`, measured here.
#
# **What you need:** lessons 01 (rotations, quaternions) and 02 (attention scores `q·k`, masks, the KV cache).

# %%
import math

import torch
import torch.utils.benchmark as benchmark
from rotary_embedding_torch import RotaryEmbedding as LucidrainsRotary

import echo_edu
from echo_edu import RotaryEmbedding
from echo_edu.quaternion import quat_from_axis_angle, quat_rotate
from echo_edu.viz.rotary import rope_planes_widget, similarity_map, similarity_widget

gen = echo_edu.set_seed(0)
QUICK = echo_edu.quick_mode()
torch.set_printoptions(precision=4, sci_mode=False)

# %% [markdown]
# ## 1. Absolute positions break under a shift
#
# The original Transformer *adds* a sinusoid `pe(p)` to each token. The score between a query at position m and
# a key at n is then `(q + pe(m))·(k + pe(n))`: it contains `q·pe(n)` and `pe(m)·k`, terms that depend on
# m and n **separately**. Shift the whole sentence by s positions and the scores change, although nothing
# about the tokens' relation did. RoPE's scores do not move.

# %%
dim = 16


def sinusoid(p, d=dim, base=10000.0):
    """Teaching version of the additive sinusoidal encoding, interleaved (sin, cos) pairs."""
    omega = base ** (-torch.arange(0, d, 2) / d)
    return torch.stack([torch.sin(p * omega), torch.cos(p * omega)], dim=-1).flatten()


q, k = torch.randn(2, dim, generator=gen)
rope = RotaryEmbedding(dim)


def rope_score(m, n):
    return rope.rotate_at(q[None], torch.tensor([m]))[0] @ rope.rotate_at(k[None], torch.tensor([n]))[0]


for s in (0, 5, 50):
    absolute = (q + sinusoid(3 + s)) @ (k + sinusoid(7 + s))
    print(f"shift {s:>2}: additive score {absolute:+.4f}   RoPE score {rope_score(3 + s, 7 + s):+.4f}")
assert abs((q + sinusoid(3)) @ (k + sinusoid(7)) - (q + sinusoid(53)) @ (k + sinusoid(57))) > 1e-2
assert abs(rope_score(3, 7) - rope_score(53, 57)) < 1e-4

# %% [markdown]
# ## 2. RoPE is a stack of 2-D rotations
#
# Split the `dim` channels into interleaved pairs `(x₀, x₁), (x₂, x₃), …` and read pair k as one complex
# number `z_k = x_{2k} + i x_{2k+1}`. At position p, multiply it by `e^{i p ω_k}` with
# `ω_k = θ^(−2k/dim)` (θ = 10000 by default). Low pairs spin fast (ω₀ = 1 rad per token), high pairs slowly —
# a clock with many hands. That is the whole algorithm; here it is from scratch:

# %%
def rope_from_scratch(x, theta=10000.0):
    """x: (..., T, d) → rotated, using complex numbers. Teaching version of the standard mode."""
    T, d = x.shape[-2:]
    omega = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)             # (d/2,)
    turn = torch.polar(torch.ones(T, d // 2, dtype=torch.float64), torch.arange(T)[:, None] * omega)
    z = torch.view_as_complex(x.double().unflatten(-1, (d // 2, 2)).contiguous())   # (..., T, d/2)
    return torch.view_as_real(z * turn).flatten(-2).to(x.dtype)


x = torch.randn(2, 4, 10, 64, generator=gen)                                        # (B, H, T, head_dim)
ours = RotaryEmbedding(64).rotate_queries_or_keys(x)
assert torch.allclose(ours, rope_from_scratch(x), atol=1e-5)
# users switching from rotary-embedding-torch get the same numbers (same interleaved pairs, same frequencies)
theirs = LucidrainsRotary(64).rotate_queries_or_keys(x)
print("max |echo_edu − rotary-embedding-torch| =", float((ours - theirs).abs().max()))
assert torch.allclose(ours, theirs, atol=1e-6)

# %% [markdown]
# Slide the position and watch the first four pairs turn. Pair 0's hand wraps around every 2π ≈ 6.3 tokens;
# pair 3's takes far longer (its wavelength λ = 2π/ω is shown above each panel). Smaller θ makes every hand faster.

# %%
rope_planes_widget()

# %% [markdown]
# ## 3. The relative property
#
# For one pair: `Re[(q e^{imω}) · conj(k e^{inω})] = Re[q · conj(k) · e^{i(m−n)ω}]` — only `m − n` survives.
# Summing over pairs: `⟨R(m) q, R(n) k⟩ = ⟨q, R(n − m) k⟩`. In matrix terms `R(m)ᵀ R(n) = R(n − m)`,
# because `R(p) = exp(p A)` is a one-parameter group of rotations.
#
# In the heatmap below every diagonal (fixed `n − m`) is constant; the right panel shows the score against
# `n − m`, with a band from the smallest to the largest score among pairs at that distance. With `q = k` the
# score also decays with distance on average — RoPE's built-in preference for nearby tokens.

# %%
M = rope.rotation_matrix(torch.tensor([3.0, 7.0, 4.0]))        # (3, dim, dim)
assert torch.allclose(M[0].T @ M[1], M[2], atol=1e-5)            # R(3)ᵀ R(7) = R(4)
assert torch.allclose(M[0].T @ M[0], torch.eye(dim), atol=1e-5)  # orthogonal: norms are kept
s = similarity_map(length=32)
print("largest spread along a diagonal:", s["spread"])
assert s["spread"] < 1e-9

# %%
similarity_widget()

# %% [markdown]
# ## 4. Partial rotary, negative theta, offsets
#
# **Partial rotary.** Rotating only some pairs leaves the rest position-free, for content matching.
# `rot_count` (default: all) times `rot_scale` sets how many rotation units turn; the original Echo used
# `rot_scale=4, rot_count=1` and `rot_scale=1, rot_count=4`: both mean 4 pairs.

# %%
partial = RotaryEmbedding(64, rot_scale=4, rot_count=1)
y = partial.rotate_queries_or_keys(x)
print(partial)
assert partial.n_pairs == 4
assert torch.equal(y[..., 8:], x[..., 8:])                                  # channels 8… untouched
assert RotaryEmbedding(64, rot_scale=0.5).n_pairs == 16                     # half of the 32 pairs

# %% [markdown]
# **Negative theta** flips every frequency: each hand turns the other way, `M₋θ(p) = Mθ(p)ᵀ`. Applied to both
# q and k it is still a relative encoding — the mirror image: the score at (m, n) equals the positive one at (n, m).
# (In the original code theta's sign had no effect at all: with one frequency set to 0 nothing turned.)

# %%
pos_rope, neg_rope = RotaryEmbedding(dim, theta=500.0), RotaryEmbedding(dim, theta=-500.0)
p = torch.arange(5.0)
assert torch.allclose(neg_rope.rotation_matrix(p), pos_rope.rotation_matrix(p).mT, atol=1e-6)
mirror_pos = similarity_map(theta=500.0, vectors="q ≠ k (random)", length=12)["scores"]
mirror_neg = similarity_map(theta=-500.0, vectors="q ≠ k (random)", length=12)["scores"]
assert torch.allclose(mirror_neg, mirror_pos.T, atol=1e-9)
print("θ=+500 at (m=9, n=2):", float(mirror_pos[9, 2]), "   θ=−500 at (m=2, n=9):", float(mirror_neg[2, 9]))

# %% [markdown]
# **Offsets.** When a decoder generates one token at a time, the new token's position is the number of tokens
# already in the KV cache. `rotate_queries_or_keys(t, offset=cache_length)` gives exactly the rotation that
# token would get in a full pass:

# %%
full = rope.rotate_queries_or_keys(x[..., :16])
steps = [rope.rotate_queries_or_keys(x[..., t:t + 1, :16], offset=t) for t in range(10)]
assert torch.allclose(torch.cat(steps, dim=-2), full, atol=1e-6)

# %% [markdown]
# ## 5. Quaternion blocks
#
# `use_quaternion=True` cuts the channels into 3-D blocks; block b rotates about its own **learned unit
# axis** `u_b` by `p·ω_b`, i.e. by the unit quaternion `(cos(pω_b/2), sin(pω_b/2)·u_b)` from lesson 01. When
# `dim` is not a multiple of 3 the leftover channels form ordinary 2-D pairs (head_dim 64 → 20 blocks + 2 pairs).
# Each block is a rotation about a fixed axis, so the relative property survives. Below, the module is checked
# against the sandwich product, block by block.

# %%
qrope = RotaryEmbedding(64, use_quaternion=True)
print(qrope)
yq = qrope.rotate_queries_or_keys(x)
positions = torch.arange(x.shape[-2], dtype=torch.float32)
for b in range(3):                                                          # the first three blocks
    qb = quat_from_axis_angle(qrope.unit_axes[b], positions * qrope.freqs[b])   # (T, 4)
    assert torch.allclose(yq[..., 3 * b:3 * b + 3], quat_rotate(qb, x[..., 3 * b:3 * b + 3]), atol=1e-5)

# %% [markdown]
# **What it cannot add.** A rotation about one fixed axis turns the plane ⊥ `u_b` and leaves the axis alone.
# Its eigenvalues are `1, e^{±ipω}`: it *is* a 2-D RoPE pair in a learned basis, plus one channel that never
# turns. Not more expressive — and composing several axes per position would break the relative property.

# %%
with torch.no_grad():
    block = qrope.rotation_matrix(torch.tensor([5.0]))[0, :3, :3].double()   # block 0 at position 5
eig = torch.linalg.eigvals(block)
print("eigenvalues of block 0 at p=5:", eig)
print("Re λ =", float(eig.real.min()), "  cos(5·ω₀) =", math.cos(5 * float(qrope.freqs[0])))
assert torch.allclose(eig.abs(), torch.ones(3, dtype=torch.float64), atol=1e-6)   # all on the unit circle
assert (eig - 1).abs().min() < 1e-6                                        # the axis: eigenvalue 1
assert abs(float(eig.real.min()) - math.cos(5 * float(qrope.freqs[0]))) < 1e-5

# %% [markdown]
# ## 6. The projection mode
#
# `use_projection=True` learns an orthonormal `P` (3 × dim, `P Pᵀ = I`), rotates inside that 3-D subspace and
# maps back: `y = x + Pᵀ (R(p) − I) P x`. `Pᵀ` is the exact pseudo-inverse of `P`, and the complement of `P`'s
# rows passes through untouched. `P` is computed as the orthonormal (QR) factor of a raw learnable matrix, so
# it stays orthonormal however the optimiser moves the raw weights:

# %%
prope = RotaryEmbedding(64, use_quaternion=True, use_projection=True)
opt = torch.optim.Adam(prope.parameters(), lr=0.1)
for _ in range(3):
    opt.zero_grad()
    prope.rotate_queries_or_keys(x)[..., -1, :5].sum().backward()
    opt.step()
P = prope.projection.detach()
print("‖P Pᵀ − I‖ after 3 Adam steps:", float((P @ P.T - torch.eye(3)).abs().max()))
assert torch.allclose(P @ P.T, torch.eye(3), atol=1e-5)
comp = x - (x @ P.T) @ P                                                    # ⊥ the subspace
assert torch.allclose(prope.rotate_queries_or_keys(comp), comp, atol=1e-5)
assert torch.allclose(prope.rotate_queries_or_keys(x).norm(dim=-1), x.norm(dim=-1), atol=1e-4)

# %% [markdown]
# **Pitfall (the original).** Echo's projections were `down` with singular values 0.1 and `up = 0.1·pinv(down)`,
# so `up ∘ down = 0.1 Π` — not a pseudo-inverse pair — and the output was `0.9·up(rot(down x)) + 0.1·x`.
# Reproduced in four lines, the vectors come out about ten times shorter:

# %%
down = torch.nn.init.orthogonal_(torch.empty(3, 64), gain=0.1)
up = 0.1 * torch.linalg.pinv(down)
v = torch.randn(1000, 64, generator=gen)
out = 0.9 * (v @ down.T) @ up.T + 0.1 * v
print("norm ratio, original projection path:", float((out.norm(dim=-1) / v.norm(dim=-1)).mean()))
assert (out.norm(dim=-1) / v.norm(dim=-1)).mean() < 0.15

# %% [markdown]
# ## 7. Why q and k must share one rotary
#
# The original applied `rotary1` (θ = 10000) to the queries and `rotary2` (θ = −10000) to the keys. Then
# `R₁(m)ᵀ R₂(n) = R(−m) R(−n) = R(−(m + n))`: scores depend on `m + n`, the *sum* of positions — a shift changes
# everything. Choose "separate module, opposite θ" in the widget above to see the diagonals fall apart.

# %%
shared = similarity_map(vectors="q ≠ k (random)", length=24)
separate = similarity_map(vectors="q ≠ k (random)", k_rotary="separate module, opposite θ", length=24)
print(f"spread along diagonals — one module: {shared['spread']:.1e}, two modules: {separate['spread']:.2f}")
assert shared["spread"] < 1e-9 < 0.1 < separate["spread"]

# %% [markdown]
# ## 8. Rotary inside attention
#
# Lesson 02 showed that attention alone is blind to order. `build_attention(..., rotary={...})` gives the
# layer one `RotaryEmbedding`, applied to both its queries and its keys after they are split into heads, so
# the score `⟨R(m) q, R(n) k⟩ = ⟨q, R(n − m) k⟩` depends only on the **distance** `n − m`.

# %%
from echo_edu.attention import KVCache, build_attention

B, T, D, H = 2, 6, 32, 4
xa = torch.randn(B, T, D, generator=gen)
attn = build_attention("standard", D, H).eval()
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
assert torch.allclose(attn(xa[:, perm])[0], attn(xa)[0][:, perm], atol=1e-5)              # no rotary: order-blind
assert not torch.allclose(rot_attn(xa[:, perm])[0], rot_attn(xa)[0][:, perm], atol=1e-3)  # rotary: order matters

# %% [markdown]
# With a KV cache (lesson 02) the new token's rotary offset is `cache.length`, the number of tokens already
# cached (section 4's `offset`), so decoding token by token still reproduces the full pass exactly:

# %%
xc = torch.randn(1, 7, D, generator=gen)
full_pass, _ = rot_attn(xc, causal=True)
cache = KVCache()
steps = [rot_attn(xc[:, t:t + 1], causal=True, cache=cache)[0] for t in range(7)]
assert torch.allclose(torch.cat(steps, 1), full_pass, atol=1e-5)

# %% [markdown]
# ## 9. Watching a tiny model learn to look back
#
# Task: at each position, output the token that appeared **two steps earlier**. To solve it exactly a
# head must attend from position `t` to `t − 2`, and "two back" is a *relative* position — what rotary
# puts into the scores. Two pre-norm attention layers and a linear read-out; a few dozen Adam steps on
# random sequences. (Exercise 6 asks what the same model does without rotary: it does better than
# chance, but not by finding `t − 2`.)

# %%
import torch.nn.functional as F
from torch import nn

from echo_edu.viz.attention import attention_map_static, attention_map_widget

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
# (or their mean) and the example, and hover over a cell to read its weight. Every Echo
# attention type returns its weights with `need_weights=True`, so the later lessons reuse this widget.

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
# ## 10. Speed, measured here
#
# The same `(B, H, T, head_dim)` tensor through `rotary-embedding-torch` and each of our modes, timed with
# `torch.utils.benchmark` on this machine (small sizes in quick mode; `benchmarks/rotary.py` runs larger ones).
# Ratios above 1 mean slower than `rotary-embedding-torch`. Standard mode does the same arithmetic; quaternion
# mode adds the cross products of Rodrigues' formula, and projection mode two small matmuls and a QR.

# %%
B, H, T, D = (1, 4, 128, 64) if QUICK else (4, 8, 1024, 64)
xb = torch.randn(B, H, T, D, generator=gen)
contenders = {"rotary-embedding-torch": LucidrainsRotary(D), "standard": RotaryEmbedding(D),
              "quaternion": RotaryEmbedding(D, use_quaternion=True),
              "projection": RotaryEmbedding(D, use_quaternion=True, use_projection=True)}
times = {}
with torch.no_grad():
    for name, module in contenders.items():
        timer = benchmark.Timer("m.rotate_queries_or_keys(x)", globals={"m": module, "x": xb})
        times[name] = timer.blocked_autorange(min_run_time=0.1 if QUICK else 1.0).median
base = times["rotary-embedding-torch"]
print(f"{'module':<24}{'time (µs)':>12}{'× baseline':>12}")
for name, sec in times.items():
    print(f"{name:<24}{sec * 1e6:>12.1f}{sec / base:>12.2f}")

# %% [markdown]
# ## Summary
#
# * RoPE rotates interleaved channel pairs of q and k by `p·ω_k`, `ω_k = θ^(−2k/dim)`; scores then depend only on
#   `n − m`, norms are kept, and position 0 is the identity. `echo_edu` matches `rotary-embedding-torch` exactly.
# * `rot_scale`/`rot_count` rotate only some units; negative θ mirrors the encoding; `offset` serves the KV cache.
# * Quaternion blocks rotate 3-D blocks about learned axes: a valid relative encoding, but a 2-D rotation in a
#   learned basis. The projection mode does the same in a learned orthonormal 3-D subspace and leaves the rest alone.
# * q and k must be rotated by **one** module; different rotaries make scores depend on absolute positions.
# * Inside attention, rotary makes scores depend on distance; a cache passes its length as the offset; a tiny
#   two-layer model finds `t − 2` with it. `attention_map_widget` shows any layer's maps.
#
# ## Exercises
#
# 1. Prove `R(m)ᵀ R(n) = R(n − m)` for one 2×2 block, then for a block-diagonal stack. Write your own
#    `rotation(p)` (a `(d, d)` block-diagonal matrix) and check it: `check_relative_rotation(rotation)`.
# 2. In the heatmap, set θ = 10 and then θ = 10000 with `q = k`. Explain the difference with the wavelengths from §2.
#    Pass the mean score per distance (`similarity_map(...)["mean"]` from distance 0 on) to
#    `check_theta(mean_10, mean_10000)`.
# 3. With `rot_scale=0.25`, which channels carry position? Check with `rotation_matrix`, then
#    `check_rotated_channels(dim, channels)`.
# 4. Build a "rotation" that depends on position through two different axes composed (`R_a(p)·R_b(p)`). Show the
#    relative property fails: `check_two_axes(rotation)`.
# 5. Why is a position-*independent* rotation applied to both q and k useless? (Hint: `(Rq)·(Rk)`.) Measure the
#    largest score change over random q, k: `check_fixed_rotation(R, gap)`.
# 6. Train section 9's `LookBack` with `rotary=None` (copy the class with a `rotary` argument), same steps, and
#    measure the accuracy on fresh sequences. Chance is 10 %: why does it score clearly more, yet far
#    less than with rotary? (Hint: lesson 02's section 4 — without rotary, what does query `t` know about its
#    keys besides *which* tokens it may see?) Check with `check_no_rotary(plain, rotary)`.
#
# Worked solutions follow, one collapsed cell each (click to expand; try first).

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1: one block R(a) = [[cos a, −sin a], [sin a, cos a]]; R(mω)ᵀR(nω) = R(−mω)R(nω) = R((n − m)ω),
# since 2-D rotations commute and add angles. A block-diagonal stack multiplies block by block.
import torch
from echo_edu import RotaryEmbedding
from echo_edu.exercises.rotary_embeddings import check_relative_rotation

d1 = 16
omega1 = 10000.0 ** (-torch.arange(0, d1, 2, dtype=torch.float64) / d1)


def rotation(p):
    a = p * omega1
    blocks = [torch.stack([torch.stack([c, -s]), torch.stack([s, c])]) for c, s in zip(a.cos(), a.sin())]
    return torch.block_diag(*blocks)


# the library's matrix is the same one
assert torch.allclose(rotation(7).float(), RotaryEmbedding(d1).rotation_matrix(torch.tensor([7.0]))[0], atol=1e-5)
assert check_relative_rotation(rotation)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 2: compare the mean score per distance for a fast and a slow clock.
import math

import torch
from echo_edu.viz.rotary import similarity_map
from echo_edu.exercises.rotary_embeddings import check_theta

length2 = 48
means2 = {theta: similarity_map(theta=theta, length=length2)["mean"][length2 - 1:] for theta in (10.0, 10000.0)}
for theta, mean in means2.items():
    slowest = 2 * math.pi * theta ** ((32 - 2) / 32)       # wavelength of the slowest pair, dim = 32
    print(f"θ = {theta:>7.0f}: slowest wavelength {slowest:8.0f} tokens, mean score at distance ≥ 4: "
          f"{float(mean[4:].mean()):+.2f}")
assert check_theta(means2[10.0], means2[10000.0])

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 3: a channel carries position when its row of R(p) is not the identity's row for some p.
import torch
from echo_edu import RotaryEmbedding
from echo_edu.exercises.rotary_embeddings import check_rotated_channels

dim3 = 64
M3 = RotaryEmbedding(dim3, rot_scale=0.25).rotation_matrix(torch.arange(1.0, 20.0))     # (19, dim, dim)
channels3 = ((M3 - torch.eye(dim3)).abs().amax(dim=(0, 2)) > 1e-6).nonzero().flatten().tolist()
print("channels that turn:", channels3)
assert check_rotated_channels(dim3, channels3)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 4: compose turns about x and about z, both proportional to p.
import torch
from echo_edu import rodrigues_matrix
from echo_edu.exercises.rotary_embeddings import check_two_axes

E4 = torch.eye(3, dtype=torch.float64)


def rotation_two_axes(p):
    return rodrigues_matrix(E4[0], torch.tensor(0.3 * p)) @ rodrigues_matrix(E4[2], torch.tensor(0.7 * p))


gap4 = (rotation_two_axes(3).T @ rotation_two_axes(7) - rotation_two_axes(4)).abs().max()
print(f"|R(3)ᵀR(7) − R(4)| = {float(gap4):.3f}")
assert check_two_axes(rotation_two_axes)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 5: (R q)·(R k) = qᵀ RᵀR k = q·k, so a shared fixed rotation changes no score at all.
import torch
from echo_edu import RotaryEmbedding
from echo_edu.exercises.rotary_embeddings import check_fixed_rotation

gen5 = torch.Generator().manual_seed(5)
R5 = RotaryEmbedding(32).rotation_matrix(torch.tensor([9.0]))[0].double()    # any rotation, same for every token
q5, k5 = torch.randn(2, 500, 32, generator=gen5, dtype=torch.float64)
gap5 = float(((q5 @ R5.T) * (k5 @ R5.T)).sum(-1).sub((q5 * k5).sum(-1)).abs().max())
print(f"largest score change: {gap5:.1e}")
assert check_fixed_rotation(R5, gap5)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 6: without rotary the layers are order-blind over the keys a query may see.
import torch
import torch.nn.functional as F
from torch import nn

import echo_edu
from echo_edu.attention import build_attention
from echo_edu.exercises.rotary_embeddings import bag_of_tokens_bound, check_no_rotary


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
