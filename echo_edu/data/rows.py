"""Real clips -> the rows the synthetic corpus uses, so training and evaluation take either.

Every loader (:mod:`~echo_edu.data.an4`, :mod:`~echo_edu.data.fsdd`, :mod:`~echo_edu.data.manifest`,
:mod:`~echo_edu.data.hf`) lists its clips as :class:`Clip` records (file, raw transcript, speaker, id,
split) and hands them to :func:`clips_to_corpus`, which

1. normalises every transcript (:func:`~echo_edu.data.transcripts.normalize_transcript`), raising on
   the first one the tokenizer cannot spell, or with ``on_unknown="skip"`` leaving those clips out,
   *counting* them in ``corpus.skipped`` and saying so in a
   :class:`~echo_edu.errors.SkippedTranscriptsWarning`;
2. reads each file once with :func:`echo_edu.audio.load_audio` (any format libsndfile reads, any
   rate, any channels -> mono float32 at 16 kHz; a missing, unreadable or empty file raises an
   ``AudioError`` naming it);
3. stores the waveforms as Arrow float32 buffers, the same layout ``build_corpus`` writes.

The result is a ``datasets.DatasetDict`` with the splits ``train``, ``validation``, ``test`` (a split
may be empty; ``splits=`` keeps only some, and reads no other clip's audio) and the columns

========== ====================================================================================
audio      ``{"array": float32 (samples,), "sampling_rate": 16000}`` (numpy on access)
text       the normalised transcript
voice      the speaker (the synthetic corpus's voice column, so per-voice tables work unchanged)
engine     the source (``an4``, ``fsdd``, ...: the per-engine table becomes a per-corpus table)
duration   seconds (float32)
speaker    the speaker id as the corpus writes it
source     the source again (kept when sources are mixed with synthetic clips, whose engine differs)
id         the utterance id (AN4 ``an251-fash-b``, otherwise the file's path below the corpus root)
========== ====================================================================================
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import ConfigError, SkippedTranscriptsWarning, TranscriptError
from .splits import SPLITS, chosen_splits, speaker_splits
from .transcripts import ON_UNKNOWN, normalize_transcript
from ..audio import load_audio
from .corpus import _formatted, _split_dataset as corpus_split   # the same Arrow layout as build_corpus

__all__ = ["Clip", "normalise_clips", "split_clips", "clips_to_corpus", "REAL_COLUMNS"]

#: Columns every real-speech row has (the synthetic corpus has the first five).
REAL_COLUMNS = ("audio", "text", "voice", "engine", "duration", "speaker", "source", "id")


@dataclass(frozen=True)
class Clip:
    """One utterance before its audio is read.

    Attributes:
        path: the audio file (or, for in-memory sources, a name used in messages).
        text: the transcript (raw until :func:`normalise_clips`).
        speaker: who speaks.
        id: a stable utterance id.
        split: the corpus's own split (``train``/``validation``/``test``), or ``None`` to assign later.
        audio: an ``{"array", "sampling_rate"}`` or ``{"bytes", "path"}`` dict when the audio is not a
            plain file (Hugging Face datasets); ``None`` reads ``path``.
    """

    path: str
    text: str
    speaker: str
    id: str
    split: str | None = None
    audio: dict | None = None


def normalise_clips(clips: Iterable[Clip], on_unknown: str = "error") -> tuple[list[Clip], list[tuple[str, str]]]:
    """Normalise every transcript; returns ``(kept clips, skipped [(file, reason)])``.

    Raises:
        TranscriptError: with ``on_unknown="error"``, the first unusable transcript (naming its file).
        ConfigError: ``on_unknown`` is not ``"error"`` or ``"skip"``.
    """
    if on_unknown not in ON_UNKNOWN:
        raise ConfigError(f"on_unknown must be one of {ON_UNKNOWN}, got {on_unknown!r}")
    kept, skipped = [], []
    for clip in clips:
        try:
            kept.append(replace(clip, text=normalize_transcript(clip.text, clip.path)))
        except TranscriptError as exc:
            if on_unknown == "error":
                raise
            skipped.append((clip.path, str(exc)))
    return kept, skipped


def split_clips(clips: Sequence[Clip], fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> list[Clip]:
    """Clips without a split get one by speaker (:func:`~echo_edu.data.splits.speaker_splits`);
    clips whose corpus names a split keep it."""
    counts: dict[str, int] = {}
    for clip in clips:
        if clip.split is None:
            counts[clip.speaker] = counts.get(clip.speaker, 0) + 1
    if not counts:
        return list(clips)
    where = speaker_splits(counts, fractions, seed)
    return [c if c.split is not None else replace(c, split=where[c.speaker]) for c in clips]


def _read(clip: Clip) -> np.ndarray:

    wave = load_audio(clip.audio if clip.audio is not None else clip.path)
    return wave.numpy()


def _split_dataset(clips: Sequence[Clip], waves: Sequence[np.ndarray], source: str, fingerprint: str):

    jobs = [dict(text=c.text, voice=c.speaker, engine=source) for c in clips]
    dataset = corpus_split(jobs, list(waves), fingerprint)
    for name, values in (("speaker", [c.speaker for c in clips]), ("source", [source] * len(clips)),
                         ("id", [c.id for c in clips])):
        dataset = dataset.add_column(name, values, new_fingerprint=f"{fingerprint}-{name}")
    return dataset


def clips_to_corpus(clips: Sequence[Clip], source: str, skipped: Sequence[tuple[str, str]] = (),
                    splits: str | Sequence[str] = SPLITS):
    """Read the (normalised, split-assigned) clips into a ``DatasetDict`` of :data:`REAL_COLUMNS`.

    Args:
        clips: clips whose ``text`` is normalised and whose ``split`` is set.
        source: the corpus name written to ``engine`` and ``source``.
        skipped: what :func:`normalise_clips` left out; kept as ``corpus.skipped`` and warned about.
        splits: the splits to return; only their clips' audio is read (every split's rows are the same
            as in the full load).

    Raises:
        ConfigError: a clip without a split, or ``splits`` naming none or an unknown one.
        AudioError / AudioFileNotFoundError: a file is missing, unreadable or holds no samples.
    """
    from datasets import DatasetDict

    splits = chosen_splits(splits)
    unassigned = [c.path for c in clips if c.split not in SPLITS]
    if unassigned:
        raise ConfigError(f"{len(unassigned)} clip(s) of {source} have no split (first: {unassigned[0]!r})")
    key = hashlib.sha1("|".join([source] + [f"{c.id}:{c.split}:{c.text}" for c in clips]).encode()).hexdigest()[:12]
    datasets = {}
    for split in splits:
        part = [c for c in clips if c.split == split]
        datasets[split] = _split_dataset(part, [_read(c) for c in part], source, f"{source}-{key}-{split}")
    corpus = _formatted(DatasetDict(datasets))
    corpus.skipped = list(skipped)
    if skipped:
        names = ", ".join(repr(f) for f, _ in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        warnings.warn(f"{source}: skipped {len(skipped)} clip(s) whose transcript cannot be spelled: {names} "
                      "(see corpus.skipped)", SkippedTranscriptsWarning, stacklevel=3)
    return corpus
