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


def test_augment_variants_change_only_their_fields_and_model_is_the_recipe():
    assert train_an4.recipe_augment() == train_an4.RECIPE["augment"]
    telephone = train_an4.recipe_augment("telephone")
    changed = {k for k in telephone if telephone[k] != train_an4.RECIPE["augment"][k]}
    assert changed == {"p_telephone", "p_vtlp"}
    AugmentConfig(noise_dir="/data/noise", **telephone)


def test_attention_option_puts_echo_attention_in_the_last_encoder_blocks_only():
    standard = train_an4.recipe_dims()
    assert standard == train_an4.RECIPE["dims"]
    mixed = Dimensions(**train_an4.recipe_dims("myelinated")).validate()
    assert (mixed.self_attention_type, mixed.audio_layerB) == ("myelinated", train_an4.ECHO_BLOCKS)
    assert mixed.audio_layerA + mixed.audio_layerB == standard["audio_layerA"]     # same depth, same budget
    model = train_an4.build_model(0, "integrated")
    kinds = {type(block.attn).__name__ for block in model.encoder.blocks}
    assert "IntegratedAttention" in kinds and "StandardAttention" in kinds


_exp_spec = importlib.util.spec_from_file_location("an4_experiment", ROOT / "tools" / "an4_experiment.py")
an4_experiment = importlib.util.module_from_spec(_exp_spec)
_exp_spec.loader.exec_module(an4_experiment)


def _arm(mix, seed, wer, attention="standard"):
    score = {"wer": wer, "cer": wer / 2}
    return {"mix": mix, "attention": attention, "seed": seed,
            **{key: score for _, key in an4_experiment.COLUMNS}}


def test_experiment_table_averages_seeds_per_mixture_and_per_attention_type():
    arms = [_arm("real", 0, 0.5), _arm("real", 1, 0.3), _arm("both", 0, 0.2), _arm("both", 0, 0.4, "myelinated")]
    table = an4_experiment.summarise([a for a in arms if a["attention"] == "standard"])
    assert table["real"]["dev"]["wer"] == 40.0 and table["real"]["dev"]["seeds"] == [0, 1]
    assert abs(table["real"]["dev"]["wer_sd"] - 14.142) < 1e-3 and table["both"]["dev"]["wer_sd"] is None
    by_type = an4_experiment.summarise([a for a in arms if a["mix"] == "both"], key="attention")
    assert by_type["standard"]["test"]["wer"] == 20.0 and by_type["myelinated"]["test"]["wer"] == 40.0
    assert "| myelinated (seeds 0) | 40.0" in an4_experiment.markdown(by_type, 400)
