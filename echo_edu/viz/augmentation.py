"""Views for lesson 11: what each augmentation does to a spectrogram, and what normalisation undoes.

* ``augmentation_figure / _static / _widget`` — log-mel before and after one augmentation (choose it and
  its strength in [0, 1]); colours share one scale, so "quieter" looks darker.
* ``augmentation_gallery_static`` — every augmentation at once, a grid of small spectrograms.
* ``normalisation_static`` — a clip and a 10×-quieter copy, raw and after per-utterance normalisation.
* ``long_term_spectra_static`` — each clip's average log-mel over time, coloured by engine: a fingerprint;
  ``engine_separation`` puts a number on it (distance between the engines' averages vs spread within).
* ``demo_clip`` — a bundled sample clip when ``assets/samples/`` exists, else a synthetic vowel sequence.
"""

from __future__ import annotations

import math

import torch

from ..audio import SAMPLE_RATE, log_mel_spectrogram, normalize_features
from ..augmentation import AUGMENTATIONS, apply_augmentation, spec_augment
from ..data import load_samples
from ..errors import ShapeError
from .widgets import interactive_figure

__all__ = ["demo_clip", "synthetic_vowels", "augmentation_example", "augmentation_figure", "augmentation_static",
           "augmentation_widget", "augmentation_gallery_static", "normalisation_static", "long_term_spectra",
           "long_term_spectra_static", "engine_separation"]


def synthetic_vowels(seconds: float = 1.5, sr: int = SAMPLE_RATE, f0: float = 120.0) -> torch.Tensor:
    """A speech-like test signal ``(samples,)``: a glottal pulse train at ``f0`` through three vowels'
    formants (/a/, /i/, /u/), one per syllable, with a syllable-rate loudness envelope."""
    import torchaudio.functional as AF

    n = int(seconds * sr)
    t = torch.arange(n) / sr
    pulses = (torch.frac(t * f0) < f0 / sr).float()                                 # one click per period
    vowels = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240))
    third = n // 3
    parts = []
    for k, formants in enumerate(vowels):
        seg = pulses[k * third:(k + 1) * third if k < 2 else n]
        parts.append(sum(AF.bandpass_biquad(seg, sr, float(f), Q=8.0) / (i + 1) for i, f in enumerate(formants)))
    wave = torch.cat(parts) * torch.sin(math.pi * 3 * t / seconds).abs()            # 3 syllables
    return 0.5 * wave / wave.abs().max()


def demo_clip(index: int = 0) -> tuple[torch.Tensor, str]:
    """``(wave (samples,), description)``: bundled sample ``index`` if the sample set exists, else
    :func:`synthetic_vowels`."""
    try:
        samples = load_samples()
        row = samples[index % len(samples)]
        wave = torch.tensor(row["audio"]["array"], dtype=torch.float32)  # a copy: the array is read-only
        return wave, f"bundled sample: {row['engine']} voice {row['voice']!r} saying {row['text']!r}"
    except Exception as error:  # no sample set (or no datasets): fall back, and say why
        return synthetic_vowels(), f"synthetic vowels /a i u/ (no bundled samples: {type(error).__name__})"


def augmentation_example(augmentation: str = "reverb", strength: float = 0.5, wave: torch.Tensor | None = None,
                         sr: int = SAMPLE_RATE, seed: int = 0, mels: int = 80) -> dict:
    """Apply one augmentation to ``wave`` (default :func:`demo_clip`) and compute both log-mels.

    Returns:
        ``{"before", "after"}`` waves ``(samples,)``, ``{"mel_before", "mel_after"}`` ``(mels, frames)``,
        ``"description"`` (what the effect does at strength 1).
    """
    wave = demo_clip()[0] if wave is None else wave
    generator = torch.Generator().manual_seed(seed)
    mel_before = log_mel_spectrogram(wave, mels, sr=sr)
    if augmentation == "specaugment":
        after = wave
        mel_after = spec_augment(mel_before, generator, freq_width=(round(27 * strength),) * 2,
                                 time_width=(round(60 * strength),) * 2, time_max_fraction=1.0)
    else:
        after = apply_augmentation(augmentation, wave, sr, strength, generator)
        mel_after = log_mel_spectrogram(after, mels, sr=sr)
    return {"before": wave, "after": after, "mel_before": mel_before, "mel_after": mel_after,
            "description": AUGMENTATIONS[augmentation]}


def _limits(ex: dict) -> tuple[float, float]:
    both = torch.cat([ex["mel_before"].flatten(), ex["mel_after"].flatten()])
    return float(both.min()), float(both.max())


def augmentation_figure(augmentation: str = "reverb", strength: float = 0.5, wave: torch.Tensor | None = None,
                        sr: int = SAMPLE_RATE, seed: int = 0, example: dict | None = None):
    """Plotly: log-mel before (left) and after (right) ``augmentation`` at ``strength``
    (``example``: a precomputed :func:`augmentation_example`)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    ex = example or augmentation_example(augmentation, strength, wave, sr, seed)
    lo, hi = _limits(ex)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("before", f"after: {augmentation} × {strength:.2f}"))
    for col, key in ((1, "mel_before"), (2, "mel_after")):
        fig.add_trace(go.Heatmap(z=ex[key].numpy(), zmin=lo, zmax=hi, colorscale="Magma", showscale=col == 2),
                      row=1, col=col)
        fig.update_xaxes(title_text="frame (10 ms)", row=1, col=col)
    fig.update_yaxes(title_text="mel bin", row=1, col=1)
    fig.update_layout(title=ex["description"], height=360, margin=dict(t=70, l=50, r=20, b=40))
    return fig


def augmentation_static(augmentation: str = "reverb", strength: float = 0.5, wave: torch.Tensor | None = None,
                        sr: int = SAMPLE_RATE, seed: int = 0, example: dict | None = None):
    """Matplotlib twin of :func:`augmentation_figure`."""
    import matplotlib.pyplot as plt

    ex = example or augmentation_example(augmentation, strength, wave, sr, seed)
    lo, hi = _limits(ex)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
    for ax, key, title in ((axes[0], "mel_before", "before"),
                           (axes[1], "mel_after", f"after: {augmentation} × {strength:.2f}")):
        ax.imshow(ex[key].numpy(), origin="lower", aspect="auto", cmap="magma", vmin=lo, vmax=hi)
        ax.set_title(title)
        ax.set_xlabel("frame (10 ms)")
    axes[0].set_ylabel("mel bin")
    fig.suptitle(ex["description"])
    fig.tight_layout()
    return fig


def augmentation_widget(wave: torch.Tensor | None = None, sr: int = SAMPLE_RATE, augmentation: str = "reverb",
                        strength: float = 0.5):
    """Choose an augmentation and its strength; see the spectrogram change."""
    import ipywidgets as widgets

    wave = demo_clip()[0] if wave is None else wave
    controls = {
        "augmentation": widgets.Dropdown(options=list(AUGMENTATIONS), value=augmentation, description="effect"),
        "strength": widgets.FloatSlider(value=strength, min=0.0, max=1.0, step=0.05, description="strength"),
    }
    cache: dict[tuple, dict] = {}   # the plotly view and its PNG twin share one computation per setting

    def example(augmentation: str, strength: float) -> dict:
        key = (augmentation, round(float(strength), 4))
        if key not in cache:
            cache.clear()
            cache[key] = augmentation_example(augmentation, strength, wave, sr)
        return cache[key]

    return interactive_figure(controls, lambda **v: augmentation_figure(**v, example=example(**v)),
                              lambda **v: augmentation_static(**v, example=example(**v)))


def augmentation_gallery_static(wave: torch.Tensor | None = None, sr: int = SAMPLE_RATE, strength: float = 0.7,
                                names=None, seed: int = 0):
    """Matplotlib grid: the clean log-mel, then each augmentation of :data:`AUGMENTATIONS` at ``strength``."""
    import matplotlib.pyplot as plt

    wave = demo_clip()[0] if wave is None else wave
    names = list(names or AUGMENTATIONS)
    examples = [augmentation_example(n, strength, wave, sr, seed) for n in names]
    panels = [("clean", examples[0]["mel_before"])] + [(n, e["mel_after"]) for n, e in zip(names, examples)]
    lo, hi = float(panels[0][1].min()), float(panels[0][1].max())
    cols = 4
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.2 * rows), squeeze=False)
    for ax, (title, mel) in zip(axes.flat, panels):
        ax.imshow(mel.numpy(), origin="lower", aspect="auto", cmap="magma", vmin=lo, vmax=hi)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([]), ax.set_yticks([])
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(f"every augmentation at strength {strength}", y=1.0)
    fig.tight_layout()
    return fig


def normalisation_static(wave: torch.Tensor | None = None, sr: int = SAMPLE_RATE, quieter: float = 10.0):
    """Matplotlib 2×2: raw log-mel of ``wave`` and of a ``quieter``× quieter copy (top, shared colours),
    and both after :func:`echo_edu.audio.normalize_features` (bottom): the bottom pair match."""
    import matplotlib.pyplot as plt

    wave = demo_clip()[0] if wave is None else wave
    raw = [log_mel_spectrogram(wave, sr=sr), log_mel_spectrogram(wave / quieter, sr=sr)]
    norm = [normalize_features(m) for m in raw]
    fig, axes = plt.subplots(2, 2, figsize=(10, 5), sharex=True, sharey=True)
    for r, (mels, label) in enumerate(((raw, "raw log-mel"), (norm, "normalised (per-bin CMVN)"))):
        lo, hi = float(torch.stack(mels).min()), float(torch.stack(mels).max())
        for c, name in enumerate(("original", f"{quieter:g}× quieter")):
            axes[r, c].imshow(mels[c].numpy(), origin="lower", aspect="auto", cmap="magma", vmin=lo, vmax=hi)
            axes[r, c].set_title(f"{label}: {name}", fontsize=10)
    fig.tight_layout()
    return fig


def long_term_spectra(waves, sr: int = SAMPLE_RATE) -> torch.Tensor:
    """Each clip's long-term average spectrum: its log-mel averaged over time, minus its overall mean
    (so loudness drops out and only the *shape* is left). ``[(samples,)] * N -> (N, mels)``."""
    rows = [log_mel_spectrogram(w, sr=sr).mean(dim=-1) for w in waves]          # (mels,) each
    spectra = torch.stack(rows)                                                # (N, mels)
    return spectra - spectra.mean(dim=-1, keepdim=True)


def engine_separation(spectra: torch.Tensor, labels) -> tuple[float, float]:
    """``(between, within)`` for ``spectra`` ``(N, mels)`` (e.g. :func:`long_term_spectra`) labelled by engine.

    ``between`` is the distance between the average spectra of the first and last label (sorted);
    ``within`` the mean distance of a clip from its own label's average. Two separate families of curves
    have ``between`` several times ``within``; overlapping ones a ratio near 1 or below.
    """
    labels = list(labels)
    if spectra.ndim != 2 or spectra.shape[0] != len(labels) or len(set(labels)) < 2:
        raise ShapeError(f"engine_separation needs (N, mels) spectra and N labels of at least two kinds, got "
                         f"{tuple(spectra.shape)} and {len(labels)} labels of {len(set(labels))} kinds")
    names = sorted(set(labels))
    centroids = {e: spectra[[i for i, x in enumerate(labels) if x == e]].mean(0) for e in names}   # (mels,) each
    within = sum(float((spectra[i] - centroids[e]).norm()) for i, e in enumerate(labels)) / len(labels)
    return float((centroids[names[0]] - centroids[names[-1]]).norm()), within


def long_term_spectra_static(waves, labels, sr: int = SAMPLE_RATE):
    """Matplotlib: :func:`long_term_spectra` of each clip, one colour per label (e.g. per engine)."""
    import matplotlib.pyplot as plt

    spectra = long_term_spectra(waves, sr)
    colours = {label: f"C{i}" for i, label in enumerate(dict.fromkeys(labels))}
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for row, label in zip(spectra, labels):
        ax.plot(row.numpy(), color=colours[label], alpha=0.6, label=label)
    handles = {h.get_label(): h for h in ax.get_lines()}
    ax.legend(handles.values(), handles.keys())
    ax.set_xlabel("mel bin (low → high frequency)")
    ax.set_ylabel("average log-mel − clip mean")
    ax.set_title("long-term average spectrum of each clip")
    fig.tight_layout()
    return fig
