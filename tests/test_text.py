"""echo_edu.text.normalize_text: one normalisation for targets, decoding and scoring."""

import random

import pytest

from echo_edu.text import ALPHABET, DIGIT_WORDS, normalize_text


@pytest.mark.parametrize("raw, expected", [
    ("Hello, World!", "hello world"),
    ("Call 911 NOW", "call nine one one now"),
    ("  It's 3.5%  ", "it's three point five percent"),
    ("\u2018Don\u2019t\u2019 stop", "don't stop"),
    ("caf\u00e9 na\u00efve", "cafe naive"),
    ("rock-and-roll/jazz_band", "rock and roll jazz band"),
    ("dogs' 'tails'", "dogs tails"),
    ("Tom & Jerry", "tom and jerry"),
    ("a\tb\n\nc", "a b c"),
    ("one oh seven", "one oh seven"),
    ("7", "seven"),
    ("", ""),
    ("?!...", ""),
])
def test_examples(raw, expected):
    assert normalize_text(raw) == expected


def test_digits_are_spelled_one_by_one():
    assert normalize_text("0123456789") == " ".join(DIGIT_WORDS)


def test_output_alphabet_and_idempotence():
    rng = random.Random(0)
    pool = "aZ 9'.,!?-é\u2019\t&%x\u4e2d"
    for _ in range(500):
        raw = "".join(rng.choice(pool) for _ in range(rng.randint(0, 30)))
        out = normalize_text(raw)
        assert set(out) <= set(ALPHABET)
        assert out == out.strip() and "  " not in out
        assert normalize_text(out) == out


def test_rejects_non_strings():
    with pytest.raises(TypeError, match="str"):
        normalize_text(42)
