"""The ``an4`` task: AN4-style census utterances and Speech Commands words, from templates.

CMU's AN4 database (its real recordings are read by the loaders, not here) has each speaker read a
census form — their names and street spelled letter by letter, a house number, a zip code, a phone
number, a birth date — and a handful of "control" prompts: a command word (ENTER, ERASE, RUBOUT),
a few random letters and a number ("ERASE C K C W FOURTEEN EIGHTY FIVE"), or a single YES / NO /
GO / STOP / REPEAT / HELP / START. This module writes new utterances in the same style, so a
synthetic voice can speak the real domain's words before the model meets real people:

========== ===============================================================================
category   example (normalised, as the task returns it)
========== ===============================================================================
surname    ``k o w a l s k i`` — a last name, spelled
first      ``j e s s i c a`` — a first name, spelled (sometimes two, like ``mary jo``)
number     ``fifty one fifty six``, ``three oh six``, ``one thousand`` — a house number
street     ``b e e c h w o o d d r i v e`` — a street, spelled (with its suffix at times)
city       ``w i l k i n s b u r g`` — a town of the Pittsburgh area, spelled
zip        ``one five two oh eight`` — five digits, 0 read "oh" or "zero"
phone      ``four one two six eight three ...`` — seven digits, or ten after "area code"
date       ``march third nineteen sixty seven``, ``twelve nine sixty``, ``ninth of june ...``
control    ``rubout t g j w b seventy nine``, ``enter four thousand seven hundred and two``
command    ``repeat``, ``help stop``, ``yes``, ``no`` — the AN4 one-word prompts
keywords   ``up left six`` — one to three Speech Commands words (yes no up down left right
           on off stop go and the digits)
========== ===============================================================================

Letters are written as single lower-case letters, numbers as words — exactly the tokenizer's
alphabet (``normalize_text(t) == t`` for every text).

**No AN4 test transcript is ever produced.** Every draw is checked against the SHA-1 digests of the
130 normalised AN4 test transcripts (:data:`~echo_edu.data.an4_test_hashes.AN4_TEST_SHA1`, committed
as digests, never as text) and redrawn on a match. So "go", "no", "yes", "stop", "repeat" alone,
``p i t t s b u r g h`` alone and the test speakers' zip codes are never spoken; the words still
appear inside other utterances. Where the AN4 data is on this machine, the first draw also checks
that the real test file hashes to exactly those digests (see :func:`verify_test_exclusion`), so the
generated texts never depend on whether the data is present.
"""

from __future__ import annotations

import random
import re

from ..text import DIGIT_WORDS
from .an4_test_hashes import AN4_TEST_SHA1, text_sha1, verify_test_exclusion

__all__ = ["an4_text", "an4_spoken_form", "an4_vocabulary", "text_sha1", "CATEGORIES",
           "SPEECH_COMMANDS_WORDS", "CONTROL_WORDS"]

_W = str.split
SPEECH_COMMANDS_WORDS = tuple(_W("yes no up down left right on off stop go")) + DIGIT_WORDS
#: AN4's command prompts: the first three start a "control" utterance, all are said alone too.
CONTROL_WORDS = ("enter", "erase", "rubout")
_ALONE = CONTROL_WORDS + tuple(_W("yes no go stop repeat help start"))

_FIRST = _W("aaron adam alice andrea angela anthony barbara beth bonnie brenda carl carol "
            "carolyn catherine charles chris christine claire dan dana daniel debbie denise "
            "diane donald donna doris dorothy douglas edward elaine ellen emily frances gary "
            "george gloria gregory harold helen irene jack james jason jessica joan joe joseph "
            "joyce judith julia keith kelly kenneth kevin larry laura lawrence lisa lois marie "
            "mark martha matthew nancy norman pamela patricia paul peggy philip rachel ralph "
            "raymond rebecca richard rita ronald rose ruth sandra sarah scott stephen steven "
            "susan teresa thomas timothy todd valerie victoria walter wayne william")
_LAST = _W("anderson baker bianchi brennan campbell carlson costa davis dimarco donovan "
           "esposito fischer fitzgerald galati gordon hanley hoffman jablonski jankowski keller "
           "kessler kowalski kramer krause lombardi lucas mazur mcallister mccarthy miller "
           "morgan mueller novak obrien olsen palmer perry petrovich quinn reilly romano russo "
           "schaefer schmidt schneider shapiro sullivan szymanski thompson turner vogel wagner "
           "walsh weber wilson wozniak yablonsky zelinski zimmerman")
_STREET = _W("beechwood bellefield braddock butler centre craig ellsworth fifth forbes forward "
             "greenfield hamilton highland liberty maple melwood murray negley northumberland "
             "oakland penn reynolds shady walnut wightman wilkins woodland")
_STREET_SUFFIX = _W("avenue street drive road lane place court way")
_CITY = _W("aliquippa allison bethel bridgeville carnegie coraopolis cranberry edgewood "
           "greensburg homestead irwin mckeesport monroeville munhall murrysville oakmont "
           "sewickley swissvale turtle verona washington wexford wilkinsburg")
_MONTHS = _W("january february march april may june july august september october november "
             "december")
_TEENS = _W("ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen")
_TENS = _W("_ _ twenty thirty forty fifty sixty seventy eighty ninety")
_ORDINAL_UNITS = _W("_ first second third fourth fifth sixth seventh eighth ninth")
_ORDINAL_TEENS = _W("tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth "
                    "seventeenth eighteenth nineteenth")
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


# --------------------------------------------------------------------------- numbers as words

def _zero(rng: random.Random) -> str:
    return "oh" if rng.random() < 0.6 else "zero"


def _digit_string(rng: random.Random, count: int) -> list[str]:
    return [_zero(rng) if d == 0 else DIGIT_WORDS[d] for d in (rng.randrange(10) for _ in range(count))]


def _under_100(n: int) -> list[str]:
    """0–99 as words: 7 -> seven, 13 -> thirteen, 40 -> forty, 58 -> fifty eight."""
    if n < 10:
        return [DIGIT_WORDS[n]]
    if n < 20:
        return [_TEENS[n - 10]]
    return [_TENS[n // 10]] + ([DIGIT_WORDS[n % 10]] if n % 10 else [])


def _cardinal(n: int, rng: random.Random) -> list[str]:
    """1–99 999 read in full; "and" after "hundred" half of the time, as AN4's speakers do."""
    words: list[str] = []
    if n >= 1000:
        words += _under_100(n // 1000) + ["thousand"]
        n %= 1000
    if n >= 100:
        words += [DIGIT_WORDS[n // 100], "hundred"]
        n %= 100
        if n and rng.random() < 0.5:
            words.append("and")
    return words + (_under_100(n) if n or not words else [])


def _pairs(n: int, rng: random.Random) -> list[str]:
    """A 3- or 4-digit number read in pairs: 5156 fifty one fifty six, 755 seven fifty five,
    5605 fifty six oh five, 1900 nineteen hundred."""
    head, tail = divmod(n, 100)
    if tail == 0:
        return _under_100(head) + ["hundred"]
    return _under_100(head) + ([_zero(rng), DIGIT_WORDS[tail]] if tail < 10 else _under_100(tail))


def _number(rng: random.Random) -> list[str]:
    """A number as AN4 says them: digit by digit, in pairs, or in full."""
    style = rng.random()
    if style < 0.35:
        return _digit_string(rng, rng.randint(1, 5))
    if style < 0.6:
        return _under_100(rng.randint(1, 99))
    if style < 0.85:
        return _pairs(rng.randint(101, 9999), rng)
    return _cardinal(rng.choice((rng.randint(100, 999), rng.randint(1000, 99999))), rng)


def _ordinal(day: int) -> list[str]:
    """1–31 as an ordinal: first, twelfth, twenty third, thirtieth."""
    if day < 10:
        return [_ORDINAL_UNITS[day]]
    if day < 20:
        return [_ORDINAL_TEENS[day - 10]]
    if day % 10 == 0:
        return [_TENS[day // 10][:-1] + "ieth"]
    return [_TENS[day // 10], _ORDINAL_UNITS[day % 10]]


# --------------------------------------------------------------------------- the categories

def _spell(word: str) -> list[str]:
    return list(word)


def _surname(rng):
    return _spell(rng.choice(_LAST))


def _first(rng):
    return _spell(rng.choice(_FIRST) + (rng.choice(_FIRST) if rng.random() < 0.05 else ""))


def _house_number(rng):
    words = _number(rng)
    return words + (["and", "a", "half"] if rng.random() < 0.02 else [])


def _street(rng):
    suffix = rng.choice(_STREET_SUFFIX) if rng.random() < 0.3 else ""
    return _spell(rng.choice(_STREET) + suffix)


def _city(rng):
    return _spell(rng.choice(_CITY))


def _zip(rng):
    return _digit_string(rng, 5) if rng.random() < 0.5 else \
        ["one", "five", rng.choice(("oh", "zero", "one", "two"))] + _digit_string(rng, 2)


def _phone(rng):
    if rng.random() < 0.15:
        return ["area", "code"] + _digit_string(rng, 10)
    return _digit_string(rng, rng.choice((7, 7, 7, 10)))


def _date(rng):
    month, year = rng.randrange(12), rng.randint(20, 79)
    day = rng.randint(1, _MONTH_DAYS[month])
    year_words = (["nineteen"] if rng.random() < 0.85 else []) + _under_100(year)
    style = rng.random()
    if style < 0.5:
        return [_MONTHS[month]] + _ordinal(day) + year_words
    if style < 0.65:
        return [_MONTHS[month]] + _under_100(day) + year_words
    if style < 0.9:
        return _under_100(month + 1) + _under_100(day) + _under_100(year)
    return _ordinal(day) + ["of", _MONTHS[month]] + year_words


def _control(rng):
    words = [rng.choice(CONTROL_WORDS)] if rng.random() < 0.6 else []
    if not words or rng.random() < 0.7:
        words += list(rng.choice(_LETTERS) for _ in range(rng.randint(1, 5)))
    return words + _number(rng)


def _command(rng):
    return [rng.choice(_ALONE) for _ in range(rng.choice((1, 1, 1, 2)))]


def _keywords(rng):
    return [rng.choice(SPEECH_COMMANDS_WORDS) for _ in range(rng.choice((1, 1, 2, 3)))]


#: category -> (weight, generator). Weights follow AN4 train (8 census prompts per speaker, ~5
#: control/command prompts), plus the Speech Commands keywords.
CATEGORIES = {
    "surname": (8, _surname), "first": (8, _first), "number": (8, _house_number),
    "street": (8, _street), "city": (6, _city), "zip": (8, _zip), "phone": (8, _phone),
    "date": (8, _date), "control": (24, _control), "command": (6, _command), "keywords": (12, _keywords),
}
_NAMES, _WEIGHTS = list(CATEGORIES), [w for w, _ in CATEGORIES.values()]


# --------------------------------------------------------------------------- the task

_VERIFIED = False


def _verify_once() -> None:
    global _VERIFIED
    if not _VERIFIED:
        verify_test_exclusion()      # raises when the real test file has a digest we do not know
        _VERIFIED = True


def an4_text(rng: random.Random, category: str | None = None) -> str:
    """One AN4-style utterance (normalised), never an AN4 test transcript.

    Args:
        rng: the seeded generator; the same seed gives the same texts on every machine.
        category: one of :data:`CATEGORIES` (default: drawn by the categories' weights).
    """
    _verify_once()
    for _ in range(1000):
        name = category or rng.choices(_NAMES, _WEIGHTS)[0]
        text = " ".join(CATEGORIES[name][1](rng))
        if text_sha1(text) not in AN4_TEST_SHA1:
            return text
    raise RuntimeError(f"the an4 category {category!r} draws only AN4 test transcripts")


_LONE_A = re.compile(r"(?<![a-z'])a(?![a-z'])(?! half)")


def an4_spoken_form(text: str) -> str:
    """What the engines are asked to say for ``text`` (the transcript stays ``text``).

    A spelled letter "a" is read as the article "uh" by espeak-ng, flite and festival alike, so it
    becomes "eigh" (the one spelling all three say as the letter name); "and a half" keeps its
    article. "rubout" is said as AN4's speakers say it, "rub out".
    """
    return _LONE_A.sub("eigh", text).replace("rubout", "rub out")


def an4_vocabulary() -> set[str]:
    """Every word the ``an4`` task can produce."""
    words = set(_LETTERS) | set(SPEECH_COMMANDS_WORDS) | set(_ALONE) | set(_MONTHS)
    words |= set(_TEENS) | set(_TENS[2:]) | set(_ORDINAL_UNITS[1:]) | set(_ORDINAL_TEENS)
    words |= {t[:-1] + "ieth" for t in _TENS[2:4]}
    return words | {"oh", "hundred", "thousand", "and", "half", "area", "code", "of"}
