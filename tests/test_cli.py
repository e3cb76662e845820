"""The echo-edu command: transcribe (text and JSON), demo, clear errors on stderr, every subcommand."""

import json
import math

import pytest
import torch

from echo_edu import Echo, cli
from echo_edu.bundled import bundled_model_dir
from echo_edu.audio import save_audio


@pytest.fixture
def clips(tmp_path):
    t = torch.arange(16000) / 16000
    return [save_audio(tmp_path / f"clip{i}.wav", 0.3 * torch.sin(2 * math.pi * f * t)) for i, f in enumerate((300, 700))]


def test_transcribe_prints_one_line_per_file(model_dir, clips, capsys):
    assert cli.main(["transcribe", "--model", str(model_dir), *map(str, clips)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2


def test_transcribe_json(model_dir, clips, capsys):
    assert cli.main(["transcribe", "--json", "--model", str(model_dir), "--beam-size", "2", *map(str, clips)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["file"] for r in records] == [str(c) for c in clips]
    assert all(isinstance(r["text"], str) and r["seconds"] == pytest.approx(1.0) for r in records)


def test_missing_audio_file_is_one_clear_line(model_dir, tmp_path, capsys):
    assert cli.main(["transcribe", "--model", str(model_dir), str(tmp_path / "nope.wav")]) == 2
    err = capsys.readouterr().err
    assert "nope.wav" in err and "Traceback" not in err


def test_bad_model_folder_is_one_clear_line(tmp_path, clips, capsys):
    torch.save({"x": torch.zeros(1)}, tmp_path / "evil.pt")
    assert cli.main(["transcribe", "--model", str(tmp_path / "evil.pt"), str(clips[0])]) == 2
    assert "pickle" in capsys.readouterr().err


def test_demo_says_clearly_when_the_bundled_model_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli.common, "bundled_model_dir", lambda: bundled_model_dir(tmp_path))
    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert "bundled model" in err and "echo-an4" in err and "tools/train_an4.py" in err


def test_demo_prints_reference_hypothesis_and_wer(model_dir, monkeypatch, capsys):
    from echo_edu.data import load_samples

    monkeypatch.setattr(cli.demo, "find_data_root", lambda corpus: None)     # no real speech on this machine
    n = len(load_samples("digits"))
    assert cli.main(["demo", "--model", str(model_dir)]) == 0
    out = capsys.readouterr().out
    assert out.count("reference :") == n and out.count("hypothesis:") == n and out.count("WER") >= n + 1
    assert "Overall: WER" in out and "no AN4 found (set ECHO_EDU_DATA" in out and "no training log" in out


@pytest.mark.parametrize("command", ["transcribe", "demo", "train", "evaluate", "synth"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: echo-edu " + command in capsys.readouterr().out


def test_synth_lists_engines_and_marks_held_out_voices(capsys):
    assert cli.main(["synth", "--list-voices"]) == 0
    out = capsys.readouterr().out
    assert "espeak:en-gb-scotland+f3" in out and "[test]" in out


def test_every_command_reports_errors_the_same_way_on_stderr(tmp_path, capsys):
    """An EchoError raised inside any subcommand becomes one line on stderr and exit status 2."""
    assert cli.main(["evaluate", "--model", str(tmp_path / "missing")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("echo-edu evaluate: error: ") and "missing" in err
    assert cli.main(["synth", "digits", "--n", "1", "--cache-dir", str(tmp_path)]) == 2   # was printed on stdout
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("echo-edu synth: error: ") and "n must be" in err


@pytest.mark.parametrize("augment", [False, True])
def test_train_command_trains_saves_scores_and_passes_augment_and_feature_norm(tmp_path, monkeypatch, augment):
    from echo_edu.cli import train as train_command
    from training_support import tone_rows

    corpus = {"train": tone_rows(12, 0), "validation": tone_rows(4, 1), "test": tone_rows(4, 2, voices=("v9",))}
    monkeypatch.setattr(train_command, "corpus_from_args", lambda args: corpus)
    seen = {}
    real_train = train_command.train

    def spy(model, data, config, **kw):
        seen["config"] = config
        return real_train(model, data, config, **kw)

    monkeypatch.setattr(train_command, "train", spy)
    out = tmp_path / "model"
    argv = ["train", "--output", str(out), "--preset", "tiny", "--dims", "audio_ctx=25", "text_ctx=24",
            "feature_norm=cmvn", "--steps", "2", "--batch-size", "4", "--cache-features", "--threads", "1"]
    assert cli.main(argv + (["--augment"] if augment else [])) == 0
    assert (seen["config"].augment is True) == augment
    assert seen["config"].cache_features == (not augment)      # fresh features every step when augmenting
    assert Echo.from_pretrained(out).dims.feature_norm == "cmvn"
    log = json.loads((out / "training_log.json").read_text())
    assert log["config"]["augment"] == (True if augment else None) and log["test"]["overall"]["n"] == 4



def test_method_option_picks_the_decoder(clips, capsys, tmp_path):
    """A model with a CTC head decodes jointly with 4 beams at speeds 0.9/1/1.1 by default (--beam-size 1: greedy,
    as recorded); one without keeps greedy / beam by --beam-size; --method beam or joint alone means 4 beams, joint carries
    --ctc-weight; --method ctc on a model without a CTC head: one clear error line."""
    import argparse

    from echo_edu import Dimensions
    from echo_edu.cli.common import decoding, describe_decoding

    def args(**kw):
        return argparse.Namespace(**{"method": None, "beam_size": None, "ctc_weight": 0.3, **kw})
    plain, joint = Echo(Dimensions.tiny()), Echo(Dimensions.tiny(ctc_weight=0.3))
    heard = {"speeds": (1.0,)}                                  # as recorded; the default of a CTC model searches
    assert decoding(args(), plain) == {"method": "greedy", "beam_size": 1, **heard}
    assert decoding(args(beam_size=3), plain) == {"method": "beam", "beam_size": 3, **heard}
    assert decoding(args(method="beam"), plain) == {"method": "beam", "beam_size": 4, **heard}
    assert decoding(args(), joint) == {"method": "joint", "beam_size": 4, "ctc_weight": 0.3, "speeds": (0.9, 1.0, 1.1)}
    assert decoding(args(beam_size=1), joint) == {"method": "greedy", "beam_size": 1, **heard}
    assert decoding(args(beam_size=8, ctc_weight=0.5), joint) == {"method": "joint", "beam_size": 8,
                                                                  "ctc_weight": 0.5, **heard}
    assert decoding(args(method="ctc"), joint)["method"] == "ctc"
    assert describe_decoding(decoding(args(), joint)) == "joint decoding (4 beams, CTC weight 0.3) at speeds 0.9/1/1.1"
    assert describe_decoding(decoding(args(), plain)) == "greedy decoding"
    torch.manual_seed(0)
    Echo(Dimensions.tiny(ctc_weight=0.3)).save_pretrained(tmp_path / "joint")
    assert cli.main(["transcribe", "--json", "--method", "ctc", "--model", str(tmp_path / "joint"), str(clips[0])]) == 0
    assert isinstance(json.loads(capsys.readouterr().out)["text"], str)
    assert cli.main(["transcribe", "--json", "--method", "joint", "--model", str(tmp_path / "joint"), str(clips[0])]) == 0
    assert isinstance(json.loads(capsys.readouterr().out)["text"], str)
    assert cli.main(["transcribe", "--method", "joint", "--ctc-weight", "1.5", "--model", str(tmp_path / "joint"),
                     str(clips[0])]) == 2
    err = capsys.readouterr().err
    assert "ctc_weight must be in [0, 1)" in err and "Traceback" not in err
    Echo(Dimensions.tiny()).save_pretrained(tmp_path / "plain")
    assert cli.main(["transcribe", "--method", "ctc", "--model", str(tmp_path / "plain"), str(clips[0])]) == 2
    err = capsys.readouterr().err
    assert "CTC head" in err and "Traceback" not in err
