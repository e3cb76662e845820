"""Text normalisation: one function shared by training targets, decoding output and scoring.

A speech recogniser can only be scored fairly if the reference and the hypothesis are written the
same way. ``normalize_text`` maps any English string to the small alphabet Echo's character
tokenizer knows: lower-case ``a``–``z``, the apostrophe and single spaces.

* Digits are spelled out one by one, the way people read digit strings aloud ("2024" -> "two zero
  two four"; "3.5" -> "three point five"). The digits task speaks strings exactly like that.
* Accents are folded ("café" -> "cafe"); curly quotes become plain apostrophes.
* ``&`` becomes "and", ``%`` becomes "percent", ``+`` becomes "plus".
* Any other character (punctuation, symbols, other scripts) becomes a word break.
* An apostrophe survives only inside a word ("don't", "o'clock"); quote marks around words go.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize_text", "DIGIT_WORDS", "ALPHABET"]

#: The characters a normalised string may contain (besides nothing else).
ALPHABET = " '" + "abcdefghijklmnopqrstuvwxyz"

#: Spoken form of each digit, as used by ``normalize_text`` and the digits task.
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

_SYMBOLS = {"&": " and ", "%": " percent ", "+": " plus ", "@": " at "}
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_DECIMAL = re.compile(r"(?<=\d)[.,](?=\d)")
_DIGIT = re.compile(r"\d")
_SEPARATORS = re.compile(r"[-_/\u2010-\u2015]")
_NOT_ALLOWED = re.compile(r"[^a-z' ]+")
_LONE_APOSTROPHE = re.compile(r"(?<![a-z])'|'(?![a-z])")
_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Normalise ``text`` for training, decoding and scoring (see the module docstring).

    Args:
        text: any string.

    Returns:
        Lower-case words of ``a``–``z`` and ``'`` separated by single spaces, no leading or
        trailing space. May be empty.

    Examples:
        >>> normalize_text("Call 911, NOW!")
        'call nine one one now'
        >>> normalize_text("  It's 3.5%  ")
        "it's three point five percent"
    """
    if not isinstance(text, str):
        raise TypeError(f"normalize_text expects a str, got {type(text).__name__}")
    text = text.translate(_QUOTES)
    # Fold accents: decompose, then drop combining marks.
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = _DECIMAL.sub(" point ", text)
    text = _DIGIT.sub(lambda m: f" {DIGIT_WORDS[int(m.group())]} ", text)
    for symbol, word in _SYMBOLS.items():
        text = text.replace(symbol, word)
    text = _SEPARATORS.sub(" ", text)
    text = _NOT_ALLOWED.sub(" ", text)
    text = _LONE_APOSTROPHE.sub("", text)
    return _SPACES.sub(" ", text).strip()
