"""Any Hugging Face ``datasets`` dataset with an audio column and a text column.

``load_hf("path/saved/with/save_to_disk")`` reads a local dataset with ``datasets.load_from_disk``;
any other name is passed to ``datasets.load_dataset`` (which needs the network, or the hub cache, unless
``HF_HUB_OFFLINE=1`` forbids it: then a name that is not a local folder is a ``CorpusNotFoundError``).

Decoding a ``datasets.Audio`` column needs torchcodec (and FFmpeg), which echo_edu does not require.
So the column is cast to ``Audio(decode=False)``: each row then holds the encoded file as
``{"bytes", "path"}``, and :func:`echo_edu.audio.load_audio` decodes it with soundfile and resamples
it to 16 kHz. A column of plain ``{"array", "sampling_rate"}`` structs (an echo_edu corpus saved with
``save_to_disk``) is read as it is.

Columns: ``audio_column`` (default ``audio``), ``text_column`` (default ``text``; ``sentence`` for
Common Voice, ``transcription`` ...), ``speaker_column`` (default: the first of ``speaker``,
``speaker_id``, ``client_id`` present; without one each row is its own speaker). A ``DatasetDict``
keeps its ``train`` / ``validation`` (``dev``, ``valid``) / ``test`` splits; a single ``Dataset`` is
split by speaker.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from ..errors import CorpusFormatError, CorpusNotFoundError
from .rows import Clip, clips_to_corpus, normalise_clips, split_clips
from .splits import SPLITS, canonical_split

__all__ = ["load_hf", "read_hf"]

_SPEAKER_COLUMNS = ("speaker", "speaker_id", "client_id")


def _open(name: str, split: str | None):
    import datasets

    if Path(name).exists():
        try:
            return datasets.load_from_disk(name)
        except FileNotFoundError as exc:
            raise CorpusFormatError(f"{name!r} is not a dataset saved with save_to_disk: {exc}") from exc
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise CorpusNotFoundError(f"{name!r} is not a local folder, and HF_HUB_OFFLINE=1 forbids the hub")
    try:
        return datasets.load_dataset(name, split=split)
    except Exception as exc:  # DatasetNotFoundError, ConnectionError, ...
        raise CorpusNotFoundError(f"cannot load the Hugging Face dataset {name!r}: {exc}") from exc


def _clips(ds, name: str, split: str | None, audio_column: str, text_column: str,
           speaker_column: str | None) -> list[Clip]:
    from datasets import Audio

    where = f"{name}" + (f" [{split}]" if split else "")
    missing = [c for c in (audio_column, text_column) if c not in ds.column_names]
    if missing:
        raise CorpusFormatError(f"dataset {where} has no column {missing[0]!r} (columns: {ds.column_names}); "
                                "name the right one with audio_column= / text_column=")
    speaker_column = speaker_column or next((c for c in _SPEAKER_COLUMNS if c in ds.column_names), None)
    if speaker_column is not None and speaker_column not in ds.column_names:
        raise CorpusFormatError(f"dataset {where} has no speaker column {speaker_column!r} (columns: {ds.column_names})")
    if isinstance(ds.features[audio_column], Audio):
        ds = ds.cast_column(audio_column, Audio(decode=False))
    else:
        ds = ds.with_format("numpy", columns=[audio_column], output_all_columns=True)
    texts = ds[text_column]
    speakers = ds[speaker_column] if speaker_column else [None] * len(ds)
    clips = []
    for i in range(len(ds)):
        audio = ds[i][audio_column]
        label = f"{where} row {i}" + (f" ({audio['path']})" if isinstance(audio, dict) and audio.get("path") else "")
        clips.append(Clip(path=label, text=texts[i], speaker=str(speakers[i] if speakers[i] is not None else i),
                          id=f"{split or 'all'}/{i}", split=canonical_split(split, where) if split else None,
                          audio=dict(audio) if isinstance(audio, dict) else audio))
    return clips


def read_hf(name: str, *, audio_column: str = "audio", text_column: str = "text",
            speaker_column: str | None = None, split: str | None = None) -> list[Clip]:
    """The clips of a Hugging Face dataset (``split`` picks one split of a hub dataset or a ``DatasetDict``).

    Raises:
        CorpusNotFoundError: not a local folder and not loadable from the hub.
        CorpusFormatError: a folder that is not a saved dataset; a missing column; an unknown split name.
    """
    from datasets import DatasetDict

    data = _open(str(name), split)
    if isinstance(data, DatasetDict):
        names = [split] if split else list(data)
        unknown = [s for s in names if s not in data]
        if unknown:
            raise CorpusFormatError(f"dataset {name!r} has no split {unknown[0]!r} (splits: {list(data)})")
        return [c for s in names for c in _clips(data[s], str(name), s, audio_column, text_column, speaker_column)]
    return _clips(data, str(name), None, audio_column, text_column, speaker_column)


def load_hf(name: str, *, audio_column: str = "audio", text_column: str = "text", speaker_column: str | None = None,
            split: str | None = None, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0,
            on_unknown: str = "error", splits: str | Sequence[str] = SPLITS):
    """Load a Hugging Face dataset as a ``DatasetDict`` of echo_edu rows (``engine == "hf"``; only the
    ``splits`` named)."""
    clips, skipped = normalise_clips(read_hf(name, audio_column=audio_column, text_column=text_column,
                                             speaker_column=speaker_column, split=split), on_unknown)
    return clips_to_corpus(split_clips(clips, fractions, seed), "hf", skipped, splits)
