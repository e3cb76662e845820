"""Joint CTC/attention training and batches padded only to their longest clip.

* A CTC head on the encoder (``Dimensions.ctc_weight > 0``) adds ``w · CTC`` to the loss, trains, and
  decodes alone (``decode(method="ctc")``).
* ``pad_to="longest"`` pads a batch to its longest clip instead of the whole window; with the padding
  masked, the model computes the same thing at the real positions, for a fraction of the work.
"""

from __future__ import annotations

import math

import pytest
import torch

from echo_edu import Dimensions, Echo
from echo_edu.data.collate import SpeechCollator
from echo_edu.decode import decode
from echo_edu.errors import ConfigError, ShapeError
from echo_edu.metrics import cer
from echo_edu.train import TrainConfig, train


def _wave(seconds: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(int(16000 * seconds)) / 16000
    return 0.3 * torch.sin(2 * math.pi * (200 + 600 * t) * t) + 0.02 * torch.randn(t.shape, generator=g)


def _rows(seconds=(0.9, 0.4, 0.6, 0.3), texts=("one two", "go", "yes", "no")):
    return [{"audio": {"array": _wave(s, i).numpy(), "sampling_rate": 16000}, "text": t, "duration": s}
            for i, (s, t) in enumerate(zip(seconds, texts))]


def _model(seed: int = 0, **changes) -> Echo:
    torch.manual_seed(seed)
    return Echo(Dimensions.tiny(audio_ctx=100, **changes)).eval()


def test_longest_padding_is_a_fraction_of_the_window_and_changes_nothing_at_real_positions():
    model = _model()
    rows = _rows()
    full = SpeechCollator.for_model(model, model.tokenizer)(rows)
    short = SpeechCollator.for_model(model, model.tokenizer, pad_to="longest")(rows)
    assert full.mel.shape[-1] == 200 and short.mel.shape[-1] == 96       # 0.9 s = 90 frames -> 6 x 16
    assert torch.equal(full.lengths, short.lengths)
    with torch.no_grad():
        a = model(full.mel, full.input_ids, lengths=full.lengths)
        b = model(short.mel, short.input_ids, lengths=short.lengths)
    assert torch.allclose(a.logits, b.logits, atol=1e-5)
    cut = SpeechCollator.for_model(model, model.tokenizer, pad_to="longest")(rows, mel=full.mel, lengths=full.lengths)
    assert cut.mel.shape[-1] == 96                                         # cached full-window features are cut


def test_encoder_refuses_odd_or_too_many_frames():
    model = _model()
    with pytest.raises(ShapeError, match="multiple of audio_stride=2 frames"):
        model.encoder(torch.randn(1, 80, 95))
    with pytest.raises(ShapeError, match="up to audio_stride\\*audio_ctx=200"):
        model.encoder(torch.randn(1, 80, 202))
    with pytest.raises(ConfigError, match="pad_to"):
        SpeechCollator.for_model(model, model.tokenizer, pad_to="shortest")
    with pytest.raises(ConfigError, match="pad_to"):
        TrainConfig(pad_to="bucket").validate()


def test_ctc_head_joins_the_loss_and_is_saved(tmp_path):
    plain, joint = _model(), _model(ctc_weight=0.3)
    assert plain.ctc is None and joint.ctc is not None
    batch = SpeechCollator.for_model(joint, joint.tokenizer)(_rows())
    out = joint(batch.mel, batch.input_ids, batch.labels, lengths=batch.lengths)
    assert out.ctc_log_probs.shape == (4, 100, joint.dims.vocab)
    assert out.encoded_lengths.tolist() == [45, 20, 30, 15]                # ceil(frames / 2), 10 ms frames
    ce = torch.nn.functional.cross_entropy(out.logits.flatten(0, 1), batch.labels.flatten(), ignore_index=-100)
    assert not torch.isclose(out.loss, ce)                                  # the CTC term is in the loss
    joint.save_pretrained(tmp_path / "m")
    again = Echo.from_pretrained(tmp_path / "m")
    assert again.dims.ctc_weight == 0.3 and torch.equal(again.ctc.proj.weight, joint.ctc.proj.weight)
    with pytest.raises(ConfigError, match="ctc_weight"):
        Dimensions.tiny(ctc_weight=1.0).validate()


def test_joint_training_learns_and_ctc_decoding_reads_the_head():
    rows = _rows()
    model = _model(ctc_weight=0.5).train()
    history = train(model, rows, TrainConfig(steps=150, batch_size=2, grad_accum=2, lr=5e-3, warmup_steps=5,
                                             log_every=10, progress=False, pad_to="longest"))
    first, last = history.train[0], history.train[-1]
    assert last["loss"] < 0.6 * first["loss"] and last["ctc_loss"] < first["ctc_loss"]
    batch = SpeechCollator.for_model(model, model.tokenizer, pad_to="longest")(rows)
    result = decode(model, batch.mel, lengths=batch.lengths, method="ctc", tokenizer=model.tokenizer)
    assert len(result.texts) == 4 and result.scores.shape == (4,)
    refs = [r["text"] for r in rows]
    assert cer(refs, result.texts) < 0.4               # CTC alone reads the four clips (learned by heart)
    assert cer(refs, decode(model, batch.mel, lengths=batch.lengths, tokenizer=model.tokenizer).texts) < 0.2
    with pytest.raises(ConfigError, match="CTC head"):
        decode(_model(), batch.mel, method="ctc")


def test_cached_features_with_longest_padding_train_exactly_like_fresh_ones():
    """The feature cache stores whole-window features; each batch is cut to its own longest clip."""
    import datasets

    rows = datasets.Dataset.from_list(_rows((0.9, 0.4, 0.6, 0.3, 0.8, 0.5, 0.35, 0.7), ("one two", "go", "yes", "no") * 2))
    runs = []
    for cache in (False, True):
        model = _model(ctc_weight=0.3).train()
        history = train(model, rows, TrainConfig(steps=6, batch_size=2, grad_accum=2, lr=3e-3, warmup_steps=2,
                                                 log_every=1, progress=False, pad_to="longest",
                                                 cache_features=cache))
        runs.append([r["loss"] for r in history.train])
    assert runs[0] == pytest.approx(runs[1], rel=1e-5)
