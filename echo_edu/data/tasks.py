"""What the synthetic speakers say: three tasks of rising difficulty, and the real domain's words.

* ``digits`` — connected digit strings of 1–7 digits, the classic TIDIGITS task. Zero is read
  both as "zero" and as "oh", as people do.
* ``commands`` — one to three words from a Speech-Commands-like vocabulary of 35 words
  ("go left", "stop", "marvin up six").
* ``sentences`` — short English sentences from a small template grammar (see :data:`GRAMMAR`)
  with a vocabulary of well over 300 words.
* ``an4`` — the words of CMU's AN4 census database (spelled names and places, house, zip and phone
  numbers, dates, ordinals, ENTER/ERASE/RUBOUT prompts) and the Speech Commands keywords, from the
  templates of :mod:`echo_edu.data.an4_templates`; never an AN4 test transcript.

Every generator takes a seeded ``random.Random`` and returns normalised text (the training target
and, unless :func:`spoken_form` rewrites it for the engines, the words the engine speaks).
"""

from __future__ import annotations

import random
import re
from typing import Callable

from ..errors import ConfigError
from ..text import DIGIT_WORDS
from .an4_templates import an4_spoken_form, an4_text, an4_vocabulary

__all__ = ["TASKS", "COMMAND_WORDS", "GRAMMAR", "generate_text", "spoken_form", "task_vocabulary"]

COMMAND_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
                 "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                 "bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow",
                 "backward", "forward", "follow", "learn", "visual")

_W = str.split
#: The sentence grammar: each slot is a list of words (or phrases); templates combine slots.
GRAMMAR: dict[str, list[str]] = {
    "name": _W("anna ben carla david emma frank grace henry iris jack kate leo maria nick olivia "
               "peter rosa sam tina victor wendy yusuf zoe"),
    "det": _W("the a my your our their this that every one"),
    "adj": _W("big small old new red blue green yellow black white quiet loud happy sad tired "
              "busy clever brave gentle angry bright dark warm cold wet dry heavy light tall short "
              "young strange funny lazy hungry friendly careful noisy empty full clean dirty "
              "broken shiny round soft hard sweet sour fresh famous"),
    "noun": _W("dog cat bird horse cow fish rabbit mouse lion tiger bear fox wolf duck goat sheep "
               "teacher doctor farmer driver singer painter baker pilot nurse child boy girl "
               "friend neighbour king queen student sailor"),
    "thing": _W("book ball cup box hat coat bag key phone letter map lamp chair table bottle "
                "basket apple bread cake cheese orange banana carrot pencil picture window door "
                "clock ticket blanket guitar drum camera bicycle umbrella candle spoon plate "
                "kite shoe sock ring"),
    "place": _W("garden kitchen market station school library park river forest beach village "
                "city office museum hospital bakery harbour bridge hill valley farm shop "
                "street airport island castle cinema church desert field"),
    "verb_t": _W("found lost painted carried bought sold opened closed washed dropped kicked "
                 "cleaned fixed broke hid took gave moved pushed pulled caught threw watched "
                 "liked wanted borrowed brought counted cooked"),
    "verb_i": _W("laughed smiled slept danced sang jumped waited shouted walked ran swam "
                 "worked studied cried played rested travelled whistled"),
    "adv": _W("quickly slowly quietly loudly happily sadly carefully gently suddenly finally "
              "often never always sometimes again together early late"),
    "time": ["today", "yesterday", "tomorrow", "last night", "this morning", "on monday",
             "on tuesday", "on wednesday", "on thursday", "on friday", "on saturday", "on sunday",
             "in january", "in april", "in july", "in october", "in the evening", "at noon",
             "after lunch", "before dinner", "every week", "last summer", "next winter"],
    "prep": _W("in near behind under beside inside outside across through around"),
    "number": _W("two three four five six seven eight nine ten eleven twelve twenty fifty hundred"),
    "plural": _W("dogs cats birds apples books boxes cups eggs flowers houses keys songs stones "
                 "trees windows letters boats cars trains shells coins"),
    "question": _W("where when why how"),
    "modal": _W("can could will should must might would"),
    "base_verb": _W("find open close carry paint wash fix move clean bring watch cook count "
                    "read write draw build"),
}

_TEMPLATES: tuple[tuple[str, ...], ...] = (
    ("det", "adj", "noun", "verb_t", "det", "thing", "prep", "det", "place"),
    ("name", "verb_t", "det", "adj", "thing", "time"),
    ("det", "noun", "verb_i", "adv", "prep", "det", "place"),
    ("name", "and", "name", "verb_i", "time"),
    ("question", "did", "name", "base_verb", "the", "thing"),
    ("name", "modal", "base_verb", "number", "plural", "time"),
    ("det", "thing", "is", "prep", "the", "adj", "place"),
    ("there", "are", "number", "adj", "plural", "prep", "the", "place"),
    ("time", "name", "verb_t", "det", "noun", "'s", "thing"),
    ("please", "base_verb", "the", "adj", "thing", "adv"),
    ("det", "adj", "noun", "and", "det", "noun", "verb_i", "adv"),
    ("name", "said", "the", "place", "was", "adj", "time"),
)


_AN = re.compile(r"\ba (?=[aeiou])")  # "a apple" -> "an apple"


def _digits(rng: random.Random) -> str:
    count = rng.randint(1, 7)
    words = []
    for _ in range(count):
        d = rng.randrange(10)
        words.append(("zero" if rng.random() < 0.5 else "oh") if d == 0 else DIGIT_WORDS[d])
    return " ".join(words)


def _commands(rng: random.Random) -> str:
    return " ".join(rng.choice(COMMAND_WORDS) for _ in range(rng.choice((1, 1, 2, 2, 3))))


def _sentence(rng: random.Random) -> str:
    words = []
    for slot in rng.choice(_TEMPLATES):
        if slot == "'s":           # possessive glued to the previous word
            words[-1] += "'s"
        else:
            words.append(rng.choice(GRAMMAR[slot]) if slot in GRAMMAR else slot)
    return _AN.sub("an ", " ".join(words))


#: task name -> generator(rng) -> normalised text
TASKS: dict[str, Callable[[random.Random], str]] = {
    "digits": _digits, "commands": _commands, "sentences": _sentence, "an4": an4_text,
}
#: task name -> text -> what the engines are asked to say (tasks not listed: the text itself)
_SPOKEN: dict[str, Callable[[str], str]] = {"an4": an4_spoken_form}


def generate_text(task: str, rng: random.Random) -> str:
    """One utterance of ``task`` drawn with ``rng``."""
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; choose from {sorted(TASKS)}")
    return TASKS[task](rng)


def spoken_form(task: str, text: str) -> str:
    """The words an engine should say for ``text`` of ``task`` (the transcript stays ``text``).

    Most tasks say their text as written; ``an4`` spells the letter "a" so no engine reads it as
    the article (see :func:`~echo_edu.data.an4_templates.an4_spoken_form`).
    """
    return _SPOKEN.get(task, str)(text)


def task_vocabulary(task: str) -> set[str]:
    """Every word ``task`` can produce."""
    if task == "digits":
        return set(DIGIT_WORDS) | {"oh"}
    if task == "commands":
        return set(COMMAND_WORDS)
    if task == "sentences":
        words = {w for slot in GRAMMAR.values() for phrase in slot for w in phrase.split()}
        words |= {w for t in _TEMPLATES for w in t if w not in GRAMMAR and w != "'s"}
        words |= {"an"} | {w + "'s" for w in GRAMMAR["noun"]}
        return words
    if task == "an4":
        return an4_vocabulary()
    raise ConfigError(f"unknown task {task!r}; choose from {sorted(TASKS)}")
