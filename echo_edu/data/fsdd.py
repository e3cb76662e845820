"""The Free Spoken Digit Dataset: single spoken digits named ``{digit}_{speaker}_{n}``.

``github.com/Jakobovski/free-spoken-digit-dataset`` keeps its clips in ``recordings/`` as 8 kHz WAV;
the copy in ``../shared/data/fsdd-dev`` holds three of its speakers (jackson, nicolas, yweweler) as
FLAC. Either folder works (the folder itself or its ``recordings/``; ``.wav`` and ``.flac``). The text
of ``7_jackson_32.wav`` is ``"seven"``; the 8 kHz audio is resampled to 16 kHz once, at load.

There is no official split: speakers are split by :func:`~echo_edu.data.splits.speaker_splits` (with
three speakers and the default shares, one speaker per split). ``fractions=(0, 0, 1)`` puts every clip
in ``test``, for scoring a model on people it never heard.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from ..errors import CorpusFormatError, CorpusNotFoundError
from ..text import DIGIT_WORDS
from .rows import Clip, clips_to_corpus, normalise_clips, split_clips
from .splits import SPLITS

__all__ = ["load_fsdd", "read_fsdd_list"]

_NAME = re.compile(r"^(?P<digit>\d)_(?P<speaker>[A-Za-z0-9]+)_(?P<n>\d+)$")
_AUDIO = (".wav", ".flac")


def read_fsdd_list(root: str | Path) -> list[Clip]:
    """The clips of an FSDD folder, sorted by file name.

    Raises:
        CorpusNotFoundError: ``root`` does not exist.
        CorpusFormatError: no ``.wav``/``.flac`` files, or one whose name is not ``{digit}_{speaker}_{n}``.
    """
    root = Path(root)
    if not root.is_dir():
        raise CorpusNotFoundError(f"FSDD folder {str(root)!r} does not exist")
    folder = root / "recordings" if (root / "recordings").is_dir() else root
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _AUDIO and p.is_file())
    if not files:
        raise CorpusFormatError(f"{str(folder)!r} is not an FSDD folder: it holds no .wav or .flac files")
    clips = []
    for path in files:
        match = _NAME.match(path.stem)
        if match is None:
            raise CorpusFormatError(f"{str(path)!r} is not named like an FSDD clip ({{digit}}_{{speaker}}_{{n}}, "
                                    "e.g. 7_jackson_32.wav)")
        clips.append(Clip(path=str(path), text=DIGIT_WORDS[int(match["digit"])], speaker=match["speaker"],
                          id=path.stem))
    return clips


def load_fsdd(root: str | Path, *, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0,
              on_unknown: str = "error", splits: str | Sequence[str] = SPLITS):
    """Load FSDD as a ``DatasetDict`` (train / validation / test by speaker, or the ``splits`` named;
    ``engine == "fsdd"``)."""
    clips, skipped = normalise_clips(read_fsdd_list(root), on_unknown)
    return clips_to_corpus(split_clips(clips, fractions, seed), "fsdd", skipped, splits)
