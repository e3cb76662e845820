# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 12 · Real speech: from synthetic voices to people
#
# Every model so far learnt from voices we synthesised. This lesson meets recordings of real people —
# CMU's AN4 census database (spelled names, digits, dates, commands), the Free Spoken Digit Dataset and
# Google's Speech Commands — and two bundled models: `echo-digits` (the lessons' small model, synthetic
# voices only) and `echo-an4` (the package's default, trained on real speech plus synthetic speech of
# the same domain).
#
# **What you'll learn**
#
# 1. How a model trained only on synthetic voices does on real people, measured here on speakers that
#    neither model heard.
# 2. What closes the gap: the real / synthetic / both experiment with seeds, and how to tell a result
#    from seed noise.
# 3. Where the real-speech model still fails: its worst speakers and most confused words, and how to
#    listen to its errors.
# 4. Why error analysis uses the dev split and the test split is scored once.
# 5. How decoding with both of the model's heads (joint CTC/attention) removes the decoder's deletions.
# 6. How decoding each clip at three playback speeds (speed search) helps with voices the model never heard,
#    and why the test number, not the dev number, is the one to quote.
#
# **What you need:** lessons 09–11 (training, decoding, generalisation). The recordings are not part of
# the repository: they are read from `../shared/data` beside the checkout or from the folder named by
# `$ECHO_EDU_DATA`. Without them, the cells that measure real speech print why and skip.

# %%
import json

import pandas as pd
from datasets import concatenate_datasets
from IPython.display import Audio, Markdown, display

import echo_edu
from echo_edu import Echo
from echo_edu.cli import bundled_model_dir, digits_model_dir
from echo_edu.data import DATA_ENV, find_data_root, load_an4, load_speech
from echo_edu.evaluate import ctc_weight_sweep, evaluate_model, evaluation_subset, speed_sweep
from echo_edu.experiments import MIXTURE_COLUMNS, compare_mixtures, find_mixture_table, load_mixture_table
from echo_edu.metrics import DELETED, format_sclite, utterance_errors, word_confusions, word_error_counts
from echo_edu.text import DIGIT_WORDS
from echo_edu.viz.joint_decoding import ctc_weight_widget
from echo_edu.viz.speed_search import speed_search_widget
from echo_edu.viz.real_speech import (mixture_static, mixture_widget, model_gap_static, seed_noise_widget,
                                      simulated_arms, speaker_errors_static, speaker_rows)

gen = echo_edu.set_seed(0)
QUICK = echo_edu.quick_mode()
DATA = find_data_root("an4")
HAVE_DATA = DATA is not None and all((DATA / c).is_dir() for c in ("fsdd-dev", "speech-commands-dev"))
print("real recordings:", DATA if HAVE_DATA else
      f"not found. Set {DATA_ENV} to the folder holding an4/, fsdd-dev/ and speech-commands-dev/ "
      "(or put them in ../shared/data); the cells that measure real speech will skip.")

# %% [markdown]
# ## 1. A synthetic-only model meets people
#
# The two models, and what each one's own log says about it:

# %%
models = {"echo-digits": Echo.from_pretrained(digits_model_dir()), "echo-an4": Echo.from_pretrained(bundled_model_dir())}
logs = {name: json.loads((folder / "training_log.json").read_text())
        for name, folder in (("echo-digits", digits_model_dir()), ("echo-an4", bundled_model_dir()))}
for name, model in models.items():
    print(f"{name}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters")
digits_test = logs["echo-digits"]["test"]["overall"]
print(f"echo-digits on its own test split (synthetic voices it never heard): WER {100 * digits_test['wer']:.1f} % "
      f"over {digits_test['words']} words")
print("echo-an4's training data:", *logs["echo-an4"]["recipe"]["data"], sep="\n  ")

# %% [markdown]
# `echo-digits` aces synthetic voices it never heard. The question is what happens with people. We score
# both models, with greedy decoding, on three sets of speakers that `echo-an4` never heard either (the
# speaker-disjoint splits of `tools/an4_report.py`, which wrote its model card):
#
# * **FSDD** — the held-out FSDD speaker saying single digits, recorded at 8 kHz;
# * **Speech Commands digits** — the digit words of the Speech Commands validation and test speakers (the
#   keywords "yes", "stop"... are left out: `echo-digits` never learnt them, so they would say nothing
#   about voices; few clips of this subset are digits, so every one of them is scored);
# * **AN4 dev** — the 8 AN4 speakers held out of training. Mostly spelled letters: `echo-digits` cannot
#   know them, so this column shows only what a digits model does with a task it was not built for.
#
# Quick mode scores a few dozen clips of each set (spread over its speakers); the full lesson scores all.

# %%
LIMITS = {"FSDD digits": 24, "Speech Commands digits": None, "AN4 dev": 24} if QUICK else dict.fromkeys(
    ("FSDD digits", "Speech Commands digits", "AN4 dev"))
if HAVE_DATA:
    # splits=: only the held-out speakers' audio is read (536 of Speech Commands' 2 626 clips ...)
    commands = load_speech(f"commands:{DATA}/speech-commands-dev", splits=("validation", "test"))
    unseen = concatenate_datasets([commands["validation"], commands["test"]])      # no model trained on either
    real_sets = {"FSDD digits": load_speech(f"fsdd:{DATA}/fsdd-dev?fractions=0.67,0,0.33", splits="test")["test"],
                 "Speech Commands digits": unseen.filter(lambda t: t in DIGIT_WORDS, input_columns="text"),
                 "AN4 dev": load_an4(DATA / "an4", splits="validation")["validation"]}
    reports = {(s, m): evaluate_model(model, data, limit=LIMITS[s], batch_size=48)
               for s, data in real_sets.items() for m, model in models.items()}
    scores = {s: {m: 100 * reports[s, m].overall.wer for m in models} for s in real_sets}
    display(pd.DataFrame(scores).T.assign(clips=[reports[s, "echo-an4"].overall.n for s in real_sets]).round(1))
    model_gap_static(scores);
else:
    print(f"skipped: no real recordings ({DATA_ENV} unset and no ../shared/data)")

# %%
if HAVE_DATA:
    for s in ("FSDD digits", "Speech Commands digits"):
        ratio = scores[s]["echo-digits"] / max(scores[s]["echo-an4"], 1e-9)
        print(f"{s}: echo-digits {scores[s]['echo-digits']:.1f} % vs echo-an4 {scores[s]['echo-an4']:.1f} % WER "
              f"({ratio:.1f}× as many errors) on the same ten words")
        assert scores[s]["echo-digits"] > scores[s]["echo-an4"]
        assert scores[s]["echo-digits"] > 10 * 100 * digits_test["wer"]   # far above its synthetic test score

# %% [markdown]
# The words are the same ten digits `echo-digits` transcribes almost perfectly from synthetic voices, so
# what changed is not the words but the voices and the recordings: real speakers, their microphones and
# rooms, FSDD's 8 kHz band, background noise. Which of these matters most, this lesson does not measure
# (lesson 11's augmentations imitate several of them). One obvious guess did not pay: putting a third of
# the 16 kHz training clips through a telephone line (and a fifth through VTLP) made echo-an4 *worse* at
# the same budget, 13.5 % WER on AN4 dev against 9.9 % (joint decoding; the README's echo-an4 section has
# the runs). Listen to one clip of each set, with what each model wrote:

# %%
if HAVE_DATA:
    for s, data in real_sets.items():
        row = data[evaluation_subset(len(data), LIMITS[s])[0]]
        print(f"{s} — reference: {reports[s, 'echo-an4'].references[0]!r}; "
              + "; ".join(f"{m}: {reports[s, m].hypotheses[0]!r}" for m in models))
        display(Audio(row["audio"]["array"], rate=int(row["audio"]["sampling_rate"])))

# %% [markdown]
# ## 2. What closes the gap: real, synthetic, or both?
#
# `echo-an4` was trained on real recordings *and* synthetic speech of the AN4 domain (espeak-ng, flite,
# piper, festival). Was the synthetic speech worth it? `tools/an4_experiment.py` answers with the only
# fair comparison: the same architecture, schedule, augmentation and budget, three training mixtures —
# **real** recordings only, **synthetic** only, **both** — each trained with several seeds and scored
# on AN4 dev, AN4 test and the unseen Speech Commands and FSDD speakers. Its table ships as
# `assets/echo-an4/experiments.json` (a run of your own writes `runs/an4-experiment/table.json`).

# %%
table_path = find_mixture_table()
if table_path is None:
    table = None
    print("no experiment table here yet: `python tools/an4_experiment.py --steps 400 --seeds 0 1` writes "
          "runs/an4-experiment/table.json (assets/echo-an4/experiments.json is the shipped one)")
else:
    table = load_mixture_table(table_path)
    print(f"{table_path.name}: {table['steps']} training steps per arm")
    display(pd.DataFrame({mix: {MIXTURE_COLUMNS.get(c, c): f"{v['wer']:.1f}" + (f" ± {v['wer_sd']:.1f}" if v["wer_sd"]
                                is not None else "") + f"  (seeds {', '.join(map(str, v['seeds']))})"
                                for c, v in cols.items()} for mix, cols in table["table"].items()}).T)

# %% [markdown]
# Each bar is a mixture's mean WER over its seeds; each open circle is one seed. Before reading the
# ranking, look at how far the circles of one bar spread: a difference between two bars smaller than
# that spread is something a different seed could undo.

# %%
if table is not None:
    mixture_static(table, "dev");

# %% [markdown]
# ### Try it
# Choose the set it is scored on. (Static picture where no widget front end runs.)

# %%
mixture_widget(table, "dev") if table is not None else print("no experiment table: nothing to explore")

# %% [markdown]
# The rule the verdict below applies (`echo_edu.experiments.compare_mixtures`): rank the mixtures by mean
# WER; the leader's lead over the runner-up counts as a result only if it is larger than the larger of
# the two seed standard deviations *and* no seed of one arm reaches the other's range. When two seeds
# overlap, it is **not a result**, whatever the means say. The stricter paired 95 % interval is printed
# too: with few seeds its t multiplier is large (printed below), so only a huge gap passes it. AN4 dev is the column the
# question is decided on (it is the selection split); the others are shown for what they add.

# %% [markdown]
# ### How often does seed noise fake a winner?
# Before reading the verdict, a simulation with known truth: two arms whose true WERs differ by `gap`,
# every training run (seed) landing at its arm's true WER plus noise of spread `sd`. Move the sliders:
# with 2 seeds and a gap about the size of the spread, how often does the truly worse arm lead, and how
# often does the rule call a lead a result? (`draw` is another set of training runs.)

# %%
seed_noise_widget(gap=2.0, sd=2.0, seeds=2)

# %% [markdown]
# The same question over many draws, counted:

# %%
result_rate = {}
for n_seeds in (2, 5):
    judged = [compare_mixtures(simulated_arms(2.0, 2.0, n_seeds, draw), "dev") for draw in range(200)]
    swapped = sum(v.winner == "worse" for v in judged) / len(judged)
    result_rate[n_seeds] = sum(v.is_result for v in judged) / len(judged)
    wrong = sum(v.is_result and v.winner == "worse" for v in judged) / len(judged)
    print(f"{n_seeds} seeds, true gap 2 = seed sd: the worse arm leads in {swapped:.0%} of 200 draws; the rule "
          f"calls {result_rate[n_seeds]:.0%} a result, {wrong:.0%} with the wrong winner")
assert result_rate[2] > result_rate[5]

# %% [markdown]
# With two seeds the spread is itself estimated from two numbers and often comes out too small, so the
# rule passes more leads than it does with five seeds (the counts above): it is the least a lead must
# show, not a proof. That is why each verdict below also prints the stricter paired 95 % interval.

# %%
if table is not None:
    verdicts = {c: compare_mixtures(table, c) for c in MIXTURE_COLUMNS
                if sum(c in cols for cols in table["table"].values()) >= 2}
    for c, v in verdicts.items():
        print(("→ " if c == "dev" else "  ") + v.text(), end="\n\n")
    dev_verdict = verdicts["dev"]
    if dev_verdict.paired is not None:
        print(f"t multiplier of the paired interval with {dev_verdict.paired.interval.n} seeds: "
              f"{dev_verdict.paired.interval.t:.1f}")
    assert dev_verdict.winner == dev_verdict.ranking[0][0] and dev_verdict.gap >= 0
    assert dev_verdict.is_result == (not dev_verdict.overlap and dev_verdict.spread is not None
                                     and dev_verdict.gap > dev_verdict.spread)

# %% [markdown]
# ## 3. Where echo-an4 still fails: speakers and words
#
# Error analysis means looking at many individual mistakes and changing the model because of them. Do it
# on the test split and the test score stops measuring unseen data: it becomes one more thing you tuned
# on. So everything below uses **AN4 dev**, and the test number is only *quoted* — from the training log,
# where it was written the one time it was scored with the model's current decoding (each new decoding,
# chosen on dev, made a new system scored once: sections 4 and 5):

# %%
an4_log = logs["echo-an4"]
t = an4_log["test"]["overall"]
print(f"AN4 test (scored once with {an4_log.get('test_method', 'greedy')} decoding): WER {100 * t['wer']:.1f} %, "
      f"CER {100 * t['cer']:.1f} % over {t['n']} utterances, {t['words']} words")

# %%
if HAVE_DATA:
    dev_report = reports["AN4 dev", "echo-an4"]
    dev_rows = evaluation_subset(len(real_sets["AN4 dev"]), LIMITS["AN4 dev"])
    print(f"AN4 dev, {dev_report.overall.n} utterances, greedy: WER {100 * dev_report.overall.wer:.1f} %")
    print(format_sclite(dev_report.sclite["word"]))
    speaker_errors_static(dev_report.sclite["word"]);

# %%
if HAVE_DATA:
    (worst, w), (best, b) = speaker_rows(dev_report.sclite["word"])[0], speaker_rows(dev_report.sclite["word"])[-1]
    print(f"worst speaker {worst}: {w['err']:.1f} % of {w['units']} words wrong "
          f"(sub {w['sub']:.1f}, del {w['dele']:.1f}, ins {w['ins']:.1f}); best {best}: {b['err']:.1f} % of {b['units']}")
    print(f"with about {w['units']} words per speaker, one more error moves a speaker's WER by {100 / w['units']:.1f} points")

# %% [markdown]
# Which words? `word_error_counts` says, for every reference word, how often it was said and how often
# it was missed (substituted or deleted); `word_confusions` counts each (said → written) pair of the
# alignment, `∅` standing for no word.

# %%
if HAVE_DATA:
    counts = word_error_counts(dev_report.references, dev_report.hypotheses)
    display(pd.DataFrame([(word, said, missed, f"{missed / said:.0%}") for word, (said, missed) in list(counts.items())[:10]],
                         columns=["word", "said", "missed", "miss rate"]))
    confusions = word_confusions(dev_report.references, dev_report.hypotheses)
    print("most confused pairs:", ", ".join(f"{r} → {h} ×{n}" for (r, h), n in confusions.most_common(10)))
    letters = sum(n for (r, h), n in confusions.items() if DELETED not in (r, h) and len(r) == len(h) == 1)
    print(f"{letters} of {sum(confusions.values())} word errors are one spelled letter written as another")
    assert sum(confusions.values()) == (dev_report.overall.substitutions + dev_report.overall.deletions
                                        + dev_report.overall.insertions)

# %% [markdown]
# ### Listen to the worst errors
# The dev utterances with the most word errors, worst first: hear each one and compare what was said
# with what the model wrote. Ask of each: would a person have got it right? Is it the speaker, the
# recording, or a word the model confuses everywhere?

# %%
if HAVE_DATA:
    errors = utterance_errors(dev_report.references, dev_report.hypotheses)
    for i in sorted(range(len(errors)), key=lambda i: -errors[i])[:3 if QUICK else 6]:
        row = real_sets["AN4 dev"][dev_rows[i]]
        print(f"{dev_report.speakers[i]} ({errors[i]} word errors)\n  said:  {dev_report.references[i]}\n"
              f"  wrote: {dev_report.hypotheses[i]}")
        display(Audio(row["audio"]["array"], rate=int(row["audio"]["sampling_rate"])))
else:
    print(f"skipped: no real recordings ({DATA_ENV} unset and no ../shared/data)")

# %% [markdown]
# ## 4. Two heads, one decision: joint CTC/attention decoding
#
# echo-an4 reads its encoder output two ways (lesson 08's diagram): the attention decoder writes one
# character at a time, looking at the audio through cross-attention, and the CTC head gives one
# distribution per 40 ms encoder position, blank included. Scored on all 103 AN4 dev utterances
# (`echo-edu evaluate --split validation --method M`, from the model's `training_log.json`), they fail
# differently:
#
# | decoding of AN4 dev | WER % | CER % | substitutions | deletions | insertions |
# |---|---:|---:|---:|---:|---:|
# | greedy, attention decoder | 17.0 | 13.2 | 51 | 30 | 22 |
# | beam 4, attention decoder | 14.9 | 13.3 | 48 | 35 | 7 |
# | best path of the CTC head alone | 19.0 | 11.1 | 81 | 33 | 1 |
#
# A third of the decoder's errors are *deletions*: it stops early or skips a word, because nothing ties
# what it writes to the audio's time axis. The CTC head cannot skip audio — every frame is accounted
# for — and inserts almost nothing, but it substitutes far more: each frame decides with little view of
# the whole word, and nothing models the spelling.
#
# **Joint decoding** (Watanabe et al., 2017; ESPnet decodes this way) keeps lesson 10's beam search and
# ranks every partial transcript $h$ by
#
# $$\text{score}(h) = (1 - w)\,\log p_\text{att}(h) + w\,\log p_\text{ctc}(h\ldots)$$
#
# where $p_\text{ctc}(h\ldots)$ is the probability that the CTC head's collapsed output *begins* with $h$
# (`echo_edu.ctc_prefix.CTCPrefixScorer` computes it for every hypothesis and every next character at
# once: its recursion over frames unrolls into a cumulative log-sum-exp). A transcript that ends while
# the audio still speaks, or skips a word, gets a low CTC prefix probability and falls out of the beam.
# $w = 0$ is plain beam search.
#
# The next cell scores AN4 dev at several weights (quick mode: 24 utterances, two weights; the full lesson:
# all 103 and seven); the one after it shows them. Move the slider: the bars are the error kinds at each weight, the table lists the
# utterances whose transcript the weight changes, as written at the chosen weight.

# %%
WEIGHTS = (0.0, 0.3) if QUICK else (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7)
if HAVE_DATA:
    sweep = ctc_weight_sweep(models["echo-an4"], real_sets["AN4 dev"], WEIGHTS, beam_size=4,
                             limit=LIMITS["AN4 dev"], batch_size=48)
    display(pd.DataFrame([{"CTC weight": w, "WER %": 100 * r.overall.wer, "CER %": 100 * r.overall.cer,
                           "substitutions": r.overall.substitutions, "deletions": r.overall.deletions,
                           "insertions": r.overall.insertions} for w, r in sweep.items()]).round(1))
    assert sweep[0.3].overall.wer < sweep[0.0].overall.wer
    if not QUICK:   # quick mode's 24 utterances hold only 3 deletions, and no insertions, to remove
        dropped = {w: r.overall.deletions + r.overall.insertions for w, r in sweep.items()}
        assert dropped[0.3] < dropped[0.0]
else:
    print(f"skipped: no real recordings ({DATA_ENV} unset and no ../shared/data)")

# %%
ctc_weight_widget(sweep, weight=0.3) if HAVE_DATA else print("skipped: no real recordings")

# %% [markdown]
# On all of AN4 dev, beam 4: weight 0 (beam search alone) 14.9 % WER, 0.1 → 11.2 %, 0.2 → 10.4 %,
# **0.3 → 9.9 %** (13 deletions instead of 35, no insertions instead of 7), 0.4 → 9.9 %, 0.5 → 10.4 %,
# 0.7 → 10.2 %. Eight beams did not help (10.2 % at 0.3; beam search alone got worse, 16.0 %). The weight
# was chosen there — 0.3, which ties 0.4 on WER with the lower CER — and is what `echo-edu transcribe`,
# `evaluate` and `demo` use by default for a model with a CTC head (with section 5's speed search on top).
# Only then was the test split scored, once: **4.3 % WER, 2.65 % CER** on AN4 test (beam search alone had
# scored 11.0 / 8.3 there), below ESPnet's 7.4 % and the package's 5 % target; the 2.5 % CER target is
# missed, narrowly.
#
# What joint decoding does not fix is substitutions (47 against 48 on dev): the spelled letters of
# section 3 that sound alike. Neither head knows which letter sequences are likely; a language model
# over AN4-style text, or more real speakers, would be the next step.

# %% [markdown]
# ## 5. Hearing a voice at three speeds: speed search
#
# Section 3's errors on unseen speakers are mostly one real word heard as another ("up" → "off",
# "go" → "no"): the model heard the sounds, but this voice's sounds sit where another word's would sit
# for the voices it learnt. People differ in speaking rate and in vocal-tract length, which moves every
# formant up or down. echo-an4 was trained with **speed perturbation** — half its clips played between
# 0.9× and 1.1× (`change_speed`: like a tape, tempo and pitch move together) — so it knows each training
# voice at several rates and pitches.
#
# **Speed search** turns that around at decoding time: decode the clip at 0.9, 1.0 and 1.1 and keep, per
# clip, the transcript whose joint score (section 4) is highest. Each score is $\log p(\text{transcript}
# \mid \text{the clip played at that speed})$, so the model picks the speed at which it is surest — a
# per-clip maximum-likelihood choice, as vocal-tract length normalisation picks a frequency warp (Lee &
# Rose, 1998). Nothing is retrained; it costs three decodings per clip.
#
# The next cell decodes the Speech Commands validation speakers (quick mode: 32 clips spread over them;
# the full lesson: all 268) at the three speeds, once each, and scores every speed alone and the search
# (`echo_edu.evaluate.speed_sweep`). The widget after it shows them: the bars are the error kinds, the
# table lists the clips whose transcript depends on the speed, the ones the search fixed first.

# %%
SPEEDS = (0.9, 1.0, 1.1)
if HAVE_DATA:
    speeds = speed_sweep(models["echo-an4"], commands["validation"], SPEEDS, limit=32 if QUICK else None,
                         batch_size=48, method="joint", beam_size=4, ctc_weight=0.3)
    display(pd.DataFrame([{"decoding": f"speed {v:g} alone" if v != 1.0 else "as recorded (1.0)",
                           "WER %": 100 * r.overall.wer, "clips": r.overall.n} for v, r in speeds.reports.items()]
                         + [{"decoding": "speed search", "WER %": 100 * speeds.searched.overall.wer,
                             "clips": speeds.searched.overall.n}]).round(1))
    print("speed kept per clip:", {f"{v:g}": speeds.kept.count(v) for v in SPEEDS})
    assert speeds.searched.overall.wer < speeds.reports[1.0].overall.wer
else:
    print(f"skipped: no real recordings ({DATA_ENV} unset and no ../shared/data)")

# %%
speed_search_widget(speeds) if HAVE_DATA else print("skipped: no real recordings")

# %% [markdown]
# Over the whole selection sets (`echo-edu evaluate --split validation --speeds S`; the default is the
# search), WER / CER %:
#
# | selection set | as recorded (1.0) | 0.9 alone | 1.1 alone | speed search 0.9 / 1.0 / 1.1 |
# |---|---:|---:|---:|---:|
# | AN4 dev, 103 utterances | 9.9 / 8.1 | 9.1 / 6.6 | 14.0 / 11.4 | **9.2 / 7.0** |
# | Speech Commands validation speakers, 268 clips | 12.7 / 12.1 | 14.2 / 13.4 | 12.3 / 9.8 | **8.6 / 8.2** |
#
# No single speed wins both: 0.9 helps AN4's speakers and hurts Speech Commands'. The search chooses per
# clip and is better than as-recorded on both. Other speed sets were tried on the same two sets
# (0.95 / 1 / 1.05: 8.9 and 10.4 % WER; five speeds 0.9–1.1: 8.9 and 9.7 %); 0.9 / 1 / 1.1 has the fewest
# errors over both, so it became the default of `echo-edu transcribe`, `evaluate`, `demo` and the
# widgets for a model with a CTC head (`--speeds 1` hears clips as recorded). Nor is it luck of one set of
# weights: two other models trained by the same recipe (another seed; a variant with telephone-band
# augmentation) gained on AN4 dev too (10.9 → 9.2 %, 13.5 → 12.0 %) and on Speech Commands held level
# (10.1 → 10.1 %) or gained (18.3 → 15.3 %).
#
# Then — a new decoding makes a new system — the test speakers were scored once with it, and the numbers
# are mixed: AN4 test **4.5 % WER, 2.8 % CER** (35 word errors against 33 as recorded: slightly worse, still
# under the 5 % target and ESPnet's 7.4 %), the unseen Speech Commands test speakers 14.6 % (16.0 % as
# recorded) and the held-out FSDD speaker 21.8 % (23.0 %). The gain on the test speakers is smaller than
# dev promised: the 268 Speech Commands validation clips moved by 11 errors, the 268 test clips by 4. A dev
# set of a few hundred clips from a few dozen speakers is a noisy guide, which is why the test number, not
# the dev number, is the one to quote.

# %% [markdown]
# ## Summary
#
# * A model that is nearly perfect on synthetic voices it never heard can fail on people saying the same
#   words: the words are not the problem, the voices and recordings are (section 1 measures how much).
# * The fair test of "does synthetic speech help?" holds everything but the training data fixed and
#   repeats each arm over seeds; a ranking whose seeds overlap is not a result (section 2 computes the
#   verdict for each column).
# * Error analysis — per-speaker tables, per-word miss rates, confusion pairs, listening — happens on dev;
#   the test split is scored once and its number is quoted, never re-scored while you look for fixes.
# * A speaker has only a few dozen words in dev, so one error moves a speaker's WER by points (section 3
#   prints how many): rank speakers with that resolution in mind.
# * Two heads decode better than one: ranking beam hypotheses by the decoder and the CTC head together
#   removed most of the decoder's deletions (AN4 dev 14.9 → 9.9 % WER at CTC weight 0.3; AN4 test 4.3 %).
#   A new decoding method makes a new system: its weight was chosen on dev, then the test split was scored
#   once for it.
* Hearing each clip at three speeds and keeping the transcript the model is surest of (speed search)
#   helps voices it never heard without retraining: 12.7 → 8.6 % WER on the Speech Commands validation
#   speakers, 9.9 → 9.2 % on AN4 dev. On the test speakers, scored once after that choice, the gain was
#   smaller (Speech Commands 16.0 → 14.6 %, FSDD 23.0 → 21.8 %) and AN4 test moved by two errors the other
#   way (4.3 → 4.5 %): dev sets this small promise more than they deliver.
#
# ## Exercises
#
# 1. Write `lead_holds(winner_seeds, runner_up_seeds) -> bool`, the rule of section 2: at least two seeds
#    per arm, no overlap of the per-seed ranges, and a gap of the means larger than the larger sample
#    standard deviation. `check_lead_holds(lead_holds)` tries it on `LEAD_CASES`.
# 2. `word_confusions` counts "b → d" and "d → b" as two rows. Write `confusions(refs, hyps)` that counts
#    substitutions in either direction together (key `frozenset({a, b})`, deletions and insertions left out),
#    from `jiwer.process_words(refs, hyps).alignments`. `check_symmetric_confusions(confusions)` runs it on
#    `CONFUSION_REFS` / `CONFUSION_HYPS`.
# 3. The model card's sclite table has Corr and Err columns. From the AN4 test counts in echo-an4's
#    `training_log.json` (`["test"]["overall"]`), compute WER % = (S + D + I) / N and Corr % = (N − S − D) / N.
#    Why is Err not 100 − Corr? `check_test_counts(wer_percent, corr_percent)`.
#
# Worked solutions are the collapsed cells at the end of the lesson, one per exercise (click to expand;
# try first).
#
# ## Going further (longer runs, no checker)
#
# * Score the worst dev speaker with beam search (`evaluate_model(..., method="beam", beam_size=4)`), with
#   the CTC head (`method="ctc"`) and jointly (`method="joint"`): which errors of section 3 does each fix?
# * Run `python tools/an4_experiment.py --steps 400 --seeds 0 1 2` (finished arms are read, not retrained)
#   to add a third seed to every arm, then rerun section 2 on `runs/an4-experiment/table.json`: does the
#   verdict on AN4 dev change? (`load_mixture_table` reads any such file.)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1: no overlap, and a gap larger than the seeds' own spread.
import statistics

from echo_edu.exercises.real_speech import check_lead_holds


def lead_holds(winner, runner_up):
    if len(winner) < 2 or len(runner_up) < 2:
        return False                                   # one seed: no spread to compare the gap with
    gap = statistics.fmean(runner_up) - statistics.fmean(winner)
    spread = max(statistics.stdev(winner), statistics.stdev(runner_up))
    return max(winner) < min(runner_up) and gap > spread


print(lead_holds([35.0, 37.0], [36.0, 38.5]))         # overlapping seeds: False
assert check_lead_holds(lead_holds)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 2: walk the alignment's substitute chunks; frozenset forgets the direction.
from collections import Counter

import jiwer
from echo_edu.exercises.real_speech import CONFUSION_HYPS, CONFUSION_REFS, check_symmetric_confusions


def confusions(refs, hyps):
    out = jiwer.process_words(list(refs), list(hyps))
    pairs = Counter()
    for ref, hyp, chunks in zip(out.references, out.hypotheses, out.alignments):
        for c in chunks:
            if c.type == "substitute":
                pairs.update(frozenset(p) for p in zip(ref[c.ref_start_idx:c.ref_end_idx],
                                                       hyp[c.hyp_start_idx:c.hyp_end_idx]))
    return pairs


print(confusions(CONFUSION_REFS, CONFUSION_HYPS).most_common(3))
assert check_symmetric_confusions(confusions)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 3: the counts are in the log; insertions are errors that remove no correct word.
import json

from echo_edu.cli import bundled_model_dir
from echo_edu.exercises.real_speech import check_test_counts

o = json.loads((bundled_model_dir() / "training_log.json").read_text())["test"]["overall"]
wer3 = 100 * (o["substitutions"] + o["deletions"] + o["insertions"]) / o["words"]
corr3 = 100 * (o["words"] - o["substitutions"] - o["deletions"]) / o["words"]
print(f"WER {wer3:.1f} %, Corr {corr3:.1f} %, 100 - Corr = {100 - corr3:.1f} %, insertions {o['insertions']}")
assert check_test_counts(wer3, corr3)
