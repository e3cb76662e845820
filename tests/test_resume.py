"""Checkpoints resume exactly: an interrupted run continues as if it had never stopped."""

import json

import pytest
import torch

from echo_edu.errors import CheckpointError
from echo_edu.train import TrainConfig, train
from echo_edu.train_state import find_checkpoint, load_training_state
from training_support import tiny_model, tone_corpus

# dropout makes the run depend on the torch RNG, so resuming must restore it too
CONFIG = dict(steps=6, batch_size=4, lr=3e-3, warmup_steps=2, log_every=1, progress=False)


def test_resume_from_a_mid_run_checkpoint_reproduces_the_uninterrupted_run(tmp_path):
    corpus = tone_corpus(10, 4)
    whole = tiny_model(dropout=0.1)
    full = train(whole, corpus, TrainConfig(**CONFIG))

    first = tiny_model(dropout=0.1)
    train(first, corpus, TrainConfig(**CONFIG, output_dir=str(tmp_path), save_every=3, stop_at=3))
    ckpt = find_checkpoint(tmp_path)
    assert ckpt is not None and json.loads((ckpt / "training_state.json").read_text())["step"] == 3
    torch.manual_seed(1234)                          # a different process state: nothing carries over
    second = tiny_model(seed=99, dropout=0.1)        # different initial weights, overwritten by the checkpoint
    resumed = train(second, corpus, TrainConfig(**CONFIG, output_dir=str(tmp_path)))

    for (name, a), b in zip(whole.named_parameters(), second.parameters()):
        assert torch.equal(a, b), name
    assert [r["loss"] for r in resumed.train] == [r["loss"] for r in full.train]
    assert resumed.step == 6


def test_checkpoint_holds_weights_optimizer_schedule_and_rng(tmp_path):
    model = tiny_model()
    train(model, tone_corpus(8, 4), TrainConfig(**{**CONFIG, "steps": 2}, output_dir=str(tmp_path)))
    ckpt = find_checkpoint(tmp_path)
    names = {p.name for p in ckpt.iterdir()}
    assert {"model.safetensors", "config.json", "training_state.json", "training_state.safetensors"} <= names
    state = json.loads((ckpt / "training_state.json").read_text())
    assert state["step"] == 2 and state["scheduler"]["last_epoch"] == 2
    assert {"python", "numpy"} <= set(state["rng"]) and state["config"]["batch_size"] == 4
    assert not any(p.suffix in {".pt", ".pkl", ".bin"} for p in ckpt.iterdir())   # nothing pickled


def test_checkpoint_for_other_dimensions_is_refused(tmp_path):
    from echo_edu.train import build_optimizer

    train(tiny_model(), tone_corpus(8, 4), TrainConfig(**{**CONFIG, "steps": 1}, output_dir=str(tmp_path)))
    other = tiny_model(text_dims=32)
    optimizer, scheduler = build_optimizer(other, TrainConfig())
    with pytest.raises(CheckpointError, match="Dimensions"):
        load_training_state(find_checkpoint(tmp_path), other, optimizer, scheduler)
