"""Dimensions: defaults, presets, validation messages that name the field, JSON round trip."""

import json
import warnings

import pytest

from echo_edu import ConfigError
from echo_edu.dimensions import Dimensions


def test_defaults_and_presets_validate():
    for dims in (Dimensions(), Dimensions.tiny(), Dimensions.small(), Dimensions.seed(self_attention_type="standard",
                                                                                      cross_attention_type="standard")):
        assert dims.validate() is dims
    assert Dimensions.tiny(text_dims=32).text_dims == 32
    assert Dimensions().vocab == 31 and Dimensions().decoder_start_token_id == 1


def test_special_tokens_match_the_tokenizer():
    from echo_edu.tokenizer import build_tokenizer

    tok, dims = build_tokenizer(), Dimensions()
    assert len(tok) == dims.vocab
    assert (tok.pad_token_id, tok.bos_token_id, tok.eos_token_id) == (dims.pad_token_id,
                                                                        dims.decoder_start_token_id,
                                                                        dims.eos_token_id)


@pytest.mark.parametrize("changes, field", [
    (dict(audio_dims=65), "audio_dims"),
    (dict(text_dims=66, text_head=4), "text_dims"),
    (dict(text_dims=24, text_head=8), "text_head"),            # head size 3 is odd: rotary cannot pair it
    (dict(self_attention_type="nope"), "self_attention_type"),
    (dict(cross_attention_type="myelinatd"), "cross_attention_type"),
    (dict(audio_act="swishy"), "audio_act"),
    (dict(vocab=0), "vocab"),
    (dict(text_ctx=1), "text_ctx"),
    (dict(text_layerA=0, text_layerB=0), "text_layerA"),
    (dict(eos_token_id=40), "eos_token_id"),
    (dict(decoder_start_token_id=2), "decoder_start_token_id"),
    (dict(norm="batch"), "norm"),
    (dict(dropout=1.5), "dropout"),
    (dict(audio_layerA=-1), "audio_layerA"),
    (dict(rotary="yes"), "rotary"),
    (dict(rot_scale=float("nan")), "rot_scale"),
])
def test_validation_names_the_field(changes, field):
    with pytest.raises(ConfigError, match=field):
        Dimensions(**changes).validate()


def test_config_error_is_a_value_error():
    with pytest.raises(ValueError):
        Dimensions(mels=-3).validate()


def test_seed_cross_attention_false_warns_but_decoder_still_listens():
    with pytest.warns(UserWarning, match="cross_attention=False"):
        Dimensions(cross_attention=False).validate()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Dimensions().validate()


def test_json_round_trip():
    dims = Dimensions.tiny(self_attention_type="standard", rot_count=4, attention_options={"window": 8})
    again = Dimensions.from_json(dims.to_json())
    assert again == dims
    assert json.loads(dims.to_json())["audio_ctx"] == dims.audio_ctx
    assert Dimensions.from_dict(dims.to_dict()) == dims


def test_from_dict_rejects_unknown_fields_and_bad_json():
    with pytest.raises(ConfigError, match="audio_state"):
        Dimensions.from_dict({"audio_state": 512})
    with pytest.raises(ConfigError, match="JSON"):
        Dimensions.from_json("{not json")


def test_derived_sizes():
    dims = Dimensions(audio_ctx=1500)
    assert dims.n_audio_samples == 480000 and dims.audio_seconds == 30.0
    assert Dimensions(text_dims=128, text_head=4).text_head_dim == 32
