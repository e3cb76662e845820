"""Seeded, speaker-disjoint splits of real corpora.

A recogniser scored on a speaker it trained on is scored on a voice it memorised. Real corpora are
therefore split by *whole speakers*: every clip of one person lands in one split. Both functions here
are pure functions of the speakers' clip counts and a seed (Python's ``random.Random`` with a string
seed, stable across Python versions and machines), so a split is the same on every run and computer.

* :func:`speaker_splits` assigns speakers to ``train`` / ``validation`` / ``test`` by clip shares
  (FSDD, Speech Commands, manifests, Hugging Face datasets without their own splits).
* :func:`hold_out_speakers` picks speakers whose clips total about a number of utterances (the AN4
  dev set, carved from AN4 train; see :mod:`echo_edu.data.an4`).
"""

from __future__ import annotations

import random
from typing import Callable, Mapping, Sequence

from ..errors import ConfigError
from ..errors import CorpusFormatError

__all__ = ["speaker_splits", "hold_out_speakers", "canonical_split", "chosen_splits", "SPLITS"]

SPLITS = ("train", "validation", "test")
_ALIASES = {"train": "train", "training": "train", "validation": "validation", "valid": "validation",
            "val": "validation", "dev": "validation", "test": "test", "eval": "test"}


def chosen_splits(splits: str | Sequence[str]) -> tuple[str, ...]:
    """``splits`` (one name or several) as a tuple in :data:`SPLITS` order, for the loaders' ``splits=``.

    Raises:
        ConfigError: no split, or a name that is not one of :data:`SPLITS`.
    """
    names = (splits,) if isinstance(splits, str) else tuple(splits)
    unknown = [s for s in names if s not in SPLITS]
    if unknown or not names:
        raise ConfigError(f"splits must name one or more of {', '.join(SPLITS)}; got {list(names)!r}")
    return tuple(s for s in SPLITS if s in names)


def canonical_split(name: str, where: str) -> str:
    """``train`` / ``validation`` / ``test`` for a corpus's own split name (``dev``, ``valid`` ... too).

    Raises:
        CorpusFormatError: an unknown name (``where`` says which file or dataset wrote it).
    """

    split = _ALIASES.get(str(name).strip().lower())
    if split is None:
        raise CorpusFormatError(f"{where}: split {name!r} is not one of {sorted(_ALIASES)}")
    return split


def _shuffled(counts: Mapping[str, int], seed: int, salt: str) -> list[str]:
    speakers = sorted(counts)
    random.Random(f"echo-speakers|{salt}|{seed}").shuffle(speakers)
    return speakers


def speaker_splits(counts: Mapping[str, int], fractions: Sequence[float] = (0.8, 0.1, 0.1),
                   seed: int = 0) -> dict[str, str]:
    """Assign each speaker to a split so each split holds about its share of the *clips*.

    Speakers are shuffled by ``seed``; test takes speakers until it holds at least its share, then
    validation, and train keeps the rest. A split with a positive share always gets at least one
    speaker (so 3 speakers and the default shares give one speaker per split).

    Args:
        counts: clips per speaker.
        fractions: shares of train, validation, test (non-negative, summing to 1; ``(0, 0, 1)`` puts
            every speaker in test, for a corpus used only to score).
        seed: the shuffle's seed.

    Returns:
        ``{speaker: split}``.

    Raises:
        ConfigError: bad fractions, or fewer speakers than splits with a positive share.
    """
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ConfigError(f"fractions must be three non-negative shares summing to 1, got {tuple(fractions)}")
    needed = sum(f > 0 for f in fractions)
    if len(counts) < needed:
        raise ConfigError(f"{len(counts)} speaker(s) cannot fill {needed} speaker-disjoint splits "
                          f"(fractions {tuple(fractions)}); give a zero share to some split")
    order = _shuffled(counts, seed, "splits")
    total = sum(counts.values())
    out: dict[str, str] = {}
    pos = 0
    for split, share in (("test", fractions[2]), ("validation", fractions[1])):
        taken, target = 0, share * total
        # Leave one speaker for every later split that needs one (validation after test, train last).
        reserve = sum(f > 0 for f in fractions[:SPLITS.index(split)])
        while share > 0 and pos < len(order) - reserve and (taken == 0 or taken < target):
            out[order[pos]] = split
            taken += counts[order[pos]]
            pos += 1
    for speaker in order[pos:]:
        out[speaker] = "train" if fractions[0] > 0 else ("validation" if fractions[1] > 0 else "test")
    return out


def hold_out_speakers(counts: Mapping[str, int], target: int, seed: int = 0,
                      group: Callable[[str], str] | None = None) -> list[str]:
    """Whole speakers whose clips total as close to ``target`` as a prefix of a seeded order allows.

    Args:
        counts: clips per speaker.
        target: the wanted number of clips (ESPnet's AN4 recipe holds out 100).
        seed: the shuffle's seed.
        group: optional speaker -> group (AN4: the first letter of its id, ``f`` or ``m``); the order
            then alternates between groups so the held-out set mixes them.

    Returns:
        The chosen speakers, sorted.
    """
    if target <= 0 or target >= sum(counts.values()):
        raise ConfigError(f"cannot hold out {target} of {sum(counts.values())} clips; choose 0 < target < total")
    order = _shuffled(counts, seed, "hold-out")
    if group is not None:
        queues: dict[str, list[str]] = {}
        for speaker in order:
            queues.setdefault(group(speaker), []).append(speaker)
        lanes = [queues[k] for k in sorted(queues)]
        order = [lane[i] for i in range(max(map(len, lanes))) for lane in lanes if i < len(lane)]
    best, best_gap, total = 1, None, 0
    for k, speaker in enumerate(order[:-1], start=1):     # keep at least one speaker for training
        total += counts[speaker]
        if best_gap is None or abs(total - target) < best_gap:
            best, best_gap = k, abs(total - target)
        if total >= target:
            break
    return sorted(order[:best])
