"""Hugging Face's "audiofolder" layout: audio files beside a ``metadata.csv`` or ``metadata.jsonl``.

::

    corpus/metadata.csv          file_name,text,speaker
                                 clips/a.wav,hello there,anna
    corpus/clips/a.wav

``file_name`` is relative to the metadata file; the transcript column is ``text`` unless
``text_column`` names another (``transcription``, ``sentence`` ...); a ``speaker`` column is optional.
A folder whose ``train/``, ``validation/`` (or ``dev/``, ``valid/``) and ``test/`` subfolders each hold
their own metadata keeps those splits; otherwise clips are split by speaker. This reads the files
directly (no ``datasets.load_dataset("audiofolder")``, which would need torchcodec to decode).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Sequence

from ..errors import CorpusFormatError, CorpusNotFoundError
from .manifest import record_clip
from .rows import Clip, clips_to_corpus, normalise_clips, split_clips
from .splits import SPLITS, canonical_split

__all__ = ["load_audiofolder", "read_audiofolder"]

_METADATA = ("metadata.csv", "metadata.jsonl")


def _records(file: Path) -> list[tuple[str, dict]]:
    """``[(where, record)]`` of one metadata file."""
    if file.suffix == ".csv":
        with file.open(newline="", encoding="utf-8") as handle:
            return [(f"{str(file)!r} row {n}", row) for n, row in enumerate(csv.DictReader(handle), start=2)]
    out = []
    for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                out.append((f"{str(file)!r} line {n}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise CorpusFormatError(f"{str(file)!r} line {n} is not JSON ({exc.msg})") from exc
    return out


def _metadata(folder: Path) -> Path | None:
    return next((folder / m for m in _METADATA if (folder / m).is_file()), None)


def read_audiofolder(root: str | Path, *, text_column: str = "text", speaker_column: str = "speaker") -> list[Clip]:
    """The clips of an audiofolder (split subfolders give their split).

    Raises:
        CorpusNotFoundError: ``root`` does not exist.
        CorpusFormatError: no metadata file in ``root`` or its split subfolders; a row without ``file_name``.
        TranscriptError: a row without ``text_column``.
    """
    root = Path(root)
    if not root.is_dir():
        raise CorpusNotFoundError(f"audiofolder {str(root)!r} does not exist (or is not a folder)")
    top = _metadata(root)
    parts = [(top, None)] if top else [(m, canonical_split(d.name, str(d))) for d in sorted(root.iterdir())
                                       if d.is_dir() and (m := _metadata(d)) is not None]
    if not parts:
        raise CorpusFormatError(f"{str(root)!r} is not an audiofolder: no metadata.csv or metadata.jsonl in it "
                                "or in train/, validation/, test/")
    clips = []
    for file, split in parts:
        clips += [record_clip(rec, file.parent, where, path_key="file_name", text_key=text_column,
                              speaker_key=speaker_column, split=split) for where, rec in _records(file)]
    if not clips:
        raise CorpusFormatError(f"audiofolder {str(root)!r} lists no clips")
    return clips


def load_audiofolder(root: str | Path, *, text_column: str = "text", speaker_column: str = "speaker",
                     fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0, on_unknown: str = "error",
                     splits: str | Sequence[str] = SPLITS):
    """Load an audiofolder as a ``DatasetDict`` (``engine == "audiofolder"``; only the ``splits`` named)."""
    clips, skipped = normalise_clips(read_audiofolder(root, text_column=text_column, speaker_column=speaker_column),
                                     on_unknown)
    return clips_to_corpus(split_clips(clips, fractions, seed), "audiofolder", skipped, splits)
