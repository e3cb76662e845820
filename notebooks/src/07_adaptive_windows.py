# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 07 · Adaptive windows: learned attention spans and content-chosen focus windows
#
# Speech is local most of the time — a phoneme lasts a few frames — but not always: a long vowel, a
# pause, a word spoken twice. Full attention pays `O(T²)` for context that most heads never use. This
# lesson shows two ways to let the *data* decide how far each attention layer looks:
#
# * **adaptive span** — every head learns a span by gradient descent (a soft ramp mask plus a
#   penalty), predicted from the content of the sequence;
# * **adaptive focus window** — every example picks a band width from a fixed set, from how busy its
#   signal is; one banded mask, no loop over windows, optional focus iterations.
#
# **What you'll learn**
#
# 1. The soft ramp `m(δ) = clamp((R + z − δ)/R, 0, 1)` and why it lets the span learn.
# 2. Spans predicted from content — and from the *prefix* only in a decoder.
# 3. Watching spans grow when a task needs long context and shrink when it does not.
# 4. A signal-activity measure, thresholds calibrated on data, and window buckets with static shapes.
# 5. Where the windows fall on a real log-mel spectrogram, next to the attention maps.
# 6. Focus iterations `z ← z + Attn(q(LN z), K, V)`, and the checks that keep all this honest.
#
# **What you need:** lessons 02 (attention, masks, bands, the KV cache) and 04 (the log-mel front end, which
# turns sound into a `(mels, frames)` image).

# %%
import torch

import echo_edu
from echo_edu import log_mel_spectrogram
from echo_edu.attention import (AdaptiveFocusAttention, AdaptiveSpanAttention, KVCache, StandardAttention,
                                band_mask)
from echo_edu.attention.adaptive import span_ramp
from echo_edu.viz.audio import compare_clips_static
from echo_edu.viz.windows import (demo_signals, focus_static, focus_widget, span_static, span_widget,
                                  window_choice_static)

gen = echo_edu.set_seed(0)
QUICK = echo_edu.quick_mode()
torch.set_printoptions(precision=3, sci_mode=False)

# %% [markdown]
# ## 1. A spectrogram-like signal
#
# Four synthetic clips, from calm to busy: a tone with silences, a slow chirp, a warble that hops to a
# new pitch every 40 ms, and clicks of noise. The log-mel front end turns each 1.6 s clip into 160
# frames of 40 mel bands — 100 frames per second. We treat each frame as one token: `(B, T, D) = (4, 160, 40)`.

# %%
waves, labels = demo_signals()
mel = log_mel_spectrogram(waves, mels=40)  # (4, 40, 160): (B, mels, frames)
frames = mel.transpose(1, 2)              # (4, 160, 40): (B, T, D) — one token per frame
print("waves", tuple(waves.shape), "→ log-mel", tuple(mel.shape), "→ tokens", tuple(frames.shape))
compare_clips_static(list(waves), labels, mels=40);

# %% [markdown]
# ## 2. Adaptive span: a ramp you can differentiate
#
# Adaptive span (Sukhbaatar et al., 2019) multiplies the attention weights by a mask of the distance
# `δ = |t − j|` and renormalises — the same as adding `log m(δ)` to the logits:
#
# `m(δ) = clamp((R + z − δ)/R, 0, 1)`: 1 inside the span `z`, a linear ramp of width `R`, then 0.
#
# A hard cut at `z` would have no gradient. The ramp does: keys on the ramp feel `z` move, so the loss
# can push `z` up (more context helps) and a penalty `λ·mean(z)/max_span` pushes it down.

# %%
z, R = torch.tensor(6.0), 4.0
delta = torch.arange(12.0)
print("δ:", delta.tolist())
print("m:", span_ramp(z, delta, R).tolist())
assert torch.allclose(span_ramp(z, delta, R)[:7], torch.ones(7))
assert span_ramp(z, delta, R)[8] == 0.5 and span_ramp(z, delta, R)[10:].eq(0).all()

# %% [markdown]
# In echo_edu the span is **predicted from content**: `z = max_span · σ(W · pool(x) + b)`, one per head.
# In the encoder `pool` is the mean over the clip; in the decoder it is the mean over the *prefix*, so
# a later frame can never change an earlier span. Here is an (untrained) span layer on our frames; the
# prediction weights start at zero, so we perturb them to see spans that differ by clip.

# %%
span_layer = AdaptiveSpanAttention(40, 4, rotary={"theta": 1000.0}, max_span=64, ramp=8, init_span=16.0)
with torch.no_grad():
    span_layer.span_predictor.weight.normal_(0, 0.3, generator=gen)
    _, span_info = span_layer.eval()(frames, need_weights=True)
print("span per clip and head (frames):\n", span_info["span"][:, :, 0])
print("aux loss (the penalty the training loss adds):", span_info["aux_loss"].item())
span_static(span_info, example=0, head=0);

# %%
span_widget(span_info)

# %% [markdown]
# ### Spans learn what the task needs
#
# Two tiny training runs of one causal span layer on random sequences where we *know* the answer:
#
# * **long**: every position must recall the first token (marked by a flag in channel 0), up to 47 steps
#   back — spans must grow;
# * **local**: every position must reproduce itself — the penalty shrinks the span towards zero.

# %%
def train_span(task, steps):
    torch.manual_seed(0)
    layer = AdaptiveSpanAttention(16, 2, max_span=64, ramp=8, init_span=12.0, span_penalty=0.05)
    opt = torch.optim.Adam(layer.parameters(), lr=3e-2)
    spans = []
    for _ in range(steps):
        x = torch.randn(16, 48, 16, generator=gen)
        x[:, :, 0] = 0.0
        x[:, 0, 0] = 4.0  # the flag: "I am the first token"
        target = x[:, :1, 1:].expand(-1, 48, -1) if task == "long" else x[:, :, 1:]
        out, info = layer(x, causal=True)
        loss = (out[..., 1:] - target).pow(2).mean() + info["aux_loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        spans.append(info["span"].mean().item())
    return spans


steps = 70 if QUICK else 200
long_spans, local_spans = train_span("long", steps), train_span("local", steps)
for step in range(0, steps, steps // 7):
    print(f"step {step:3d}   long-context task: span {long_spans[step]:5.1f}   local task: span {local_spans[step]:5.1f}")
assert long_spans[-1] > 2 * long_spans[0] and local_spans[-1] < local_spans[0] / 2

# %% [markdown]
# ## 3. Adaptive focus window: pick a band per example
#
# A learned span is a soft mask over the full `T × T` map. The focus window is cheaper and blunter:
# each example picks **one band width** `w` from a fixed set, and queries see keys with `|t − j| < w`.
# The choice comes from the signal itself:
#
# * **activity** `ν_t = ‖x_t − x_{t−1}‖² / (‖x_t‖² + ‖x_{t−1}‖²)` — 0 for a steady sound or silence,
#   about 1 when neighbouring frames are unrelated. It ignores the *scale* of the features, so it means
#   the same before and after a norm layer that rescales frames (plain energy would not survive the
#   block's normalisation). It does **not** ignore the loudness of the sound: on log-mel features a gain
#   is an *added* constant, which leaves the numerator alone and changes the denominator — the cell
#   after calibration measures it;
# * mean activity of the clip (in the decoder: of the prefix) → a **bucket** by thresholds → a window:
#   busier signals get narrower windows, calm ones look further.
#
# Window sizes are an index into a fixed tuple, so every tensor keeps its shape — no recompilation, no
# `.item()`, no Python loop over windows. Thresholds can be set by hand, or **calibrated**: quantiles of
# the activity of a representative batch, so each bucket is used equally often.
#
# Calibrating on the four clips we then look at would put each in its own bucket by construction, so
# we calibrate on *other* clips: warbles hopping every 20, 60 and 120 ms, two chirps, two gated tones
# and two kinds of noise bursts, each at full and at one-tenth volume.

# %%
def calibration_clips(seconds=1.6, sr=16000, seed=1):
    """Eighteen synthetic clips unlike the four demo clips, (18, samples) in [-0.5, 0.5]."""
    t = torch.arange(int(sr * seconds)) / sr
    g = torch.Generator().manual_seed(seed)
    clips = []
    for hop_s in (0.02, 0.06, 0.12):                                   # warbles at other hop rates
        pitch = (torch.rand(16, generator=g) * 900 + 300)[(t / hop_s).long() % 16]
        clips.append(torch.sin(torch.cumsum(2 * torch.pi * pitch / sr, 0)))
    for f0, f1 in ((200, 800), (500, 2000)):                            # chirps
        clips.append(torch.sin(2 * torch.pi * (f0 * t + 0.5 * (f1 - f0) / seconds * t ** 2)))
    for period, on in ((0.5, 0.25), (1.0, 0.3)):                        # gated tones
        clips.append(torch.sin(2 * torch.pi * 330 * t) * ((t % period) < on))
    for period, on in ((0.07, 0.02), (0.15, 0.05)):                     # noise bursts
        clips.append(torch.randn(t.shape, generator=g).clamp(-3, 3) / 3 * ((t % period) < on))
    clips = 0.5 * torch.stack(clips)
    return torch.cat([clips, 0.1 * clips])


calib_frames = log_mel_spectrogram(calibration_clips(), mels=40).transpose(1, 2)
focus = AdaptiveFocusAttention(40, 4, rotary={"theta": 1000.0}, windows=(8, 16, 32, 64)).eval()
print("thresholds before:", focus.thresholds)
print("thresholds after calibration on 18 other clips:", focus.calibrate(calib_frames))
with torch.no_grad():
    _, focus_info = focus(frames, need_weights=True)
chosen = focus_info["window"][:, 0]
for label, act, w in zip(labels, focus_info["activity"][:, 0], chosen):
    print(f"{label:16s} activity {act:.3f} → window {int(w)}")
print(f"{chosen.unique().numel()} different windows for the four demo clips")
assert chosen[labels.index("slow chirp")] > chosen[labels.index("clicks")]  # calm looks further than busy
window_choice_static(focus_info, focus.thresholds.tolist(), labels);

# %% [markdown]
# Loudness: the same four clips at one tenth of the volume. The log-mel frames shift by a constant, the
# activity changes, and with it (when it crosses a threshold) the window.

# %%
quiet_frames = log_mel_spectrogram(0.1 * waves, mels=40).transpose(1, 2)
with torch.no_grad():
    _, quiet_info = focus(quiet_frames)
for label, a1, a01, w1, w01 in zip(labels, focus_info["activity"][:, 0], quiet_info["activity"][:, 0], chosen,
                                    quiet_info["window"][:, 0]):
    print(f"{label:16s} activity {a1:.3f} → {a01:.3f} at gain 0.1   window {int(w1)} → {int(w01)}")
tone = labels.index("tone + silences")
assert quiet_info["activity"][tone, 0] < 0.75 * focus_info["activity"][tone, 0]   # not loudness-blind

# %% [markdown]
# ### Where the windows fall
#
# Top: the clip's log-mel (frames across, mel bands up) with the window of one query frame shaded.
# Bottom: the attention map with the band's edges dotted; the query's row is marked. Compare the calm
# chirp (wide band) with the clicks (narrow band). The widget lets you move the query frame and switch
# clip and head.

# %%
focus_static(frames, focus_info, example=labels.index("slow chirp"), query=80);

# %%
focus_static(frames, focus_info, example=labels.index("clicks"), query=80);

# %%
focus_widget(frames, focus_info)

# %% [markdown]
# ### The mask is exactly the definition
#
# Every weight outside the band is zero and every key inside it gets some weight — checked against the
# definition written as a loop for one clip.

# %%
b = labels.index("warble")
w = int(focus_info["window"][b, 0])
T = frames.shape[1]
reference = torch.tensor([[abs(i - j) < w for j in range(T)] for i in range(T)])
assert torch.equal(focus_info["weights"][b] > 0, reference.expand(4, T, T))
assert torch.equal(reference, band_mask(T, T, w, causal=False))
print(f"clip {labels[b]!r}: band of width {w} matches the loop definition")

# %% [markdown]
# ### In the decoder: windows from the prefix
#
# With `causal=True` the band is one-sided (`0 ≤ t − j < w`) and the activity is a **prefix** mean, so
# each frame's window depends only on the frames before it — the window can change along the clip. Here
# the tone-with-silences clip: the onsets raise the running activity and the window narrows. The dotted
# band edges in the map follow the per-frame window. A KV cache carries the running sums and the last
# frame, so decoding frame by frame gives the full pass.

# %%
with torch.no_grad():
    _, causal_info = focus(frames, causal=True, need_weights=True)
    tone = labels.index("tone + silences")
    print("window along the tone clip (every 10th frame):", causal_info["window"][tone, ::10].tolist())
    out_full, _ = focus(frames, causal=True)
    cache = KVCache()
    out_steps = torch.cat([focus(frames[:, t:t + 1], causal=True, cache=cache)[0] for t in range(T)], dim=1)
assert torch.allclose(out_steps, out_full, atol=1e-5)
focus_static(frames, causal_info, example=tone, query=100, causal=True);

# %% [markdown]
# ## 4. Focus iterations
#
# The original Echo refined each window's query up to ten times, stopping on a data-dependent test.
# Here the number of iterations `K` is fixed: keys and values stay put while the query is refined,
# `z ← z + Attn(q(LN z), K, V)`, and the layer returns `z_K − x`. With `K = 1` this is plain windowed
# attention; with a window at least as long as the clip it is plain attention.

# %%
focus2 = AdaptiveFocusAttention(40, 4, rotary={"theta": 1000.0}, windows=(8, 16, 32, 64), iterations=2).eval()
focus2.load_state_dict(focus.state_dict(), strict=False)  # same projections and thresholds, plus a LayerNorm
with torch.no_grad():
    one_step, _ = focus(frames)
    two_steps, _ = focus2(frames)
print("second iteration changes the output by", (two_steps - one_step).abs().mean().item())
assert not torch.allclose(one_step, two_steps, atol=1e-4)

std = StandardAttention(40, 4, rotary={"theta": 1000.0}).eval()
wide = AdaptiveFocusAttention(40, 4, rotary={"theta": 1000.0}, windows=(T,)).eval()
wide.load_state_dict(std.state_dict(), strict=False)
with torch.no_grad():
    assert torch.allclose(wide(frames)[0], std(frames)[0], atol=1e-5)
print("window ≥ length: identical to standard attention")

# %% [markdown]
# ## Summary
#
# * **Adaptive span**: a soft ramp `clamp((R + z − δ)/R, 0, 1)` makes the span differentiable; a penalty
#   in `info["aux_loss"]` keeps it honest. Spans grow when the task needs context and shrink when not.
# * Spans and windows are predicted from **content**; in the decoder only from the prefix (exact under a
#   KV cache).
# * **Focus window**: an activity measure picks one band width per example from a fixed set — static
#   shapes, one banded mask, no window loop; thresholds can be calibrated as quantiles on data.
# * **Focus iterations** refine the query a fixed number of times; `K = 1` with a long window is plain
#   attention.
#
# ## Exercises
#
# 1. Train the long-context span task with `span_penalty=0.5` (give `train_span` a penalty argument),
#    three seeds, next to the lesson's `0.05`. What span does it settle at, and what does the error (the
#    loss without the penalty) do? Explain the trade-off.
#    `check_span_penalty(spans_low, spans_high, mse_low, mse_high)`.
# 2. Replace the activity by the frame energy `x.pow(2).mean(-1)` and put a `LayerNorm` in front of it, as
#    the block does. Measure each clip's mean energy before and after the norm, at full and at one-tenth
#    volume, and the share of flat frames (the same value in every band: silence). What is left of
#    "energy" after the norm, and why can it no longer tell a calm clip from a busy one?
#    `check_energy_after_norm(raw_full, raw_quiet, normed_full, normed_quiet, flat_share)`.
# 3. Make the warble hop every 10 ms instead of 40 ms (`demo_signals` source). Which window does it
#    get with calibrated thresholds, and why? (Hint: how long is one analysis frame of the log-mel?)
#    `check_fast_warble(activity_slow, activity_fast, window_slow, window_fast)`.
# 4. Count the work of `focus` and of `StandardAttention` on a 2 048-frame input (`torch.randn(1, 2048, 40)`)
#    with `echo_edu.utils.matmul_flops`, and time both, best of five. Which code path does the focus layer take
#    (see `echo_edu.attention.windows.local_attention`) and why does it do less work?
#    `check_focus_work(length, max_window, used_blocked, flops_focus, flops_standard)`.
#
# Worked solutions follow, one collapsed cell each (click to expand; try first).

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1: the long-context task at two prices of width, three seeds each.
import torch

import echo_edu
from echo_edu.attention import AdaptiveSpanAttention
from echo_edu.exercises.adaptive_windows import check_span_penalty


def long_task_span(penalty, seed, steps=70):
    """Final mean span and error of the long-context task with span_penalty = penalty."""
    gen1 = echo_edu.set_seed(seed)
    layer1 = AdaptiveSpanAttention(16, 2, max_span=64, ramp=8, init_span=12.0, span_penalty=penalty)
    opt1, spans1, errors1 = torch.optim.Adam(layer1.parameters(), lr=3e-2), [], []
    for _ in range(steps):
        x1 = torch.randn(16, 48, 16, generator=gen1)
        x1[:, :, 0] = 0.0
        x1[:, 0, 0] = 4.0                                       # the flag of the first token
        out1, info1 = layer1(x1, causal=True)
        error1 = (out1[..., 1:] - x1[:, :1, 1:]).pow(2).mean()  # every position recalls the first token
        opt1.zero_grad()
        (error1 + info1["aux_loss"]).backward()
        opt1.step()
        spans1.append(info1["span"].mean().item())
        errors1.append(error1.item())
    return spans1[-1], sum(errors1[-10:]) / 10


runs1 = {penalty: [long_task_span(penalty, seed) for seed in range(3)] for penalty in (0.05, 0.5)}
for penalty, results in runs1.items():
    print(f"span_penalty {penalty}: spans {[round(s, 1) for s, _ in results]}, errors {[round(e, 2) for _, e in results]}")
(spans_low, mse_low), (spans_high, mse_high) = (zip(*runs1[p]) for p in (0.05, 0.5))
assert check_span_penalty(spans_low, spans_high, mse_low, mse_high)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 2: a LayerNorm over the bands gives every non-flat frame mean 0 and variance 1 — energy 1.
import torch.nn.functional as F

from echo_edu import log_mel_spectrogram
from echo_edu.exercises.adaptive_windows import check_energy_after_norm
from echo_edu.viz.windows import demo_signals

waves2, labels2 = demo_signals()
energy = {}
for gain in (1.0, 0.1):
    frames2 = log_mel_spectrogram(gain * waves2, mels=40).transpose(1, 2)      # (4, 160, 40)
    energy[gain] = (frames2.pow(2).mean(-1).mean(-1), F.layer_norm(frames2, (40,)).pow(2).mean(-1).mean(-1))
flat_share = (frames2.std(-1) < 1e-3).float().mean(-1)                          # silent frames sit at the floor
for i, label in enumerate(labels2):
    print(f"{label:16s} energy {energy[1.0][0][i]:.2f} (gain 0.1: {energy[0.1][0][i]:.2f})   after the norm "
          f"{energy[1.0][1][i]:.3f} (gain 0.1: {energy[0.1][1][i]:.3f})   flat frames {flat_share[i]:.2f}")
assert check_energy_after_norm(energy[1.0][0], energy[0.1][0], energy[1.0][1], energy[0.1][1], flat_share)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 3: the warble of demo_signals with a hop argument, through a focus layer calibrated on other clips.
import math

import torch
from echo_edu import log_mel_spectrogram
from echo_edu.attention import AdaptiveFocusAttention
from echo_edu.exercises.adaptive_windows import check_fast_warble

sr3 = 16000
t3 = torch.arange(int(1.6 * sr3)) / sr3
pitches3 = torch.tensor([300.0, 500, 800, 1200, 650, 1000, 400, 900])


def warble(hop_s, pitches=pitches3):
    return 0.5 * torch.sin(torch.cumsum(2 * math.pi * pitches[(t3 / hop_s).long() % len(pitches)] / sr3, 0))


def as_frames(waves):
    return log_mel_spectrogram(waves, mels=40).transpose(1, 2)


# calibration: warbles of other pitches and hops, a sweep, a gated tone and noise bursts (not the two we test)
g3 = torch.Generator().manual_seed(3)
others = [warble(h, torch.rand(8, generator=g3) * 900 + 300) for h in (0.02, 0.06, 0.12)]
others += [0.5 * torch.sin(2 * math.pi * (200 * t3 + 250 * t3 ** 2)), 0.5 * torch.sin(2 * math.pi * 330 * t3) * (t3 % 0.5 < 0.25)]
others += [0.2 * torch.randn(t3.shape, generator=g3).clamp(-2.5, 2.5) * (t3 % p < p / 3) for p in (0.07, 0.15)]
focus3 = AdaptiveFocusAttention(40, 4, windows=(8, 16, 32, 64)).eval()
print("thresholds:", focus3.calibrate(as_frames(torch.stack(others + [0.1 * c for c in others]))))
with torch.no_grad():
    info3 = focus3(as_frames(torch.stack([warble(0.04), warble(0.01)])))[1]
(act_slow, act_fast), (win_slow, win_fast) = info3["activity"][:, 0].tolist(), info3["window"][:, 0].tolist()
print(f"hop 40 ms: activity {act_slow:.3f} → window {win_slow};  hop 10 ms: activity {act_fast:.3f} → window {win_fast}")
assert check_fast_warble(act_slow, act_fast, win_slow, win_fast)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 4: a long input takes the blocked kernel; count both layers' work, and time them, best of five.
import time

import torch
import echo_edu.attention.windows as windows4
from echo_edu.attention import AdaptiveFocusAttention, StandardAttention
from echo_edu.exercises.adaptive_windows import check_focus_work
from echo_edu.utils import matmul_flops

calls4 = []
blocked_kernel = windows4.blocked_local_attention


def recording_kernel(*args, **kwargs):
    calls4.append(args[0].shape)                          # q: (B, H, T, d)
    return blocked_kernel(*args, **kwargs)


def best_of(run, tries=5):
    times = []
    for _ in range(tries):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


length4 = 2048
x4 = torch.randn(1, length4, 40)
focus4, standard4 = AdaptiveFocusAttention(40, 4, windows=(8, 16, 32, 64)).eval(), StandardAttention(40, 4).eval()
windows4.blocked_local_attention = recording_kernel
try:
    with torch.no_grad():
        focus4(x4)                                        # warm-up, and the path taken
        flops = matmul_flops(lambda: focus4(x4)), matmul_flops(lambda: standard4(x4))
        seconds = best_of(lambda: focus4(x4)), best_of(lambda: standard4(x4))
finally:
    windows4.blocked_local_attention = blocked_kernel
print(f"blocked kernel called: {bool(calls4)}; focus {flops[0] / 1e6:.0f} MFLOP in {seconds[0] * 1e3:.1f} ms, "
      f"standard {flops[1] / 1e6:.0f} MFLOP in {seconds[1] * 1e3:.1f} ms")
assert check_focus_work(length4, max(focus4.windows), bool(calls4), *flops)
#
# ## Questionnaire
#
# 1. Why does a hard span cut-off give the span parameter no gradient, and how does the ramp fix that?
# 2. What would go wrong in a decoder if the focus window were chosen from the whole clip's activity?
# 3. Why are window sizes chosen from a fixed tuple rather than computed as any integer?

# %% [markdown]
# ## Experiment: does adaptive span help?
#
# The span *learns* (section 2): it grows when a task needs context and shrinks when it does not. Does
# learning it make a model *better* than plain attention? This section asks, with the same pre-registered
# experiment that ends lessons 05 and 06 (`echo_edu.experiments`; lesson 09 collects the verdicts): the
# plan is fixed first, you write down a prediction, both arms train once per seed on the same batches and
# are scored on the same held-out sequences, and the verdict is read off a 95 % confidence interval of
# the paired differences.
#
# The task is local, as speech mostly is: every position of a causal sequence must output the mean of
# its last four inputs. The baseline is standard attention with the same rotary embedding, which can
# learn to look near through its scores but has no span to narrow. (The experiment tests the learned
# span. The focus window's choice is not trained — an activity statistic cut by thresholds — so a
# training budget is not what decides it.)

# %%
from echo_edu.experiments import VERDICTS, save_result, span_local_mean

experiment = span_local_mean(quick=QUICK)
print(experiment.plan())

# %% [markdown]
# **Your prediction.** Before you run the cell after this one, set `my_prediction` to one of the three
# verdicts. (With rotary, standard attention can in principle find "the last four"; how easily, in this
# many steps?)

# %%
my_prediction = None  # one of VERDICTS, e.g. "hurts"
print("choices:", VERDICTS)

# %% [markdown]
# How the numbers are read: per seed the difference `dᵢ = MSE(adaptive span) − MSE(standard)` on held-out
# sequences (negative favours the span; the span penalty shapes training but is not part of the score),
# then the mean, the standard deviation and the interval `d̄ ± t · s/√n` with Student's t at `n − 1`
# degrees of freedom (2.776 for five seeds). Quick mode runs five seeds; the full version more seeds for
# more steps, with a progress bar (a few minutes).

# %%
result = experiment.run(progress=not QUICK)
save_result(experiment, result)  # lesson 09 collects it
print(result.report(prediction=my_prediction))
assert len(result.seeds) >= 5 and result.interval.low <= result.interval.mean <= result.interval.high

# %% [markdown]
# The verdict printed above holds for this task at this budget; a task that needs long context (section
# 2's "long" task) asks a different question, and lesson 09 sets this verdict beside the ablation on
# speech. A very narrow interval says the seeds agree, not that the effect is large or that it carries
# over to speech. Why five seeds and not two? With two, the interval's multiplier is t = 12.7, and two
# seeds within one standard deviation is not a result.
