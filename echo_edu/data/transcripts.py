"""Real transcripts -> the tokenizer's alphabet, refusing (or counting) what it cannot spell.

Synthetic texts are generated in the alphabet already; transcripts written by people are not. AN4 is
upper case (``"RUBOUT G M E F THREE NINE"``), manifests may hold numerals (``"call 911"``) or
punctuation, and a corpus in another language holds letters Echo has no token for. This module keeps
one rule set, :func:`echo_edu.text.normalize_text` (lower-casing, digits spelled one by one, accents
folded, ``& % + @`` as words), and adds the check that function does not make:

* punctuation (Unicode category ``P*``: ``. , ! ? " ( ) -`` ...) is not spoken, so it may go;
* every other character must reach the alphabet (``a``-``z``, ``'``, space) through those rules;
* anything else (``$``, ``#``, ``<``, ``€``, ``ß``, Cyrillic, CJK, ...) would silently vanish or turn
  into a word break, teaching the model a transcript nobody said. :func:`normalize_transcript`
  raises :class:`~echo_edu.errors.TranscriptError` naming the file and the characters instead.

A transcript that normalises to nothing (``"..."``) is an error too: a clip with an empty target
teaches the model to stay silent.
"""

from __future__ import annotations

import unicodedata

from ..errors import TranscriptError
from ..text import ALPHABET, normalize_text

__all__ = ["unspellable_characters", "normalize_transcript", "ON_UNKNOWN"]

#: Choices of ``on_unknown`` in every loader: raise the error, or skip the clip and count it.
ON_UNKNOWN = ("error", "skip")

# Characters normalize_text maps into the alphabet on purpose (besides letters, digits and spaces).
_MAPPED = set("&%+@") | set("\u2018\u2019\u02bc`\u00b4")


def unspellable_characters(text: str) -> str:
    """The distinct characters of ``text`` the tokenizer cannot spell, in order of first appearance.

    Examples:
        >>> unspellable_characters("Café & 3.5 % (ok)!")
        ''
        >>> unspellable_characters("price: $5 <unk>")
        '$<>'
    """
    bad: dict[str, None] = {}
    for original in text:
        folded = "".join(c for c in unicodedata.normalize("NFKD", original) if not unicodedata.combining(c))
        for ch in folded.lower():
            if ch in ALPHABET or ch.isspace() or ch in _MAPPED or ("0" <= ch <= "9"):
                continue
            if unicodedata.category(ch).startswith("P"):     # punctuation is not spoken
                continue
            bad[original] = None
    return "".join(bad)


def normalize_transcript(text: str, file: str = "") -> str:
    """``normalize_text(text)``, or a :class:`TranscriptError` naming ``file`` when it cannot be spelled.

    Args:
        text: a transcript as the corpus writes it.
        file: the clip it belongs to (for the message).

    Returns:
        The normalised transcript (lower-case words, digits as words), never empty.

    Raises:
        TranscriptError: ``text`` is not a string, holds characters outside what the tokenizer can spell
            (``.characters`` lists them), or normalises to an empty string.

    Examples:
        >>> normalize_transcript("ENTER FIVE")
        'enter five'
        >>> normalize_transcript("Call 911")
        'call nine one one'
    """
    where = f" of {file!r}" if file else ""
    if not isinstance(text, str):
        raise TranscriptError(f"the transcript{where} is {type(text).__name__}, not text", file)
    bad = unspellable_characters(text)
    if bad:
        raise TranscriptError(f"the transcript{where} holds characters the tokenizer cannot spell: "
                              f"{' '.join(repr(c) for c in bad)} (in {text!r}); fix the transcript or "
                              "load with on_unknown='skip'", file, bad)
    out = normalize_text(text)
    if not out:
        raise TranscriptError(f"the transcript{where} is empty after normalisation (was {text!r})", file)
    return out
