"""A tiny, instant "speech" corpus for training tests: each word is a pure tone.

Real synthesis (espeak-ng, piper) is too slow for unit tests; tones keep the task learnable in a few
dozen steps on a 0.1 M-parameter model, which is all the training tests need.
"""

import numpy as np

from echo_edu.dimensions import Dimensions
from echo_edu.model import Echo

WORDS = ("one", "two", "three", "four")
SR = 16000


def tone_rows(n: int, seed: int, voices=("v0", "v1"), engine: str = "tone") -> list[dict]:
    """``n`` rows of 1–2 tone "words" (0.25 s each) with corpus-style columns."""
    rng = np.random.default_rng(seed)
    rows = []
    t = np.arange(SR // 4) / SR
    for i in range(n):
        words = rng.integers(0, len(WORDS), size=int(rng.integers(1, 3)))
        audio = np.concatenate([0.5 * np.sin(2 * np.pi * (300 + 200 * w) * t) for w in words]).astype(np.float32)
        rows.append({"audio": {"array": audio, "sampling_rate": SR}, "text": " ".join(WORDS[w] for w in words),
                     "engine": engine, "voice": voices[i % len(voices)], "duration": len(audio) / SR})
    return rows


def tone_corpus(n_train: int = 16, n_val: int = 8) -> dict:
    return {"train": tone_rows(n_train, 0), "validation": tone_rows(n_val, 1)}


def tiny_model(seed: int = 0, **overrides) -> Echo:
    """A 0.15 M-parameter Echo hearing 0.5 s of audio."""
    import torch

    torch.manual_seed(seed)
    return Echo(Dimensions.tiny(**{"audio_ctx": 25, "text_ctx": 24, **overrides}))
