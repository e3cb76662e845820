# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 04 · Sound in, text out: log-mel features, a synthetic speech corpus, a character tokenizer
#
# A speech recogniser never sees sound. It sees a *picture* of sound — a log-mel spectrogram — and
# writes *token ids*. This lesson builds both ends, and the data in between: speech we synthesise
# ourselves, offline, so the course needs no downloads.
#
# **What you'll learn**
#
# 1. What a waveform is (samples in [-1, 1] at 16 kHz) and why an int16 file read without scaling
#    wrecked the original Echo's features.
# 2. The short-time Fourier transform: how 25 ms windows every 10 ms turn sound into a spectrogram.
# 3. The mel filterbank: 80 triangles that space frequency the way ears do.
# 4. Whisper's log-mel recipe (log10, a floor 8 decades below the peak, `(x + 4) / 4`), rebuilt by hand
#    and checked against `echo_edu`.
# 5. How espeak-ng and piper voices differ, and why test voices must be held out of training.
# 6. How `build_corpus` plans, synthesises and splits a corpus — and how a character tokenizer turns
#    its transcripts into ids and back.
#
# **What you need:** PyTorch tensors (as used since lesson 01); the Fourier transform as "which
# frequencies are in there".

# %%
import math
import tempfile

import torch

import echo_edu
from echo_edu.audio import HOP_LENGTH, N_FFT, SAMPLE_RATE, load_audio, log_mel_spectrogram, mel_filters, process_audio
from echo_edu.data import DEFAULT_ENGINES, available_engines, build_corpus, held_out_voices, list_voices, load_samples, synthesize
from echo_edu.text import normalize_text
from echo_edu.tokenizer import build_tokenizer, load_tokenizer
from echo_edu.viz.audio import (audio_player, compare_clips_static, corpus_browser_widget, feature_pipeline,
                                feature_pipeline_static, feature_pipeline_widget, mel_filterbank_static)

gen = echo_edu.set_seed(0)
QUICK = echo_edu.quick_mode()
torch.set_printoptions(precision=4, sci_mode=False)

# %% [markdown]
# ## 1. A waveform is a list of numbers
#
# The course ships a few clips in `assets/samples/` (made with `echo-edu synth --samples`). Each is
# 16 000 samples per second, mono, every sample in [-1, 1]. `load_audio` reads any file libsndfile
# knows, scales integer PCM by its full range, averages stereo channels and resamples to 16 kHz.

# %%
samples = load_samples()
for i, row in enumerate(samples.select_columns(["text", "voice", "task", "held_out"])):
    print(i, row)
wave = torch.tensor(samples[0]["audio"]["array"])
print("samples:", wave.numel(), " seconds:", wave.numel() / SAMPLE_RATE, " range:", float(wave.min()), float(wave.max()))
assert wave.dtype == torch.float32 and wave.abs().max() <= 1.0
audio_player(wave)

# %% [markdown]
# The same clip stored as 16-bit integers holds values up to 32 767. Read without dividing by 32 768
# (the original Echo did exactly that for WAV files) the signal is 32 768× too loud — power 32 768² ≈ 10⁹
# times larger. After `log10` and `/4` that is a constant shift of about **2.26** on every feature, so a
# model trained on float arrays sees different numbers at inference. Scaling fixes it:

# %%
pcm16 = (wave * 32767).round().to(torch.int16)
unscaled = log_mel_spectrogram(pcm16.float(), 80)                       # the original's mistake
scaled = log_mel_spectrogram(load_audio(pcm16.numpy()), 80)              # load_audio divides by 32768
shift = float((unscaled - scaled).mean())
print(f"unscaled int16 features sit {shift:.2f} higher (log10(32768²)/4 = {math.log10(32768.0 ** 2) / 4:.2f})")
assert abs(shift - math.log10(32768.0 ** 2) / 4) < 0.01
assert torch.allclose(scaled, log_mel_spectrogram(wave, 80), atol=0.02)   # int16, scaled, = float

# %% [markdown]
# ## 2. The short-time Fourier transform
#
# Speech changes every few milliseconds, so we take the Fourier transform of short overlapping
# slices: a Hann window of `n_fft = 400` samples (25 ms), moved `hop = 160` samples (10 ms) at a time.
# Each slice gives 201 frequency bins from 0 to 8 kHz, 40 Hz apart. Squared magnitudes make the
# *power spectrogram*, `(201, frames)`, 100 frames per second.

# %%
window = torch.hann_window(N_FFT)
stft = torch.stft(wave, N_FFT, HOP_LENGTH, window=window, return_complex=True)   # (freqs, frames + 1)
power = stft.abs() ** 2
print("STFT:", tuple(stft.shape), "-> frequency resolution", SAMPLE_RATE / N_FFT, "Hz, frame rate",
      SAMPLE_RATE / HOP_LENGTH, "per second")
assert stft.shape == (N_FFT // 2 + 1, wave.numel() // HOP_LENGTH + 1)

# %% [markdown]
# ## 3. The mel filterbank
#
# We hear 100 Hz vs 200 Hz as a big step but 7 000 vs 7 100 Hz as none at all. The mel scale is linear
# below 1 kHz and logarithmic above; 80 triangular filters, evenly spaced in mels, sum the power in
# each band. Whisper (and Echo) use Slaney's version, where each triangle has the same *area*, so the
# wide high filters are lower.

# %%
filters = mel_filters(80)                                             # (mels, freqs)
print("filterbank:", tuple(filters.shape))
tone = 0.5 * torch.sin(2 * math.pi * 1000.0 * torch.arange(SAMPLE_RATE) / SAMPLE_RATE)
peak_band = int(log_mel_spectrogram(tone, 80)[:, 50].argmax())
print("a 1 kHz tone lights up mel band", peak_band)
assert peak_band == 26                                                # 1 kHz = 15 mel; bands are ~0.56 mel apart
mel_filterbank_static(80);

# %% [markdown]
# ## 4. Log-mel, the Whisper way — by hand
#
# 1. `mel = filters @ power` (drop the STFT's last frame so frames = samples / hop);
# 2. `log10(max(mel, 1e-10))`;
# 3. floor everything at the clip's maximum − 8 (80 dB of dynamic range is plenty);
# 4. `(x + 4) / 4`, which puts speech roughly in [-1.5, 2.5].

# %%
mel = filters @ power[:, :-1]                                         # (80, frames)
log_spec = mel.clamp(min=1e-10).log10()
log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
mine = (log_spec + 4.0) / 4.0
library = log_mel_spectrogram(wave, 80)
print("by hand:", tuple(mine.shape), " max difference to echo_edu:", float((mine - library).abs().max()))
assert torch.allclose(mine, library, atol=1e-5)

# %% [markdown]
# The encoder wants a fixed number of frames, `2 · audio_ctx`: `process_audio` pads with silence (or
# trims) *before* the STFT. Silence is the floor value −1.5 everywhere.

# %%
feats = process_audio([samples[i]["audio"] for i in range(4)], audio_ctx=150, mels=80)   # a batch of 4
print("batch:", tuple(feats.shape), " range:", float(feats.min()), "to", float(feats.max()))
assert feats.shape == (4, 80, 300)
assert torch.allclose(process_audio(torch.zeros(SAMPLE_RATE), 50, 80), torch.tensor(-1.5))
feature_pipeline_static(0);

# %% [markdown]
# Try it: choose another clip, fewer mel bands, or a longer FFT (finer frequencies, blurrier time).

# %%
feature_pipeline_widget()

# %% [markdown]
# ## 5. Voices and engines
#
# Two offline engines speak for this lesson. **espeak-ng** is a formant synthesiser: robotic, but with
# many accents × voice variants, and any speed and pitch. **piper** is a neural (VITS) voice: natural,
# one US speaker, whose *length* and *noise* scales change tempo and expressiveness. (Two more, Debian's
# **flite** and **festival**, are optional engines for bigger corpora: `build_corpus(...,
# engines=("espeak", "piper", "flite", "festival"))`.) Same words, different pictures:

# %%
digits = load_samples("digits")
pick = [0, 1, 3, 4]
compare_clips_static([digits[i]["audio"]["array"] for i in pick],
                     [f"{digits[i]['voice']}\n\"{digits[i]['text']}\"" for i in pick]);

# %%
engines = [e for e in DEFAULT_ENGINES if e in available_engines()]   # this lesson's corpus: espeak + piper
print("engines on this machine:", available_engines(), "- this lesson uses:", engines)
for engine in ("espeak", "piper"):
    print(f"{engine}: {len(list_voices(engine))} voices, held out for testing: "
          f"{[v.name for v in held_out_voices(engine)][:4]} ...")
if "espeak" in engines:
    voices = list_voices("espeak")
    said = [synthesize("seven oh two", voices[k], speed=s) for k, s in ((0, 140), (100, 190))]
    compare_clips_static(said, [f"{voices[0].name}, 140 wpm", f"{voices[100].name}, 190 wpm"]);
    assert said[0].shape[0] > said[1].shape[0]                        # slower speech, longer clip

# %% [markdown]
# A model that only ever heard these voices learns *them*, not speech. So the corpus keeps a fixed
# ~15 % of every engine's voices out of training: the test split uses only those. Texts of two or more
# words are split too (by a hash of the text), so a multi-word test transcript was never heard in
# training. One-word texts (a single digit, a command word) *are* the vocabulary and appear in every
# split: a test clip is a new voice, but it may say a word that training heard alone.
#
# ## 6. Building a corpus
#
# `build_corpus(task, n, seed)` first *plans* every clip from the seed (text, voice, speed, pitch,
# noise), then synthesises the plan in two worker processes and caches the `DatasetDict` on disk.
# The same call again loads in a second. (Quick mode builds a handful of clips in a temporary folder.)

# %%
if engines:
    n = 12 if QUICK else 600
    cache = tempfile.mkdtemp() if QUICK else None
    corpus = build_corpus("digits", n, seed=0, engines=engines, cache_dir=cache, workers=1 if QUICK else 2)
    print(corpus)
    train_texts, test_texts = set(corpus["train"]["text"]), set(corpus["test"]["text"])
    shared = train_texts & test_texts
    print(f"texts in both train and test: {len(shared)}, all one word: {sorted(shared)[:10]}")
    assert all(len(text.split()) == 1 for text in shared)              # longer transcripts are disjoint
    held = {v.name for e in engines for v in held_out_voices(e)}
    assert set(corpus["test"]["voice"]) <= held and not set(corpus["train"]["voice"]) & held
    browse = corpus["train"]
else:
    print("no speech engine installed here: browsing the bundled samples instead")
    browse = samples

# %% [markdown]
# Browse it: choose a voice and a clip to see its waveform and log-mel, read its text and hear it.

# %%
corpus_browser_widget(browse)

# %% [markdown]
# ## 7. Text out: normalisation and a character tokenizer
#
# Scoring is only fair when reference and hypothesis are spelled alike, so one function normalises
# every transcript: lower case, digits spoken one by one, punctuation dropped except the apostrophe.
# The tokenizer then needs just 31 symbols: three special tokens, space, apostrophe, a–z.

# %%
for raw in ["Call 911, now!", "It's 3.5% — café!", "  Seven   OH two "]:
    print(f"{raw!r:>24} -> {normalize_text(raw)!r}")
assert normalize_text("Call 911, now!") == "call nine one one now"

tokenizer = build_tokenizer()
print("vocabulary:", len(tokenizer), tokenizer.convert_ids_to_tokens(list(range(8))), "...")
ids = tokenizer("seven oh two").input_ids
print("ids:", ids)
assert ids[0] == tokenizer.bos_token_id == 1 and ids[-1] == tokenizer.eos_token_id == 2
assert tokenizer.decode(ids, skip_special_tokens=True) == "seven oh two"

folder = tempfile.mkdtemp()
tokenizer.save_pretrained(folder)
again = load_tokenizer(folder)
for text in samples["text"]:
    assert again.decode(again(text).input_ids, skip_special_tokens=True) == normalize_text(text)
batch = tokenizer(["one", "four two"], padding=True, return_tensors="pt")
print(batch.input_ids)

# %% [markdown]
# ## Summary
#
# * Audio is float32 in [-1, 1] at 16 kHz; integer files must be scaled (the original's int16 bug shifted
#   every feature by ≈ 2.26).
# * Features: Hann STFT (25 ms / 10 ms) → 80 Slaney mel filters → log10, floor at max − 8, `(x + 4) / 4`;
#   `echo_edu` matches Whisper's front end to ~1e-5, and pads/trims to `2 · audio_ctx` frames.
# * espeak-ng and piper give many voices offline; the corpus holds voices *and* texts out of training.
# * One normalisation function and a 31-symbol character tokenizer connect transcripts to ids.
#
# Lesson 07 places adaptive attention windows on these features; lesson 08 feeds them to Echo's encoder.
#
# ## Exercises
#
# 1. Compute the features of a clip and of the same clip at half the volume. Which stage makes them
#    almost identical, and where do they still differ? Pass both `feature_pipeline(...)` results to
#    `check_half_volume(stages_full, stages_half)`.
# 2. Change `n_fft` to 1600 in the widget. Which speech sounds blur, and why? Measure it on a 5 ms click:
#    how many frames does it light up with `n_fft` 400 and 1600? `check_long_fft(spread_400, spread_1600)`.
# 3. Read a clip at 8 kHz (`load_audio({"array": ..., "sampling_rate": 8000})` after downsampling). Which
#    mel bands go dark? `check_dark_bands(dark)`.
# 4. Build a `commands` corpus of 60 clips with espeak-ng only. How many different voices does its train
#    split contain? `check_corpus_voices(corpus["train"]["voice"])`.
# 5. Why does `normalize_text` spell "2024" as "two zero two four" and not "twenty twenty four"? When would
#    you choose the other? Show the spelling is lossless: write `digits_back(words)` that undoes it,
#    `check_digit_inverse(digits_back)`.
#
# Worked solutions follow, one collapsed cell each (click to expand; try first).

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1: the gain is a factor 4 in power in every bin; the log turns it into one constant shift.
import math

import torch
from echo_edu.data import load_samples
from echo_edu.viz.audio import feature_pipeline
from echo_edu.exercises.audio_and_data import check_half_volume

wave1 = torch.tensor(load_samples()[0]["audio"]["array"])
full1, half1 = feature_pipeline(wave1), feature_pipeline(0.5 * wave1)
loud1 = full1["power"] > 1e-8
print("power ratio (median over loud bins):", float((full1["power"] / half1["power"])[loud1].median()))
diff1 = full1["log_mel"] - half1["log_mel"]
print(f"log-mel difference: {float(diff1.min()):.4f} … {float(diff1.max()):.4f} (log10(4)/4 = {math.log10(4) / 4:.4f})")
assert check_half_volume(full1, half1)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 2: a 5 ms click in silence, seen through 25 ms and 100 ms windows.
import torch
from echo_edu.audio import SAMPLE_RATE, log_mel_spectrogram
from echo_edu.exercises.audio_and_data import check_long_fft

click = torch.zeros(SAMPLE_RATE)
click[8000:8080] = 1.0                                        # 80 samples = 5 ms
spread2 = {}
for n_fft in (400, 1600):
    loudest = log_mel_spectrogram(click, 80, n_fft=n_fft).max(0).values     # (frames,) loudest band per frame
    spread2[n_fft] = int((loudest > loudest.max() - 0.75).sum())
    print(f"n_fft = {n_fft}: {n_fft // 2 + 1} bins {SAMPLE_RATE / n_fft:.0f} Hz apart, click spans {spread2[n_fft]} frames")
assert check_long_fft(spread2[400], spread2[1600])

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 3: an 8 kHz recording holds nothing above 4 kHz; the bands up there sit at the floor.
import torch
import torchaudio.functional as AF
from echo_edu.audio import load_audio, log_mel_spectrogram
from echo_edu.data import load_samples
from echo_edu.exercises.audio_and_data import check_dark_bands

wave3 = torch.tensor(load_samples()[0]["audio"]["array"])
narrow = load_audio({"array": AF.resample(wave3, 16000, 8000).numpy(), "sampling_rate": 8000})
feats3 = log_mel_spectrogram(narrow, 80)
dark3 = (feats3.mean(1) - (feats3.max() - 2) < 0.05).nonzero().flatten().tolist()
print("bands at the floor:", dark3)
assert check_dark_bands(dark3)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 4: count the voices of the train split (synthesised if espeak-ng is installed, else its plan:
# build_corpus synthesises exactly the plan).
import tempfile

from echo_edu.data import available_engines, build_corpus, plan_corpus
from echo_edu.exercises.audio_and_data import check_corpus_voices

if "espeak" in available_engines():
    corpus4 = build_corpus("commands", 60, seed=0, engines=("espeak",), cache_dir=tempfile.mkdtemp(), workers=1)
    voices4 = corpus4["train"]["voice"]
else:
    voices4 = [job["voice"] for job in plan_corpus("commands", 60, 0, ("espeak",)) if job["split"] == "train"]
print(f"{len(voices4)} train clips, {len(set(voices4))} different voices")
assert check_corpus_voices(voices4)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 5: one word per digit can always be read back; "twenty twenty four" could not keep "02024".
from echo_edu.text import normalize_text
from echo_edu.exercises.audio_and_data import check_digit_inverse

WORD_DIGIT = {normalize_text(str(d)): str(d) for d in range(10)}


def digits_back(words):
    return "".join(WORD_DIGIT[w] for w in words.split())


print(normalize_text("2024"), "->", digits_back(normalize_text("2024")))
assert check_digit_inverse(digits_back)
