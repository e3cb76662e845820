"""echo_edu.data: tasks, engines, the corpus builder and the bundled samples."""

import random
import shutil

import numpy as np
import pytest
import torch

from echo_edu.audio import SAMPLE_RATE
from echo_edu.data import (COMMAND_WORDS, available_engines, build_corpus, check_engine, generate_text,
                           held_out_voices, list_voices, load_samples, plan_corpus, synthesize, task_vocabulary)
from echo_edu.data import engines as engines_module
from echo_edu.errors import ConfigError, EngineUnavailableError
from echo_edu.text import normalize_text

HAVE = available_engines()
needs_espeak = pytest.mark.skipif("espeak" not in HAVE, reason="espeak-ng not installed")
needs_both = pytest.mark.skipif(len(HAVE) < 2, reason="needs espeak-ng and piper")


# --------------------------------------------------------------------------- tasks

def test_digit_strings():
    rng = random.Random(0)
    texts = [generate_text("digits", rng) for _ in range(2000)]
    lengths = {len(t.split()) for t in texts}
    assert lengths == set(range(1, 8))
    words = {w for t in texts for w in t.split()}
    assert {"zero", "oh"} <= words and words <= task_vocabulary("digits")
    assert all(normalize_text(t) == t for t in texts)


def test_commands_and_sentences_vocabularies():
    assert len(COMMAND_WORDS) == len(set(COMMAND_WORDS)) == 35
    rng = random.Random(1)
    texts = [generate_text("sentences", rng) for _ in range(20000)]
    words = {w for t in texts for w in t.split()}
    assert len(words) >= 300 and words <= task_vocabulary("sentences")
    assert all(normalize_text(t) == t for t in texts[:500])
    assert " a apple" not in " ".join(texts)
    with pytest.raises(ConfigError, match="digits"):
        generate_text("poems", rng)


# --------------------------------------------------------------------------- engines

def test_voice_lists_and_held_out_voices():
    espeak, piper = list_voices("espeak"), list_voices("piper")
    assert len(espeak) == 192 and len(piper) == 15
    assert len({v.name for v in espeak + piper}) == len(espeak) + len(piper)
    for engine, voices in (("espeak", espeak), ("piper", piper)):
        held = held_out_voices(engine)
        assert 1 <= len(held) < len(voices) / 4
        assert held == held_out_voices(engine)


def test_missing_engines_raise_clear_errors(monkeypatch):
    with pytest.raises(EngineUnavailableError, match="unknown speech engine"):
        check_engine("sam")
    monkeypatch.setattr(engines_module.shutil, "which", lambda name: None)
    with pytest.raises(EngineUnavailableError, match="apt-get install espeak-ng"):
        check_engine("espeak")
    monkeypatch.setattr(engines_module, "_piper_model_path", lambda: None)
    with pytest.raises(EngineUnavailableError, match="pip install piper-tts"):
        check_engine("piper")
    assert available_engines() == ()
    with pytest.raises(EngineUnavailableError):
        build_corpus("digits", 6, engines=("espeak", "piper"), progress=False)


@needs_espeak
def test_espeak_synthesis_speed_and_pitch_change_the_audio():
    voice = list_voices("espeak")[0]
    slow = synthesize("one two three", voice, speed=120)
    fast = synthesize("one two three", voice, speed=220)
    assert slow.dtype == np.float32 and slow.ndim == 1 and np.abs(slow).max() <= 1.0
    assert len(slow) > 1.3 * len(fast)
    assert np.array_equal(slow, synthesize("one two three", voice, speed=120))   # deterministic


@pytest.mark.skipif("piper" not in HAVE, reason="piper not installed")
def test_piper_is_reproducible_with_a_seed():
    voice = list_voices("piper")[7]
    a = synthesize("seven oh two", voice, seed=3)
    b = synthesize("seven oh two", voice, seed=3)
    c = synthesize("seven oh two", voice, seed=4)
    assert np.array_equal(a, b) and not (len(a) == len(c) and np.array_equal(a, c))
    assert 0.5 * SAMPLE_RATE < len(a) < 3 * SAMPLE_RATE


# --------------------------------------------------------------------------- the corpus

def test_plan_is_deterministic_disjoint_and_holds_voices_out():
    plan = plan_corpus("digits", 300, seed=5, engines=("espeak", "piper"))
    assert plan == plan_corpus("digits", 300, seed=5, engines=("espeak", "piper"))
    assert plan != plan_corpus("digits", 300, seed=6, engines=("espeak", "piper"))
    by_split = {s: [j for j in plan if j["split"] == s] for s in ("train", "validation", "test")}
    assert [len(v) for v in by_split.values()] == [240, 30, 30]
    texts = {s: {j["text"] for j in jobs if len(j["text"].split()) > 1} for s, jobs in by_split.items()}
    assert not (texts["train"] & texts["validation"] or texts["train"] & texts["test"]
                or texts["validation"] & texts["test"])
    held = {v.name for e in ("espeak", "piper") for v in held_out_voices(e)}
    assert {j["voice"] for j in by_split["test"]} <= held
    assert not {j["voice"] for j in by_split["train"] + by_split["validation"]} & held
    engines = [j["engine"] for j in by_split["train"]]
    assert engines.count("espeak") == engines.count("piper")
    assert len({j["voice"] for j in by_split["train"]}) > 100     # voices cycle: balanced


@needs_both
def test_build_corpus_small(tmp_path):
    kwargs = dict(seed=3, engines=("espeak", "piper"), fractions=(0.5, 0.25, 0.25), progress=False)
    corpus = build_corpus("digits", 8, cache_dir=tmp_path / "a", workers=2, **kwargs)
    assert list(corpus) == ["train", "validation", "test"]
    assert [corpus[s].num_rows for s in corpus] == [4, 2, 2]
    row = corpus["test"][0]
    assert set(row) == {"audio", "text", "voice", "engine", "duration"}
    audio = row["audio"]
    assert isinstance(audio["array"], np.ndarray) and audio["array"].dtype == np.float32
    assert int(audio["sampling_rate"]) == SAMPLE_RATE
    assert row["duration"] == pytest.approx(len(audio["array"]) / SAMPLE_RATE, rel=1e-5)
    assert normalize_text(row["text"]) == row["text"]
    for split in corpus:
        assert set(corpus[split]["engine"]) == {"espeak", "piper"}
    assert not set(corpus["test"]["voice"]) & set(corpus["train"]["voice"])
    multi = lambda texts: {t for t in texts if len(t.split()) > 1}   # one-word texts are shared
    assert not multi(corpus["test"]["text"]) & multi(corpus["train"]["text"])
    # The same seed gives the same audio, whatever the number of worker processes.
    again = build_corpus("digits", 8, cache_dir=tmp_path / "b", workers=1, **kwargs)
    for split in corpus:
        for x, y in zip(corpus[split], again[split]):
            assert x["text"] == y["text"] and x["voice"] == y["voice"]
            assert np.array_equal(x["audio"]["array"], y["audio"]["array"])
    # A second call loads the cache instead of synthesising.
    shutil.rmtree(tmp_path / "b")
    cached = build_corpus("digits", 8, cache_dir=tmp_path / "a", workers=1, **kwargs)
    assert cached["train"]["text"] == corpus["train"]["text"]


def test_build_corpus_rejects_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match="unknown task"):
        build_corpus("poems", 10, cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="n must be"):
        build_corpus("digits", 2, cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="fractions"):
        build_corpus("digits", 10, fractions=(0.5, 0.5, 0.0), cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="unknown engines"):
        build_corpus("digits", 10, engines=("sam",), cache_dir=tmp_path)


# --------------------------------------------------------------------------- bundled samples

def test_bundled_samples():
    samples = load_samples()
    assert {"digits", "commands", "sentences"} <= set(samples["task"])
    assert set(samples["engine"]) >= {"espeak", "piper"}
    row = samples[0]
    assert int(row["audio"]["sampling_rate"]) == SAMPLE_RATE and row["audio"]["array"].ndim == 1
    digits = load_samples("digits")
    assert set(digits["task"]) == {"digits"}
    held = {v.name for e in ("espeak", "piper") for v in held_out_voices(e)}
    assert any(v in held for v in digits["voice"])
    with pytest.raises(ConfigError, match="task"):
        load_samples("poems")


# --------------------------------------------------------------------------- views

def test_audio_views_follow_their_controls():
    import matplotlib.pyplot as plt

    from echo_edu.viz.audio import (corpus_browser_widget, feature_pipeline, feature_pipeline_widget,
                                    sample_clip)

    wave, label = sample_clip(2)
    stages = feature_pipeline(wave, mels=40)
    assert stages["filters"].shape == (40, 201) and stages["log_mel"].shape == stages["mel"].shape
    manual = stages["mel"].clamp_min(1e-10).log10()
    manual = (torch.maximum(manual, manual.max() - 8) + 4) / 4
    assert torch.allclose(manual, stages["log_mel"], atol=1e-5)
    view = feature_pipeline_widget()
    view.controls["mels"].value = 32
    assert "32 mel filters" in str(view.figure.layout.annotations[2].text)
    samples = load_samples()
    browser = corpus_browser_widget(samples)
    voice = samples["voice"][5]
    browser.controls["voice"].value = voice
    assert browser.controls["clip"].max == list(samples["voice"]).count(voice) - 1
    assert voice in browser.figure.layout.title.text
    assert "image/png" in browser._repr_mimebundle_()
    plt.close("all")


def test_one_word_texts_are_vocabulary_and_appear_in_every_split():
    """A single digit or command is the vocabulary itself: held out of training it could never be learned."""
    plan = plan_corpus("commands", 3000, seed=0, engines=("espeak",))
    words = {s: {j["text"] for j in plan if j["split"] == s and len(j["text"].split()) == 1}
             for s in ("train", "validation", "test")}
    assert words["test"] and words["test"] <= words["train"] and words["validation"] <= words["train"]
    digits = plan_corpus("digits", 600, seed=0, engines=("espeak",))
    test_single = {j["text"] for j in digits if j["split"] == "test" and len(j["text"].split()) == 1}
    train_single = {j["text"] for j in digits if j["split"] == "train" and len(j["text"].split()) == 1}
    assert test_single and test_single <= train_single
    share = sum(len(j["text"].split()) == 1 for j in digits if j["split"] == "test") / 60
    assert share < 0.25   # one-word texts are not over-represented in the test split any more
