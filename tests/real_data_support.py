"""Tiny real-corpus layouts written into a temporary folder (no recording from ../shared/data is copied).

Every clip is a short tone whose length in samples is known, so a test can check the resampling.
"""

from pathlib import Path

import numpy as np
import soundfile as sf


def write_clip(path: Path, seconds: float = 0.25, sr: int = 16000, channels: int = 1) -> Path:
    """A tone of ``seconds`` at ``sr`` with ``channels`` channels (FLAC or WAV by suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    sf.write(str(path), np.stack([wave] * channels, axis=1) if channels > 1 else wave, sr)
    return path


AN4_TRAIN = {  # speaker -> [(utterance id, transcript)]
    "fabc": [("an1-fabc-b", "YES"), ("an2-fabc-b", "ENTER FIVE"), ("an3-fabc-b", "RUBOUT A B")],
    "fdef": [("an4-fdef-b", "NO"), ("an5-fdef-b", "TWENTY TWO")],
    "mghi": [("an6-mghi-b", "STOP"), ("an7-mghi-b", "C A T"), ("an8-mghi-b", "GO")],
    "mjkl": [("an9-mjkl-b", "HELP"), ("an10-mjkl-b", "OCTOBER FIRST")],
}
AN4_TEST = {"fxyz": [("cen1-fxyz-b", "W O O D"), ("cen2-fxyz-b", "ONE THREE SEVEN")]}


def write_an4(root: Path, train=AN4_TRAIN, test=AN4_TEST, sr: int = 16000) -> Path:
    """An AN4 layout: etc/an4_{train,test}.{fileids,transcription} and wav/<fileid>.flac."""
    (root / "etc").mkdir(parents=True, exist_ok=True)
    for split, speakers, folder, marks in (("train", train, "an4_clstk", True), ("test", test, "an4test_clstk", False)):
        ids, lines = [], []
        for speaker, utts in speakers.items():
            for utt, words in utts:
                fileid = f"{folder}/{speaker}/{utt}"
                ids.append(fileid)
                lines.append(f"<s> {words} </s> ({utt})" if marks else f"{words} ({utt})")
                write_clip(root / "wav" / f"{fileid}.flac", 0.25, sr)
        (root / "etc" / f"an4_{split}.fileids").write_text("\n".join(ids) + "\n")
        (root / "etc" / f"an4_{split}.transcription").write_text("\n".join(lines) + "\n")
    return root


def write_fsdd(root: Path, speakers=("jackson", "nicolas", "theo"), per_digit: int = 2) -> Path:
    """FSDD names {digit}_{speaker}_{n}.wav at 8 kHz, digits 0-4."""
    for speaker in speakers:
        for digit in range(5):
            for n in range(per_digit):
                write_clip(root / f"{digit}_{speaker}_{n}.wav", 0.125, 8000)
    return root
