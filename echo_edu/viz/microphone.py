"""Lesson 10's microphone: press record, speak, and see what Echo hears, where it listens and what it writes.

* :func:`microphone_model_dir` — which model listens: the default model's one rule,
  :func:`echo_edu.bundled.bundled_model_dir` (``assets/echo-an4``, else the ``fallback`` named), by
  lesson 10's name.
* :func:`decode_pcm` — the browser's binary buffer (int16 or float32 PCM) as a numpy array.
* :func:`analyse_recording` — the pure "samples → what the widget shows" step, testable without a
  browser: checks the recording (empty, too short, too long, NaN, silent raise :class:`RecordingError`),
  resamples it to 16 kHz with :func:`echo_edu.load_audio`, transcribes it and keeps the
  cross-attention alignment. :func:`recording_figures` / :func:`recording_static` draw the panels.
* :class:`MicrophoneWidget` (from :func:`microphone_widget`) — the recorder (an ``anywidget`` whose
  browser half is ``microphone.js``), the transcript and the figures; like every lesson widget it carries
  a static PNG (the last result) in its display bundle for viewers without a widget front end.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import anywidget
import ipywidgets as widgets
import numpy as np
import torch
import traitlets

from ..bundled import bundled_model_dir
from ..errors import AudioError, EchoError
from .widgets import figure_to_png
from .. import SAMPLE_RATE, Echo, load_audio
from ..decode import default_decoding
from ..speed_search import slowest
from ..transcribe import transcribe_detailed
from .audio import draw_waveform_logmel, waveform_logmel_figure
from .transcription import alignment_figure, cross_attention_alignment, draw_alignment

__all__ = ["RecordingError", "Recording", "microphone_model_dir", "decode_pcm", "analyse_recording",
           "recording_figures", "recording_static", "MicrophoneRecorder", "MicrophoneWidget",
           "microphone_widget"]

MAX_SECONDS = 30.0      # longer recordings are refused (the browser also stops by itself at this length)
MIN_SECONDS = 0.1
SILENCE_PEAK = 1e-3     # a peak below this (−60 dBFS) is a muted microphone, not speech
MIN_RATE, MAX_RATE = 4000, 384000
_DTYPES = {"int16": np.dtype("<i2"), "float32": np.dtype("<f4")}


class RecordingError(AudioError):
    """A recording the microphone widget cannot transcribe; the message says why and what to do."""


@dataclass
class Recording:
    """One analysed recording.

    Attributes:
        wave: ``(samples,)`` float32 at 16 kHz (what the model heard); rate: the browser's sample rate.
        seconds: the duration; text: the transcript; windows: how many encoder windows it took.
        alignment: the cross-attention of the first window (``viz.transcription.Alignment``).
    """

    wave: torch.Tensor
    rate: int
    seconds: float
    text: str
    windows: int
    alignment: object


#: Which model listens: the same function, and so the same rule, as the CLI's default model.
microphone_model_dir = bundled_model_dir


def decode_pcm(buffer, dtype: str = "int16") -> np.ndarray:
    """A little-endian PCM buffer (bytes, memoryview) as a 1-D numpy array of ``dtype`` (int16 or float32)."""
    if dtype not in _DTYPES:
        raise RecordingError(f"unknown sample format {dtype!r}; expected one of {sorted(_DTYPES)}")
    raw = bytes(buffer) if buffer is not None else b""
    size = _DTYPES[dtype].itemsize
    if len(raw) % size:
        raise RecordingError(f"a {dtype} recording must be a whole number of {size}-byte samples, "
                             f"got {len(raw)} bytes")
    return np.frombuffer(raw, dtype=_DTYPES[dtype]).copy()


def _check(samples: np.ndarray, rate) -> tuple[np.ndarray, int]:
    if not isinstance(rate, (int, float, np.integer, np.floating)) or not MIN_RATE <= rate <= MAX_RATE:
        raise RecordingError(f"the browser reported a sample rate of {rate!r} Hz; expected "
                             f"{MIN_RATE}–{MAX_RATE} Hz")
    rate = int(rate)
    if samples.ndim != 1:
        raise RecordingError(f"a recording is one channel of samples, got shape {samples.shape}")
    if samples.size == 0:
        raise RecordingError("the recording is empty: no sound arrived. Allow the microphone and "
                             "press record again")
    seconds = samples.size / rate
    if seconds < MIN_SECONDS:
        raise RecordingError(f"the recording is {seconds * 1000:.0f} ms long; speak for at least "
                             f"{MIN_SECONDS:.1f} s between record and stop")
    if seconds > MAX_SECONDS:
        raise RecordingError(f"the recording is {seconds:.1f} s long; the limit is {MAX_SECONDS:.0f} s. "
                             "Record a shorter clip")
    if np.issubdtype(samples.dtype, np.floating) and not np.isfinite(samples).all():
        raise RecordingError("the recording contains NaN or infinite samples (a broken audio driver?); "
                             "record again")
    return samples, rate


@torch.no_grad()
def analyse_recording(model, samples, sample_rate) -> Recording:
    """Check, resample (to 16 kHz), transcribe and align one recording.

    Args:
        model: an :class:`echo_edu.Echo`.
        samples: ``(n,)`` float in [-1, 1] or int16/int32 PCM (numpy array, tensor or list).
        sample_rate: the rate the samples were captured at.

    Raises:
        RecordingError: empty, shorter than 0.1 s, longer than 30 s, NaN/Inf, silent, or a bad rate.
    """

    array = samples.detach().cpu().numpy() if isinstance(samples, torch.Tensor) else np.asarray(samples)
    array, rate = _check(array, sample_rate)
    try:
        wave = load_audio(array, SAMPLE_RATE, orig_sr=rate)
    except AudioError as exc:
        raise RecordingError(f"the recording cannot be used: {exc}") from exc
    peak = float(wave.abs().max())
    if peak < SILENCE_PEAK:
        raise RecordingError(f"the recording is silent (peak {peak:.1e}): is the microphone muted or "
                             "another input selected?")
    options = default_decoding(model)                       # echo-an4: joint CTC/attention, speed search
    result = transcribe_detailed(model, wave, **options)[0]
    window = int(model.dims.n_audio_samples * slowest(options.get("speeds", (1.0,))))   # fits when slowed
    alignment = cross_attention_alignment(model, wave[:window], **options)
    return Recording(wave, rate, wave.numel() / SAMPLE_RATE, result.text, len(result.windows), alignment)


def _heading(recording: Recording) -> str:
    note = "" if recording.windows == 1 else f" (alignment: first of {recording.windows} windows)"
    return f"{recording.seconds:.1f} s recorded at {recording.rate} Hz{note}"


def recording_figures(recording: Recording) -> list:
    """Plotly: the waveform over the log-mel the model heard, and the cross-attention alignment."""

    return [waveform_logmel_figure(recording.wave, f"What Echo heard: {_heading(recording)}"),
            alignment_figure(recording.alignment)]


def recording_static(recording: Recording):
    """Matplotlib: waveform, log-mel and alignment in one figure (the static fallback)."""
    import matplotlib.pyplot as plt


    tokens = len(recording.alignment.tokens)
    fig, axes = plt.subplots(3, 1, figsize=(9, 6.5 + 0.12 * tokens),
                             height_ratios=[1, 2, max(2.0, 0.12 * tokens)])
    draw_waveform_logmel(axes[0], axes[1], recording.wave)
    draw_alignment(axes[2], recording.alignment)
    axes[0].set_title(f"Echo heard “{recording.text}” — {_heading(recording)}", fontsize=9)
    axes[2].set_title("cross-attention: where the decoder listened for each character", fontsize=9)
    fig.tight_layout()
    return fig


class MicrophoneRecorder(anywidget.AnyWidget):
    """The record / stop button, a live level view and a status line (the browser half: microphone.js)."""

    _esm = (Path(__file__).with_name("microphone.js")).read_text()
    _css = """
    .echo-mic { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
    .echo-mic-levels { border: 1px solid #ccc; background: #fafafa; height: 48px; width: 480px; }
    .echo-mic-status { font-family: monospace; font-size: 12px; }
    """
    status = traitlets.Unicode("press ● record, speak, then press ■ stop").tag(sync=True)
    max_seconds = traitlets.Float(MAX_SECONDS).tag(sync=True)


class MicrophoneWidget(widgets.VBox):
    """Recorder, transcript and figures; every recording sent by the browser is analysed and shown.

    Attributes:
        recorder: the :class:`MicrophoneRecorder`; transcript: an ``HTML`` line; output: the ``Output``
            the plotly ``figures`` (waveform + log-mel, alignment) are drawn into.
        result: the last :class:`Recording` shown (the example until something is recorded); error: the
            last problem's message (``None`` after a good recording).
    """

    def __init__(self, model, example=None, model_name: str | None = None):
        self.model, self.model_name = model, model_name
        self.recorder = MicrophoneRecorder()
        self.transcript = widgets.HTML()
        self.output = widgets.Output()
        self.result: Recording | None = None
        self.error: str | None = None
        self.figures: list = []
        super().__init__([self.recorder, self.transcript, self.output])
        self.recorder.on_msg(self._on_message)
        if example is not None:
            self.show(analyse_recording(model, load_audio(example), SAMPLE_RATE), "Example (a bundled clip)")

    def receive(self, content: dict, buffers) -> Recording | None:
        """Analyse one message from the browser and show the result or the reason it failed."""
        self.recorder.status = "transcribing…"
        try:
            samples = decode_pcm(buffers[0] if buffers else b"", str(content.get("dtype", "int16")))
            recording = analyse_recording(self.model, samples, content.get("sample_rate"))
        except EchoError as exc:
            return self._fail(str(exc))
        except Exception as exc:   # noqa: BLE001 — a widget callback must show a message, never a traceback
            return self._fail(f"could not transcribe ({type(exc).__name__}: {exc})")
        self.show(recording, "You said")
        self.recorder.status = "done: press ● record to try again"
        return recording

    def show(self, recording: Recording, label: str) -> None:
        """Show ``recording``'s transcript and figures."""
        from IPython.display import display

        self.result, self.error = recording, None
        text = html.escape(recording.text) if recording.text else "<i>(no words)</i>"
        about = _heading(recording) + (f" · model {self.model_name}" if self.model_name else "")
        self.transcript.value = (f'<div class="echo-mic-transcript">{html.escape(label)}: '
                                 f'<b style="font-size:1.3em">“{text}”</b> <small>({html.escape(about)})</small></div>')
        self.output.clear_output(wait=True)
        self.figures = recording_figures(recording)
        with self.output:
            for figure in self.figures:
                display(figure)

    def _fail(self, message: str) -> None:  # returns None so receive() can `return self._fail(...)`
        self.error = message
        self.recorder.status = message
        self.transcript.value = (f'<div class="echo-mic-transcript echo-mic-error" style="color:#b00">'
                                 f'⚠ {html.escape(message)}</div>')
        return None

    def _on_message(self, _widget, content, buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "recording":
            self.receive(content, buffers)

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if self.result is not None and isinstance(bundle, dict):
            bundle["image/png"] = figure_to_png(recording_static(self.result))
        return bundle


def microphone_widget(model=None, example=None, model_name: str | None = None) -> MicrophoneWidget:
    """The microphone widget; ``model`` defaults to the one :func:`microphone_model_dir` picks.

    Args:
        example: audio shown before the first recording (any :func:`echo_edu.load_audio` input).
        model_name: named after each transcript (default: the folder's name when the model is loaded here).
    """
    if model is None:
        folder = microphone_model_dir()
        model, model_name = Echo.from_pretrained(folder), model_name or folder.name
    return MicrophoneWidget(model, example, model_name)
