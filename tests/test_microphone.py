"""Lesson 10's microphone widget without a browser: model choice, PCM decoding, the samples → figures + text
step, the messages for bad recordings, and the widget's handling of what the browser sends.

The browser half (getUserMedia, the AudioWorklet, the buffer it sends) is driven in a real Chromium with a
fake microphone by ``test_browser_notebooks_late.py`` (lesson 10).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from echo_edu import Echo, load_audio
from echo_edu.bundled import ASSETS_DIR, bundled_model_dir, holds_model
from echo_edu.errors import AudioError
from echo_edu.viz.microphone import (MAX_SECONDS, MicrophoneRecorder, MicrophoneWidget, RecordingError,
                                     analyse_recording, decode_pcm, microphone_model_dir, microphone_widget,
                                     recording_figures, recording_static)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "assets" / "samples"
CLIP = "digits_heldout_espeak_2.flac"        # a held-out voice the bundled model transcribes exactly


def _reference(name: str) -> str:
    return next(r["text"] for r in json.loads((SAMPLES / "manifest.json").read_text()) if r["file"] == name)


@pytest.fixture(scope="module")
def model():
    return Echo.from_pretrained(ROOT / "assets" / "echo-digits")


@pytest.fixture(scope="module")
def clip_48k():
    """The clip as a browser would capture it: 48 kHz int16 PCM."""
    wave = load_audio(SAMPLES / CLIP, 48000)
    return np.round(wave.numpy() * 32767).astype(np.int16)


# ------------------------------------------------------------------ which model listens

def test_the_microphone_asks_the_one_default_model_rule():
    assert microphone_model_dir is bundled_model_dir          # one function: the CLI's rule, not a second one


def test_model_dir_in_this_checkout_is_a_loadable_model():
    folder = microphone_model_dir()
    assert folder == ASSETS_DIR / "echo-an4" and holds_model(folder)


# ------------------------------------------------------------------ PCM from the browser

def test_decode_pcm_round_trips_int16_and_float32():
    ints = np.array([0, 1, -1, 32767, -32768], dtype="<i2")
    assert decode_pcm(memoryview(ints.tobytes()), "int16").tolist() == ints.tolist()
    floats = np.array([0.0, 0.5, -0.25], dtype="<f4")
    np.testing.assert_array_equal(decode_pcm(floats.tobytes(), "float32"), floats)
    assert decode_pcm(b"", "int16").size == 0


def test_decode_pcm_rejects_bad_buffers():
    with pytest.raises(RecordingError, match="whole number of 2-byte samples"):
        decode_pcm(b"\x00\x01\x02", "int16")
    with pytest.raises(RecordingError, match="unknown sample format 'int8'"):
        decode_pcm(b"\x00", "int8")


# ------------------------------------------------------------------ samples -> figures + text

def test_analyse_recording_resamples_and_transcribes(model, clip_48k):
    recording = analyse_recording(model, clip_48k, 48000)
    assert recording.text == _reference(CLIP)
    assert recording.rate == 48000 and recording.windows == 1
    assert recording.wave.shape[0] == pytest.approx(len(clip_48k) / 3, abs=2)     # now 16 kHz
    assert recording.seconds == pytest.approx(len(clip_48k) / 48000, abs=1e-3)
    assert recording.alignment.text == recording.text
    assert len(recording.alignment.tokens) == len(recording.text) + 1               # characters + end
    waveform_logmel, alignment = recording_figures(recording)
    assert [t.type for t in waveform_logmel.data] == ["scatter", "heatmap"]
    assert waveform_logmel.data[1].z.shape[0] == 80                                  # mel bands
    assert alignment.data[0].type == "heatmap" and recording.text in alignment.layout.title.text
    fig = recording_static(recording)
    assert len(fig.axes) == 3 and recording.text in fig.axes[0].get_title()


def test_long_recording_is_windowed_and_aligned_on_its_first_window(model):
    wave = load_audio(SAMPLES / CLIP).numpy()
    long = np.concatenate([wave, np.zeros(8000, np.float32), wave, np.zeros(8000, np.float32), wave])
    recording = analyse_recording(model, long, 16000)
    assert recording.windows > 1
    assert recording.alignment.weights.shape[-1] == model.dims.audio_ctx
    assert "first of" in recording_figures(recording)[0].layout.title.text


@pytest.mark.parametrize("samples, rate, message", [
    (np.zeros(0, np.float32), 48000, "the recording is empty"),
    (np.full(100, 0.1, np.float32), 48000, "speak for at least"),
    (np.zeros(int(48000 * (MAX_SECONDS + 1)), np.int16), 48000, "the limit is 30 s"),
    (np.array([0.1, np.nan] * 8000, np.float32), 16000, "NaN or infinite"),
    (np.zeros(16000, np.int16), 16000, "silent"),
    (np.full(16000, 7.0, np.float32), 16000, "cannot be used: .*expected \\[-1, 1\\]"),
    (np.zeros((2, 16000), np.float32), 16000, "one channel"),
    (np.full(16000, 0.1, np.float32), 0, "sample rate of 0 Hz"),
    (np.full(16000, 0.1, np.float32), None, "sample rate of None"),
])
def test_bad_recordings_raise_a_clear_error(model, samples, rate, message):
    with pytest.raises(RecordingError, match=message) as info:
        analyse_recording(model, samples, rate)
    assert isinstance(info.value, AudioError)


# ------------------------------------------------------------------ the widget, without a browser

def test_widget_shows_example_then_a_recording(model, clip_48k):
    widget = MicrophoneWidget(model, example=SAMPLES / "digits_train_espeak_0.flac")
    assert "Example" in widget.transcript.value and _reference("digits_train_espeak_0.flac") in widget.transcript.value
    result = widget.receive({"type": "recording", "sample_rate": 48000, "dtype": "int16"},
                            [memoryview(clip_48k.tobytes())])
    assert result is widget.result and widget.error is None
    assert "You said" in widget.transcript.value and _reference(CLIP) in widget.transcript.value
    assert [len(f.data) for f in widget.figures] == [2, 1]         # waveform + log-mel, alignment
    assert _reference(CLIP) in widget.figures[1].layout.title.text
    assert widget.recorder.status.startswith("done")
    bundle = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["image/png"].startswith(b"\x89PNG")


def test_widget_reports_problems_instead_of_raising(model):
    widget = MicrophoneWidget(model)
    assert widget.result is None and "image/png" not in widget._repr_mimebundle_()
    assert widget.receive({"type": "recording", "sample_rate": 48000, "dtype": "int16"}, []) is None
    assert "⚠" in widget.transcript.value and "empty" in widget.transcript.value
    assert widget.recorder.status == widget.error
    nan = np.full(8000, np.nan, np.float32)
    widget.receive({"sample_rate": 16000, "dtype": "float32"}, [nan.tobytes()])
    assert "NaN" in widget.error
    broken = MicrophoneWidget(object())                           # a "model" that cannot transcribe
    broken.receive({"sample_rate": 16000, "dtype": "float32"}, [np.full(8000, 0.1, np.float32).tobytes()])
    assert broken.error.startswith("could not transcribe (AttributeError")


def test_widget_default_model_and_browser_half():
    widget = microphone_widget(example=SAMPLES / CLIP)
    assert isinstance(widget.model, Echo) and isinstance(widget.recorder, MicrophoneRecorder)
    assert f"model {microphone_model_dir().name}" in widget.transcript.value
    esm = widget.recorder._esm
    assert "getUserMedia" in esm and "model.send(" in esm and "export default" in esm
    assert widget.recorder.max_seconds == MAX_SECONDS
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "*.js" in package_data["echo_edu.viz"]                  # microphone.js ships in the wheel

