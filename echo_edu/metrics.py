"""Word and character error rates (WER, CER), overall and broken down by engine or voice.

WER = (substitutions + deletions + insertions) / reference words, from the minimum-edit alignment of
each reference with its hypothesis (jiwer). CER is the same over characters (spaces included). Both
sides go through :func:`echo_edu.text.normalize_text` first, so "Call 911!" and "call nine one one"
score as equal: the model is judged on words, not on spelling conventions. Rates over a set of
utterances pool the counts (total errors / total reference words), they are not an average of
per-utterance rates. WER can exceed 1 when the hypothesis inserts many words.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Mapping, Sequence

import jiwer

from .errors import ShapeError
from .text import normalize_text

__all__ = ["ErrorRates", "error_rates", "wer", "cer", "breakdown", "format_table"]


@dataclass(frozen=True)
class ErrorRates:
    """Pooled error counts of a set of utterances.

    Attributes:
        wer, cer: word and character error rates (``errors / reference length``; 0 when both are empty).
        n: number of utterances.
        words, chars: reference length in words and characters.
        substitutions, deletions, insertions: word-level error counts.
        char_errors: character-level edit count.
    """

    wer: float
    cer: float
    n: int
    words: int
    chars: int
    substitutions: int
    deletions: int
    insertions: int
    char_errors: int

    def to_dict(self) -> dict:
        return asdict(self)


def _normalised(references: Sequence[str], hypotheses: Sequence[str]) -> tuple[list[str], list[str]]:
    references, hypotheses = list(references), list(hypotheses)
    if len(references) != len(hypotheses):
        raise ShapeError(f"{len(references)} references but {len(hypotheses)} hypotheses: they must pair up")
    return [normalize_text(str(r)) for r in references], [normalize_text(str(h)) for h in hypotheses]


def _rate(errors: int, total: int) -> float:
    if total == 0:
        return 0.0 if errors == 0 else float("inf")
    return errors / total


def error_rates(references: Sequence[str], hypotheses: Sequence[str]) -> ErrorRates:
    """Pooled WER and CER of paired ``references`` and ``hypotheses`` (both normalised first)."""
    refs, hyps = _normalised(references, hypotheses)
    if not refs:
        return ErrorRates(0.0, 0.0, 0, 0, 0, 0, 0, 0, 0)
    words = jiwer.process_words(refs, hyps)
    chars = jiwer.process_characters(refs, hyps)
    n_words = words.hits + words.substitutions + words.deletions
    n_chars = chars.hits + chars.substitutions + chars.deletions
    word_errors = words.substitutions + words.deletions + words.insertions
    char_errors = chars.substitutions + chars.deletions + chars.insertions
    return ErrorRates(wer=_rate(word_errors, n_words), cer=_rate(char_errors, n_chars), n=len(refs),
                      words=n_words, chars=n_chars, substitutions=words.substitutions,
                      deletions=words.deletions, insertions=words.insertions, char_errors=char_errors)


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Word error rate after normalising both sides."""
    return error_rates(references, hypotheses).wer


def cer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Character error rate after normalising both sides."""
    return error_rates(references, hypotheses).cer


def breakdown(references: Sequence[str], hypotheses: Sequence[str], groups: Iterable) -> dict[str, ErrorRates]:
    """Error rates per group (e.g. per engine or per voice), sorted by group name.

    Args:
        references, hypotheses: ``N`` paired transcripts.
        groups: ``N`` group labels, one per utterance (``engine`` or ``voice`` column values).
    """
    groups = [str(g) for g in groups]
    if len(groups) != len(references):
        raise ShapeError(f"{len(groups)} group labels for {len(references)} utterances")
    by_group: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    return {g: error_rates([references[i] for i in idx], [hypotheses[i] for i in idx])
            for g, idx in sorted(by_group.items())}


def format_table(rows: Mapping[str, ErrorRates], title: str = "group") -> str:
    """A markdown table with one line per group: utterances, words, WER %, CER %."""
    lines = [f"| {title} | utterances | words | WER % | CER % |", "|---|---:|---:|---:|---:|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r.n} | {r.words} | {100 * r.wer:.2f} | {100 * r.cer:.2f} |")
    return "\n".join(lines)
