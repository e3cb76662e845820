"""The command line on real speech: ``--data`` mixes for train and evaluate, sclite tables, the demo's AN4
clips, and one clear stderr line for each kind of bad input.

Corpora are the tiny layouts of ``real_data_support`` (tones in the AN4 / FSDD layouts); the tests marked
*real* read AN4 from ``$ECHO_EDU_DATA`` or ``../shared/data`` and skip, naming ECHO_EDU_DATA, without it.
"""

import json
import os
from pathlib import Path

import pytest

from echo_edu import cli
from echo_edu.data import load_samples

from real_data_support import AN4_TEST, write_an4, write_clip, write_fsdd

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpora")
    return write_an4(root / "an4"), write_fsdd(root / "fsdd")


def real_root() -> Path:
    root = Path(os.environ.get("ECHO_EDU_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
    if not (root / "an4" / "etc").is_dir():
        pytest.skip(f"AN4 not found at {root}: set ECHO_EDU_DATA to the folder holding an4/")
    return root


def train_argv(out, *extra):
    return ["train", "--output", str(out), "--preset", "tiny", "--dims", "audio_ctx=25", "text_ctx=24",
            "--steps", "2", "--batch-size", "4", "--eval-samples", "2", "--threads", "1", *extra]


# ----------------------------------------------------------------------------- train --data
def test_train_on_a_mix_records_the_specs_and_the_source_shares(corpora, tmp_path, capsys):
    an4, fsdd = corpora
    specs = [f"an4:{an4}?dev_utterances=3", f"fsdd:{fsdd}@0.5"]
    assert cli.main(train_argv(tmp_path / "m", "--data", specs[0], "--data", specs[1])) == 0
    log = json.loads((tmp_path / "m" / "training_log.json").read_text())
    assert log["corpus"]["data"] == specs and log["corpus"]["balance"] is True
    assert log["corpus"]["shares"] == pytest.approx({"an4": 2 / 3, "fsdd": 1 / 3})
    assert log["corpus"]["sizes"]["test"] == len(AN4_TEST["fxyz"]) + 10      # AN4 test + one FSDD speaker
    assert set(log["test"]["sclite"]["word"]) >= {"Sum/Avg", "fxyz"}
    assert "|Sum/Avg|" in capsys.readouterr().out
    assert cli.main(train_argv(tmp_path / "p", "--data", specs[0], "--data", specs[1], "--no-balance")) == 0
    shares = json.loads((tmp_path / "p" / "training_log.json").read_text())["corpus"]["shares"]
    assert shares["an4"] == pytest.approx(7 / (7 + 0.5 * 10))  # proportional: 7 AN4 train clips, 10 FSDD at 0.5


def test_train_refuses_clips_beyond_the_window_naming_the_dims_that_fit(corpora, tmp_path, capsys):
    argv = train_argv(tmp_path / "m", "--data", f"an4:{corpora[0]}?dev_utterances=3")
    argv[argv.index("audio_ctx=25")] = "audio_ctx=10"                    # 0.2 s window, 0.25 s clips
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("echo-edu train: error: ") and "--dims audio_ctx=13" in err and "0.25 s" in err


def test_train_noise_dir_reaches_the_augmenter_and_needs_augment(corpora, tmp_path, monkeypatch, capsys):
    from echo_edu.cli import train as train_command

    noise = tmp_path / "noise"
    write_clip(noise / "room.wav", 1.0)
    data = ["--data", f"an4:{corpora[0]}?dev_utterances=3"]
    assert cli.main(train_argv(tmp_path / "a", *data, "--noise-dir", str(noise))) == 2
    assert "--augment" in capsys.readouterr().err
    assert cli.main(train_argv(tmp_path / "b", *data, "--augment", "--noise-dir", str(tmp_path / "none"))) == 2
    assert "is not a folder" in capsys.readouterr().err
    seen, real_train = {}, train_command.train
    monkeypatch.setattr(train_command, "train", lambda m, c, config, **kw: seen.setdefault("c", config) and
                        real_train(m, c, config, **kw))
    argv = train_argv(tmp_path / "c", *data, "--augment", "--noise-dir", str(noise), "--real-noise-fraction", "1")
    assert cli.main(argv) == 0
    assert seen["c"].augment["noise_dir"] == str(noise) and seen["c"].augment["real_noise_fraction"] == 1.0


# ----------------------------------------------------------------------------- evaluate
def test_evaluate_prints_sclite_tables_per_speaker_and_writes_the_json(model_dir, corpora, tmp_path, capsys):
    an4, fsdd = corpora
    report = tmp_path / "report.json"
    argv = ["evaluate", "--model", str(model_dir), "--data", f"an4:{an4}?dev_utterances=3",
            "--data", f"fsdd:{fsdd}", "--split", "test"]
    assert cli.main(argv + ["--json", str(report)]) == 0
    out = capsys.readouterr().out
    wer, cer = out.index("### WER"), out.index("### CER")
    assert wer < cer < out.index("### per engine")
    assert "|SPKR|Snt|Wrd|Corr|Sub|Del|Ins|Err|S.Err|" in out and "|SPKR|Snt|Chr|" in out
    word_table = out[wer:cer]
    assert word_table.index("|Sum/Avg|12|") < word_table.index("|fxyz|2|")     # pooled first, then speakers
    data = json.loads(report.read_text())
    assert data["split"] == "test" and data["sclite"]["char"]["Sum/Avg"]["snt"] == 12
    utterances = {t["id"]: t for t in data["transcripts"]}
    assert utterances["cen1-fxyz-b"]["speaker"] == "fxyz" and utterances["cen1-fxyz-b"]["reference"] == "w o o d"
    assert cli.main(argv + ["--json"]) == 0                                     # alone: JSON on stdout
    assert json.loads(capsys.readouterr().out)["overall"]["n"] == 12


def test_evaluate_reads_only_the_split_it_scores(model_dir, tmp_path, capsys):
    """A broken train clip does not stop scoring test (its audio is never read); scoring train names it."""
    an4 = write_an4(tmp_path / "an4")
    (an4 / "wav" / "an4_clstk" / "fabc" / "an1-fabc-b.flac").write_bytes(b"not audio")
    argv = ["evaluate", "--model", str(model_dir), "--data", f"an4:{an4}?dev_utterances=0", "--json"]
    assert cli.main(argv + ["--split", "test"]) == 0
    assert json.loads(capsys.readouterr().out)["overall"]["n"] == 2
    assert cli.main(argv + ["--split", "train"]) == 2
    assert "an1-fabc-b" in capsys.readouterr().err


def test_evaluate_synthetic_task_uses_voices_as_speakers(model_dir, monkeypatch, capsys):
    samples = load_samples("digits")
    monkeypatch.setattr(cli.common, "build_corpus", lambda *a, **kw: {"test": samples})
    assert cli.main(["evaluate", "--model", str(model_dir), "--task", "digits", "--limit", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    speakers = {t["speaker"] for t in data["transcripts"]}
    assert speakers <= set(samples["voice"]) and set(data["sclite"]["word"]) == {"Sum/Avg"} | speakers
    assert [t["id"] for t in data["transcripts"]] == ["0", "4", "7", "11"]       # spread over the 12 rows


@pytest.mark.parametrize("spec, split, message", [
    ("mystery:somewhere", "test", "unknown kind 'mystery'"),
    ("an4:{fsdd}", "test", "is not an AN4 folder"),
    ("an4:{missing}", "test", "does not exist"),
    ("an4:{an4}?dev_utterances=3", "dev", "--split 'dev' is not in the corpus"),
    ("fsdd:{fsdd}?fractions=1,0,0", "test", "--split 'test' of fsdd holds no clips"),
])
def test_bad_data_input_is_one_typed_line_on_stderr(model_dir, corpora, tmp_path, capsys, spec, split, message):
    an4, fsdd = corpora
    spec = spec.format(an4=an4, fsdd=fsdd, missing=tmp_path / "missing")
    assert cli.main(["evaluate", "--model", str(model_dir), "--data", spec, "--split", split]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("echo-edu evaluate: error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_train_rejects_an_unknown_kind_before_loading_anything(corpora, tmp_path, capsys):
    assert cli.main(train_argv(tmp_path / "m", "--data", f"an4:{corpora[0]}", "--data", "wav:x")) == 2
    assert "unknown kind 'wav'" in capsys.readouterr().err and not (tmp_path / "m").exists()


# ----------------------------------------------------------------------------- real AN4
def test_evaluate_the_bundled_model_on_real_an4_test(tmp_path, capsys):
    root = real_root()
    report = tmp_path / "an4.json"
    assert cli.main(["evaluate", "--data", f"an4:{root / 'an4'}", "--split", "test", "--limit", "6",
                     "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "|Sum/Avg|6|" in out and "echo-an4" in out                     # the default model
    data = json.loads(report.read_text())
    assert len(data["transcripts"]) == 6 and data["sclite"]["word"]["Sum/Avg"]["units"] > 6
    assert {t["speaker"] for t in data["transcripts"]} <= set(data["sclite"]["word"]) - {"Sum/Avg"}
    assert all(t["id"].startswith(("an", "cen")) and t["reference"] for t in data["transcripts"])


def test_demo_adds_real_an4_clips_and_names_what_each_model_heard(capsys):
    real_root()
    from echo_edu.cli.demo import AN4_CLIPS

    assert cli.main(["demo"]) == 0                                      # the default: echo-an4
    out = capsys.readouterr().out
    assert out.count("reference :") == len(load_samples("digits")) + AN4_CLIPS
    assert "trained with real speech (an4, commands, fsdd)" in out and "AN4 (real speech): WER" in out
    assert cli.main(["demo", "--model", str(ROOT / "assets" / "echo-digits")]) == 0
    assert "synthetic voices only" in capsys.readouterr().out
