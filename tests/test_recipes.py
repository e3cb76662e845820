"""The echo-an4 recipe (tools/train_an4.py) is valid as written: specs parse, configs validate."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from echo_edu import Dimensions
from echo_edu.augmentation import AugmentConfig
from echo_edu.data import parse_data_spec
from echo_edu.train import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("train_an4", ROOT / "tools" / "train_an4.py")
train_an4 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train_an4)


def test_every_data_spec_parses_and_real_corpora_carry_the_most_weight():
    specs = [parse_data_spec(s.format(root="/data")) for s in train_an4.RECIPE["data"]]
    assert {s.kind for s in specs} == {"an4", "commands", "fsdd", "synth"}
    real = sum(s.weight for s in specs if s.kind != "synth")
    assert real > sum(s.weight for s in specs if s.kind == "synth")


def test_model_training_and_augmentation_settings_validate():
    recipe = train_an4.RECIPE
    dims = Dimensions(**recipe["dims"]).validate()
    assert dims.ctc_weight > 0 and dims.mask_padding and dims.audio_seconds >= 6.4   # AN4's longest clip
    TrainConfig(**recipe["train"]).validate()
    assert AugmentConfig(noise_dir="/data/noise", **recipe["augment"]).noise_dir == "/data/noise"
