"""JSON-lines manifests (one clip per line) and the Speech Commands folder that ships one.

A manifest line is a JSON object::

    {"path": "eight/0c40e715_0.flac", "text": "eight", "speaker": "0c40e715"}

* ``path`` — the audio file, relative to the manifest's folder (or absolute);
* ``text`` — its transcript (any case, numerals allowed; see :mod:`echo_edu.data.transcripts`);
* ``speaker`` — optional; without it every clip counts as its own speaker, so the split is by clip;
* ``split`` — optional (``train``, ``validation``/``dev``/``valid``, ``test``): the corpus's own split,
  kept as is; clips without one are split by speaker.

:func:`record_clip` turns one such record into a :class:`~echo_edu.data.rows.Clip`;
:mod:`~echo_edu.data.audiofolder` reuses it for its metadata rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

from ..errors import CorpusFormatError, CorpusNotFoundError, TranscriptError
from .rows import Clip, clips_to_corpus, normalise_clips, split_clips
from .splits import SPLITS, canonical_split

__all__ = ["load_manifest", "load_speech_commands", "read_manifest", "record_clip"]


def record_clip(record: Mapping, base: Path, where: str, *, path_key: str = "path", text_key: str = "text",
                speaker_key: str = "speaker", split: str | None = None) -> Clip:
    """One metadata record -> a :class:`Clip` (``where`` names the file and line for messages).

    Raises:
        CorpusFormatError: the record is not an object or has no ``path_key``.
        TranscriptError: it has no ``text_key`` (a clip without a transcript).
    """
    if not isinstance(record, Mapping):
        raise CorpusFormatError(f"{where}: expected a JSON object, got {type(record).__name__}")
    if not record.get(path_key):
        raise CorpusFormatError(f"{where}: no {path_key!r} field (fields: {sorted(record)})")
    path = base / str(record[path_key])
    if record.get(text_key) is None:
        raise TranscriptError(f"{where}: {str(path)!r} has no {text_key!r} field (fields: {sorted(record)})",
                              str(path))
    rel = str(record[path_key])
    own = record.get("split") if split is None else split
    return Clip(path=str(path), text=record[text_key], speaker=str(record.get(speaker_key) or rel), id=rel,
                split=None if own in (None, "") else canonical_split(own, where))


def read_manifest(file: str | Path, *, text_key: str = "text", speaker_key: str = "speaker") -> list[Clip]:
    """The clips a JSONL manifest lists (blank lines ignored).

    Raises:
        CorpusNotFoundError: no such file.
        CorpusFormatError: a line that is not a JSON object with ``path``; an empty manifest.
        TranscriptError: a line without ``text``.
    """
    file = Path(file)
    if not file.is_file():
        raise CorpusNotFoundError(f"manifest {str(file)!r} does not exist (or is not a file)")
    clips = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{str(file)!r} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusFormatError(f"{where} is not JSON ({exc.msg}): {line[:80]!r}") from exc
        clips.append(record_clip(record, file.parent, where, text_key=text_key, speaker_key=speaker_key))
    if not clips:
        raise CorpusFormatError(f"manifest {str(file)!r} lists no clips")
    return clips


def load_manifest(file: str | Path, *, source: str = "manifest", text_key: str = "text",
                  speaker_key: str = "speaker", fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0,
                  on_unknown: str = "error", splits: str | Sequence[str] = SPLITS):
    """Load a JSONL manifest as a ``DatasetDict`` (``engine == source``), split by speaker; only the ``splits``
    named are returned (and read)."""
    clips, skipped = normalise_clips(read_manifest(file, text_key=text_key, speaker_key=speaker_key), on_unknown)
    return clips_to_corpus(split_clips(clips, fractions, seed), source, skipped, splits)


def load_speech_commands(root: str | Path, *, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0,
                         on_unknown: str = "error", splits: str | Sequence[str] = SPLITS):
    """Speech Commands clips listed by ``root/manifest.jsonl`` (``engine == "speech_commands"``).

    ``../shared/data/speech-commands-dev`` is such a folder: 2 626 one-second clips by 146 speakers; its
    ``noise/`` clips are not in the manifest and are not loaded. ``root`` may also be the manifest itself.
    """
    root = Path(root)
    file = root / "manifest.jsonl" if root.is_dir() else root
    if root.is_dir() and not file.is_file():
        raise CorpusFormatError(f"{str(root)!r} is not a Speech Commands folder: it has no manifest.jsonl")
    return load_manifest(file, source="speech_commands", fractions=fractions, seed=seed, on_unknown=on_unknown,
                         splits=splits)
