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
from collections import Counter
from typing import Iterable, Mapping, Sequence

import jiwer

from .errors import ShapeError
from .text import normalize_text

__all__ = ["ErrorRates", "error_rates", "wer", "cer", "breakdown", "format_table", "SclitePoint", "sclite_point",
           "sclite_report", "format_sclite", "DELETED", "word_confusions", "word_error_counts", "utterance_errors"]


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


# ---------------------------------------------------------------------------- sclite-style summary
@dataclass(frozen=True)
class SclitePoint:
    """One line of an sclite / ESPnet ``RESULTS.md`` table, over words or characters.

    ``snt`` sentences and ``units`` reference words (or characters); ``corr``, ``sub``, ``dele``, ``ins``
    and ``err`` are percentages of ``units``; ``s_err`` is the percentage of sentences with any error.
    """

    snt: int
    units: int
    corr: float
    sub: float
    dele: float
    ins: float
    err: float
    s_err: float

    def to_dict(self) -> dict:
        return asdict(self)


def sclite_point(references: Sequence[str], hypotheses: Sequence[str], unit: str = "word") -> SclitePoint:
    """Pooled sclite counts of paired transcripts (normalised first); ``unit`` is "word" or "char"."""
    if unit not in ("word", "char"):
        raise ValueError(f"unit must be 'word' or 'char', got {unit!r}")
    refs, hyps = _normalised(references, hypotheses)
    if not refs:
        return SclitePoint(0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    out = (jiwer.process_words if unit == "word" else jiwer.process_characters)(refs, hyps)
    units = out.hits + out.substitutions + out.deletions
    wrong = sum(r != h for r, h in zip(refs, hyps))

    def pct(count: int) -> float:
        return 100.0 * _rate(count, units)

    return SclitePoint(snt=len(refs), units=units, corr=pct(out.hits), sub=pct(out.substitutions),
                       dele=pct(out.deletions), ins=pct(out.insertions),
                       err=pct(out.substitutions + out.deletions + out.insertions), s_err=100.0 * wrong / len(refs))


def sclite_report(references: Sequence[str], hypotheses: Sequence[str], speakers: Iterable | None = None,
                  unit: str = "word") -> dict[str, SclitePoint]:
    """``{"Sum/Avg": pooled point, speaker: point, ...}``: the overall line first, then each speaker."""
    report = {"Sum/Avg": sclite_point(references, hypotheses, unit)}
    if speakers is not None:
        speakers = [str(s) for s in speakers]
        if len(speakers) != len(references):
            raise ShapeError(f"{len(speakers)} speaker labels for {len(references)} utterances")
        for name in sorted(set(speakers)):
            idx = [i for i, s in enumerate(speakers) if s == name]
            report[name] = sclite_point([references[i] for i in idx], [hypotheses[i] for i in idx], unit)
    return report


def format_sclite(report: Mapping[str, SclitePoint], unit: str = "word", title: str = "SPKR") -> str:
    """The markdown table ESPnet prints in ``RESULTS.md``: Snt, Wrd (or Chr), Corr, Sub, Del, Ins, Err, S.Err."""
    count = "Wrd" if unit == "word" else "Chr"
    lines = [f"|{title}|Snt|{count}|Corr|Sub|Del|Ins|Err|S.Err|", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in report.items():
        lines.append(f"|{name}|{r.snt}|{r.units}|{r.corr:.1f}|{r.sub:.1f}|{r.dele:.1f}|{r.ins:.1f}|"
                     f"{r.err:.1f}|{r.s_err:.1f}|")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- which words go wrong
#: The stand-in for "no word" in :func:`word_confusions`: a deletion is ``(word, DELETED)``, an insertion
#: ``(DELETED, word)``.
DELETED = "∅"


def _alignment(references: Sequence[str], hypotheses: Sequence[str]):
    refs, hyps = _normalised(references, hypotheses)
    return jiwer.process_words(refs, hyps) if refs else None


def word_confusions(references: Sequence[str], hypotheses: Sequence[str]) -> Counter:
    """Every word error of the minimum-edit alignment, counted: ``{(reference word, hypothesis word): n}``.

    A substitution of "b" by "d" counts under ``("b", "d")``, a deleted "b" under ``("b", DELETED)``, an
    inserted "d" under ``(DELETED, "d")``. ``Counter.most_common(k)`` gives the most confused pairs; the
    counts add up to the substitutions + deletions + insertions of :func:`error_rates`.
    """
    out = _alignment(references, hypotheses)
    pairs: Counter = Counter()
    if out is None:
        return pairs
    for ref, hyp, chunks in zip(out.references, out.hypotheses, out.alignments):
        for c in chunks:
            if c.type == "substitute":
                pairs.update(zip(ref[c.ref_start_idx:c.ref_end_idx], hyp[c.hyp_start_idx:c.hyp_end_idx]))
            elif c.type == "delete":
                pairs.update((w, DELETED) for w in ref[c.ref_start_idx:c.ref_end_idx])
            elif c.type == "insert":
                pairs.update((DELETED, w) for w in hyp[c.hyp_start_idx:c.hyp_end_idx])
    return pairs


def word_error_counts(references: Sequence[str], hypotheses: Sequence[str]) -> dict[str, tuple[int, int]]:
    """``{reference word: (times it was said, times it was missed)}``, most missed first.

    "Missed" is substituted or deleted in the alignment (an insertion belongs to no reference word), so
    ``missed / said`` is that word's own error rate. Ties keep the order of the most said word first.
    """
    out = _alignment(references, hypotheses)
    if out is None:
        return {}
    said = Counter(w for ref in out.references for w in ref)
    missed: Counter = Counter()
    for (w, _), n in word_confusions(references, hypotheses).items():
        missed[w] += n if w != DELETED else 0
    order = sorted(said, key=lambda w: (-missed[w], -said[w], w))
    return {w: (said[w], missed[w]) for w in order}


def utterance_errors(references: Sequence[str], hypotheses: Sequence[str]) -> list[int]:
    """Word edits (substitutions + deletions + insertions) of each utterance, in order: ``N`` counts."""
    out = _alignment(references, hypotheses)
    if out is None:
        return []
    return [sum(max(c.ref_end_idx - c.ref_start_idx, c.hyp_end_idx - c.hyp_start_idx)
                for c in chunks if c.type != "equal") for chunks in out.alignments]
