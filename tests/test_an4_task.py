"""The ``an4`` task (AN4-style texts that never repeat an AN4 test transcript) and the flite and
festival engines."""

import os
import random
import re
from pathlib import Path

import numpy as np
import pytest

from echo_edu.audio import SAMPLE_RATE
from echo_edu.data import engines as engines_module
from echo_edu.data.an4_templates import CATEGORIES, SPEECH_COMMANDS_WORDS, an4_spoken_form, an4_text
from echo_edu.data.an4_test_hashes import (AN4_TEST_SHA1, text_sha1, transcript_texts,
                                           transcription_sha1, verify_test_exclusion)
from echo_edu.data.corpus import _chunks, held_out_voices, plan_corpus
from echo_edu.data.engines import available_engines, check_engine, list_voices, synthesize
from echo_edu.data.tasks import TASKS, generate_text, spoken_form, task_vocabulary
from echo_edu.errors import ConfigError, EngineUnavailableError
from echo_edu.text import ALPHABET, normalize_text

HAVE = available_engines()
_ROOT = os.environ.get("ECHO_EDU_DATA") or str(Path(__file__).resolve().parents[1].parent / "shared" / "data")
AN4_TEST = Path(_ROOT) / "an4" / "etc" / "an4_test.transcription"
needs_an4 = pytest.mark.skipif(not AN4_TEST.is_file(),
                               reason="AN4 not found: set ECHO_EDU_DATA to the folder holding an4/")


def _texts(n=4000, seed=0):
    rng = random.Random(seed)
    return [generate_text("an4", rng) for _ in range(n)]


# --------------------------------------------------------------------------- the task

def test_an4_is_a_registered_task_of_every_category():
    assert "an4" in TASKS
    rng = random.Random(3)
    letters = re.compile(r"^([a-z] )+[a-z]$")
    shapes = {
        "surname": letters, "first": letters, "street": letters, "city": letters,
        "zip": re.compile(r"^(\w+ ){4}\w+$"), "phone": re.compile(r"^(area code )?(\w+ ){6}\w+"),
        "date": re.compile(r"(january|february|march|april|may|june|july|august|september|october"
                           r"|november|december|^\w+ \w+)"),
        "control": re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine|oh|zero|ten|"
                              r"eleven|twelve|\w+teen|\w+ty)\b"),
        "number": re.compile(r"\w"), "command": re.compile(r"^(enter|erase|rubout|yes|no|go|stop|"
                                                            r"repeat|help|start)( \w+)?$"),
        "keywords": re.compile(r"^\w+( \w+){0,2}$"),
    }
    assert set(shapes) == set(CATEGORIES)
    for category, shape in shapes.items():
        texts = [an4_text(rng, category) for _ in range(200)]
        assert all(shape.search(t) for t in texts), (category, [t for t in texts if not shape.search(t)][:3])
        assert len(set(texts)) > 8, category          # the category varies
    dates = " ".join(an4_text(rng, "date") for _ in range(300))
    assert {"third", "twentieth", "of", "nineteen"} <= set(dates.split())
    keywords = {w for _ in range(300) for w in an4_text(rng, "keywords").split()}
    assert set(SPEECH_COMMANDS_WORDS) == keywords


def test_an4_texts_spell_in_the_tokenizer_alphabet_and_vocabulary():
    texts = _texts()
    assert all(t and normalize_text(t) == t and set(t) <= set(ALPHABET) for t in texts)
    words = {w for t in texts for w in t.split()}
    assert words <= task_vocabulary("an4")
    assert set("abcdefghijklmnopqrstuvwxyz") <= words        # every letter is spelled somewhere
    assert {"rubout", "erase", "enter", "hundred", "thousand", "oh", "zero", "area"} <= words
    assert len(set(texts)) > 0.6 * len(texts)


def test_an4_texts_are_deterministic_for_a_seed():
    assert _texts(500, seed=7) == _texts(500, seed=7)
    assert _texts(500, seed=7) != _texts(500, seed=8)


def test_generated_texts_never_hit_a_committed_test_digest():
    assert len(AN4_TEST_SHA1) == 123 and all(re.fullmatch(r"[0-9a-f]{40}", h) for h in AN4_TEST_SHA1)
    # Single keywords that AN4 test holds ("yes", "no", "go", "stop") are never drawn alone ...
    texts = _texts(6000, seed=1)
    assert not {text_sha1(t) for t in texts} & AN4_TEST_SHA1
    assert {"yes", "no", "go", "stop", "repeat"}.isdisjoint(texts)
    # ... while the other one-word keywords are.
    assert {"up", "left", "seven"} <= set(texts)
    assert any(t.startswith("yes ") or " yes" in t for t in texts)


def test_spoken_form_reads_the_letter_a_as_a_letter():
    assert an4_spoken_form("a m y") == "eigh m y"
    assert an4_spoken_form("fifty eight and a half") == "fifty eight and a half"
    assert an4_spoken_form("rubout h a r a two") == "rub out h eigh r eigh two"
    assert spoken_form("sentences", "a dog ate a cake") == "a dog ate a cake"
    plan = plan_corpus("an4", 60, seed=0, engines=("espeak",))
    assert all(j["spoken"] == an4_spoken_form(j["text"]) for j in plan)


@needs_an4
def test_the_committed_digests_match_the_real_test_transcripts():
    assert transcription_sha1(AN4_TEST) == AN4_TEST_SHA1
    assert verify_test_exclusion(AN4_TEST) is True
    test_texts = set(transcript_texts(AN4_TEST))
    assert len(transcript_texts(AN4_TEST)) == 130 and "p i t t s b u r g h" in test_texts
    assert test_texts.isdisjoint(_texts(6000, seed=2))


def test_a_test_file_with_unknown_transcripts_is_refused(tmp_path):
    fake = tmp_path / "an4_test.transcription"
    fake.write_text("GO (an1-x-b)\nF I V E SIX (an2-x-b)\n")
    with pytest.raises(ConfigError, match="regenerate AN4_TEST_SHA1"):
        verify_test_exclusion(fake)
    assert transcript_texts(fake) == ["go", "f i v e six"]


# --------------------------------------------------------------------------- flite, festival

def test_flite_and_festival_voice_lists():
    flite, festival = list_voices("flite"), list_voices("festival")
    assert len(flite) == 15 and {v.params["voice"] for v in flite} == {"kal", "kal16", "awb", "rms", "slt"}
    assert [v.name for v in festival] == ["festival:kal_diphone", "festival:ked_diphone",
                                          "festival:cmu_us_slt_arctic_hts"]
    assert len(held_out_voices("flite")) == 3 and len(held_out_voices("festival")) == 1


def test_plans_and_chunks_cover_the_new_engines():
    engines = ("espeak", "flite", "festival")
    plan = plan_corpus("an4", 90, seed=0, engines=engines)
    assert {j["engine"] for j in plan} == set(engines)
    stretches = [j["params"]["stretch"] for j in plan if j["engine"] in ("flite", "festival")]
    assert len(stretches) == 60 and all(0.85 <= s <= 1.2 for s in stretches) and len(set(stretches)) > 10
    test_voices = {j["voice"] for j in plan if j["split"] == "test"}
    assert test_voices <= {v.name for e in engines for v in held_out_voices(e)}
    chunks = _chunks(plan, 0, None)
    assert sorted(i for c in chunks for i in c[1]) == list(range(90))
    assert all(len({plan[i]["engine"] for i in c[1]}) == 1 for c in chunks)


def test_missing_flite_and_festival_name_the_install(monkeypatch):
    monkeypatch.setattr(engines_module.shutil, "which", lambda name: None)
    with pytest.raises(EngineUnavailableError, match="apt-get install flite"):
        check_engine("flite")
    with pytest.raises(EngineUnavailableError, match="festvox-kallpc16k"):
        check_engine("festival")
    with pytest.raises(EngineUnavailableError, match="apt-get install flite"):
        synthesize("one", list_voices("flite")[0])
    monkeypatch.setattr(engines_module.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(engines_module, "_festival_voices_installed", lambda: ())
    with pytest.raises(EngineUnavailableError, match="none of its voices"):
        check_engine("festival")


@pytest.mark.parametrize("engine, index", [("flite", 0), ("flite", 14), ("festival", 0), ("festival", 2)])
def test_new_engines_speak_16khz_float32_and_stretch(engine, index):
    if engine not in HAVE:
        pytest.skip(f"{engine} not installed: run tools/system_deps.sh (apt-get install {engine})")
    voice = list_voices(engine)[index]
    fast = synthesize("one two", voice, stretch=0.85)
    slow = synthesize("one two", voice, stretch=1.2)
    assert fast.dtype == np.float32 and fast.ndim == 1 and 0 < np.abs(fast).max() <= 1.0
    assert 0.3 * SAMPLE_RATE < len(fast) < 3 * SAMPLE_RATE
    assert len(slow) > 1.2 * len(fast)
    assert np.array_equal(fast, synthesize("one two", voice, stretch=0.85))    # deterministic
