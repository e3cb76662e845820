"""The default model's one rule (``echo_edu.bundled``), asked by the CLI and the microphone widget alike."""

import json
from pathlib import Path

import pytest

from echo_edu import Echo, cli
from echo_edu.bundled import (ASSETS_DIR, SHIPPED_MODELS, bundled_model_dir, digits_model_dir, holds_model,
                              shipped_model_folder)
from echo_edu.errors import CheckpointError
from echo_edu.viz import microphone


def _fake_model(folder: Path, files=("model.safetensors", "config.json")) -> Path:
    folder.mkdir(parents=True)
    for name in files:
        (folder / name).write_text("{}")
    return folder


def test_echo_an4_is_the_default_once_it_holds_a_model(tmp_path):
    digits = _fake_model(tmp_path / "echo-digits")
    _fake_model(tmp_path / "echo-an4", files=("config.json",))        # training, weights not written yet
    with pytest.raises(CheckpointError, match="holds no model.safetensors"):
        bundled_model_dir(tmp_path)                                    # no silent fallback to echo-digits
    assert bundled_model_dir(tmp_path, fallback=digits) == digits     # only the one the caller names
    (tmp_path / "echo-an4" / "model.safetensors").write_text("{}")
    assert bundled_model_dir(tmp_path) == tmp_path / "echo-an4"
    assert bundled_model_dir(tmp_path, fallback=digits) == tmp_path / "echo-an4"


def test_missing_model_message_names_the_folder_and_the_recipe(tmp_path):
    with pytest.raises(CheckpointError) as info:
        bundled_model_dir(tmp_path, fallback=tmp_path / "stand-in")
    message = str(info.value)
    assert "echo-an4" in message and "stand-in" in message and "tools/train_an4.py" in message


def test_cli_and_microphone_share_the_function():
    assert cli.bundled_model_dir is bundled_model_dir and cli.common.bundled_model_dir is bundled_model_dir
    assert microphone.microphone_model_dir is bundled_model_dir
    assert cli.digits_model_dir is digits_model_dir


def test_this_checkout_ships_both_models():
    assert bundled_model_dir() == ASSETS_DIR / "echo-an4"
    assert holds_model(digits_model_dir()) and digits_model_dir().parent == ASSETS_DIR
    assert (ASSETS_DIR / "samples" / "manifest.json").is_file()


def test_cli_with_an_empty_assets_folder_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("echo_edu.bundled.ASSETS_DIR", tmp_path)
    assert cli.main(["transcribe", str(tmp_path / "clip.wav")]) == 2
    err = capsys.readouterr().err
    assert "bundled model" in err and "echo-an4" in err and "Traceback" not in err


def test_a_shipped_model_loads_by_name_from_any_working_directory(tmp_path, monkeypatch):
    """``Echo.from_pretrained("echo-digits")`` (and ``--model echo-digits``) finds the shipped folder; a folder of
    that name in the working directory comes first, like any path; an unknown name is refused naming both."""
    monkeypatch.chdir(tmp_path)
    assert [shipped_model_folder(name) for name in SHIPPED_MODELS] == [ASSETS_DIR / name for name in SHIPPED_MODELS]
    model = Echo.from_pretrained("echo-digits")
    assert model.dims == Echo.from_pretrained(digits_model_dir()).dims
    (tmp_path / "echo-digits").mkdir()
    assert shipped_model_folder("echo-digits") == Path("echo-digits")
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        Echo.from_pretrained("echo-digits")
    with pytest.raises(CheckpointError, match="'echo-tiny' does not exist.*echo-an4, echo-digits"):
        Echo.from_pretrained("echo-tiny")


def test_the_cli_takes_a_shipped_model_by_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    clip = ASSETS_DIR / "samples" / "digits_heldout_piper_0.flac"
    assert cli.main(["transcribe", "--model", "echo-digits", "--json", str(clip)]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["file"] == str(clip)
