# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 08 · The Echo model: `Dimensions`, an audio encoder, a text decoder that listens
#
# The earlier lessons built the parts: attention (02), rotary positions (03), log-mel features and a
# character tokenizer (04), and the experimental attention types (05–07). Now we bolt them into the
# recogniser the seed describes — `Echo(Dimensions(...))` — and follow one clip through it, printing the
# shape of every tensor on the way.
#
# **What you'll learn**
#
# 1. What each field of `Dimensions` controls, and how validation catches a bad configuration.
# 2. The encoder: a strided conv stem, positions, layer-A and layer-B blocks, one vector per 20 ms.
# 3. The decoder: token embeddings, causal self-attention, **cross-attention to the audio in every
#    block**, and logits from the tied embedding matrix.
# 4. Why the original's `cross_attention=False` made a deaf decoder, and how we prove ours listens.
# 5. Three health checks of a fresh model: loss ≈ ln(vocab), causality, KV cache = full recompute.
# 6. The seed's usage snippet, run live, and `save_pretrained` / `from_pretrained`.
#
# **What you need:** lessons 02 (attention, KV cache) and 04 (log-mel, tokenizer).

# %%
import math
import tempfile
import time
import warnings

import torch

import echo_edu
from echo_edu import ConfigError, Dimensions, Echo, ShapeError, process_audio
from echo_edu.attention import ATTENTION_TYPES
from echo_edu.data import load_samples
from echo_edu.tokenizer import build_tokenizer

gen = echo_edu.set_seed(0)
QUICK = echo_edu.quick_mode()
torch.set_printoptions(precision=4, sci_mode=False)

# %% [markdown]
# ## The whole model at a glance
#
# Before the parts, the map. `echo_diagram(dims)` draws what `Echo(dims)` builds, one box per block,
# labelled from the config. This one is `Dimensions.small` with one layer-B block on each side
# (integrated self-attention) and a CTC head. Follow the log-mel down the left column and the characters
# down the right one; the blue arrows are cross-attention, one in every decoder block. Layer-A blocks
# are always standard; layer B of both sides uses `self_attention_type`. The side panel says what
# drives each type's choice (lessons 05–07): the Q-learning refiner sets integrated attention's band,
# the predicted span sets adaptive's ramp, the activity sets focus's window.

# %%
from echo_edu.viz import echo_diagram

echo_diagram();

# %% [markdown]
# The drawing follows the config. Here layer B is `focus` and cross-attention is `adaptive`, which
# between text and audio (positions with no distance between them) is plain attention:

# %%
echo_diagram(Dimensions.tiny(text_layerB=1, self_attention_type="focus", cross_attention_type="adaptive"));

# %% [markdown]
# **The attention types side by side** (read from the code; costs for one self-attention layer, the
# ratios are forward + backward time against standard attention at 4096 tokens, bidirectional / causal,
# from the README's "Performance" table; H heads, D width, L sub-layers):
#
# | type | cost in sequence length T (one self-attention layer) | causal (decoder) | what the KV cache keeps while decoding | learning signal | as cross-attention |
# |---|---|---|---|---|---|
# | `standard` | O(T²) scores; the fused kernel keeps no T×T matrix for the backward pass (22.6 MiB at 4096 tokens) — the 1.00 baseline | yes (causal mask) | keys (rotated) and values | gradient only | plain attention |
# | `myelinated` | O(T²): sub-layer *i* attends with its own H/L heads, so the stack computes the score matrices of one standard attention, plus O(T·D) gates, norms and memory; 1.07× / 1.32× at 4096 | yes: policy and memory pool prefix means | keys and values, plus each sub-layer's running sum and count of the pooled stream (`myelin0 … myelin{L−1}`) | gradient through the importance and memory gates; skip decisions by a straight-through binary Gumbel sample (hard 0/1 forward, σ's gradient back); optional `compute_cost` · P(run) in `aux_loss` (0 by default) | the full mechanism, pooling the audio's values (its mean is cached once) |
# | `integrated` | local band O(T · 3·max(windows)) (blocked kernel once T > 2·max; 2·max when causal) + global O(T · T/P) over blocks of `global_pool` P = 16; 0.52× / 0.82× at 4096 | yes: complete past blocks + the running mean of the query's own block | keys and values only (shared by both branches; the global branch pools them again at each step); the Q-table is a buffer, frozen in `eval()` | projections and fusion by gradient; the window per token by tabular **Q-learning** (γ = 0: a contextual bandit, ε-greedy, `train()` only) on the reward coverage − `width_cost` · w / max(windows), computed in closed form without gradient (`span_rewards` gives it for every window, so the best one is known without exploring) | plain full-resolution attention: no band, no refiner |
# | `adaptive` | O(T · 2.5 C) (1.5 C causal), C = `max_span` + `ramp` = 144 by default, in blocks of C/2 when T > 2C and no weights are asked for, else dense O(T²) with a bias; 0.48× / 0.77× at 4096 | yes: distance p − j, span from a prefix mean | keys and values (all of them, though none further back than C is read), plus the running sum and count of the input (`span_sum`, `span_count`) | the span z by gradient through the linear ramp; `span_penalty` · mean(z) / `max_span` in `aux_loss` (0.01 by default) | plain attention (no span parameters) |
# | `focus` | O(T · 3·max(windows)) (blocked kernel once T > 2·max; 2·max causal) × `iterations`; 0.28× / 0.40× at 4096 | yes: activity is a prefix mean, one window per position | keys and values (all of them, though only the last max(windows) are read), plus the running activity sum and count and the last frame (`focus_sum`, `focus_count`, `focus_last`, `focus_last_valid`) | none in the choice: an activity statistic cut by thresholds (a buffer `calibrate` sets to quantiles); the projections by gradient | plain attention (with the focus iterations when `iterations` > 1) |

# %% [markdown]
# ## 1. `Dimensions`: every number that fixes the model's shape
#
# One dataclass holds them all, with the seed's field names. Every field has a default, so
# `Dimensions()` is already a small working model for our 31-symbol tokenizer; presets give common
# sizes. The config is saved beside the weights (`config.json`), so a model can always be rebuilt.

# %%
dims = Dimensions.tiny()
for name, value in dims.to_dict().items():
    print(f"{name:24s} {value!r}")

# %% [markdown]
# A few numbers are *derived*: the encoder's window covers `audio_ctx × 2` mel frames of 10 ms, and
# each head gets `dims / heads` channels.

# %%
print("window:", dims.audio_seconds, "s =", dims.n_audio_samples, "samples;",
      "head sizes:", dims.audio_head_dim, dims.text_head_dim)
tokenizer = build_tokenizer()
assert len(tokenizer) == dims.vocab and tokenizer.bos_token_id == dims.decoder_start_token_id

# %% [markdown]
# `validate()` checks every field and names the one that is wrong — before any tensor is allocated.

# %%
for bad in (dict(text_dims=100, text_head=3), dict(self_attention_type="myelinatd"),
            dict(text_layerA=0, text_layerB=0), dict(decoder_start_token_id=2)):
    try:
        Dimensions.tiny(**bad).validate()
    except ConfigError as err:
        print(f"{bad} -> {err}")

# %% [markdown]
# ### The seed's `cross_attention=False`
#
# In the original code this flag removed cross-attention from the layer-A blocks, and with the seed's
# `text_layerB=0` nothing else was left: **the decoder could not see the audio** and was a plain language
# model. In echo_edu every decoder block always cross-attends to the encoded audio (with
# `cross_attention_type`); the flag is accepted so the seed's snippet runs, and a warning says so.
# A decoder with no blocks at all (no way to hear) is refused outright.

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    Dimensions.tiny(cross_attention=False).validate()
print(caught[0].message)

# %% [markdown]
# ## 2. One clip through the encoder, piece by piece
#
# First the features: `process_audio` pads (or trims) the clip to the window and returns
# `(batch, mels, 2·audio_ctx)`.

# %%
model = Echo(dims).eval()
clip = load_samples("digits")[0]
mel = process_audio(clip["audio"], audio_ctx=dims.audio_ctx, mels=dims.mels)
print("text:", clip["text"], "| mel:", tuple(mel.shape), "(batch, mels, frames)")

# %% [markdown]
# The conv stem: a 3-wide convolution mixes neighbouring frames into `audio_dims` channels, a second
# one with stride 2 halves the frame rate (10 ms → 20 ms per position). Then time goes second —
# `(batch, time, channels)`, the stream layout of every transformer — and fixed sinusoidal positions
# are added (rotary positions live inside each self-attention layer as well).
# The clip is padded to `2·audio_ctx` frames: a padding mask (True = real position, from the clip's
# real frames) keeps every attention layer from listening to the silence after it.

# %%
enc = model.encoder
with torch.no_grad():
    x = enc.act(enc.conv1(mel));  print("conv1     ", tuple(x.shape), "(B, audio_dims, 2·audio_ctx)")
    x = enc.act(enc.conv2(x));    print("conv2     ", tuple(x.shape), "(B, audio_dims, audio_ctx)  stride 2")
    x = x.transpose(1, 2);        print("transpose ", tuple(x.shape), "(B, audio_ctx, audio_dims)")
    x = x + enc.positional;       print("+positions", tuple(x.shape))
    mask = enc.audio_mask(enc.real_frames(mel))    # (B, audio_ctx) bool: True = a position with real audio
    print("padding mask", tuple(mask.shape), "real positions:", mask.sum(-1).tolist())
    for i, block in enumerate(enc.blocks):         # bidirectional: a frame may look ahead, never at padding
        x, info = block(x, causal=False, key_padding_mask=mask)
        print(f"block {i} ({block.attn.kind:10s})", tuple(x.shape))
    x = enc.norm(x)
    encoded = model.encoder(mel)
print("encoder(mel)", tuple(encoded.shape))
assert torch.allclose(x, encoded, atol=1e-5)

# %% [markdown]
# Each block is pre-norm: `x + attention(norm(x))`, then `x + MLP(norm(x))`. **Layer-A** blocks use
# standard attention, **layer-B** blocks the experimental `self_attention_type` (myelinated, integrated,
# adaptive — lessons 05–07). A wrong input length is an error that says what to do, not a crash deep in
# torch:

# %%
try:
    model.encoder(torch.randn(1, dims.mels, 2 * dims.audio_ctx + 10))
except ShapeError as err:
    print(err)

# %% [markdown]
# ## 3. The decoder: characters in, next-character scores out
#
# Decoding starts from `<|startoftranscript|>` (id 1; the original started from end-of-text and asked
# the model to begin after a finished sentence). Each block: causal self-attention over the characters
# so far, **cross-attention to the encoded audio**, an MLP. Logits come from the same embedding matrix
# that embedded the input (tied weights).

# %%
ids = torch.tensor([[dims.decoder_start_token_id] + tokenizer(clip["text"], add_special_tokens=False).input_ids])
dec = model.decoder
with torch.no_grad():
    y = dec.token_embedding(ids);   print("embed      ", tuple(y.shape), "(B, T, text_dims)")
    for i, block in enumerate(dec.blocks):
        y, info = block(y, encoded, causal=True, need_weights=True)
        print(f"block {i}: self {tuple(info['self']['weights'].shape)}  cross {tuple(info['cross']['weights'].shape)}"
              "  (B, heads, T, keys)")
    y = dec.norm(y)
    logits = y @ dec.token_embedding.weight.t()
    print("logits     ", tuple(logits.shape), "(B, T, vocab)")
    assert torch.allclose(logits, model.decoder(ids, encoded), atol=1e-5)

# %% [markdown]
# ## 4. Health checks of a fresh model
#
# **Initial loss ≈ ln(vocab).** Small embeddings (σ = 0.02) make the first logits nearly equal, so the
# untrained model spreads its bets evenly: cross-entropy ≈ ln 31 ≈ 3.43. A much larger first loss means
# a bad initialisation (the original's N(0, 1) tied embeddings started far above it).

# %%
labels = torch.cat([ids[:, 1:], torch.tensor([[dims.eos_token_id]])], dim=1)
out = model(mel, ids, labels=labels)
print(f"loss {out.loss.item():.3f}  vs ln(vocab) {math.log(dims.vocab):.3f}")
assert abs(out.loss.item() - math.log(dims.vocab)) < 0.3 and torch.isfinite(out.logits).all()

# %% [markdown]
# **The decoder listens.** Feed the same characters with different audio: the logits must change. This
# one test would have caught the original's deaf decoder, so it runs for every attention type.

# %%
other = process_audio(load_samples("digits")[1]["audio"], dims.audio_ctx, dims.mels)
for kind in sorted(ATTENTION_TYPES):
    m = Echo(Dimensions.tiny(self_attention_type=kind, cross_attention_type=kind, text_layerB=1)).eval()
    with torch.no_grad():
        change = (m.decoder(ids, m.encoder(mel)) - m.decoder(ids, m.encoder(other))).abs().max().item()
    print(f"{kind:11s} max logit change when the audio changes: {change:.4f}")
    assert change > 1e-4

# %% [markdown]
# **Causality and the KV cache.** Position *t* may not see the future, so decoding one character at a
# time with a cache (keys/values of earlier positions kept; the audio's keys computed once) must give
# exactly the logits of one full pass.

# %%
with torch.no_grad():
    full = model.decoder(ids, encoded)
    cache = model.new_cache()
    steps = torch.cat([model.decoder(ids[:, t:t + 1], encoded, cache) for t in range(ids.shape[1])], dim=1)
print("cache length:", cache.length, "| max difference:", (steps - full).abs().max().item())
assert torch.allclose(steps, full, atol=1e-4)

# %% [markdown]
# ## 5. Where the parameters are

# %%
def count(module):
    return sum(p.numel() for p in module.parameters())

print(f"encoder stem {count(enc.conv1) + count(enc.conv2):>8,}")
print(f"encoder blocks {count(enc.blocks):>6,}")
print(f"embedding (tied) {count(dec.token_embedding):>4,}")
print(f"decoder blocks {count(dec.blocks):>6,}")
print(f"total {model.num_parameters():>15,}")

# %% [markdown]
# The same count, part by part, for any configuration. The widget builds a fresh `Echo` from
# `Dimensions.tiny` with the fields on its controls and splits every block into self-attention,
# cross-attention, MLP and norms. Switch the layer-B type and watch the layer-B rows: each mechanism
# brings its own modules (lessons 05–07), and the rest of the model stays the same. Add layer-B blocks,
# change the width, or drop the CTC head.

# %%
from echo_edu.viz.parameters import parameter_table, parameters_dims, parameters_static, parameters_widget

parameters_static();

# %%
parameters_widget()

# %% [markdown]
# What each layer-B type adds to the same model (one layer-B block on each side, width 64, CTC head):

# %%
totals = {kind: sum(r["parameters"] for r in parameter_table(parameters_dims(kind))) for kind in ATTENTION_TYPES}
for kind, total in totals.items():
    print(f"{kind:11s} {total:>8,} parameters ({total - totals['standard']:+,} against standard)")
assert totals["standard"] == Echo(parameters_dims("standard")).num_parameters()
assert totals["focus"] == totals["standard"] < totals["adaptive"] < totals["myelinated"] < totals["integrated"]

# %% [markdown]
# Focus attention adds nothing: its window comes from an activity statistic and thresholds (buffers),
# not from weights. Adaptive adds only its span predictor (one linear layer to a span per head).
# Myelinated adds its importance and memory gates, the skip policy, the working memory's initial state
# and a norm per extra sub-layer; its sub-layers share out the heads, so their projections cost about
# one attention. Integrated adds the most: a query projection for its global branch and the layer that
# fuses the two branches. Counting parameters says nothing about compute: lesson 07 measured focus
# doing ×7.8 less work than standard at T = 2048.
#
# ## 6. The seed's usage, run live
#
# This is the snippet from the original README, with our tokenizer in place of Whisper's (so `vocab`,
# the start, pad and end ids come from it) and no hard-coded `'cuda'` — we take the best device there
# is. The seed's 30-second window (`audio_ctx=1500`) and width 512 are kept. An untrained model's one
# step of decoding prints one arbitrary character; lesson 10 decodes a trained model properly.

# %%
device = echo_edu.default_device()
kind = "myelinated" if "myelinated" in ATTENTION_TYPES else "standard"
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)      # the cross_attention=False note, shown above
    param = Dimensions(
        # Audio encoder parameters
        mels=80, audio_ctx=1500, audio_dims=512, audio_head=2,
        audio_layerA=2, audio_layerB=1, audio_act="gelu",
        # Text decoder parameters
        vocab=len(tokenizer), text_ctx=448, text_dims=512,
        text_head=2, text_layerA=2, text_layerB=0, text_act="gelu",
        # Attention mechanism selection
        self_attention_type=kind, cross_attention_type=kind,
        # Other parameters
        cross_attention=False,
        decoder_start_token_id=tokenizer.bos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model_seed = Echo(param=param).to(device).eval()

t0 = time.perf_counter()
mel_spectrogram = process_audio(clip["audio"], audio_ctx=param.audio_ctx, mels=param.mels,
                                hop_length=160, n_fft=400, sr=16000).to(device)
with torch.no_grad():
    encoded_audio = model_seed.encoder(mel_spectrogram)
    input_ids = torch.tensor([[param.decoder_start_token_id]]).to(device)
    logits = model_seed.decoder(input_ids, encoded_audio)
transcription = tokenizer.decode(torch.argmax(logits, dim=-1)[0])
print(f"{model_seed.num_parameters() / 1e6:.1f} M parameters; mel {tuple(mel_spectrogram.shape)} -> encoded "
      f"{tuple(encoded_audio.shape)} -> logits {tuple(logits.shape)} in {time.perf_counter() - t0:.1f} s; "
      f"first character: {transcription!r}")
assert encoded_audio.shape == (1, 1500, 512) and logits.shape == (1, 1, len(tokenizer))
del model_seed, encoded_audio

# %% [markdown]
# ## 7. Saving and loading
#
# `save_pretrained` writes three things: `model.safetensors` (every parameter **and buffer** — the
# refiner's Q-table too), `config.json` (the `Dimensions` plus a checksum of the weights) and the
# tokenizer. `from_pretrained` never unpickles: a `torch.save` file is refused, because loading a pickle
# can run arbitrary code.

# %%
with tempfile.TemporaryDirectory() as folder:
    model.save_pretrained(folder)
    again = Echo.from_pretrained(folder)
    with torch.no_grad():
        same = torch.equal(model(mel, ids).logits, again(mel, ids).logits)
    print(sorted(p.name for p in __import__("pathlib").Path(folder).iterdir()), "identical logits:", same)
    assert same

# %% [markdown]
# ## Summary
#
# * `Dimensions` names every size; `validate()` rejects bad ones by field name; it travels with the
#   weights as `config.json`.
# * Encoder: conv stem (stride 2) → positions → layer-A (standard) then layer-B (experimental) blocks,
#   bidirectional → `(B, audio_ctx, audio_dims)`.
# * Decoder: embeddings → causal self-attention + cross-attention to the audio **in every block** → MLP
#   → tied logits `(B, T, vocab)`. A different clip changes the logits — the original's could not.
# * A healthy fresh model starts at loss ≈ ln(vocab), is causal, and decodes identically with a KV cache.
#
# ## Exercises
#
# 1. Build `Dimensions.tiny(audio_dims=96, audio_head=3)`: the encoder is wider than the decoder. Which
#    layers adapt to the mismatch? (Hint: look at the cross-attention's `key` and `value` shapes.) Pass the
#    decoder parameter names to `check_width_mismatch(model, names)`.
# 2. Set `rotary=False`. What does the decoder add instead, and why must it add *something*? Swap two earlier
#    characters and measure the change of the last position's logits, with the addition and with it zeroed:
#    `check_no_rotary_positions(model, change_with, change_without)`.
# 3. Initialise the embeddings with σ = 1 (`torch.nn.init.normal_(model.decoder.token_embedding.weight)`)
#    and recompute the first loss. How far from ln 31 is it? `check_embedding_scale(loss_small, loss_big)`.
# 4. Count the work of the decoder step that adds token 10, 100 and 250 (`echo_edu.utils.matmul_flops`),
#    with a cache and without one (recomputing the prefix), and time it. How does the gap grow with length,
#    and why do the seconds follow the work less closely than the count? `check_cache_work(lengths,
#    cached_flops, uncached_flops)`.
#
# Worked solutions follow, one collapsed cell each (click to expand; try first).

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1: only matrices that read the encoder's output need the encoder's width on their input side.
from echo_edu import Dimensions, Echo
from echo_edu.exercises.echo_model import check_width_mismatch

wide = Echo(Dimensions.tiny(audio_dims=96, audio_head=3))
names1 = [n for n, p in wide.decoder.named_parameters() if p.ndim == 2 and p.shape[1] == wide.dims.audio_dims]
for n in names1:
    print(n, tuple(dict(wide.decoder.named_parameters())[n].shape))
assert check_width_mismatch(wide, names1)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 2: without rotary the decoder adds a learned absolute position table; without any positions the
# last position sees its earlier characters as a bag (order lost), which a swap shows.
import torch
from echo_edu import Dimensions, Echo
from echo_edu.exercises.echo_model import check_no_rotary_positions

torch.manual_seed(0)
plain = Echo(Dimensions.tiny(rotary=False)).eval()
print([n for n, _ in plain.decoder.named_parameters()][:2])
ids2, encoded2 = torch.randint(3, 31, (1, 8)), torch.randn(1, plain.dims.audio_ctx, plain.dims.audio_dims)
swapped2 = ids2.clone()
swapped2[:, [2, 4]] = ids2[:, [4, 2]]


def last_change():
    with torch.no_grad():
        return float((plain.decoder(swapped2, encoded2)[:, -1] - plain.decoder(ids2, encoded2)[:, -1]).abs().max())


change_with = last_change()
with torch.no_grad():
    plain.decoder.positional.zero_()
change_without = last_change()
print(f"swap changes the last logits by {change_with:.4f} with positions, {change_without:.1e} without")
assert check_no_rotary_positions(plain, change_with, change_without)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 3: the same batch, before and after re-initialising the tied embeddings with σ = 1.
import math

import torch
from echo_edu import Dimensions, Echo
from echo_edu.exercises.echo_model import check_embedding_scale

torch.manual_seed(0)
model3 = Echo(Dimensions.tiny())
mel3, ids3, labels3 = torch.randn(1, 80, 200), torch.randint(3, 31, (1, 10)), torch.randint(3, 31, (1, 10))
with torch.no_grad():
    loss_small = model3(mel3, ids3, labels=labels3).loss.item()
    torch.nn.init.normal_(model3.decoder.token_embedding.weight)
    loss_big = model3(mel3, ids3, labels=labels3).loss.item()
print(f"σ = 0.02: {loss_small:.2f}   σ = 1: {loss_big:.1f}   ln 31 = {math.log(31):.2f}")
assert check_embedding_scale(loss_small, loss_big)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 4: the cost of the step that adds token T. With the cache it projects 1 new position; without,
# it recomputes all T. The FLOP count is exact; the seconds (best of many short tries) are printed beside it.
import copy
import time

import torch
from echo_edu import Dimensions, Echo
from echo_edu.exercises.echo_model import check_cache_work
from echo_edu.utils import matmul_flops

torch.manual_seed(0)
model4 = Echo(Dimensions.tiny(text_ctx=256)).eval()
encoded4 = torch.randn(1, model4.dims.audio_ctx, model4.dims.audio_dims)


def step_cost(length, cached, tries=30):
    """``(FLOPs, best seconds)`` of the step that adds token ``length``; each try from a fresh copy of the cache."""
    ids = torch.randint(3, 31, (1, length))
    filled = model4.new_cache()
    model4.decoder(ids[:, :-1], encoded4, filled)                     # the cache after length − 1 tokens

    def step(cache):
        return model4.decoder(ids[:, -1:], encoded4, cache) if cached else model4.decoder(ids, encoded4)[:, -1:]

    flops = matmul_flops(lambda: step(copy.deepcopy(filled)))         # copying is no matrix product
    best = float("inf")
    for _ in range(tries):
        cache = copy.deepcopy(filled)                                 # outside the clock
        start = time.perf_counter()
        step(cache)
        best = min(best, time.perf_counter() - start)
    return flops, best


lengths4 = [10, 100, 250]
with torch.no_grad():
    cached_flops, cached_s = zip(*(step_cost(n, True) for n in lengths4))
    uncached_flops, uncached_s = zip(*(step_cost(n, False) for n in lengths4))
for n, c, u, cs, us in zip(lengths4, cached_flops, uncached_flops, cached_s, uncached_s):
    print(f"step to token {n:3d}: cached {c / 1e6:5.2f} MFLOP {1e3 * cs:5.2f} ms, recomputed {u / 1e6:6.2f} MFLOP "
          f"{1e3 * us:5.2f} ms   (work ×{u / c:.0f}, time ×{us / cs:.1f})")
assert check_cache_work(lengths4, cached_flops, uncached_flops)
