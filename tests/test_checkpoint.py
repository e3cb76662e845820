"""save_pretrained / from_pretrained: exact round trip, buffers kept, pickles and tampering refused."""

import json
import pickle

import pytest
import torch

from echo_edu import CheckpointError
from echo_edu.attention import ATTENTION_TYPES
from echo_edu.checkpoint import CONFIG_NAME, WEIGHTS_NAME
from echo_edu.dimensions import Dimensions
from echo_edu.model import Echo


def inputs(model):
    g = torch.Generator().manual_seed(3)
    mel = torch.randn(2, model.dims.mels, 2 * model.dims.audio_ctx, generator=g)
    ids = torch.tensor([[1, 5, 6, 7], [1, 8, 9, 3]])
    return mel, ids


def test_round_trip_gives_identical_logits_and_files(tmp_path):
    model = Echo(Dimensions.tiny(audio_dims=96, audio_head=3)).eval()
    model.save_pretrained(tmp_path / "m")
    for name in (WEIGHTS_NAME, CONFIG_NAME, "tokenizer.json"):
        assert (tmp_path / "m" / name).is_file()
    loaded = Echo.from_pretrained(tmp_path / "m")
    assert loaded.dims == model.dims and not loaded.training
    mel, ids = inputs(model)
    with torch.no_grad():
        assert torch.equal(model(mel, ids).logits, loaded(mel, ids).logits)
    assert len(loaded.tokenizer) == model.dims.vocab
    assert json.loads((tmp_path / "m" / CONFIG_NAME).read_text())["audio_dims"] == 96


def test_learned_buffers_such_as_q_tables_survive(tmp_path):
    kind = "integrated" if "integrated" in ATTENTION_TYPES else None
    if kind is None:
        pytest.skip("no attention type with a Q-table registered yet")
    model = Echo(Dimensions.tiny(self_attention_type=kind, text_layerB=1)).eval()
    buffers = {n: b for n, b in model.named_buffers() if "q_table" in n or "visits" in n}
    assert buffers, "expected refiner buffers in an integrated model"
    with torch.no_grad():
        for b in buffers.values():
            b.copy_(torch.arange(b.numel()).reshape(b.shape).to(b.dtype) + 7)
    model.save_pretrained(tmp_path)
    loaded = Echo.from_pretrained(tmp_path)
    again = dict(loaded.named_buffers())
    for name, b in buffers.items():
        assert torch.equal(again[name], b) and again[name].dtype == b.dtype
    mel, ids = inputs(model)
    with torch.no_grad():
        assert torch.equal(model(mel, ids).logits, loaded(mel, ids).logits)


def test_a_pickle_is_refused(tmp_path):
    model = Echo(Dimensions.tiny())
    torch.save(model.state_dict(), tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match="pickle"):
        Echo.from_pretrained(tmp_path / "model.pt")
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError, match="pickle"):
        Echo.from_pretrained(raw)
    folder = tmp_path / "folder"
    folder.mkdir()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="never unpickles"):
        Echo.from_pretrained(folder)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        Echo.from_pretrained(tmp_path / "nowhere")
    Echo(Dimensions.tiny()).save_pretrained(tmp_path / "m")
    (tmp_path / "m" / CONFIG_NAME).unlink()
    with pytest.raises(CheckpointError, match="config.json"):
        Echo.from_pretrained(tmp_path / "m")
    Echo(Dimensions.tiny()).save_pretrained(tmp_path / "n")
    (tmp_path / "n" / "tokenizer.json").unlink()
    with pytest.raises(CheckpointError, match="tokenizer.json"):
        Echo.from_pretrained(tmp_path / "n")


def test_tampered_or_truncated_weights_are_refused(tmp_path):
    Echo(Dimensions.tiny()).save_pretrained(tmp_path)
    weights = tmp_path / WEIGHTS_NAME
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum"):
        Echo.from_pretrained(tmp_path)
    weights.write_bytes(bytes(data[:100]))
    config = json.loads((tmp_path / CONFIG_NAME).read_text())
    del config["weights_sha256"]
    (tmp_path / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="safetensors"):
        Echo.from_pretrained(tmp_path)


def test_config_that_does_not_match_the_weights(tmp_path):
    Echo(Dimensions.tiny()).save_pretrained(tmp_path)
    config = json.loads((tmp_path / CONFIG_NAME).read_text())
    config["text_layerA"] = 2
    (tmp_path / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="missing"):
        Echo.from_pretrained(tmp_path)
    config["text_layerA"], config["mels"] = 1, 40
    (tmp_path / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="conv1"):
        Echo.from_pretrained(tmp_path)
    config["mels"], config["text_head"] = 80, 3
    (tmp_path / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="text_dims"):
        Echo.from_pretrained(tmp_path)
    (tmp_path / CONFIG_NAME).write_text("{broken")
    with pytest.raises(CheckpointError, match="JSON"):
        Echo.from_pretrained(tmp_path)


def test_loads_onto_a_device_and_dtype(tmp_path, device):
    Echo(Dimensions.tiny()).save_pretrained(tmp_path)
    loaded = Echo.from_pretrained(tmp_path, device=device, dtype=torch.bfloat16)
    assert loaded.device.type == device.type and loaded.dtype == torch.bfloat16


def test_the_bundled_sentences_model_is_the_function_its_weights_learned():
    """``assets/echo-sentences``: its config (rotary_theta = -10000) must be what the weights were trained
    with — teacher-forced on the four sentence sample clips it predicts most characters; with the rotary
    direction flipped it predicts almost none."""
    from pathlib import Path

    from echo_edu.data.collate import SpeechCollator
    from echo_edu.data import load_samples
    from echo_edu.tokenizer import build_tokenizer

    model = Echo.from_pretrained(Path(__file__).resolve().parents[1] / "assets" / "echo-sentences").eval()
    assert model.dims.rotary_theta == -10000.0
    batch = SpeechCollator.for_model(model, build_tokenizer())(load_samples("sentences"))

    def accuracy(m):
        with torch.no_grad():
            logits = m(batch.mel, batch.input_ids).logits
        return float((logits.argmax(-1) == batch.labels)[batch.labels != -100].float().mean())

    flipped = Echo(model.dims.replace(rotary_theta=10000.0)).eval()
    flipped.load_state_dict(model.state_dict())
    assert accuracy(model) > 0.8 > 0.4 > accuracy(flipped)
