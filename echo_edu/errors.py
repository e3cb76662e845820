"""Typed errors raised by echo_edu.

Every error a user can trigger with bad input derives from :class:`EchoError`, and from the
built-in exception a Python programmer would expect (``ValueError`` for bad values,
``FileNotFoundError`` for missing files), so both ``except EchoError`` and
``except ValueError`` work. Messages name the thing that is wrong: the file, the config field,
the tensor and its shape.
"""

from __future__ import annotations


class EchoError(Exception):
    """Base class of every error echo_edu raises on purpose."""


class AudioError(EchoError, ValueError):
    """An audio file or array cannot be used (corrupt, empty, NaN, wrong shape, ...)."""


class AudioFileNotFoundError(AudioError, FileNotFoundError):
    """An audio path does not exist or is not a file."""


class ConfigError(EchoError, ValueError):
    """A configuration field (for example of ``Dimensions``) is invalid."""


class CheckpointError(EchoError, ValueError):
    """A saved model folder is missing, damaged, or does not match its config."""


class ShapeError(EchoError, ValueError):
    """A tensor handed to a public function has the wrong shape or dtype."""


class TrainingError(EchoError, RuntimeError):
    """Training cannot start or cannot go on (NaN loss, unwritable checkpoint folder, ...)."""


class EngineUnavailableError(EchoError, RuntimeError):
    """A speech-synthesis engine (piper, espeak-ng) is not installed on this machine."""


class DataError(EchoError, ValueError):
    """A speech corpus on disk cannot be used (see :mod:`echo_edu.data.real`); the message names the file."""


class CorpusNotFoundError(DataError, FileNotFoundError):
    """A corpus path (folder, manifest, metadata file) does not exist."""


class CorpusFormatError(DataError):
    """A path exists but is not a corpus of the kind asked for (no ``etc/an4_train.fileids``, a manifest
    line that is not JSON, an FSDD file name that is not ``{digit}_{speaker}_{n}``, ...)."""


class TranscriptError(DataError):
    """A transcript is missing, empty after normalisation, or holds characters the tokenizer cannot spell.

    Attributes:
        file: the audio file (or transcript file) the transcript belongs to.
        characters: the characters that cannot be spelled (empty when the transcript is missing/empty).
    """

    def __init__(self, message: str, file: str = "", characters: str = ""):
        super().__init__(message)
        self.file, self.characters = file, characters


class SkippedTranscriptsWarning(UserWarning):
    """Some clips were skipped (``on_unknown="skip"``): the warning says how many and names them."""
