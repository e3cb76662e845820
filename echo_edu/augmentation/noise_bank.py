"""Recorded background noise for augmentation: a folder of clips, loaded once, cut to any length.

Synthetic colours (white, pink, brown) and babble are stationary and clean; a real room is not: taps,
fans, traffic, a door. :class:`NoiseBank` reads every audio file of a folder (e.g. the Speech Commands
``_background_noise_`` / ``noise/`` clips) once, as mono float32 at 16 kHz whatever the file's rate,
and :meth:`NoiseBank.sample` returns a random clip, from a random offset, tiled (wrapping around) or
cropped to the utterance's length. :class:`~echo_edu.augmentation.Augmenter` mixes it in at a random
SNR when ``AugmentConfig.noise_dir`` is set.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..audio import SAMPLE_RATE, load_audio
from ..errors import AudioError, AudioFileNotFoundError
from ._checks import check_positive

__all__ = ["NoiseBank", "AUDIO_SUFFIXES"]

#: File endings read as noise clips (what libsndfile decodes); other files in the folder are ignored.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif")


class NoiseBank:
    """Noise clips ``[(n_i,)]`` float32 at ``sr`` Hz; draw one with :meth:`sample`.

    Args:
        clips: 1-D waveforms (at least one, each with at least one sample).
        sr: their sample rate.
        names: one label per clip (file names, for messages and display).
    """

    def __init__(self, clips, sr: int = SAMPLE_RATE, names=None):
        check_positive(sr, "sr")
        self.clips = [torch.as_tensor(c, dtype=torch.float32).reshape(-1) for c in clips]
        self.names = list(names) if names is not None else [f"clip {i}" for i in range(len(self.clips))]
        if not self.clips:
            raise AudioError("a NoiseBank needs at least one noise clip")
        if len(self.names) != len(self.clips):
            raise AudioError(f"{len(self.names)} names for {len(self.clips)} noise clips")
        for clip, name in zip(self.clips, self.names):
            if clip.numel() == 0:
                raise AudioError(f"noise clip {name} has no samples")
        self.sr = int(sr)
        self._resampled: dict[int, list[torch.Tensor]] = {self.sr: self.clips}

    @classmethod
    def from_folder(cls, folder: str | os.PathLike, sr: int = SAMPLE_RATE) -> "NoiseBank":
        """Every audio file under ``folder`` (recursively, sorted), mono, resampled once to ``sr``.

        Raises:
            AudioFileNotFoundError: ``folder`` does not exist or is not a folder.
            AudioError: it holds no audio file (``AUDIO_SUFFIXES``), or one is unreadable or empty
                (the message names the file).
        """
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise AudioFileNotFoundError(f"noise folder {str(folder)!r} does not exist or is not a folder "
                                         f"(AugmentConfig.noise_dir)")
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        if not files:
            raise AudioError(f"noise folder {str(root)!r} holds no audio files ({', '.join(AUDIO_SUFFIXES)})")
        return cls([load_audio(p, sr) for p in files], sr, names=[str(p.relative_to(root)) for p in files])

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def seconds(self) -> float:
        """Total duration of the bank."""
        return sum(c.numel() for c in self.clips) / self.sr

    def _at(self, sr: int) -> list[torch.Tensor]:
        if sr not in self._resampled:   # once per rate, not once per draw
            self._resampled[sr] = [load_audio(c, sr, orig_sr=self.sr) for c in self.clips]
        return self._resampled[sr]

    def sample(self, samples: int, generator: torch.Generator, sr: int | None = None) -> tuple[torch.Tensor, int]:
        """A random clip from a random offset, wrapped around or cropped to ``samples``.

        Args:
            samples: length wanted; generator: where the clip and the offset are drawn from.
            sr: the rate wanted (default the bank's; another rate is resampled once and kept).
        Returns:
            ``((samples,) float32 CPU tensor, index of the clip)``.
        """
        check_positive(samples, "samples")
        clips = self._at(self.sr if sr is None else int(sr))
        index = int(torch.randint(len(clips), (1,), generator=generator, device=generator.device))
        clip = clips[index]
        start = int(torch.randint(clip.numel(), (1,), generator=generator, device=generator.device))
        positions = (start + torch.arange(samples)) % clip.numel()    # (samples,) tiled from the offset
        return clip[positions], index
