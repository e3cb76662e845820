"""CMU AN4 (the census database) in its original Sphinx layout, with a speaker-disjoint dev split.

Layout read (``github.com/cmusphinx/an4``, FLAC instead of the original raw/NIST files)::

    an4/etc/an4_train.fileids         an4_clstk/fash/an251-fash-b         (<split dir>/<speaker>/<id>)
    an4/etc/an4_train.transcription   <s> YES </s> (an251-fash-b)
    an4/etc/an4_test.fileids          an4test_clstk/fcaw/an406-fcaw-b
    an4/etc/an4_test.transcription    RUBOUT G M E F THREE NINE (an406-fcaw-b)
    an4/wav/<fileid>.flac             (``.wav`` and ``.sph``-free ``.raw`` are not read)

948 train utterances by 74 speakers, 130 test utterances by 10 other speakers, 16 kHz. Transcripts are
upper-case words (spelled letters, number words, month names, ``RUBOUT``, ``ERASE``, ``ENTER``,
``APOSTROPHE`` as a spoken word); they normalise to lower case with nothing dropped.

**Splits.** ``test`` is the official test set, untouched. ``validation`` (the dev set) is carved out of
the official train set: ESPnet's ``egs2/an4`` recipe holds out 100 utterances by *utterance*, so its
dev speakers also speak in train; here whole speakers are held out instead, so dev measures unseen
voices as test does. :func:`~echo_edu.data.splits.hold_out_speakers` shuffles the 74 train speakers
with the seed, alternates female (``f...``) and male (``m...``) ids, and takes the prefix whose
utterances total closest to ``dev_utterances`` (100). With the default seed 0 that is the 8 speakers
``fbbh fjdn fkai fkdo mema mjda mnjl mtos``: 103 utterances (4 female, 4 male), leaving
845 utterances by 66 speakers for training. (The test below pins this list; a change to it is a
change of benchmark.)
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from ..errors import ConfigError, CorpusFormatError, CorpusNotFoundError, TranscriptError
from .rows import Clip, clips_to_corpus, normalise_clips
from .splits import SPLITS, hold_out_speakers

__all__ = ["load_an4", "read_an4_list", "AN4_DEV_UTTERANCES"]

#: Utterances the dev split aims for (ESPnet's recipe holds out 100).
AN4_DEV_UTTERANCES = 100

_LINE = re.compile(r"^\s*(?:<s>\s*)?(?P<words>.*?)\s*(?:</s>\s*)?\((?P<id>[^()\s]+)\)\s*$")


def _transcripts(path: Path) -> dict[str, str]:
    """``{utterance id: words}`` of one ``.transcription`` file (``<s>``/``</s>`` markers removed)."""
    out = {}
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None:
            raise CorpusFormatError(f"{str(path)!r} line {number} is not '<s> WORDS </s> (id)' or "
                                    f"'WORDS (id)': {line!r}")
        out[match["id"]] = match["words"]
    return out


def read_an4_list(root: str | Path, split: str) -> list[Clip]:
    """The clips of one official split (``"train"`` or ``"test"``), transcripts not yet normalised.

    Raises:
        CorpusNotFoundError: ``root`` does not exist.
        CorpusFormatError: ``root`` has no ``etc/an4_<split>.fileids`` / ``.transcription``, or a line
            of them cannot be parsed.
        TranscriptError: a file id has no transcript line (names the id and the transcription file).
    """
    root = Path(root)
    if not root.exists():
        raise CorpusNotFoundError(f"AN4 folder {str(root)!r} does not exist")
    fileids, transcription = root / "etc" / f"an4_{split}.fileids", root / "etc" / f"an4_{split}.transcription"
    for path in (fileids, transcription):
        if not path.is_file():
            raise CorpusFormatError(f"{str(root)!r} is not an AN4 folder: {str(path)!r} is missing "
                                    "(expected etc/an4_{train,test}.{fileids,transcription} and wav/)")
    texts = _transcripts(transcription)
    clips = []
    for fileid in fileids.read_text(encoding="utf-8").split():
        parts = fileid.split("/")
        utt = parts[-1]
        if utt not in texts:
            raise TranscriptError(f"AN4 {split}: file id {fileid!r} has no line in {str(transcription)!r}",
                                  str(root / "wav" / f"{fileid}.flac"))
        if len(parts) < 2:
            raise CorpusFormatError(f"{str(fileids)!r}: file id {fileid!r} is not <split dir>/<speaker>/<id>")
        speaker = parts[-2]
        clips.append(Clip(path=str(root / "wav" / f"{fileid}.flac"), text=texts[utt], speaker=speaker, id=utt,
                          split="test" if split == "test" else "train"))
    if not clips:
        raise CorpusFormatError(f"{str(fileids)!r} lists no files")
    return clips


def load_an4(root: str | Path, *, seed: int = 0, dev_utterances: int = AN4_DEV_UTTERANCES,
             on_unknown: str = "error", splits: str | Sequence[str] = SPLITS):
    """Load AN4 as a ``DatasetDict`` of train / validation (dev speakers) / test (official).

    Args:
        root: the ``an4`` folder (holding ``etc/`` and ``wav/``).
        seed: picks the dev speakers (see the module docstring for seed 0's list).
        dev_utterances: about how many train utterances become dev (whole speakers); 0 keeps all in train.
        on_unknown: ``"error"`` (default) or ``"skip"`` for transcripts the tokenizer cannot spell.
        splits: the splits to return (``"test"``, ``("validation", "test")`` ...); only their audio is read.

    Returns:
        Rows of :data:`echo_edu.data.rows.REAL_COLUMNS` with ``engine == source == "an4"``;
        ``corpus.skipped`` lists skipped clips.
    """
    train, skipped = normalise_clips(read_an4_list(root, "train"), on_unknown)
    test, skipped_test = normalise_clips(read_an4_list(root, "test"), on_unknown)
    if dev_utterances:
        if dev_utterances >= len(train):
            raise ConfigError(f"dev_utterances={dev_utterances} but AN4 train in {str(root)!r} holds only "
                              f"{len(train)} usable utterances; lower it (0 = no dev split)")
        counts: dict[str, int] = {}
        for clip in train:
            counts[clip.speaker] = counts.get(clip.speaker, 0) + 1
        dev = set(hold_out_speakers(counts, dev_utterances, seed, group=lambda s: s[:1]))
        train = [replace(c, split="validation") if c.speaker in dev else c for c in train]
    return clips_to_corpus(train + test, "an4", skipped + skipped_test, splits)
