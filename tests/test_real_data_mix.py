"""Data specs (``KIND:TARGET?opt=v@weight``), speaker splits, mixtures and the weighted step sampler."""

import numpy as np
import pytest
import torch

from echo_edu.data import (DataSpec, WeightedStepSampler, hold_out_speakers, load_speech, mix,
                           parse_data_spec, sample_weights, source_shares, speaker_splits)
from echo_edu.errors import ConfigError

from real_data_support import write_an4, write_fsdd


# ----------------------------------------------------------------------------- specs
def test_parse_data_spec_kinds_options_and_weights():
    assert parse_data_spec("an4:/d/an4") == DataSpec("an4", "/d/an4", {}, 1.0)
    spec = parse_data_spec("fsdd:data/fsdd?seed=3&fractions=0,0,1&on_unknown=skip@0.5")
    assert spec == DataSpec("fsdd", "data/fsdd", {"seed": 3, "fractions": (0.0, 0.0, 1.0), "on_unknown": "skip"}, 0.5)
    assert parse_data_spec(str(spec)) == spec                       # str() writes the spec back
    assert parse_data_spec("speech_commands:x").kind == "commands"
    assert parse_data_spec("manifest:me@home/m.jsonl").target == "me@home/m.jsonl"   # '@' not before a number
    synth = parse_data_spec("synth:digits?n=600&engines=espeak@2")
    assert (synth.kind, synth.target, synth.options, synth.weight) == ("synth", "digits",
                                                                      {"n": 600, "engines": ("espeak",)}, 2.0)
    assert synth.label == "synth:digits" and spec.label == "fsdd"
    assert parse_data_spec("hf:org/name?text_column=sentence").options == {"text_column": "sentence"}


@pytest.mark.parametrize("text, pattern", [
    ("an4", "must read KIND:TARGET"), ("wav:x", "unknown kind 'wav'"), ("an4:", "names no path"),
    ("an4:x@0", "positive number"), ("an4:x@-1", "positive number"), ("an4:x?seed", "NAME=VALUE"),
    ("an4:x?text_column=t", "an4 takes no option 'text_column'.*dev_utterances"),
    ("fsdd:x?fractions=a,b", "comma-separated numbers"),
])
def test_bad_specs_say_what_is_wrong(text, pattern):
    with pytest.raises(ConfigError, match=pattern):
        parse_data_spec(text)


# ----------------------------------------------------------------------------- splits
def test_speaker_splits_are_disjoint_seeded_and_near_their_shares():
    counts = {f"s{i:02d}": 10 + i % 7 for i in range(40)}
    a, b = speaker_splits(counts, seed=1), speaker_splits(counts, seed=1)
    assert a == b and set(a) == set(counts) and speaker_splits(counts, seed=2) != a
    clips = {s: sum(counts[k] for k, v in a.items() if v == s) for s in ("train", "validation", "test")}
    total = sum(counts.values())
    assert 0.1 * total <= clips["test"] < 0.1 * total + 17 and 0.1 * total <= clips["validation"] < 0.1 * total + 17
    assert speaker_splits({"a": 5, "b": 5}, (0.5, 0, 0.5)) in ({"a": "test", "b": "train"}, {"a": "train", "b": "test"})
    with pytest.raises(ConfigError, match="2 speaker.*3 speaker-disjoint splits"):
        speaker_splits({"a": 5, "b": 5})
    with pytest.raises(ConfigError, match="summing to 1"):
        speaker_splits(counts, (0.5, 0.5, 0.5))


def test_hold_out_speakers_totals_close_to_target_and_alternates_groups():
    counts = {f"{g}{i}": 13 for g in "fm" for i in range(10)}
    chosen = hold_out_speakers(counts, 100, seed=0, group=lambda s: s[0])
    assert sum(counts[s] for s in chosen) == 104                     # 8 x 13 is the closest to 100
    assert sum(s.startswith("f") for s in chosen) == 4
    assert chosen == hold_out_speakers(counts, 100, seed=0, group=lambda s: s[0])
    with pytest.raises(ConfigError, match="cannot hold out"):
        hold_out_speakers(counts, 1000)


# ----------------------------------------------------------------------------- mixtures
def _synthetic_like(n):
    """A DatasetDict shaped like build_corpus's output (five columns), without synthesis."""
    from datasets import DatasetDict

    from echo_edu.data.corpus import _formatted, _split_dataset

    jobs = [dict(text="one two", voice=f"v{i % 2}", engine="espeak") for i in range(n)]
    waves = [np.full(1600, 0.1, np.float32) for _ in range(n)]
    return _formatted(DatasetDict({s: _split_dataset(jobs, waves, f"synth-{s}-{n}") for s in ("train", "validation")}))


def test_mix_aligns_columns_and_balances_sources(tmp_path):
    fsdd = load_speech(f"fsdd:{write_fsdd(tmp_path / 'fsdd')}")
    parts = [("fsdd", fsdd, 1.0), ("synth:digits", _synthetic_like(40), 1.0)]
    mixed = mix(parts)
    assert len(mixed["train"]) == len(fsdd["train"]) + 40 and "test" in mixed
    assert mixed["train"].column_names[-1] == "sample_weight"
    synth = [r for r in mixed["train"] if r["source"] == "synth:digits"]
    assert synth[0]["speaker"] == synth[0]["voice"] == "v0" and synth[0]["engine"] == "espeak"
    assert synth[0]["audio"]["array"].dtype == np.float32
    assert source_shares(mixed["train"]) == pytest.approx({"fsdd": 0.5, "synth:digits": 0.5})
    natural = source_shares(mix(parts, balance=False)["train"])
    assert natural["synth:digits"] == pytest.approx(40 / (40 + len(fsdd["train"])))
    weighted = source_shares(mix([parts[0], (parts[1][0], parts[1][1], 3.0)])["train"])
    assert weighted == pytest.approx({"fsdd": 0.25, "synth:digits": 0.75})


def test_load_speech_mixes_specs_and_the_collator_takes_the_rows(tmp_path):
    from echo_edu.data.collate import SpeechCollator, select_rows
    from echo_edu.tokenizer import build_tokenizer

    an4, fsdd = write_an4(tmp_path / "an4"), write_fsdd(tmp_path / "fsdd")
    mixed = load_speech([f"an4:{an4}?dev_utterances=3", f"fsdd:{fsdd}@2"])
    assert source_shares(mixed["train"]) == pytest.approx({"an4": 1 / 3, "fsdd": 2 / 3})
    assert set(mixed["test"]["source"]) == {"an4", "fsdd"}
    sampler = WeightedStepSampler(sample_weights(mixed["train"]), 8, seed=0)
    batch = SpeechCollator(build_tokenizer(), 50, 80, 32)(select_rows(mixed["train"], sampler.indices(0)))
    assert batch.mel.shape == (8, 80, 100) and batch.meta["engine"] and len(batch.texts) == 8


def test_splits_reads_only_the_splits_named_and_gives_the_full_loads_rows(tmp_path):
    """``splits=`` returns those splits, row for row as the full load, and never opens another split's audio:
    a broken train clip fails the full load (naming the file) but not a load of validation and test."""
    from echo_edu.data import load_an4
    from echo_edu.errors import AudioError

    an4, fsdd = write_an4(tmp_path / "an4"), write_fsdd(tmp_path / "fsdd")
    specs = [f"an4:{an4}?dev_utterances=3", f"fsdd:{fsdd}@2"]
    full, held_out = load_speech(specs), load_speech(specs, splits=("test", "validation"))
    assert list(held_out) == ["validation", "test"] and list(full) == ["train", "validation", "test"]
    for split in held_out:
        assert held_out[split]["id"] == full[split]["id"] and held_out[split]["text"] == full[split]["text"]
        assert all(np.array_equal(a["array"], b["array"]) for a, b in zip(held_out[split]["audio"], full[split]["audio"]))
    assert list(load_speech(specs, splits="train")) == ["train"]
    assert load_speech(specs, splits="train")["train"]["sample_weight"] == full["train"]["sample_weight"]

    broken = an4 / "wav" / "an4_clstk" / "mjkl" / "an9-mjkl-b.flac"       # a train speaker's clip
    broken.write_bytes(b"not audio")
    with pytest.raises(AudioError, match="an9-mjkl-b"):
        load_an4(an4, dev_utterances=0)
    assert load_an4(an4, dev_utterances=0, splits="test")["test"]["id"] == full["test"].filter(
        lambda s: s == "an4", input_columns="source")["id"]


@pytest.mark.parametrize("splits", ["dev", (), ("train", "eval")])
def test_splits_naming_no_known_split_is_a_config_error(tmp_path, splits):
    with pytest.raises(ConfigError, match="splits must name one or more of train, validation, test"):
        load_speech(f"fsdd:{write_fsdd(tmp_path / 'fsdd')}", splits=splits)


def test_splits_is_an_argument_of_load_speech_not_an_option_of_a_spec():
    with pytest.raises(ConfigError, match="fsdd takes no option 'splits'"):
        parse_data_spec("fsdd:x?splits=test")


def test_weighted_step_sampler_is_reproducible_and_follows_the_weights():
    weights = torch.tensor([1.0] * 10 + [9.0])                      # row 10 carries 9/19 of the mass
    a, b = WeightedStepSampler(weights, 64, seed=5), WeightedStepSampler(weights, 64, seed=5)
    assert a.indices(7) == b.indices(7) and a.indices(7) != a.indices(8)
    assert WeightedStepSampler(weights, 64, seed=6).indices(7) != a.indices(7)
    draws = [i for step in range(200) for i in a.indices(step)]
    assert np.mean(np.array(draws) == 10) == pytest.approx(9 / 19, abs=0.02)
    assert sample_weights([{"text": "x"}]) is None
    with pytest.raises(ConfigError, match="not all zero"):
        WeightedStepSampler([0.0, 0.0], 4, 0)


def test_synth_spec_builds_the_synthetic_corpus_and_mixes_it_with_real_speech(tmp_path):
    from echo_edu.data import available_engines

    if "espeak" not in available_engines():
        pytest.skip("espeak-ng is not installed (tools/system_deps.sh installs it)")
    fsdd = write_fsdd(tmp_path / "fsdd")
    mixed = load_speech([f"synth:digits?n=6&engines=espeak&workers=1&cache_dir={tmp_path / 'cache'}",
                         f"fsdd:{fsdd}@3"])
    synth = [r for r in mixed["train"] if r["source"] == "synth:digits"]
    assert synth and synth[0]["engine"] == "espeak" and synth[0]["speaker"] == synth[0]["voice"]
    assert source_shares(mixed["train"]) == pytest.approx({"synth:digits": 0.25, "fsdd": 0.75})
    assert {"synth:digits", "fsdd"} <= set(mixed["test"]["source"])


def test_train_draws_its_batches_by_the_sample_weight_column(tmp_path, monkeypatch):
    """A mixed train split (``sample_weight`` column) is sampled by weight: zero-weight rows never come."""
    from echo_edu import train as train_module, train_loop
    from training_support import tiny_model

    mixed = load_speech(f"an4:{write_an4(tmp_path / 'an4')}?dev_utterances=0")
    n = len(mixed["train"])
    split = mixed["train"].remove_columns("sample_weight").add_column("sample_weight", [1.0, 1.0] + [0.0] * (n - 2))
    drawn, real_select = [], train_loop.select_rows
    monkeypatch.setattr(train_loop, "select_rows", lambda rows, idx: drawn.extend(idx) or real_select(rows, idx))
    config = train_module.TrainConfig(steps=3, batch_size=4, warmup_steps=1, progress=False, device="cpu")
    train_module.train(tiny_model(), {"train": split}, config)
    assert len(drawn) == 12 and set(drawn) <= {0, 1}
