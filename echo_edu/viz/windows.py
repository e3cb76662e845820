"""Where attention windows fall and how big they are, next to the attention maps they produce.

* Adaptive span (:class:`echo_edu.attention.AdaptiveSpanAttention`, ``info`` from ``need_weights=True``):
  :func:`span_figure` / :func:`span_static` / :func:`span_widget` — each head's span, the soft ramp mask of
  one head and that head's attention map.
* Adaptive focus window (:class:`echo_edu.attention.AdaptiveFocusAttention`):
  :func:`focus_figure` / :func:`focus_static` / :func:`focus_widget` — the input features (e.g. a
  log-mel spectrogram, frames × channels) with one query frame's window shaded, above the attention map
  with the band's edges drawn; :func:`window_choice_figure` / :func:`window_choice_static` — each
  example's activity against the thresholds, coloured by the window it got.
"""

from __future__ import annotations

from typing import Sequence

import math

import torch

from ..audio import SAMPLE_RATE
from ..errors import ShapeError
from .widgets import interactive_figure

__all__ = ["demo_signals", "span_figure", "span_static", "span_widget", "focus_figure", "focus_static", "focus_widget",
           "window_choice_figure", "window_choice_static"]

MEAN = "mean"


def _need(info: dict, *names: str) -> None:
    for name in names:
        if name not in info:
            raise ShapeError(f"info has no {name!r}: call the attention layer with need_weights=True")


def _head_map(weights: torch.Tensor, example: int, head) -> torch.Tensor:
    """``(B, H, T, S)`` → ``(T, S)`` float CPU for one example and one head (or the mean over heads)."""
    if not 0 <= example < weights.shape[0]:
        raise ShapeError(f"example {example} out of range: the batch has {weights.shape[0]} examples")
    w = weights[example].detach().float().cpu()
    return w.mean(0) if head == MEAN else w[int(head)]


def demo_signals(seconds: float = 1.6, sr: int = SAMPLE_RATE, seed: int = 0) -> tuple[torch.Tensor, list[str]]:
    """Four synthetic clips from calm to busy, for looking at windows on a real spectrogram.

    * ``"tone + silences"`` — a 440 Hz tone, 0.4 s on, 0.4 s off;
    * ``"slow chirp"`` — one sweep from 300 to 1200 Hz;
    * ``"warble"`` — a tone hopping to a new pitch every 40 ms;
    * ``"clicks"`` — 30 ms noise bursts every 100 ms.

    Returns:
        ``(waves (4, samples) float32 in [-0.5, 0.5], labels)``.
    """
    n = int(sr * seconds)
    t = torch.arange(n) / sr
    tone = torch.sin(2 * math.pi * 440 * t) * ((t % 0.8) < 0.4)
    chirp = torch.sin(2 * math.pi * (300 * t + 0.5 * (900 / seconds) * t ** 2))
    pitches = torch.tensor([300.0, 500, 800, 1200, 650, 1000, 400, 900])
    hop = pitches[(t / 0.04).long() % len(pitches)]
    warble = torch.sin(torch.cumsum(2 * math.pi * hop / sr, 0))
    noise = torch.randn(n, generator=torch.Generator().manual_seed(seed)).clamp(-3, 3) / 3
    clicks = noise * ((t % 0.1) < 0.03)
    return 0.5 * torch.stack([tone, chirp, warble, clicks]), ["tone + silences", "slow chirp", "warble", "clicks"]


# ------------------------------------------------------------------------------------------ span
def _span_data(info: dict, example: int, head: int) -> dict:
    _need(info, "span", "span_mask", "weights")
    return {"span": info["span"][example].detach().float().cpu(),  # (H, T)
            "mask": _head_map(info["span_mask"], example, head), "weights": _head_map(info["weights"], example, head)}


def span_figure(info: dict, example: int = 0, head: int = 0):
    """Plotly: spans of every head over the positions | ramp mask of ``head`` | attention map of ``head``."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    d = _span_data(info, example, head)
    fig = make_subplots(1, 3, subplot_titles=("span per head (tokens)", f"ramp mask m(δ), head {head}",
                                              f"attention weights, head {head}"), horizontal_spacing=0.08)
    for h in range(d["span"].shape[0]):
        fig.add_trace(go.Scatter(y=d["span"][h].numpy(), mode="lines", name=f"head {h}",
                                 line=dict(width=3 if h == head else 1.5)), 1, 1)
    fig.add_trace(go.Heatmap(z=d["mask"].numpy(), colorscale="Greens", zmin=0, zmax=1, showscale=False,
                             hovertemplate="query %{y}<br>key %{x}<br>mask %{z:.2f}<extra></extra>"), 1, 2)
    fig.add_trace(go.Heatmap(z=d["weights"].numpy(), colorscale="Viridis", zmin=0, colorbar=dict(title="weight"),
                             hovertemplate="query %{y}<br>key %{x}<br>weight %{z:.3f}<extra></extra>"), 1, 3)
    fig.update_xaxes(title_text="query position", row=1, col=1)
    for col in (2, 3):
        fig.update_xaxes(title_text="key", row=1, col=col)
        fig.update_yaxes(title_text="query", autorange="reversed", row=1, col=col)
    fig.update_layout(title=f"Adaptive span, example {example}", width=1050, height=400, margin=dict(t=70, b=50))
    return fig


def span_static(info: dict, example: int = 0, head: int = 0):
    """Matplotlib twin of :func:`span_figure`."""
    import matplotlib.pyplot as plt

    d = _span_data(info, example, head)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for h in range(d["span"].shape[0]):
        axes[0].plot(d["span"][h].numpy(), lw=3 if h == head else 1.5, label=f"head {h}")
    axes[0].set(title="span per head (tokens)", xlabel="query position")
    axes[0].legend(fontsize=7)
    axes[1].imshow(d["mask"].numpy(), cmap="Greens", vmin=0, vmax=1, aspect="auto")
    axes[1].set(title=f"ramp mask m(δ), head {head}", xlabel="key", ylabel="query")
    im = axes[2].imshow(d["weights"].numpy(), cmap="viridis", vmin=0, aspect="auto")
    axes[2].set(title=f"attention weights, head {head}", xlabel="key", ylabel="query")
    fig.colorbar(im, ax=axes[2], label="weight")
    fig.tight_layout()
    return fig


def span_widget(info: dict):
    """Example slider and head dropdown above :func:`span_figure`."""
    import ipywidgets as widgets

    B, H = info["span"].shape[:2]
    controls = {"example": widgets.IntSlider(0, 0, max(B - 1, 0), description="example"),
                "head": widgets.Dropdown(options=list(range(H)), value=0, description="head")}
    return interactive_figure(controls, lambda example, head: span_figure(info, example, head),
                              lambda example, head: span_static(info, example, head))


# ------------------------------------------------------------------------------------ focus window
def _focus_data(features: torch.Tensor, info: dict, example: int, query: int | None, head, causal: bool) -> dict:
    _need(info, "window", "weights")
    if features.dim() != 3 or features.shape[:2] != info["window"].shape:
        raise ShapeError(f"features must be the attention input (batch, frames, channels) matching "
                         f"info['window'] {tuple(info['window'].shape)}, got {tuple(features.shape)}")
    T = features.shape[1]
    query = T // 2 if query is None else query
    if not 0 <= query < T:
        raise ShapeError(f"query frame {query} out of range: there are {T} frames")
    w = int(info["window"][example, query])
    weights = _head_map(info["weights"], example, head)
    lo, hi = (query - w + 1, query) if causal else (query - w + 1, query + w - 1)
    return {"features": features[example].detach().float().cpu().T, "weights": weights, "query": query,
            "window": w, "lo": max(lo, 0), "hi": min(hi, T - 1), "causal": causal,
            "vmax": max(float(torch.quantile(weights.flatten(), 0.99)), 1e-6)}  # a few hot cells must not wash out the map


def _band_edges(T: int, window: torch.Tensor, causal: bool) -> tuple[list[float], list[float], list[float]]:
    """Outline of the allowed band per query row: x (left edge, right edge) and y."""
    rows = torch.arange(T)
    left = (rows - window + 1).clamp_min(0) - 0.5
    right = (rows if causal else (rows + window - 1).clamp_max(T - 1)) + 0.5
    return left.tolist(), right.tolist(), rows.tolist()


def focus_figure(features: torch.Tensor, info: dict, example: int = 0, query: int | None = None, head=MEAN,
                 causal: bool = False):
    """Plotly: the input with one query frame's window shaded, above the attention map with the band outlined.

    Args:
        features: the layer input ``(B, T, C)`` (for a spectrogram: frames × mel channels).
        info: the focus layer's info (``need_weights=True``); query: frame whose window is shaded.
        head: head index or ``"mean"``; causal: the layer ran in decoder mode (one-sided windows).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    d = _focus_data(features, info, example, query, head, causal)
    T = d["weights"].shape[0]
    fig = make_subplots(2, 1, shared_xaxes=True, row_heights=[0.35, 0.65], vertical_spacing=0.06,
                        subplot_titles=(f"input, window of frame {d['query']} (w = {d['window']})",
                                        f"attention map ({'mean over heads' if head == MEAN else f'head {head}'})"))
    fig.add_trace(go.Heatmap(z=d["features"].numpy(), colorscale="Magma", showscale=False,
                             hovertemplate="frame %{x}<br>channel %{y}<br>%{z:.2f}<extra></extra>"), 1, 1)
    fig.add_vrect(x0=d["lo"] - 0.5, x1=d["hi"] + 0.5, fillcolor="cyan", opacity=0.25, line_width=0, row=1, col=1)
    fig.add_vline(x=d["query"], line_color="cyan", row=1, col=1)
    fig.add_trace(go.Heatmap(z=d["weights"].numpy(), colorscale="Viridis", zmin=0, zmax=d["vmax"],
                             colorbar=dict(title="weight", len=0.6, y=0.3),
                             hovertemplate="query %{y}<br>key %{x}<br>weight %{z:.3f}<extra></extra>"), 2, 1)
    left, right, rows = _band_edges(T, info["window"][example].detach().cpu(), d["causal"])
    for edge in (left, right):
        fig.add_trace(go.Scatter(x=edge, y=rows, mode="lines", line=dict(color="white", dash="dot", width=1),
                                 showlegend=False, hoverinfo="skip"), 2, 1)
    fig.add_hline(y=d["query"], line_color="cyan", row=2, col=1)
    fig.update_yaxes(title_text="channel", row=1, col=1)
    fig.update_yaxes(title_text="query frame", autorange="reversed", row=2, col=1)
    fig.update_xaxes(title_text="frame (key)", range=[-0.5, T - 0.5], row=2, col=1)
    fig.update_layout(title=f"Adaptive focus window, example {example}", width=720, height=720, margin=dict(t=70))
    return fig


def focus_static(features: torch.Tensor, info: dict, example: int = 0, query: int | None = None, head=MEAN,
                 causal: bool = False):
    """Matplotlib twin of :func:`focus_figure`."""
    import matplotlib.pyplot as plt

    d = _focus_data(features, info, example, query, head, causal)
    T = d["weights"].shape[0]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7.5), sharex=True, layout="constrained",
                                      gridspec_kw={"height_ratios": [1, 2]})
    top.imshow(d["features"].numpy(), cmap="magma", aspect="auto", origin="lower")
    top.axvspan(d["lo"] - 0.5, d["hi"] + 0.5, color="cyan", alpha=0.25)
    top.axvline(d["query"], color="cyan")
    top.set(title=f"input, window of frame {d['query']} (w = {d['window']})", ylabel="channel")
    im = bottom.imshow(d["weights"].numpy(), cmap="viridis", vmin=0, vmax=d["vmax"], aspect="auto")
    left, right, rows = _band_edges(T, info["window"][example].detach().cpu(), d["causal"])
    bottom.plot(left, rows, "w:", lw=1)
    bottom.plot(right, rows, "w:", lw=1)
    bottom.axhline(d["query"], color="cyan")
    bottom.set(title="attention map", xlabel="frame (key)", ylabel="query frame", xlim=(-0.5, T - 0.5))
    fig.colorbar(im, ax=[top, bottom], shrink=0.6, label="weight (colour capped at the 99th percentile)")
    return fig


def focus_widget(features: torch.Tensor, info: dict, causal: bool = False):
    """Sliders for example and query frame, a head dropdown, above :func:`focus_figure`."""
    import ipywidgets as widgets

    B, H, T = info["weights"].shape[:3]
    controls = {"example": widgets.IntSlider(0, 0, max(B - 1, 0), description="example"),
                "query": widgets.IntSlider(T // 2, 0, T - 1, description="query frame"),
                "head": widgets.Dropdown(options=[MEAN] + list(range(H)), value=MEAN, description="head")}
    return interactive_figure(
        controls, lambda example, query, head: focus_figure(features, info, example, query, head, causal),
        lambda example, query, head: focus_static(features, info, example, query, head, causal))


def _choice(info: dict, labels: Sequence[str] | None) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    _need(info, "window", "activity")
    activity = info["activity"][:, -1].detach().float().cpu()  # the whole example (prefix = everything at the end)
    window = info["window"][:, -1].detach().cpu()
    names = list(labels) if labels is not None else [f"example {b}" for b in range(activity.shape[0])]
    if len(names) != activity.shape[0]:
        raise ShapeError(f"got {len(names)} labels for {activity.shape[0]} examples")
    return names, activity, window


def window_choice_figure(info: dict, thresholds: Sequence[float], labels: Sequence[str] | None = None):
    """Plotly bars: each example's activity, coloured by its window, with the bucket thresholds as lines."""
    import plotly.graph_objects as go

    names, activity, window = _choice(info, labels)
    fig = go.Figure(go.Bar(x=names, y=activity.numpy(), text=[f"w = {int(w)}" for w in window],
                           marker=dict(color=window.float().log2().numpy(), colorscale="Viridis"),
                           hovertemplate="%{x}<br>activity %{y:.3f}<br>%{text}<extra></extra>"))
    for t in thresholds:
        fig.add_hline(y=float(t), line_dash="dash", line_color="gray")
    fig.update_layout(title="Activity → window (busier examples get narrower windows)", yaxis_title="activity",
                      width=620, height=380)
    return fig


def window_choice_static(info: dict, thresholds: Sequence[float], labels: Sequence[str] | None = None):
    """Matplotlib twin of :func:`window_choice_figure`."""
    import matplotlib.pyplot as plt

    names, activity, window = _choice(info, labels)
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    bars = ax.bar(names, activity.numpy(), color=plt.cm.viridis(window.float().log2().numpy() / 8))
    for bar, w in zip(bars, window.tolist()):
        ax.annotate(f"w = {w}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom")
    for t in thresholds:
        ax.axhline(float(t), ls="--", color="gray")
    ax.set(title="Activity → window (busier examples get narrower windows)", ylabel="activity")
    fig.tight_layout()
    return fig
