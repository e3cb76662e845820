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
