# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 10 · Transcription: from a trained Echo to text you can read
#
# Lesson 08 built the model, lesson 09 trained one. Here we *use* it: load the bundled digits model,
# transcribe the sample clips (including voices it never heard in training), look at where the decoder
# listens while it writes each character, compare greedy search with beam search, cut long recordings
# into overlapping windows, and transcribe a file of your own.
#
# **What you'll learn**
#
# 1. `Echo.from_pretrained` and `echo_edu.transcribe` — the two calls most users need.
# 2. Autoregressive decoding: one character at a time from `<|startoftranscript|>` to `<|endoftext|>`,
#    written by hand and checked against `decode()`; the KV cache that makes each step cheap.
# 3. The cross-attention alignment picture: audio time × emitted characters.
# 4. Greedy vs beam search: a case where the beam changes the answer, step by step, and what it costs.
# 5. Long audio: overlapping windows, stitched where their words agree — never silently cut.
#
# **What you need:** lesson 08 (the model) and lesson 09 (training, WER).

# %%
import json
import math
import tempfile
from pathlib import Path

import torch

import echo_edu
from echo_edu import Echo, transcribe
from echo_edu.bundled import ASSETS_DIR
from echo_edu.cli import digits_model_dir, main as echo_edu_cli
from echo_edu.data import load_samples
from echo_edu.data.samples import SAMPLES_DIR
from echo_edu.decode import decode, greedy_decode
from echo_edu.metrics import error_rates
from echo_edu.transcribe import split_windows, transcribe_detailed
from echo_edu.viz.transcription import (alignment_static, alignment_widget, compare_decoding,
                                        cross_attention_alignment, decoding_comparison_figure,
                                        decoding_comparison_static, upload_transcriber)

gen = echo_edu.set_seed(0)
QUICK = echo_edu.quick_mode()

# %% [markdown]
# ## 1. Load the model
#
# The repository ships a small model trained on synthetic spoken digits (`assets/echo-digits/`, a
# `save_pretrained` folder: safetensors weights, `config.json`, tokenizer). If your checkout lacks it,
# the cell below trains a tiny stand-in on the bundled training clips for a few seconds instead, so the
# rest of the lesson still runs — its results on *new* voices will be poor, and it says so. (The measured
# claims of sections 5 and 6 are the bundled model's; their checks are skipped for a stand-in.)

# %%
samples = load_samples("digits")
MODEL_DIR = digits_model_dir()
if (MODEL_DIR / "model.safetensors").is_file():
    print("using the bundled model", MODEL_DIR)
else:
    from echo_edu import Dimensions
    from echo_edu.train import TrainConfig, train

    print(f"{MODEL_DIR} is missing: training a tiny stand-in on the {sum(not h for h in samples['held_out'])} bundled "
          "training clips (it memorises them; expect poor results on held-out voices)")
    stand_in = Echo(Dimensions.tiny(audio_ctx=150))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # a model this small trains fastest on one thread
    train(stand_in, samples.filter(lambda r: not r["held_out"]),
          TrainConfig(steps=150 if QUICK else 400, batch_size=6, lr=3e-3, warmup_steps=10, progress=False,
                      log_every=50))
    torch.set_num_threads(threads)
    MODEL_DIR = Path(tempfile.mkdtemp()) / "echo-stand-in"
    stand_in.save_pretrained(MODEL_DIR)

model = Echo.from_pretrained(MODEL_DIR)
BUNDLED = MODEL_DIR == digits_model_dir()
print(f"{model.num_parameters() / 1e6:.2f} M parameters · window {model.dims.audio_seconds:.0f} s · "
      f"attention: {model.dims.self_attention_type} (layer B), {model.dims.cross_attention_type} (cross)")

# %% [markdown]
# ## 2. Transcribe the sample clips
#
# `transcribe(model, audio)` accepts paths, arrays, `{"array", "sampling_rate"}` dicts or a list of
# them, and decodes the way `echo-edu transcribe` does: the model's default decoding (greedy for this
# digits model, which has no CTC head; section 8 names echo-an4's). `method=`, `beam_size=` and `speeds=`
# choose another. Half of the clips are spoken by **held-out voices** — voices the model never heard in
# training.
# WER (word error rate) counts substituted, deleted and inserted words per reference word.

# %%
hypotheses = transcribe(model, [row["audio"] for row in samples])
for row, hyp in zip(samples, hypotheses):
    mark = "held-out" if row["held_out"] else "train   "
    print(f"{mark} {row['voice'][:28]:28s} ref: {row['text']:38s} hyp: {hyp}")
overall = error_rates(samples["text"], hypotheses)
print(f"\nWER {overall.wer:.1%}  CER {overall.cer:.1%} over {overall.n} clips")

# %% [markdown]
# The command line does the same (`echo-edu transcribe FILE…`, `--json` for machine-readable output,
# `echo-edu demo` for this whole table):

# %%
clip_path = SAMPLES_DIR / samples[0]["file"]
echo_edu_cli(["transcribe", "--json", "--model", str(MODEL_DIR), str(clip_path)])

# %% [markdown]
# ## 3. One character at a time, by hand
#
# Under the hood `transcribe` computes the log-mel, runs the encoder **once**, then asks the decoder for
# the next character again and again, feeding each choice back in. **Greedy** decoding takes the most
# probable character every time and stops when that is `<|endoftext|>`. Written out, with the shapes:
#
# 1. log-mel `(1, mels, 2·audio_ctx)` → encoder → `encoded` `(1, audio_ctx, audio_dims)`, once;
# 2. start from `[<|startoftranscript|>]`; at every step the decoder reads the audio and all the tokens so
#    far, `(1, t)`, and scores every symbol for position `t + 1`: logits `(vocab,)`;
# 3. never propose padding or a second start token; `log_softmax` turns the logits into log-probabilities;
# 4. append the argmax; stop at `<|endoftext|>` (or when `text_ctx` is full).
#
# The transcript's **score** is the sum of the chosen log-probabilities: the log of the probability the
# model gives to the whole transcript. We will need it for beam search.

# %%
dims = model.dims
BANNED = [dims.pad_token_id, dims.decoder_start_token_id]                 # decode() never proposes these


def encode(mel):
    """Encoder output ``(1, audio_ctx, audio_dims)`` and the padding mask decode() hands the decoder (``None``
    unless the model was built to hide padded audio, ``Dimensions.mask_padding``)."""
    frames = model.encoder.real_frames(mel) if model.encoder.needs_frames else None
    encoded = model.encoder(mel, lengths=frames)
    return encoded, model.encoder.audio_mask(frames, encoded.shape[1])


@torch.inference_mode()
def greedy_by_hand(mel):
    """Greedy decoding of one clip's log-mel ``(1, mels, 2·audio_ctx)``: its token ids (no start, no end) and score."""
    encoded, audio_mask = encode(mel)                                     # once per clip
    ids, score = [dims.decoder_start_token_id], 0.0
    for _ in range(dims.text_ctx - 1):                                    # start token + text must fit text_ctx
        logits = model.decoder(torch.tensor([ids]), encoded, audio_mask=audio_mask)[0, -1].float()   # (vocab,)
        logits[BANNED] = float("-inf")
        logprobs = torch.log_softmax(logits, dim=-1)                      # (vocab,)
        best = int(logprobs.argmax())
        score += float(logprobs[best])
        if best == dims.eos_token_id:
            break
        ids.append(best)
    return ids[1:], score


mel = echo_edu.process_audio(samples[0]["audio"], dims.audio_ctx, dims.mels, stride=dims.audio_stride)
mine, my_score = greedy_by_hand(mel)
library = decode(model, mel, tokenizer=model.tokenizer)                   # method="greedy" is the default
print(f"by hand : {model.tokenizer.decode(mine)!r}  score {my_score:.6f}")
print(f"decode(): {library.texts[0]!r}  score {float(library.scores[0]):.6f}")
print(model.tokenizer.convert_ids_to_tokens(mine))
assert mine == library.tokens[0] and abs(my_score - float(library.scores[0])) < 1e-4

# %% [markdown]
# Our loop hands the decoder the *whole* prefix at every step, so step `t` recomputes all `t` positions.
# The library keeps a **KV cache** instead: each decoder layer stores the keys and values of the tokens it
# has seen, and a step feeds only the newest token (exercise 4 counts the work). Same answer either way:

# %%
encoded = model.encoder(mel)
fast = greedy_decode(model, encoded, use_cache=True)
slow = greedy_decode(model, encoded, use_cache=False)
assert fast.tokens == slow.tokens == [mine]

# %% [markdown]
# ## 4. Where does the decoder listen?
#
# Replay the decoder on its own transcript with `need_weights=True` and keep the cross-attention: one
# row per emitted character, one column per 20 ms of audio. A model that learned to read speech draws a
# rough **diagonal** — each character attends to the moment it was spoken. Choose a block and head (or
# their mean) in the widget; the static picture below is what a non-interactive viewer shows.

# %%
alignment = cross_attention_alignment(model, samples[0]["audio"])
print("transcript:", alignment.text, "| weights", tuple(alignment.weights.shape), "(blocks, heads, tokens, frames)")
alignment_widget(alignment)

# %%
alignment_static(alignment);

# %% [markdown]
# ## 5. Greedy vs beam search
#
# Greedy search keeps only the single best character at each step. Beam search keeps the `k` best
# partial transcripts, so a choice that looked second-best early can still win. With `k = 1` the two
# are identical (a test checks it). A wider beam costs roughly `k` times the compute per step.

# %%
held_out = samples.filter(lambda r: r["held_out"])
rows = compare_decoding(model, [r["audio"] for r in held_out], held_out["text"],
                        beam_sizes=(1, 2) if QUICK else (1, 2, 4, 8))
for r in rows:
    print(f"beam {r['beam_size']}: WER {r['wer']:.1%}  CER {r['cer']:.1%}  mean log-prob {r['logprob']:.2f}  "
          f"{r['seconds']:.2f} s")
decoding_comparison_figure(rows)

# %%
decoding_comparison_static(rows);

# %% [markdown]
# Count how often a wider beam changed anything on these clean clips:

# %%
differ = [i for i in range(len(held_out)) if len({r["texts"][i] for r in rows}) > 1]
print(f"clean held-out clips where some beam width changes the text: {len(differ)} of {len(held_out)}; "
      f"greedy's mean log-prob {rows[0]['logprob']:.4f}")

# %% [markdown]
# A beam can only overtake the greedy path where some step has a close runner-up, and on clean clips this
# model is nearly certain of every character (a mean log-prob near 0 is a transcript probability near 1).
# So make it a little unsure: add a faint hiss to each held-out clip, with five noise seeds (30 takes),
# and decode every take greedily and with a beam of 4.

# %%
HISS = 0.0075                                                        # standard deviation of the added noise
takes, take_refs, snr_db = [], [], []
for seed in range(5):
    hiss = torch.Generator().manual_seed(seed)
    for r in held_out:
        clean = torch.tensor(r["audio"]["array"])
        noise = HISS * torch.randn(len(clean), generator=hiss)
        takes.append({"array": (clean + noise).clamp(-1, 1).numpy(), "sampling_rate": 16000})
        take_refs.append(r["text"])
        snr_db.append(10 * math.log10(float(clean.pow(2).mean() / noise.pow(2).mean())))
greedy_row, beam_row = compare_decoding(model, takes, take_refs, beam_sizes=(1, 4))
wer_greedy = [error_rates([ref], [hyp]).wer for ref, hyp in zip(take_refs, greedy_row["texts"])]
wer_beam = [error_rates([ref], [hyp]).wer for ref, hyp in zip(take_refs, beam_row["texts"])]
changed = [i for i in range(len(takes)) if greedy_row["texts"][i] != beam_row["texts"][i]]
better = [i for i in changed if wer_beam[i] < wer_greedy[i]]
worse = [i for i in changed if wer_beam[i] > wer_greedy[i]]
print(f"{len(takes)} takes, signal-to-noise {min(snr_db):.0f} to {max(snr_db):.0f} dB")
for r in (greedy_row, beam_row):
    print(f"  {'greedy' if r['beam_size'] == 1 else 'beam 4'}: WER {r['wer']:.1%}  mean log-prob {r['logprob']:.3f}")
print(f"beam 4 changes {len(changed)} of {len(takes)} transcripts: {len(better)} better, {len(worse)} worse, "
      f"{len(changed) - len(better) - len(worse)} as good (WER per take)")
assert not BUNDLED or (better and worse and beam_row["logprob"] > greedy_row["logprob"])

# %% [markdown]
# ### One case, step by step
#
# Take the take where the beam helped most and replay both transcripts through the decoder (teacher
# forcing, as in training): the log-probability of every character given the audio and the characters
# before it, and the best alternative at each step. Their sum is each transcript's score.

# %%
@torch.inference_mode()
def path_logprobs(mel, tokens):
    """Log-probabilities ``(T+1,)`` of ``tokens + [eot]`` (each given the audio and the tokens before it) and the
    most probable token ``(T+1,)`` at every step, with decode()'s banned tokens removed."""
    encoded, audio_mask = encode(mel)
    ids = torch.tensor([[dims.decoder_start_token_id] + tokens])                      # (1, T+1)
    logits = model.decoder(ids, encoded, audio_mask=audio_mask)[0].float()             # (T+1, vocab)
    logits[:, BANNED] = float("-inf")
    logprobs = torch.log_softmax(logits, dim=-1)
    targets = torch.tensor(tokens + [dims.eos_token_id])                              # (T+1,)
    return logprobs[torch.arange(len(targets)), targets], logprobs.argmax(-1)


def shown(token_id):
    name = model.tokenizer.convert_ids_to_tokens(token_id)
    return {" ": "␣", "<|endoftext|>": "⏎"}.get(name, name)


case = max(better or range(len(takes)), key=lambda i: wer_greedy[i] - wer_beam[i])   # first of the largest gains
case_mel = echo_edu.process_audio(takes[case], dims.audio_ctx, dims.mels, stride=dims.audio_stride)
paths = {"greedy": decode(model, case_mel, tokenizer=model.tokenizer),
         "beam 4": decode(model, case_mel, method="beam", beam_size=4, tokenizer=model.tokenizer)}
print(f"reference {take_refs[case]!r}")
steps = {}
for name, result in paths.items():
    steps[name] = path_logprobs(case_mel, result.tokens[0])
    wer = error_rates([take_refs[case]], result.texts).wer
    print(f"{name}: {result.texts[0]!r}  score {float(result.scores[0]):.3f}  WER {wer:.0%}")
    print("   " + "  ".join(f"{shown(t)} {lp:.2f}" for t, lp in zip(result.tokens[0] + [dims.eos_token_id],
                                                                     steps[name][0].tolist())))
    assert abs(float(steps[name][0].sum()) - float(result.scores[0])) < 1e-3     # the score is this sum
g_tokens, b_tokens = (paths[n].tokens[0] + [dims.eos_token_id] for n in ("greedy", "beam 4"))
split = next((t for t, (a, b) in enumerate(zip(g_tokens, b_tokens)) if a != b), None)   # first step they differ
g_lp, b_lp = steps["greedy"][0], steps["beam 4"][0]
if split is not None:
    print(f"step {split + 1}: greedy takes {shown(g_tokens[split])!r} (log-prob {g_lp[split]:.3f}), the beam also "
          f"kept {shown(b_tokens[split])!r} ({b_lp[split]:.3f}); from there on greedy's path costs "
          f"{float(g_lp[split:].sum()):.3f} in all, the beam's {float(b_lp[split:].sum()):.3f}")
beam_wins = float(paths["beam 4"].scores[0]) > float(paths["greedy"].scores[0])
assert not BUNDLED or (g_lp[split] >= b_lp[split] and beam_wins)       # greedy's pick was the local best

# %% [markdown]
# Read the two rows printed above. Up to the step where they part, both transcripts are the same
# characters with the same log-probabilities. There greedy takes the character that is most probable *at
# that step* and can never take it back; every later character then adds its own (negative)
# log-probability. Beam search keeps the `k` best partial transcripts by their running score: at each step
# it extends each of them by every symbol (`k × vocab` candidates), keeps the best `2k`, sets aside those
# that end in `<|endoftext|>` as finished, and goes on with the best `k` others. The runner-up of the
# split step survives in the beam, and when the sums are done its transcript is the more probable one.
#
# What beam search maximises is the probability of the whole transcript, not its correctness. Over the 30
# takes the beam's mean log-prob is higher than greedy's, yet its WER is better on some takes and worse on
# others (the counts above): when the model is wrong, a more probable transcript can be wronger.
#
# Noise is one way to make a model unsure; a weak model is unsure on clean audio too. The
# `assets/echo-sentences` model (its held-out-voice WER is printed below) on a clean bundled sentence:

# %%
SENTENCES_DIR = ASSETS_DIR / "echo-sentences"
if (SENTENCES_DIR / "model.safetensors").is_file():
    sentences = Echo.from_pretrained(SENTENCES_DIR)
    test = json.loads((SENTENCES_DIR / "training_log.json").read_text())["test"]["overall"]
    print(f"echo-sentences: WER {test['wer']:.1%} on {test['n']} held-out-voice test clips")
    sentence = load_samples("sentences").filter(lambda r: not r["held_out"] and r["engine"] == "espeak")[0]
    s_mel = echo_edu.process_audio(sentence["audio"], sentences.dims.audio_ctx, sentences.dims.mels,
                                   stride=sentences.dims.audio_stride)
    print(f"reference {sentence['text']!r}")
    s_texts = []
    for method in ("greedy", "beam"):
        result = decode(sentences, s_mel, method=method, beam_size=4, tokenizer=sentences.tokenizer)
        s_texts.append(result.texts[0])
        print(f"  {'greedy' if method == 'greedy' else 'beam 4':6s} {result.texts[0]!r}  score "
              f"{float(result.scores[0]):.3f}  WER {error_rates([sentence['text']], result.texts).wer:.0%}")
    assert s_texts[0] != s_texts[1]
else:
    print(f"{SENTENCES_DIR} is missing: no sentence model to try")

# %% [markdown]
# ## 6. Long recordings
#
# The encoder hears one window at a time. A longer recording is cut into windows that **overlap** by
# about a second, each is transcribed, and neighbouring texts are stitched where their words agree.
# Let's glue several clips into one long file:

# %%
waves = [torch.tensor(r["audio"]["array"]) for r in samples][:6]
gap = torch.zeros(4000)
long = torch.cat([torch.cat([w, gap]) for w in waves])
result = transcribe_detailed(model, long)[0]
print(f"{result.seconds:.1f} s of audio in {len(result.windows)} windows")
for i, w in enumerate(result.windows):
    print(f"  window {i}: {w}")
print("stitched:", result.text)
long_reference = " ".join(r["text"] for r in samples.select(range(6)))
print("reference:", long_reference)
stitched = error_rates([long_reference], [result.text])
print(f"stitched WER {stitched.wer:.0%} over {stitched.words} words: {stitched.substitutions} substituted, "
      f"{stitched.deletions} deleted, {stitched.insertions} inserted")
clip_words = [len(r["text"].split()) for r in samples.select(range(6))]
print("words per window:", [len(w.split()) for w in result.windows], " words per clip:", clip_words)
window, hop = model.dims.n_audio_samples, min(16000, model.dims.n_audio_samples // 4)   # transcribe's default overlap
starts = torch.tensor([0] + [len(w) + len(gap) for w in waves]).cumsum(0)[:-1]           # each clip's first sample
in_window = [[k + 1 for k in range(len(waves)) if starts[k] < end and starts[k] + len(waves[k]) > begin]
             for begin, end in split_windows(len(long), window, hop)]
print("clips (whole or in part) in each window:", in_window)
assert len(result.windows) > 1 or result.seconds <= model.dims.audio_seconds
assert not BUNDLED or stitched.deletions > stitched.substitutions + stitched.insertions   # most are deletions
assert all(len(clips) >= 2 for clips in in_window[:-1])                     # all but the last hold two clips or more
assert max(len(w.split()) for w in result.windows) <= max(clip_words)       # none writes more than one clip's words

# %% [markdown]
# The same model that scored each clip alone now makes many errors, and most of them are
# **deletions** (the counts above). Look at the words per window: no window writes more than one clip's
# worth of words, although every window but the last holds parts of two clips or more. The digits model
# was trained on windows holding *one* utterance that starts at the beginning, so it transcribes one
# utterance and then ends the text; whatever else the window holds is dropped, what it writes can even
# mix the clips (compare window 0 with clips 1 and 2), and a window opening mid-word mishears that
# word. The stitching can only keep words that neighbouring windows agree on; it cannot restore words
# that no window wrote. Training on longer, concatenated clips (exercise 3) is the fix.

# %% [markdown]
# ## 7. Your own recording
#
# Drop a WAV, FLAC or OGG file on the button (any sample rate; stereo is averaged). The model was
# trained on synthetic voices reading digits, so say some digits — and don't expect miracles on other
# words: it only knows the 31 characters and what it heard.

# %%
upload_transcriber(model)

# %% [markdown]
# ## 8. Speak to it: the microphone
#
# Press **● record**, say a few digits, press **■ stop**. The browser asks for the microphone, records
# at its own rate (usually 48 kHz) and sends the samples to the kernel, which resamples them to 16 kHz
# with `load_audio` and runs exactly the pipeline of this lesson. What you see, top to bottom:
#
# * the **transcript** — what the model wrote (it starts with a bundled example clip until you record);
# * the **waveform** — your recording at 16 kHz, the samples the model was given;
# * the **log-mel** — lesson 04's 80-band picture, what the encoder actually reads: your voice's
#   harmonics are the bright bands, pauses are dark;
# * the **cross-attention alignment** — section 4's picture for *your* words: one row per character,
#   and a diagonal if the decoder found each one where you said it.
#
# The listening model is `assets/echo-an4` (trained on real recorded speech) when your checkout has it,
# else the digits model above — trained on synthetic voices, so expect errors on yours, and compare the
# log-mel of your voice with the bundled clips'. Both widgets decode the way `echo-edu transcribe` does
# (`echo_edu.decode.default_decoding`): jointly with the encoder's CTC head, 4 beams, at playback speeds
# 0.9, 1 and 1.1 keeping the best-scoring transcript, for a model that has a CTC head, as echo-an4 does
# (lesson 12, sections 4 and 5: AN4 dev 17.0 % WER greedy, 9.9 % joint, 9.2 % with speed search); greedy for
# the digits model, which has none. Recording needs a browser that allows the microphone
# (JupyterLab on `localhost` or `https://`); a recording that is empty, silent, shorter than 0.1 s or longer
# than 30 s gets a message instead of a transcript. The static picture below the widget is what a
# viewer without widgets sees: the panels for the example clip.

# %%
from echo_edu.viz.microphone import microphone_model_dir, microphone_widget, recording_static

MIC_DIR = microphone_model_dir(fallback=MODEL_DIR)
mic_model = model if MIC_DIR == MODEL_DIR else Echo.from_pretrained(MIC_DIR)
print("listening with", MIC_DIR.name)
mic = microphone_widget(mic_model, example=samples[0]["audio"], model_name=MIC_DIR.name)
mic

# %%
recording_static(mic.result);
assert mic.result.text == transcribe(mic_model, samples[0]["audio"])   # the widget runs the lesson's pipeline

# %% [markdown]
# ## Summary
#
# * `Echo.from_pretrained(folder)` + `transcribe(model, audio)` is all it takes; `echo-edu transcribe`
#   does the same from a shell.
# * Greedy decoding is a short loop: encode once, then append the most probable character until
#   `<|endoftext|>`; the KV cache makes each step cheap and changes nothing in the result.
# * The cross-attention picture shows *where* the decoder listens; a trained model's is diagonal.
# * Beam search keeps the `k` best partial transcripts (width 1 is greedy), so a runner-up can win. It
#   finds more probable transcripts, which are not always more correct ones.
# * Long audio is transcribed window by window with overlap, never truncated silently.
#
# ## Exercises
#
# 1. Which digits fail, and is it the same digit when you repeat them? Write
#    `digit_errors(reference, hypothesis) -> {word: count}`, the reference words not transcribed right
#    (substituted or deleted after aligning the words as WER does). A test cannot speak, so score two
#    "takes" of every bundled clip — the clip plus a faint hiss (σ = 0.005, two noise seeds) — and compare
#    the takes. Then record five digits with the microphone of section 8 and score `mic.result.text`
#    against what you said. `check_digit_errors(digit_errors)`.
# 2. Look at the alignment of held-out clips the model gets wrong (the hissing takes of exercise 1) next to
#    the same clips transcribed right. Is the diagonal broken where the error is? Measure it: for each
#    character take the frame it listens to most (blocks and heads averaged) and the share of characters
#    whose peak does not move back. `check_alignment_peaks(forward_share, clean, noisy)`.
# 3. Set `overlap=0.0` in `transcribe_detailed` for the long file. What goes wrong at window edges? How
#    would you build training clips that teach the model to cope with words cut at the edges?
#    `check_no_overlap(wer_default, wer_zero, windows_default, windows_zero, deletions_default, deletions_zero)`.
# 4. Compare `greedy_decode(..., use_cache=False)` with the cached version on the longest held-out clip —
#    not by the clock but by the work: how many positions is the decoder given at each step (a forward
#    pre-hook on `model.decoder` sees them)? Why does the time gap grow with length? (`benchmarks/model.py`
#    times it.) `check_decode_work(cached_lengths, uncached_lengths)`.
#
# Worked solutions follow, one collapsed cell each (click to expand; try first).

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1: a word alignment by edit distance, walked back to name the reference word of each error.
from collections import Counter

import torch
from echo_edu import Echo, transcribe
from echo_edu.cli import digits_model_dir
from echo_edu.data import load_samples
from echo_edu.exercises.transcription import check_digit_errors


def digit_errors(reference, hypothesis):
    ref, hyp = reference.split(), hypothesis.split()
    cost = [[i + j if i * j == 0 else 0 for j in range(len(hyp) + 1)] for i in range(len(ref) + 1)]
    for i in range(1, len(ref) + 1):
        for j in range(1, len(hyp) + 1):
            cost[i][j] = min(cost[i - 1][j] + 1, cost[i][j - 1] + 1, cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]))
    errors, i, j = Counter(), len(ref), len(hyp)
    while i > 0 or j > 0:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            errors[ref[i - 1]] += ref[i - 1] != hyp[j - 1]          # match or substitution
            i, j = i - 1, j - 1
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            errors[ref[i - 1]] += 1                                 # deletion
            i -= 1
        else:
            j -= 1                                                  # insertion: no reference word
    return +errors


samples1, model1 = load_samples("digits"), Echo.from_pretrained(digits_model_dir())
takes = []
for seed1 in (0, 1):
    hiss = torch.Generator().manual_seed(seed1)
    takes.append(transcribe(model1, [{"array": (torch.tensor(r["audio"]["array"]) + 0.005 * torch.randn(
        len(r["audio"]["array"]), generator=hiss)).clamp(-1, 1).numpy(), "sampling_rate": 16000} for r in samples1]))
failed = [sum((digit_errors(r["text"], h) for r, h in zip(samples1, take)), Counter()) for take in takes]
print("wrong digits, take 1:", dict(failed[0]), "\n             take 2:", dict(failed[1]))
print("failing in both takes:", sorted(set(failed[0]) & set(failed[1])))
assert check_digit_errors(digit_errors)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 2: peak frame per character, clips transcribed right against hissing takes transcribed wrong.
import torch
from echo_edu import Echo
from echo_edu.cli import digits_model_dir
from echo_edu.data import load_samples
from echo_edu.exercises.transcription import check_alignment_peaks
from echo_edu.viz.transcription import cross_attention_alignment


def forward_share(alignment):
    peaks = alignment.weights.float().mean((0, 1)).argmax(-1)      # (tokens,)
    return (peaks[1:] >= peaks[:-1]).float().mean().item() if len(peaks) > 1 else 1.0


model2 = Echo.from_pretrained(digits_model_dir())
held2 = load_samples("digits").filter(lambda r: r["held_out"])
hiss2 = torch.Generator().manual_seed(0)
clean2 = [cross_attention_alignment(model2, r["audio"]) for r in held2]
noisy2 = [cross_attention_alignment(model2, {"array": (torch.tensor(r["audio"]["array"]) + 0.005 * torch.randn(
    len(r["audio"]["array"]), generator=hiss2)).clamp(-1, 1).numpy(), "sampling_rate": 16000}) for r in held2]
for r, a, b in zip(held2, clean2, noisy2):
    print(f"{r['text']:36s} {forward_share(a):.2f} | {b.text:40s} {forward_share(b):.2f}")
right2 = [a for r, a in zip(held2, clean2) if a.text == r["text"]]
wrong2 = [b for r, b in zip(held2, noisy2) if b.text != r["text"]]
assert check_alignment_peaks(forward_share, right2, wrong2)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 3: the long file of section 6, stitched with and without overlap.
import torch
from echo_edu import Echo
from echo_edu.cli import digits_model_dir
from echo_edu.data import load_samples
from echo_edu.exercises.transcription import check_no_overlap
from echo_edu.metrics import error_rates
from echo_edu.transcribe import split_windows, transcribe_detailed

model3, samples3 = Echo.from_pretrained(digits_model_dir()), load_samples("digits").select(range(6))
long3 = torch.cat([torch.cat([torch.tensor(r["audio"]["array"]), torch.zeros(4000)]) for r in samples3])
reference3 = " ".join(samples3["text"])
scored = {}
for overlap3 in (None, 0.0):
    result3 = transcribe_detailed(model3, long3, overlap=overlap3)[0]
    scored[overlap3] = error_rates([reference3], [result3.text]), len(result3.windows)
    print(f"overlap {overlap3}: {len(result3.windows)} windows, WER {scored[overlap3][0].wer:.0%}, windows {result3.windows}")
# To teach edges: train on windows cut at random offsets out of concatenated clips, with the words wholly
# inside as the target, so a cut word at either edge is seen (and skipped) in training.
(default3, n_default), (zero3, n_zero) = scored[None], scored[0.0]
assert check_no_overlap(default3.wer, zero3.wer, n_default, n_zero, default3.deletions, zero3.deletions)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 4: count the positions the decoder is given at each step.
import echo_edu
from echo_edu import Echo
from echo_edu.cli import digits_model_dir
from echo_edu.data import load_samples
from echo_edu.decode import decode, greedy_decode
from echo_edu.exercises.transcription import check_decode_work

model4 = Echo.from_pretrained(digits_model_dir())
longest = max(load_samples("digits").filter(lambda r: r["held_out"]), key=lambda r: len(r["text"]))
encoded4 = model4.encoder(echo_edu.process_audio(longest["audio"], model4.dims.audio_ctx, model4.dims.mels))
given = {}
for cached in (True, False):
    given[cached] = []
    hook = model4.decoder.register_forward_pre_hook(lambda module, args, seen=given[cached]: seen.append(args[0].shape[1]))
    try:
        greedy_decode(model4, encoded4, use_cache=cached)
    finally:
        hook.remove()
print(f"{longest['text']!r}: cached steps feed {given[True][:5]}…, uncached {given[False][:5]}…{given[False][-1]}")
assert check_decode_work(given[True], given[False])
