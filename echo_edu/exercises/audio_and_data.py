"""Checkers for lesson 04 (audio features and the corpus). Each prints a verdict and returns a bool."""

from __future__ import annotations

import math
import random

import torch

from . import verdict
from ..audio import SAMPLE_RATE, mel_filters
from ..data import held_out_voices, plan_corpus
from ..text import normalize_text

__all__ = ["check_half_volume", "check_long_fft", "check_dark_bands", "check_corpus_voices", "check_digit_inverse"]


def check_half_volume(stages_full: dict, stages_half: dict) -> bool:
    """Exercise 1: ``feature_pipeline`` of a clip and of the same clip × 0.5."""
    power = stages_full["power"] / stages_half["power"].clamp_min(1e-30)
    loud = stages_full["power"] > 1e-8
    diff = stages_full["log_mel"] - stages_half["log_mel"]
    shift = math.log10(4) / 4
    ok = (loud.any() and abs(float(power[loud].median()) - 4) < 0.01
          and float((diff - shift).abs().max()) < 1e-3)
    return verdict(ok, f"half the amplitude is ¼ of the power in every bin; the log turns that factor into one "
                       f"constant, so the features differ by log10(4)/4 = {shift:.3f} everywhere (the floor at "
                       "max − 8 moves with the maximum) and nothing later removes it.",
                   "pass feature_pipeline(wave) and feature_pipeline(0.5 * wave) of the same clip and compare "
                   "their 'power' (a ratio) and 'log_mel' (a difference).")


def check_long_fft(spread_400: int, spread_1600: int) -> bool:
    """Exercise 2: frames a 5 ms click lights up (loudest band within 0.75 of the peak) with n_fft = 400 and 1600."""
    ok = 1 <= spread_400 <= 4 and spread_1600 >= 3 * spread_400
    return verdict(ok, f"a 5 ms click spreads over {spread_400} frames with 25 ms windows and {spread_1600} with "
                       "100 ms ones: n_fft = 1600 gives 10 Hz bins but every window spans 100 ms, so short "
                       "events (the bursts of p, t, k, fast formant moves) smear, while steady vowels sharpen.",
                   "make a click (a few ms of ones in silence), take log_mel_spectrogram(click, 80, n_fft=n) for "
                   "n = 400 and 1600 and count the frames whose loudest band is near the clip's peak.")


def check_dark_bands(dark, mels: int = 80) -> bool:
    """Exercise 3: the mel bands that sit at the floor for the whole clip after an 8 kHz round trip."""

    filters = mel_filters(mels)                                        # (mels, freqs)
    hz = torch.arange(filters.shape[1]) * SAMPLE_RATE / (2 * (filters.shape[1] - 1))
    lower = torch.tensor([float(hz[(row > 0).nonzero()[0]]) for row in filters])    # each triangle's left foot
    dark = sorted(int(b) for b in dark)
    ok = (3 <= len(dark) <= 25 and dark[-1] == mels - 1 and dark == list(range(dark[0], mels))
          and float(lower[dark[0]]) > 3500)
    return verdict(ok, f"bands {dark[0] if dark else '?'}–{mels - 1} go dark: 8 kHz sampling keeps only "
                       "frequencies below its Nyquist limit of 4 kHz, and these triangles lie (almost) wholly "
                       "above it; resampling back to 16 kHz cannot restore what was never recorded.",
                   "resample a clip to 8 kHz (torchaudio.functional.resample), read it back with load_audio(..., "
                   "'sampling_rate': 8000), and keep the bands whose mean log-mel is within 0.05 of the floor "
                   "(features.max() − 2).")


def check_corpus_voices(train_voices) -> bool:
    """Exercise 4: the ``voice`` column of the train split of ``commands``, 60 clips, seed 0, espeak only."""

    plan = [job["voice"] for job in plan_corpus("commands", 60, 0, ("espeak",)) if job["split"] == "train"]
    held = {v.name for v in held_out_voices("espeak")}
    distinct = len(set(train_voices))
    ok = sorted(train_voices) == sorted(plan) and not set(train_voices) & held
    return verdict(ok, f"{distinct} voices for {len(plan)} train clips: the plan cycles through the "
                       f"{192 - len(held)} espeak voices not held out, so every train clip has its own voice: each "
                       "voice is heard once, and a model sees many voices but little of each.",
                   "build_corpus('commands', 60, seed=0, engines=('espeak',)) and pass corpus['train']['voice'] "
                   "(the whole column, one entry per clip).")


def check_digit_inverse(digits_back) -> bool:
    """Exercise 5: ``digits_back(words)`` that turns ``normalize_text`` output for a digit string back into it."""

    rng = random.Random(7)
    cases = ["2024", "007", "0", "911", "1000000"] + ["".join(rng.choice("0123456789") for _ in range(rng.randint(1, 9)))
                                                      for _ in range(30)]
    wrong = [c for c in cases if digits_back(normalize_text(c)) != c]
    ok = not wrong
    return verdict(ok, "digit by digit is lossless and has ten words: every string, leading zeros included "
                       "(\"007\"), comes back exactly. A reading like 'twenty twenty four' needs the context (year? "
                       "amount? code?), and loses leading zeros; choose it when the words "
                       "themselves are the target, e.g. transcribing dates or amounts as people say them.",
                   f"wrong for {wrong[:4]}; map each word of normalize_text(s) back to its digit and join them.")
