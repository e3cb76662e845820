"""Views for lesson 04: from a waveform to the log-mel picture Echo hears, and a corpus browser.

* ``feature_pipeline(wave)`` — every stage as tensors: waveform, power STFT, mel filterbank,
  mel power, log-mel. ``feature_pipeline_figure / _static / _widget`` draw the four pictures
  (choose the clip, the number of mel bands and the FFT size).
* ``mel_filterbank_figure / _static`` — the triangular Slaney filters over frequency.
* ``compare_clips_static`` — several clips' log-mels side by side (voices, engines).
* ``corpus_browser_figure / _static / _widget`` — pick a voice and a clip of a corpus split (or the
  bundled samples): waveform, log-mel, transcript, and a player to hear it.
* ``waveform_logmel_figure / draw_waveform_logmel`` — any clip's waveform over its log-mel (plotly /
  matplotlib axes), shared by the corpus browser and lesson 10's microphone.
* ``audio_player(wave)`` — an inline player (``IPython.display.Audio``).
"""

from __future__ import annotations

import numpy as np
import torch

from ..audio import HOP_LENGTH, N_FFT, SAMPLE_RATE, log_mel_spectrogram, mel_filters
from ..data import load_samples
from .widgets import interactive_figure

__all__ = ["feature_pipeline", "feature_pipeline_figure", "feature_pipeline_static",
           "feature_pipeline_widget", "mel_filterbank_figure", "mel_filterbank_static",
           "compare_clips_static", "corpus_browser_figure", "corpus_browser_static",
           "corpus_browser_widget", "audio_player", "sample_clip", "waveform_logmel_figure",
           "draw_waveform_logmel"]


def sample_clip(index: int = 0) -> tuple[torch.Tensor, str]:
    """``(wave (samples,), label)`` of bundled sample ``index`` (see ``echo_edu.data.load_samples``)."""
    samples = load_samples()
    row = samples[index % len(samples)]
    return torch.tensor(row["audio"]["array"]), f"{row['voice']}: \"{row['text']}\""


def audio_player(wave, sr: int = SAMPLE_RATE):
    """An inline audio player for ``wave`` ``(samples,)`` (no autoplay)."""
    from IPython.display import Audio

    array = wave.detach().cpu().numpy() if isinstance(wave, torch.Tensor) else np.asarray(wave)
    return Audio(array, rate=sr, normalize=False)


def feature_pipeline(wave: torch.Tensor, mels: int = 80, n_fft: int = N_FFT,
                     hop_length: int = HOP_LENGTH, sr: int = SAMPLE_RATE) -> dict:
    """Every stage of the front end for one clip ``(samples,)``.

    Returns:
        ``wave (samples,)``; ``power (n_fft//2+1, frames)`` |STFT|²; ``filters (mels, n_fft//2+1)``;
        ``mel (mels, frames)`` filtered power; ``log_mel (mels, frames)`` the final features;
        ``freqs (n_fft//2+1,)`` Hz; ``times (frames,)`` seconds.
    """
    window = torch.hann_window(n_fft, device=wave.device)
    stft = torch.stft(wave, n_fft, hop_length, window=window, return_complex=True)
    power = stft.abs().pow(2)[:, :-1]                               # (freqs, frames), last frame dropped
    filters = mel_filters(mels, n_fft, sr).to(wave.device)          # (mels, freqs)
    mel = filters @ power                                           # (mels, frames)
    return {"wave": wave, "power": power, "filters": filters, "mel": mel,
            "log_mel": log_mel_spectrogram(wave, mels, hop_length, n_fft, sr),
            "freqs": torch.arange(n_fft // 2 + 1) * sr / n_fft,            # (freqs,) Hz
            "times": torch.arange(power.shape[1]) * hop_length / sr}        # (frames,) seconds


def _db(power: torch.Tensor) -> np.ndarray:
    return (10 * power.clamp_min(1e-10).log10()).cpu().numpy()


def feature_pipeline_figure(clip: int = 0, mels: int = 80, n_fft: int = N_FFT):
    """Plotly: waveform, power spectrogram (dB), mel filterbank, log-mel of bundled sample ``clip``."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    wave, label = sample_clip(clip)
    p = {k: v.cpu().numpy() for k, v in feature_pipeline(wave, mels, n_fft).items()}
    t = np.arange(wave.numel()) / SAMPLE_RATE
    fig = make_subplots(rows=2, cols=2, subplot_titles=(
        "1. waveform", f"2. power spectrogram (n_fft={n_fft}), dB", f"3. {mels} mel filters",
        "4. log-mel features (what Echo hears)"), vertical_spacing=0.14)
    fig.add_trace(go.Scatter(x=t[::4], y=wave.numpy()[::4], mode="lines", line=dict(width=1),
                             showlegend=False), 1, 1)
    fig.add_trace(go.Heatmap(z=10 * np.log10(np.maximum(p["power"], 1e-10)), x=p["times"], y=p["freqs"],
                             colorscale="Magma",
                             showscale=False), 1, 2)
    for row in p["filters"][:: max(1, mels // 20)]:
        fig.add_trace(go.Scatter(x=p["freqs"], y=row, mode="lines", line=dict(width=1),
                                 showlegend=False), 2, 1)
    fig.add_trace(go.Heatmap(z=p["log_mel"], x=p["times"], colorscale="Viridis",
                             colorbar=dict(len=0.45, y=0.22)), 2, 2)
    fig.update_xaxes(title_text="seconds", row=1, col=1)
    fig.update_xaxes(title_text="seconds", row=1, col=2)
    fig.update_yaxes(title_text="Hz", row=1, col=2)
    fig.update_xaxes(title_text="Hz", row=2, col=1)
    fig.update_xaxes(title_text="seconds", row=2, col=2)
    fig.update_yaxes(title_text="mel band", row=2, col=2)
    fig.update_layout(height=620, title=label, margin=dict(t=80))
    return fig


def feature_pipeline_static(clip: int = 0, mels: int = 80, n_fft: int = N_FFT):
    """Matplotlib twin of :func:`feature_pipeline_figure`."""
    import matplotlib.pyplot as plt

    wave, label = sample_clip(clip)
    p = feature_pipeline(wave, mels, n_fft)
    fig, ax = plt.subplots(2, 2, figsize=(11, 6.5))
    dur = wave.numel() / SAMPLE_RATE
    ax[0, 0].plot(np.arange(wave.numel()) / SAMPLE_RATE, wave.numpy(), lw=0.5)
    ax[0, 0].set(title="1. waveform", xlabel="seconds")
    ax[0, 1].imshow(_db(p["power"]), origin="lower", aspect="auto", cmap="magma",
                    extent=(0, dur, 0, SAMPLE_RATE / 2))
    ax[0, 1].set(title=f"2. power spectrogram (n_fft={n_fft}), dB", xlabel="seconds", ylabel="Hz")
    ax[1, 0].plot(p["freqs"].numpy(), p["filters"].numpy()[:: max(1, mels // 20)].T, lw=0.8)
    ax[1, 0].set(title=f"3. {mels} mel filters (every {max(1, mels // 20)}th)", xlabel="Hz")
    im = ax[1, 1].imshow(p["log_mel"].numpy(), origin="lower", aspect="auto", cmap="viridis",
                         extent=(0, dur, 0, mels))
    ax[1, 1].set(title="4. log-mel features", xlabel="seconds", ylabel="mel band")
    fig.colorbar(im, ax=ax[1, 1])
    fig.suptitle(label)
    fig.tight_layout()
    return fig


def feature_pipeline_widget(clip: int = 0, mels: int = 80, n_fft: int = N_FFT):
    """Choose a bundled clip, the number of mel bands and the FFT size; see all four stages."""
    import ipywidgets as w

    samples = load_samples()
    options = [(f"{i}: {t[:40]}", i) for i, t in enumerate(samples["text"])]
    controls = {
        "clip": w.Dropdown(options=options, value=clip, description="clip"),
        "mels": w.IntSlider(value=mels, min=16, max=128, step=8, description="mel bands"),
        "n_fft": w.Dropdown(options=[200, 400, 800, 1600], value=n_fft, description="n_fft"),
    }
    return interactive_figure(controls, feature_pipeline_figure, feature_pipeline_static)


def mel_filterbank_figure(mels: int = 80):
    """Plotly: each Slaney mel filter's weight over frequency — narrow low, wide high."""
    import plotly.graph_objects as go

    filters = mel_filters(mels).numpy()
    freqs = np.arange(filters.shape[1]) * SAMPLE_RATE / N_FFT
    fig = go.Figure([go.Scatter(x=freqs, y=row, mode="lines", name=f"band {i}", line=dict(width=1))
                     for i, row in enumerate(filters)])
    fig.update_layout(title=f"{mels} Slaney mel filters (area-normalised)", xaxis_title="Hz",
                      yaxis_title="weight", showlegend=False, height=320)
    return fig


def mel_filterbank_static(mels: int = 80):
    """Matplotlib twin of :func:`mel_filterbank_figure`."""
    import matplotlib.pyplot as plt

    filters = mel_filters(mels).numpy()
    freqs = np.arange(filters.shape[1]) * SAMPLE_RATE / N_FFT
    fig, ax = plt.subplots(figsize=(9, 3))
    ax.plot(freqs, filters.T, lw=0.7)
    ax.set(title=f"{mels} Slaney mel filters (area-normalised)", xlabel="Hz", ylabel="weight")
    fig.tight_layout()
    return fig


def compare_clips_static(clips, labels, mels: int = 80):
    """Log-mels of several clips ``[(samples,), ...]`` in one row, on one colour scale."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(clips), figsize=(3.4 * len(clips), 2.8), squeeze=False)
    for ax, wave, label in zip(axes[0], clips, labels):
        wave = torch.tensor(np.asarray(wave, dtype=np.float32))   # a copy: dataset arrays are read-only
        ax.imshow(log_mel_spectrogram(wave, mels).numpy(), origin="lower", aspect="auto",
                  cmap="viridis", vmin=-1.5, vmax=1.5, extent=(0, wave.numel() / SAMPLE_RATE, 0, mels))
        ax.set_title(label, fontsize=8)
        ax.set_xlabel("seconds")
    axes[0, 0].set_ylabel("mel band")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- corpus browser

def _rows(dataset, voice: str) -> list[int]:
    voices = list(dataset["voice"])
    return [i for i, v in enumerate(voices) if voice in ("any", v)]


def _browse(dataset, voice: str, clip: int) -> tuple[np.ndarray, dict]:
    rows = _rows(dataset, voice)
    row = dataset[rows[min(clip, len(rows) - 1)]]
    return np.asarray(row["audio"]["array"], dtype=np.float32), row


def _wave_and_logmel(wave, mels: int, sr: int) -> tuple[np.ndarray, np.ndarray]:
    wave = np.asarray(wave.detach().cpu() if isinstance(wave, torch.Tensor) else wave, dtype=np.float32)
    return wave, log_mel_spectrogram(torch.from_numpy(wave.copy()), mels, sr=sr).numpy()


def waveform_logmel_figure(wave, title: str = "", mels: int = 80, sr: int = SAMPLE_RATE):
    """Plotly: a clip's waveform above its log-mel (what Echo hears); ``wave`` is ``(samples,)`` at ``sr``."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    wave, feats = _wave_and_logmel(wave, mels, sr)
    t = np.arange(len(wave)) / sr
    fig = make_subplots(rows=2, cols=1, row_heights=[0.3, 0.7], vertical_spacing=0.08)
    fig.add_trace(go.Scatter(x=t[::4], y=wave[::4], mode="lines", line=dict(width=1), showlegend=False), 1, 1)
    fig.add_trace(go.Heatmap(z=feats, x=np.arange(feats.shape[1]) * HOP_LENGTH / sr,
                             colorscale="Viridis", zmin=-1.5, zmax=1.5), 2, 1)
    fig.update_layout(height=430, title=title)
    fig.update_xaxes(title_text="seconds", row=2, col=1)
    fig.update_yaxes(title_text="mel band", row=2, col=1)
    return fig


def draw_waveform_logmel(wave_ax, mel_ax, wave, mels: int = 80, sr: int = SAMPLE_RATE) -> None:
    """Matplotlib: draw a clip's waveform on ``wave_ax`` and its log-mel on ``mel_ax``."""
    wave, feats = _wave_and_logmel(wave, mels, sr)
    dur = len(wave) / sr
    wave_ax.plot(np.arange(len(wave)) / sr, wave, lw=0.5)
    mel_ax.imshow(feats, origin="lower", aspect="auto", cmap="viridis", vmin=-1.5, vmax=1.5,
                  extent=(0, dur, 0, mels))
    mel_ax.set(xlabel="seconds", ylabel="mel band")


def _browser_title(row, wave) -> str:
    return f"\"{row['text']}\" — {row['voice']} ({row['engine']}, {len(wave) / SAMPLE_RATE:.2f} s)"


def corpus_browser_figure(dataset, voice: str = "any", clip: int = 0, mels: int = 80):
    """Plotly: waveform and log-mel of clip ``clip`` among ``dataset``'s clips by ``voice``."""
    wave, row = _browse(dataset, voice, clip)
    return waveform_logmel_figure(wave, _browser_title(row, wave), mels)


def corpus_browser_static(dataset, voice: str = "any", clip: int = 0, mels: int = 80):
    """Matplotlib twin of :func:`corpus_browser_figure`."""
    import matplotlib.pyplot as plt

    wave, row = _browse(dataset, voice, clip)
    fig, (a, b) = plt.subplots(2, 1, figsize=(9, 4.5), height_ratios=[1, 2.3], sharex=True)
    draw_waveform_logmel(a, b, wave, mels)
    a.set_title(_browser_title(row, wave), fontsize=9)
    fig.tight_layout()
    return fig


def corpus_browser_widget(dataset, voice: str = "any", clip: int = 0):
    """Browse a corpus split (or ``load_samples()``): choose a voice and a clip, see and hear it.

    Args:
        dataset: a ``datasets.Dataset`` with ``audio``, ``text``, ``voice``, ``engine`` columns.
    """
    import ipywidgets as w
    from IPython.display import display

    voices = ["any"] + sorted(set(dataset["voice"]))
    voice_box = w.Dropdown(options=voices, value=voice, description="voice")
    clip_box = w.IntSlider(value=clip, min=0, max=max(0, len(_rows(dataset, voice)) - 1), description="clip")

    def on_voice(change):
        clip_box.max = max(0, len(_rows(dataset, change["new"])) - 1)
    voice_box.observe(on_voice, names="value")   # registered first: the clip range updates before redraw

    view = interactive_figure({"voice": voice_box, "clip": clip_box},
                              lambda voice, clip: corpus_browser_figure(dataset, voice, clip),
                              lambda voice, clip: corpus_browser_static(dataset, voice, clip))
    player = w.Output()

    def play(_change=None):
        wave, _ = _browse(dataset, voice_box.value, clip_box.value)
        player.clear_output(wait=True)
        with player:
            display(audio_player(wave))
    for control in (voice_box, clip_box):
        control.observe(play, names="value")
    play()
    view.children = tuple(view.children) + (player,)
    view.player = player
    return view
