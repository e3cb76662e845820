"""One string per data source: ``KIND:TARGET[?OPTION=VALUE&...][@WEIGHT]``.

This is the syntax of ``echo-edu train --data`` and ``echo-edu evaluate --data``::

    an4:../shared/data/an4                        AN4 (train / dev speakers / official test)
    fsdd:../shared/data/fsdd-dev@0.5              FSDD, drawn half as often as a weight-1 source
    commands:../shared/data/speech-commands-dev   Speech Commands (its manifest.jsonl)
    manifest:clips/train.jsonl                    any JSONL manifest {path, text, speaker?, split?}
    audiofolder:my_corpus?text_column=sentence    metadata.csv / metadata.jsonl beside the audio
    hf:saved_dataset?text_column=transcription    a datasets folder (save_to_disk) or a hub name
    synth:digits?n=2000&seed=1@2                  the synthetic corpus (build_corpus), weight 2

* ``KIND`` — one of :data:`KINDS` (``speech_commands`` is an alias of ``commands``).
* ``TARGET`` — a path (relative to the working directory), a hub name, or the synthetic task.
* ``?OPTION=VALUE`` — keyword arguments of the kind's loader (:data:`LOADERS`: ``seed``, ``fractions``
  as ``0.8,0.1,0.1``, ``on_unknown=skip``, ``text_column``, ``dev_utterances`` ...; for ``synth``:
  ``n``, ``seed``, ``engines`` as ``espeak,piper``, ``cache_dir``). Numbers are parsed as numbers; an
  option the loader does not take is an error that lists the ones it does.
* ``splits`` is not an option of a spec: :func:`load_speech` and :func:`load_source` take it, for every
  source at once.
* ``@WEIGHT`` — a positive number, default 1: the source's share of training draws relative to the
  others (see :mod:`echo_edu.data.mixture`). An ``@`` followed by anything but a number stays part
  of the target.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ..errors import ConfigError
from .corpus import build_corpus
from .an4 import load_an4
from .audiofolder import load_audiofolder
from .fsdd import load_fsdd
from .hf import load_hf
from .manifest import load_manifest, load_speech_commands
from .mixture import mix
from .splits import SPLITS, chosen_splits

__all__ = ["DataSpec", "parse_data_spec", "load_source", "load_speech", "KINDS", "LOADERS"]


def _synth(task: str, *, n: int = 5000, seed: int = 0, engines: Sequence[str] = ("espeak", "piper"),
           cache_dir: str | None = None, workers: int = 2, progress: bool = False,
           splits: str | Sequence[str] = SPLITS):
    """``build_corpus(task, n, seed, engines, cache_dir)`` (the synthetic corpus) for ``synth:TASK``, the
    ``splits`` named (it builds, or finds in its cache, all three)."""
    from datasets import DatasetDict

    corpus = build_corpus(task, n, seed=seed, engines=tuple(engines), cache_dir=cache_dir, workers=workers,
                          progress=progress)
    splits = chosen_splits(splits)
    return corpus if splits == SPLITS else DatasetDict({split: corpus[split] for split in splits})


def _loaders() -> dict[str, Callable]:

    return {"an4": load_an4, "fsdd": load_fsdd, "commands": load_speech_commands, "manifest": load_manifest,
            "audiofolder": load_audiofolder, "hf": load_hf, "synth": _synth}


#: Source kinds, in the order the docs list them.
KINDS = ("an4", "fsdd", "commands", "manifest", "audiofolder", "hf", "synth")
_ALIASES = {"speech_commands": "commands", "speech-commands": "commands"}
_SEQUENCE_OPTIONS = {"fractions": float, "engines": str}


class _Loaders(Mapping):
    """``{kind: loader}``, imported on first use (the loaders pull in datasets and torch)."""

    def __getitem__(self, kind):
        return _loaders()[kind]

    def __iter__(self):
        return iter(KINDS)

    def __len__(self):
        return len(KINDS)


#: ``{kind: loader(target, **options)}``; each returns a ``DatasetDict`` with train/validation/test.
LOADERS: Mapping[str, Callable] = _Loaders()


@dataclass(frozen=True)
class DataSpec:
    """One parsed data source.

    Attributes:
        kind: one of :data:`KINDS`.
        target: the path, hub name or synthetic task.
        options: keyword arguments for the kind's loader.
        weight: the source's share of training draws (relative; > 0).
    """

    kind: str
    target: str
    options: dict[str, Any] = field(default_factory=dict)
    weight: float = 1.0

    @property
    def label(self) -> str:
        """How the source is named in rows (``source``) and tables: ``an4``, ``synth:digits`` ..."""
        return f"synth:{self.target}" if self.kind == "synth" else self.kind

    def __str__(self) -> str:
        query = "&".join(f"{k}={','.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"
                         for k, v in self.options.items())
        return f"{self.kind}:{self.target}" + (f"?{query}" if query else "") + \
            (f"@{self.weight:g}" if self.weight != 1 else "")


def _value(key: str, text: str) -> Any:
    if key in _SEQUENCE_OPTIONS:
        kind = _SEQUENCE_OPTIONS[key]
        try:
            return tuple(kind(part) for part in text.split(",") if part)
        except ValueError as exc:
            raise ConfigError(f"option {key}={text!r}: expected comma-separated numbers") from exc
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return value if isinstance(value, (int, float, bool)) else text


def parse_data_spec(spec: str | DataSpec) -> DataSpec:
    """Parse ``KIND:TARGET[?OPTION=VALUE&...][@WEIGHT]`` (see the module docstring).

    Raises:
        ConfigError: no ``KIND:``, an unknown kind, an empty target, a malformed option, an option
            the kind's loader does not take, or a weight that is not a positive number.

    Examples:
        >>> parse_data_spec("fsdd:data/fsdd?seed=3@0.5")
        DataSpec(kind='fsdd', target='data/fsdd', options={'seed': 3}, weight=0.5)
    """
    if isinstance(spec, DataSpec):
        return spec
    if not isinstance(spec, str) or ":" not in spec:
        raise ConfigError(f"data source {spec!r} must read KIND:TARGET (kinds: {', '.join(KINDS)})")
    kind, rest = spec.split(":", 1)
    kind = _ALIASES.get(kind.strip().lower(), kind.strip().lower())
    if kind not in KINDS:
        raise ConfigError(f"data source {spec!r}: unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    weight = 1.0
    head, at, tail = rest.rpartition("@")
    if at:
        try:
            weight = float(tail)
        except ValueError:
            head = rest                                   # an '@' inside a path or name
        else:
            if not weight > 0 or weight == float("inf"):
                raise ConfigError(f"data source {spec!r}: the weight after '@' must be a positive number")
    else:
        head = rest
    target, _, query = head.partition("?")
    if not target.strip():
        raise ConfigError(f"data source {spec!r} names no {'task' if kind == 'synth' else 'path'} after '{kind}:'")
    options = {}
    for item in filter(None, query.split("&")):
        key, eq, text = item.partition("=")
        if not eq or not key:
            raise ConfigError(f"data source {spec!r}: option {item!r} must read NAME=VALUE")
        options[key.strip()] = _value(key.strip(), text.strip())
    accepted = [name for name, p in inspect.signature(LOADERS[kind]).parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "splits"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(f"data source {spec!r}: {kind} takes no option {unknown[0]!r} "
                          f"(it takes: {', '.join(accepted)})")
    return DataSpec(kind, target.strip(), options, weight)


def load_source(spec: str | DataSpec, splits: str | Sequence[str] = SPLITS):
    """Load one source as a ``DatasetDict`` of its own columns (the real columns, or ``build_corpus``'s),
    holding the ``splits`` named (a real corpus reads only their audio)."""
    spec = parse_data_spec(spec)
    return LOADERS[spec.kind](spec.target, splits=chosen_splits(splits), **spec.options)


def load_speech(specs: str | DataSpec | Sequence[str | DataSpec], *, balance: bool = True,
                splits: str | Sequence[str] = SPLITS):
    """Load one or more sources and mix them into one ``DatasetDict`` (the single entry point).

    Args:
        specs: one spec or a list (``--data`` given several times).
        balance: ``True`` (default): each source's share of training draws is its weight, whatever its
            size; ``False``: proportional to weight × clips. See :func:`echo_edu.data.mixture.mix`.
        splits: the splits to load, e.g. ``"test"`` to score a model: a real corpus then reads only those
            clips' audio (AN4's 130 test clips instead of its 1 078), and the rows are the same as in the
            full load's split.

    Returns:
        ``DatasetDict`` with ``train`` / ``validation`` / ``test`` (or the ``splits`` named): every source's
        split concatenated, the columns of :data:`echo_edu.data.rows.REAL_COLUMNS`, and in ``train`` a
        ``sample_weight`` column for :class:`echo_edu.data.mixture.WeightedStepSampler`.

    Raises:
        ConfigError: no spec, a malformed one, or ``splits`` naming none or an unknown split.

    Examples:
        >>> test = load_speech("an4:../shared/data/an4", splits="test")["test"]  # doctest: +SKIP
    """

    specs = [specs] if isinstance(specs, (str, DataSpec)) else list(specs)
    if not specs:
        raise ConfigError("load_speech needs at least one data source")
    parsed = [parse_data_spec(s) for s in specs]
    splits = chosen_splits(splits)
    return mix([(s.label, load_source(s, splits), s.weight) for s in parsed], balance=balance, splits=splits)
