"""Model and checkpoint robustness: bad configs, damaged or foreign checkpoints and wrong inputs give
typed errors (``ConfigError``, ``CheckpointError``, ``ShapeError`` from :mod:`echo_edu.errors`) whose
messages name the field, the file or the tensor — and a pickle is refused without ever being unpickled.
"""

from __future__ import annotations

import json
import math
import pickle
import struct
import warnings
from pathlib import Path

import pytest
import torch

from echo_edu.dimensions import Dimensions
from echo_edu.errors import CheckpointError, ConfigError, EchoError, ShapeError
from echo_edu.model import Echo

checkpoint = pytest.importorskip("echo_edu.checkpoint")
WEIGHTS, CONFIG = checkpoint.WEIGHTS_NAME, checkpoint.CONFIG_NAME


def tiny(**changes) -> Dimensions:
    return Dimensions.tiny(**changes)


def build(**changes) -> Echo:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return Echo(tiny(**changes))


# ----------------------------------------------------------------------------- Dimensions fields

BAD_FIELDS = [  # (changes, the field the message must name)
    (dict(mels=0), "mels"), (dict(mels=-80), "mels"), (dict(mels=80.0), "mels"), (dict(mels=True), "mels"),
    (dict(audio_ctx=0), "audio_ctx"), (dict(audio_ctx="100"), "audio_ctx"),
    (dict(audio_dims=0), "audio_dims"), (dict(audio_dims=65), "audio_dims"),
    (dict(audio_head=0), "audio_head"), (dict(audio_head=3), "audio_dims"),
    (dict(audio_dims=96, audio_head=32), "audio_head"),          # head size 3: odd, rotary pairs impossible
    (dict(audio_layerA=-1), "audio_layerA"), (dict(audio_layerB=1.5), "audio_layerB"),
    (dict(text_layerA=0, text_layerB=0), "text_layerA"),
    (dict(vocab=0), "vocab"), (dict(text_ctx=1), "text_ctx"), (dict(text_ctx=0), "text_ctx"),
    (dict(text_dims=0), "text_dims"), (dict(text_head=5), "text_dims"),
    (dict(audio_act="swish!"), "audio_act"), (dict(text_act=None), "text_act"),
    (dict(self_attention_type="quantum"), "self_attention_type"),
    (dict(cross_attention_type="nope"), "cross_attention_type"),
    (dict(decoder_start_token_id=31), "decoder_start_token_id"), (dict(pad_token_id=-1), "pad_token_id"),
    (dict(eos_token_id=1), "decoder_start_token_id"),
    (dict(norm="batchnorm"), "norm"), (dict(dropout=1.0), "dropout"), (dict(dropout=-0.1), "dropout"),
    (dict(dropout=float("nan")), "dropout"),
    (dict(rotary_theta=0.0), "rotary_theta"), (dict(rotary_theta=float("inf")), "rotary_theta"),
    (dict(rot_count=0), "rot_count"), (dict(rot_count=2.5), "rot_count"),
    (dict(rot_scale=0.0), "rot_scale"), (dict(rot_scale=float("nan")), "rot_scale"), (dict(rot_scale="1"), "rot_scale"),
    (dict(use_projection=True), "use_projection"),
    (dict(mlp_ratio=0), "mlp_ratio"), (dict(attention_options=["span"]), "attention_options"),
    (dict(self_attention_type="myelinated", text_layerB=1, attention_options={"no_such_option": 1}), "no_such_option"),
    (dict(rotary="yes"), "rotary"), (dict(learned_freq="no"), "learned_freq"), (dict(use_quaternion=1.5), "use_quaternion"),
]


@pytest.mark.parametrize("changes, field", BAD_FIELDS, ids=[f"{f}={list(c.values())[-1]!r}" for c, f in BAD_FIELDS])
def test_invalid_dimensions_field_is_a_config_error_naming_it(changes, field):
    with pytest.raises(EchoError) as info:
        build(**changes)
    assert isinstance(info.value, ConfigError), f"{type(info.value).__name__}: {info.value}"
    assert isinstance(info.value, ValueError)
    assert field in str(info.value), f"message does not name {field!r}: {info.value}"


def test_from_dict_and_json_refuse_unknown_fields_and_non_json():
    with pytest.raises(ConfigError, match="audio_dimz"):
        Dimensions.from_dict({**tiny().to_dict(), "audio_dimz": 64})
    with pytest.raises(ConfigError, match="JSON"):
        Dimensions.from_json("{not json")
    with pytest.raises(ConfigError):
        Dimensions.from_dict(["mels", 80])


def test_echo_refuses_something_that_is_not_dimensions():
    with pytest.raises(ConfigError, match="Dimensions"):
        Echo({"mels": 80})


# ----------------------------------------------------------------------------- checkpoints and configs

@pytest.fixture
def saved(tmp_path) -> Path:
    torch.manual_seed(0)
    folder = tmp_path / "echo-tiny"
    build().save_pretrained(folder)
    return folder


def edit_config(folder: Path, drop_checksum: bool = False, **changes) -> None:
    config = json.loads((folder / CONFIG).read_text())
    config.update(changes)
    if drop_checksum:
        config.pop("weights_sha256", None)
    (folder / CONFIG).write_text(json.dumps(config))


def assert_checkpoint_error(folder: Path, *needles: str):
    with pytest.raises(EchoError) as info:
        Echo.from_pretrained(folder)
    assert isinstance(info.value, CheckpointError), f"{type(info.value).__name__}: {info.value}"
    for needle in needles:
        assert needle in str(info.value), f"message does not mention {needle!r}: {info.value}"


def test_round_trip_is_exact(saved):
    model = Echo.from_pretrained(saved)
    fresh = build()
    fresh.load_state_dict(model.state_dict())
    mel, ids = torch.randn(1, 80, 2 * fresh.dims.audio_ctx), torch.tensor([[1, 5, 6]])
    with torch.no_grad():
        assert torch.equal(model(mel, ids).logits, fresh.eval()(mel, ids).logits)


@pytest.mark.parametrize("changes, needle", [
    (dict(text_dims=32, text_head=2), "text_dims"),    # shapes differ
    (dict(mels=40), "mels"),
    (dict(audio_layerA=2), "missing"),                 # tensors missing from the file
    (dict(text_layerA=0, text_layerB=1, self_attention_type="myelinated"), "does not match"),
    (dict(vocab=40), "vocab"),                         # the tokenizer beside it has 31 tokens
])
def test_config_that_does_not_match_the_weights(saved, changes, needle):
    edit_config(saved, **changes)
    with pytest.raises(CheckpointError) as info:
        Echo.from_pretrained(saved)
    message = str(info.value)
    assert needle in message or "does not match" in message, message
    assert str(saved) in message or CONFIG in message or WEIGHTS in message, message


@pytest.mark.parametrize("changes, field", [(dict(audio_head=3), "audio_dims"), (dict(norm="batch"), "norm"),
                                             (dict(audio_dimz=1), "audio_dimz"), (dict(model_type="whisper"), "Echo")])
def test_invalid_config_json_names_the_file_and_field(saved, changes, field):
    edit_config(saved, **changes)
    assert_checkpoint_error(saved, CONFIG, field)


def test_config_json_that_is_not_json(saved):
    (saved / CONFIG).write_text("{'mels': 80,")
    assert_checkpoint_error(saved, CONFIG)


@pytest.mark.parametrize("cut", [0, 7, 8, 100, 0.5, -1])
@pytest.mark.parametrize("checksum", [True, False], ids=["with-checksum", "no-checksum"])
def test_truncated_safetensors(saved, cut, checksum):
    weights = saved / WEIGHTS
    data = weights.read_bytes()
    keep = int(len(data) * cut) if isinstance(cut, float) else (len(data) + cut if cut < 0 else cut)
    weights.write_bytes(data[:keep])
    if not checksum:
        edit_config(saved, drop_checksum=True)
    assert_checkpoint_error(saved, WEIGHTS)


def _header(data: bytes) -> tuple[int, dict]:
    n = struct.unpack("<Q", data[:8])[0]
    return n, json.loads(data[8:8 + n])


@pytest.mark.parametrize("how", ["flip-data-byte", "huge-header-length", "header-not-json", "offsets-out-of-range",
                                 "shape-changed", "dtype-changed", "tensor-renamed"])
def test_tampered_safetensors_without_a_checksum(saved, how):
    """Even with no checksum to compare against, a damaged file is refused with a CheckpointError.

    (A flipped byte *inside* tensor data cannot be noticed without the checksum; there the load may
    succeed — but must not crash.)"""
    weights = saved / WEIGHTS
    data = bytearray(weights.read_bytes())
    n, header = _header(bytes(data))
    first = next(k for k in header if k != "__metadata__")
    if how == "flip-data-byte":
        data[-3] ^= 0xFF
    elif how == "huge-header-length":
        data[:8] = struct.pack("<Q", 2**40)
    elif how == "header-not-json":
        data[8:8 + n] = b"{" * n
    else:
        if how == "offsets-out-of-range":
            header[first]["data_offsets"] = [0, 10**12]
        elif how == "shape-changed":
            header[first]["shape"] = [s + 1 for s in header[first]["shape"]]
        elif how == "dtype-changed":
            header[first]["dtype"] = "F64"
        elif how == "tensor-renamed":
            header[f"{first}_renamed"] = header.pop(first)
        blob = json.dumps(header).encode()
        blob += b" " * (-len(blob) % 8)
        data = bytearray(struct.pack("<Q", len(blob)) + blob + bytes(data[8 + n:]))
    weights.write_bytes(bytes(data))
    edit_config(saved, drop_checksum=True)
    if how == "flip-data-byte":
        model = Echo.from_pretrained(saved)          # undetectable without the checksum, but loads cleanly
        assert isinstance(model, Echo)
        return
    assert_checkpoint_error(saved, WEIGHTS)


def test_tampered_weights_with_checksum_are_refused(saved):
    weights = saved / WEIGHTS
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    assert_checkpoint_error(saved, WEIGHTS, "checksum")


def test_missing_pieces_are_named(saved, tmp_path):
    assert_checkpoint_error(tmp_path / "never-saved", "never-saved")
    (saved / WEIGHTS).unlink()
    assert_checkpoint_error(saved, WEIGHTS)


# ----------------------------------------------------------------------------- pickles are never unpickled

class Booby:
    """Unpickling this object creates the marker file: proof that someone unpickled it."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def pickle_variants(tmp_path: Path, marker: Path) -> dict[str, Path]:
    """The same booby-trapped pickle in every disguise a checkpoint might come in."""
    payload = {"state_dict": {"w": Booby(marker)}}
    out: dict[str, Path] = {}
    raw = tmp_path / "checkpoint.pkl"
    raw.write_bytes(pickle.dumps(payload, protocol=2))
    out["raw pickle file"] = raw
    zipped = tmp_path / "model.pt"
    torch.save(payload, zipped)
    out["torch.save file"] = zipped
    legacy = tmp_path / "legacy.pt"
    torch.save(payload, legacy, _use_new_zipfile_serialization=False)
    out["legacy torch.save file"] = legacy
    for name, source in (("pytorch_model.bin", zipped), ("model.ckpt", raw)):
        folder = tmp_path / f"folder-{name}"
        folder.mkdir()
        (folder / name).write_bytes(source.read_bytes())
        out[f"folder with {name}"] = folder
    for label, source in (("zip", zipped), ("raw", raw)):   # a pickle renamed to model.safetensors
        folder = tmp_path / f"disguised-{label}"
        build().save_pretrained(folder)
        (folder / WEIGHTS).write_bytes(source.read_bytes())
        edit_config(folder, drop_checksum=True)
        out[f"pickle ({label}) named {WEIGHTS}"] = folder
    disguised_file = tmp_path / "weights.safetensors"
    disguised_file.write_bytes(raw.read_bytes())
    out["pickle file named .safetensors"] = disguised_file
    return out


def test_the_booby_trap_works(tmp_path):
    """Sanity check of the proof: unpickling it really creates the marker."""
    marker = tmp_path / "UNPICKLED"
    pickle.loads(pickle.dumps(Booby(marker)))
    assert marker.exists()


def test_a_pickle_is_refused_and_never_unpickled(tmp_path, monkeypatch):
    marker = tmp_path / "UNPICKLED"
    variants = pickle_variants(tmp_path, marker)
    # belt and braces: any unpickling entry point fails the test outright
    def forbidden(*args, **kwargs):
        raise AssertionError("echo_edu tried to unpickle a checkpoint")
    monkeypatch.setattr(torch, "load", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    for label, path in variants.items():
        with pytest.raises(CheckpointError) as info:
            Echo.from_pretrained(path)
        assert str(path.name) in str(info.value) or str(path) in str(info.value), f"{label}: {info.value}"
        assert not marker.exists(), f"{label}: the pickle was unpickled"
    assert not marker.exists()


def test_pickle_refusals_say_why(tmp_path):
    variants = pickle_variants(tmp_path, tmp_path / "UNPICKLED")
    for label in ("raw pickle file", "torch.save file", "folder with pytorch_model.bin"):
        with pytest.raises(CheckpointError, match="pickle"):
            Echo.from_pretrained(variants[label])


# ----------------------------------------------------------------------------- wrong inputs

@pytest.fixture(scope="module")
def model() -> Echo:
    torch.manual_seed(0)
    return build().eval()


def frames(model) -> int:
    return 2 * model.dims.audio_ctx


@pytest.mark.parametrize("make, needle", [
    (lambda m: torch.randn(1, 40, 2 * m.dims.audio_ctx), "mels"),
    (lambda m: torch.randn(1, 80, 2 * m.dims.audio_ctx - 1), "frames"),
    (lambda m: torch.randn(1, 80, 3000), "frames"),
    (lambda m: torch.randn(2, 1, 80, 2 * m.dims.audio_ctx), "batch"),
    (lambda m: torch.randn(2 * m.dims.audio_ctx), "mels"),
    (lambda m: torch.randn(2 * m.dims.audio_ctx, 80), "mels"),          # transposed
    (lambda m: torch.zeros(1, 80, 2 * m.dims.audio_ctx, dtype=torch.long), "dtype"),
    (lambda m: torch.zeros(1, 80, 2 * m.dims.audio_ctx, dtype=torch.bool), "dtype"),
], ids=["40-mels", "frames-minus-1", "3000-frames", "4d", "1d", "transposed", "int64", "bool"])
def test_encoder_wrong_input_is_a_shape_error(model, make, needle):
    with pytest.raises(EchoError) as info:
        model.encoder(make(model))
    assert isinstance(info.value, ShapeError), f"{type(info.value).__name__}: {info.value}"
    assert needle in str(info.value), str(info.value)


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16, torch.float16])
def test_encoder_accepts_other_float_dtypes(model, dtype):
    out = model.encoder(torch.randn(1, 80, frames(model)).to(dtype))
    assert out.shape == (1, model.dims.audio_ctx, model.dims.audio_dims) and bool(torch.isfinite(out).all())


@pytest.mark.parametrize("ids, encoded, needle", [
    (lambda m: torch.tensor([[1.0, 5.0]]), None, "integers"),
    (lambda m: torch.tensor([[True, False]]), None, "integers"),
    (lambda m: torch.ones(1, 2, 3, dtype=torch.long), None, "batch"),
    (lambda m: torch.ones(1, m.dims.text_ctx + 1, dtype=torch.long), None, "text_ctx"),
    (lambda m: torch.tensor([[1, m.dims.vocab]]), None, "vocab"),           # a token id past the vocabulary
    (lambda m: torch.tensor([[1, -1]]), None, "vocab"),                    # a negative token id
    (lambda m: torch.tensor([[1, 5]]), lambda m, e: e[..., :10], "audio_dims"),
    (lambda m: torch.tensor([[1, 5]]), lambda m, e: e[0], "audio_dims"),
    (lambda m: torch.tensor([[1, 5]]), lambda m, e: e.expand(3, -1, -1), "batch"),
], ids=["float-ids", "bool-ids", "3d-ids", "past-text_ctx", "id-past-vocab", "negative-id", "encoded-wrong-width",
        "encoded-2d", "batch-mismatch"])
def test_decoder_wrong_input_is_a_shape_error(model, ids, encoded, needle):
    enc = model.encoder(torch.randn(1, 80, frames(model)))
    if encoded is not None:
        enc = encoded(model, enc)
    with pytest.raises(EchoError) as info:
        model.decoder(ids(model), enc)
    assert isinstance(info.value, ShapeError), f"{type(info.value).__name__}: {info.value}"
    assert needle in str(info.value), str(info.value)


@pytest.mark.parametrize("labels, needle", [
    (lambda: torch.tensor([[2, 5, 6, 7]]), "labels"),        # one label too many
    (lambda: torch.tensor([[2, 99, -100]]), "vocab"),        # a label id past the vocabulary
], ids=["labels-too-long", "label-past-vocab"])
def test_forward_wrong_labels_is_a_shape_error(model, labels, needle):
    mel = torch.randn(1, 80, frames(model))
    with pytest.raises(EchoError) as info:
        model(mel, torch.tensor([[1, 5, 6]]), labels=labels())
    assert isinstance(info.value, ShapeError), f"{type(info.value).__name__}: {info.value}"
    assert needle in str(info.value), str(info.value)


def test_valid_edge_inputs_work(model):
    enc = model.encoder(torch.randn(2, 80, frames(model)))
    assert model.decoder(torch.tensor([1, 5]), enc[:1]).shape == (1, 2, model.dims.vocab)   # 1-D ids: one example
    assert model.decoder(torch.ones(2, 3, dtype=torch.int32), enc).shape == (2, 3, model.dims.vocab)
    out = model(torch.randn(1, 80, frames(model)), torch.tensor([[1, 5]]), labels=torch.tensor([[5, -100]]))
    assert math.isfinite(float(out.loss))
