"""From audio files to text: ``transcribe(model, "clip.wav")`` → ``"three one four"``.

The road: load (any rate, mono, [-1, 1]) → cut into windows the encoder can take → log-mel → encoder
→ the model's default decoding (joint CTC/attention at three playback speeds for a model with a CTC head,
greedy otherwise; or what the caller chose) with the KV cache → detokenise → stitch the windows' texts together.

Long audio. The encoder sees ``audio_ctx · 2 · 10 ms`` at a time (``Dimensions.audio_seconds``).
A longer recording is cut into windows that **overlap** by ``overlap`` seconds (default 1 s) (a word cut at one
window's edge is heard whole in the next) and the texts are stitched where they agree: the longest
run of words that ends the left text and starts the right one is kept once (allowing one garbled
word at each edge). Nothing is dropped silently: every sample lands in some window, and a window
whose decoding hits ``max_tokens`` before ``<|endoftext|>`` raises a warning.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .audio import SAMPLE_RATE, frame_lengths, load_audio, process_audio
from .decode import decoding_options
from .errors import ConfigError
from .speed_search import check_speeds, decode_at_speeds, slowest

__all__ = ["transcribe", "transcribe_detailed", "Transcription", "split_windows", "merge_texts", "window_features"]


@dataclass
class Transcription:
    """One input's result: ``text``, the audio length in ``seconds``, and each window's text."""

    text: str
    seconds: float
    file: str | None = None
    windows: list[str] = field(default_factory=list)
    finished: bool = True

    def to_dict(self) -> dict:
        return {"file": self.file, "text": self.text, "seconds": round(self.seconds, 3),
                "windows": len(self.windows), "finished": self.finished}


def split_windows(n_samples: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """``(start, end)`` sample ranges of length ≤ ``window`` covering ``[0, n_samples)``, neighbours
    sharing ``overlap`` samples. One window when the audio fits."""
    if n_samples <= window:
        return [(0, n_samples)]
    if not 0 <= overlap <= window // 2:
        raise ConfigError(f"overlap must be between 0 and half a window ({window // 2} samples), got {overlap}")
    stride = window - overlap
    count = math.ceil((n_samples - overlap) / stride)
    return [(i * stride, min(i * stride + window, n_samples)) for i in range(count)]


def _stitch(left: list[str], right: list[str]) -> list[str]:
    """Join two word lists whose ends overlap in time (see the module docstring)."""
    best = None  # (matched words, drop from left end, drop from right start)
    for drop_left in (0, 1):
        a = left[:len(left) - drop_left]
        for drop_right in (0, 1):
            b = right[drop_right:]
            for k in range(min(len(a), len(b)), 0, -1):
                if a[len(a) - k:] == b[:k]:
                    if best is None or k > best[0]:
                        best = (k, drop_left, drop_right)
                    break
    if best is None:
        return left + right
    k, drop_left, drop_right = best
    return left[:len(left) - drop_left] + right[drop_right + k:]


def merge_texts(texts: list[str]) -> str:
    """Stitch the texts of overlapping windows, left to right."""
    words: list[str] = []
    for text in texts:
        words = _stitch(words, text.split()) if words else text.split()
    return " ".join(words)


def _is_single(audio) -> bool:
    if isinstance(audio, (list, tuple)):
        return len(audio) > 0 and isinstance(audio[0], (int, float, np.number))   # a list of samples is one clip
    if isinstance(audio, (torch.Tensor, np.ndarray)):
        return audio.ndim == 1
    return True


def _name(item) -> str | None:
    return str(item) if isinstance(item, (str, Path)) else None


def window_features(model, waves: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-mel ``(b, mels, n_frames)`` of 16 kHz ``(samples,)`` waves (each at most one window), padded to the
    full window on ``model``'s device, and their real frames ``(b,)``: what every window is decoded from."""
    dims = model.dims
    mel = process_audio(list(waves), dims.audio_ctx, dims.mels, device=model.device, stride=dims.audio_stride)
    return mel, frame_lengths([w.shape[-1] for w in waves], max_frames=dims.n_frames)


@torch.no_grad()
def transcribe_detailed(model, audio, *, tokenizer=None, method: str | None = None, beam_size: int | None = None,
                        ctc_weight: float | None = None, speeds: Sequence[float] | None = None,
                        max_tokens: int | None = None, overlap: float | None = None, batch_size: int = 16,
                        sr: int | None = None) -> list[Transcription]:
    """Like :func:`transcribe` but always a list of :class:`Transcription` (text, seconds, windows)."""
    options = decoding_options(model, method=method, beam_size=beam_size, ctc_weight=ctc_weight, speeds=speeds)
    speeds = options["speeds"] = check_speeds(options["speeds"])
    dims = model.dims
    tokenizer = model.tokenizer if tokenizer is None else tokenizer
    items = [audio] if _is_single(audio) else list(audio)
    if isinstance(audio, (torch.Tensor, np.ndarray)) and audio.ndim == 2:
        items = [row for row in audio]
    window = int(dims.n_audio_samples * slowest(speeds))    # a window slowed to the slowest speed still fits
    features = partial(window_features, model)
    hop = min(SAMPLE_RATE, window // 4) if overlap is None else int(round(overlap * SAMPLE_RATE))
    waves, spans = [], []
    for item in items:
        wave = load_audio(item, SAMPLE_RATE, orig_sr=sr) if sr is not None and not isinstance(item, (str, Path, dict)) \
            else load_audio(item, SAMPLE_RATE)
        waves.append(wave)
        spans.append(split_windows(wave.shape[-1], window, hop))
    chunks = [(i, waves[i][s:e]) for i, ranges in enumerate(spans) for s, e in ranges]
    texts, done = [], []
    for start in range(0, len(chunks), batch_size):
        batch = [c for _, c in chunks[start:start + batch_size]]
        result = decode_at_speeds(model, batch, features, **options, max_tokens=max_tokens, tokenizer=tokenizer)
        texts += [" ".join(t.split()) for t in result.texts]
        done += result.finished
    out, k = [], 0
    for i, item in enumerate(items):
        n = len(spans[i])
        window_texts, window_done = texts[k:k + n], done[k:k + n]
        k += n
        if not all(window_done):
            warnings.warn(f"{_name(item) or f'input {i}'}: decoding reached max_tokens before <|endoftext|> in "
                          f"{n - sum(window_done)} of {n} window(s); the text may be cut short", UserWarning,
                          stacklevel=2)
        out.append(Transcription(text=merge_texts(window_texts), seconds=waves[i].shape[-1] / SAMPLE_RATE,
                                 file=_name(item), windows=window_texts, finished=all(window_done)))
    return out


def transcribe(model, audio, **options):
    """Transcribe one clip (→ ``str``) or several (→ ``list[str]``).

    Args:
        model: an :class:`~echo_edu.model.Echo` (``model.tokenizer`` unless ``tokenizer`` is given).
        audio: a path, a ``(samples,)`` array/tensor at 16 kHz (or ``sr=``), a ``{"array",
            "sampling_rate"}`` dict — or a list of those, or a ``(B, samples)`` array.
        method, beam_size, ctc_weight, speeds: the decoding, by the CLI's rule
            (:func:`~echo_edu.decode.decoding_options`). None given: the model's default decoding, the one
            its scores are reported with (echo-an4: joint CTC/attention, 4 beams, CTC weight 0.3, at speeds
            0.9/1/1.1; a model without a CTC head: greedy). ``method`` is ``"greedy"``, ``"beam"``,
            ``"joint"`` or ``"ctc"`` (:func:`~echo_edu.decode.decode`); a chosen ``method``/``beam_size``
            hears the audio as recorded unless ``speeds`` is given (:mod:`echo_edu.speed_search`: decode at
            each playback speed, keep the best-scoring transcript). Windows of long audio are cut shorter
            by the slowest speed so that, slowed, they still fit the encoder.
        overlap: seconds shared by neighbouring windows of long audio (default: 1 s, at most a
            quarter of a window; at most half a window when given).
        max_tokens: cap on new tokens per window (default ``text_ctx - 1``).
        batch_size: windows decoded together.
    """
    results = transcribe_detailed(model, audio, **options)
    return results[0].text if _is_single(audio) else [r.text for r in results]
