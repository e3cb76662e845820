"""Lesson 04's speech task: a trained myelinated layer's gates differ from the untrained ones on real features."""

import pytest
import torch

from echo_edu.errors import ConfigError, ShapeError
from echo_edu.experiments.speech_gates import (SAMPLES, TRAIN_CLIPS, _targets, clip_features, gate_report,
                                               speech_mask, train_speech_gates, windows_of)

HELD_OUT = SAMPLES / "digits_heldout_piper_0.flac"


@pytest.fixture(scope="module")
def trained():
    return train_speech_gates(steps=150, seed=0)


def test_features_windows_and_targets():
    x = clip_features(HELD_OUT)
    assert x.shape[1] == 80 and x.min() == 0 and x.max() <= 2.0 + 1e-5
    speech = speech_mask(x)
    assert not speech[:25].any() and speech.any()               # the padding is silence, the clip is not
    w = windows_of(x, 24)
    assert w.shape == (-(-x.shape[0] // 24), 24, 80) and torch.equal(w.flatten(0, 1)[:x.shape[0]], x)
    y = _targets(w, 0.6)
    m = speech_mask(w)
    assert (y[~m] == 0).all()
    i = int(m.any(1).float().argmax())
    torch.testing.assert_close(y[i][m[i]][0], w[i][m[i]].mean(0))
    noisy = clip_features(HELD_OUT, noise_snr_db=10.0)
    assert noisy[:25].mean() > 0.1 and torch.equal(noisy, clip_features(HELD_OUT, noise_snr_db=10.0))
    with pytest.raises(ShapeError):
        windows_of(w, 24)
    with pytest.raises(ConfigError):
        train_speech_gates(clips=(), steps=1)


def test_trained_policy_skips_silence_and_runs_on_speech(trained):
    layer, untrained, history = trained
    assert len(TRAIN_CLIPS) >= 8 and history[-1] < 0.5 * history[0]
    x = clip_features(HELD_OUT)                                   # a held-out voice
    before, after = gate_report(untrained, x), gate_report(layer, x)
    assert before["skip_silence"] == 0 and before["skip_speech"] == 0
    assert after["skip_silence"] > 0.5 and after["skip_speech"] < 0.1
    assert after["mse"] < 0.3 * before["mse"]
    # the two layers start from identical weights: the difference is training
    torch.testing.assert_close(untrained.policy[-1].bias, torch.full((2,), 0.5))


def test_removing_the_skip_policy_costs_the_silence_skips(trained):
    layer = trained[0]
    x = clip_features(HELD_OUT)
    saved = layer.policy[-1].bias.detach().clone()
    with torch.no_grad():
        layer.policy[-1].bias.fill_(60.0)                         # policy forced open: nothing is skipped
        forced = gate_report(layer, x)
        layer.policy[-1].bias.copy_(saved)
    assert forced["skip_silence"] == 0 and gate_report(layer, x)["skip_silence"] > 0.5


def test_speech_gates_widget_recomputes(trained):
    from echo_edu.viz.myelinated import speech_gates_static, speech_gates_widget

    layer, untrained, _ = trained
    widget = speech_gates_widget({"held out": HELD_OUT, "train": TRAIN_CLIPS[0]},
                                 {"trained": layer, "untrained": untrained})
    trained_importance = widget.figure.data[2].z
    widget.controls["weights"].value = "untrained"
    assert "untrained" in widget.figure.layout.title.text and (widget.figure.data[2].z != trained_importance).any()
    heat = widget.figure.data[0].z
    widget.controls["noise"].value = "noise at 5 dB SNR"          # new features, new gates
    assert (widget.figure.data[0].z != heat).any() and "5 dB" in widget.figure.layout.title.text
    assert "image/png" in widget._repr_mimebundle_()
    speech_gates_static(gate_report(layer, clip_features(HELD_OUT)))
