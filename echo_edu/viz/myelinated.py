"""Views of myelinated attention: which tokens matter, which sub-layers were skipped, how memory evolves.

All views read the ``info`` dict of :class:`echo_edu.attention.MyelinatedAttention` (call it with
``need_weights=True`` to get the per-sub-layer attention maps as well):

* :func:`myelinated_figure` / :func:`myelinated_static` — for one example: node importance per sub-layer
  and token (skipped cells crossed out), the memory gate γ (how much old memory each token keeps) and
  the size of the working memory, sub-layer by sub-layer. :func:`myelinated_widget` runs a layer again
  for the example, mode (decoder / encoder) and policy run bias you pick, and draws that figure.
* :func:`skip_rates_figure` / :func:`skip_rates_static` — over a batch: how often the policy skips each
  sub-layer (hard decisions) next to its mean skip probability.
* :func:`speech_gates_figure` / :func:`speech_gates_static` / :func:`speech_gates_widget` — a layer's gates on
  a real clip (see :mod:`echo_edu.experiments.speech_gates`): the log-mel with its speech frames, and the
  importance of every frame in every sub-layer with skipped windows crossed out; the widget picks the
  clip, the weights (trained / untrained) and added noise, and runs the layer again on every change.
* :func:`sublayer_maps` — ``{"sub-layer i": (B, H, T, S)}``, ready for
  :func:`echo_edu.viz.attention.attention_map_widget`.
"""

from __future__ import annotations

from typing import Sequence

import torch

from ..errors import ShapeError
from ..experiments.speech_gates import clip_features, gate_report
from .attention import _labels  # token labels that stay distinct in plotly
from .widgets import interactive_figure

__all__ = ["speech_gates_figure", "speech_gates_static", "speech_gates_widget", "sublayer_maps", "myelinated_figure", "myelinated_static", "myelinated_widget", "skip_rates_figure",
           "skip_rates_static"]

_PANELS = ("node importance (× = skipped)", "memory gate γ (share of old memory kept)", "‖working memory‖")


def _example(info: dict, example: int) -> dict[str, torch.Tensor]:
    """The per-example ``(L, T)`` arrays of one example, as float CPU tensors."""
    for name in ("importance", "skip"):
        if name not in info:
            raise ShapeError(f"info has no {name!r}: pass the info dict of a MyelinatedAttention forward")
    B = info["importance"].shape[0]
    if not 0 <= example < B:
        raise ShapeError(f"example {example} out of range: the batch has {B} examples")
    keys = ("importance", "skip", "skip_prob", "memory_gate", "memory_norm")
    return {k: info[k][example].detach().float().cpu() for k in keys if k in info}


def sublayer_maps(info: dict) -> dict[str, torch.Tensor]:
    """``info["layer_weights"]`` ``(B, L, H, T, S)`` → ``{"sub-layer i": (B, H, T, S)}`` (for the attention-map widget)."""
    if "layer_weights" not in info:
        raise ShapeError("info has no 'layer_weights': call the myelinated layer with need_weights=True")
    lw = info["layer_weights"]
    return {f"sub-layer {i}": lw[:, i] for i in range(lw.shape[1])}


def myelinated_figure(info: dict, example: int = 0, tokens: Sequence[str] | None = None,
                      title: str | None = None):
    """Plotly: importance heatmap with skipped cells crossed, memory gate and memory size per sub-layer."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    e = _example(info, example)
    L, T = e["importance"].shape
    xs, ys = _labels(tokens, T), [f"sub-layer {i}" for i in range(L)]
    has_memory = "memory_gate" in e
    rows = 3 if has_memory else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=_PANELS[:rows], row_heights=[0.4, 0.3, 0.3][:rows])
    fig.add_trace(go.Heatmap(z=e["importance"].numpy(), x=xs, y=ys, zmin=0, zmax=1, colorscale="Blues",
                             colorbar=dict(title="importance", len=0.4, y=0.82),
                             hovertemplate="%{y}<br>token %{x}<br>importance %{z:.3f}<extra></extra>"), 1, 1)
    layer_idx, tok_idx = torch.nonzero(e["skip"] > 0.5, as_tuple=True)
    fig.add_trace(go.Scatter(x=[xs[t] for t in tok_idx.tolist()], y=[ys[i] for i in layer_idx.tolist()],
                             mode="markers", marker=dict(symbol="x", size=9, color="crimson"), name="skipped",
                             hovertemplate="%{y} skipped at token %{x}<extra></extra>"), 1, 1)
    if has_memory:
        for i in range(L):
            fig.add_trace(go.Scatter(x=xs, y=e["memory_gate"][i].numpy(), mode="lines+markers", name=ys[i],
                                     legendgroup=ys[i]), 2, 1)
            fig.add_trace(go.Scatter(x=xs, y=e["memory_norm"][i].numpy(), mode="lines", name=ys[i],
                                     legendgroup=ys[i], showlegend=False), 3, 1)
        fig.update_yaxes(range=[0, 1], row=2, col=1)
    fig.update_layout(title=title or f"Myelinated attention, example {example}", height=260 + 200 * (rows - 1),
                      width=760, margin=dict(l=90, r=20, t=60, b=40), legend=dict(orientation="h", y=-0.08))
    return fig


def myelinated_static(info: dict, example: int = 0, tokens: Sequence[str] | None = None, title: str | None = None):
    """Matplotlib twin of :func:`myelinated_figure`."""
    import matplotlib.pyplot as plt

    e = _example(info, example)
    L, T = e["importance"].shape
    has_memory = "memory_gate" in e
    rows = 3 if has_memory else 1
    fig, axes = plt.subplots(rows, 1, figsize=(8, 2.2 + 1.8 * (rows - 1)), sharex=True, squeeze=False)
    ax = axes[0, 0]
    im = ax.imshow(e["importance"].numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    layer_idx, tok_idx = torch.nonzero(e["skip"] > 0.5, as_tuple=True)
    ax.scatter(tok_idx.numpy(), layer_idx.numpy(), marker="x", color="crimson", label="skipped")
    ax.set_yticks(range(L), [f"sub-layer {i}" for i in range(L)])
    ax.set_title(title or f"{_PANELS[0]} — example {example}")
    fig.colorbar(im, ax=ax, label="importance")
    if has_memory:
        for i in range(L):
            axes[1, 0].plot(e["memory_gate"][i].numpy(), marker=".", label=f"sub-layer {i}")
            axes[2, 0].plot(e["memory_norm"][i].numpy(), label=f"sub-layer {i}")
        axes[1, 0].set_ylim(0, 1)
        axes[1, 0].set_title(_PANELS[1])
        axes[2, 0].set_title(_PANELS[2])
        axes[1, 0].legend(fontsize=7, ncol=L)
    axes[-1, 0].set_xlabel("token")
    if tokens is not None and T <= 40:
        axes[-1, 0].set_xticks(range(T), list(tokens))
    fig.tight_layout()
    return fig


def myelinated_widget(layer, x: torch.Tensor, tokens: Sequence[str] | None = None):
    """Run ``layer`` (a :class:`~echo_edu.attention.MyelinatedAttention`) on ``x`` ``(B, T, D)`` again for
    every choice of the controls, and draw :func:`myelinated_figure`.

    Controls: the example; decoder (causal: the memory summary is a prefix mean) or encoder mode (the
    mean of the whole sequence); and the skip policy's run bias (the bias of its last layer: below about
    0 even an untrained policy starts skipping, and the crosses appear). The layer itself is not
    changed: each redraw runs an eval-mode copy with the chosen bias.
    """
    import copy

    import ipywidgets as widgets

    if x.dim() != 3:
        raise ShapeError(f"x must be (B, T, D), got shape {tuple(x.shape)}")
    probe = copy.deepcopy(layer).eval()
    start_bias = float(layer.policy[-1].bias.detach().mean())
    controls = {"example": widgets.IntSlider(0, 0, max(x.shape[0] - 1, 0), description="example"),
                "mode": widgets.Dropdown(options=["decoder (causal)", "encoder (sees all)"], description="mode"),
                "run_bias": widgets.FloatSlider(value=round(start_bias, 1), min=-4.0, max=4.0, step=0.5,
                                                description="run bias")}

    def info_for(mode: str, run_bias: float) -> dict:
        with torch.no_grad():
            probe.policy[-1].bias.fill_(run_bias)
            return probe(x, causal=mode.startswith("decoder"))[1]

    def view(draw):
        """``draw`` (the plotly or the matplotlib figure) of the layer run for the controls' values."""
        return lambda example, mode, run_bias: draw(info_for(mode, run_bias), example, tokens,
                                                    f"example {example} · {mode} · run bias {run_bias:+.1f}")

    return interactive_figure(controls, view(myelinated_figure), view(myelinated_static))


def _skip_rates(info: dict) -> tuple[torch.Tensor, torch.Tensor]:
    if "skip" not in info or "skip_prob" not in info:
        raise ShapeError("info has no 'skip'/'skip_prob': pass the info dict of a MyelinatedAttention forward")
    return info["skip"].detach().float().mean((0, 2)).cpu(), info["skip_prob"].detach().float().mean((0, 2)).cpu()


def skip_rates_figure(info: dict, title: str = "How often each sub-layer is skipped"):
    """Plotly bars: fraction of (example, token) decisions that skipped each sub-layer, and the mean P(skip)."""
    import plotly.graph_objects as go

    hard, prob = _skip_rates(info)
    names = [f"sub-layer {i}" for i in range(hard.shape[0])]
    fig = go.Figure([go.Bar(x=names, y=hard.numpy(), name="skipped (decisions)"),
                     go.Bar(x=names, y=prob.numpy(), name="mean P(skip)")])
    fig.update_layout(title=title, yaxis=dict(range=[0, 1], title="fraction"), barmode="group", width=560, height=360)
    return fig


def skip_rates_static(info: dict, title: str = "How often each sub-layer is skipped"):
    """Matplotlib twin of :func:`skip_rates_figure`."""
    import matplotlib.pyplot as plt

    hard, prob = _skip_rates(info)
    idx = torch.arange(hard.shape[0]).numpy()
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    ax.bar(idx - 0.2, hard.numpy(), width=0.4, label="skipped (decisions)")
    ax.bar(idx + 0.2, prob.numpy(), width=0.4, label="mean P(skip)")
    ax.set_xticks(idx, [f"sub-layer {i}" for i in idx])
    ax.set_ylim(0, 1)
    ax.set_ylabel("fraction")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def _gates_title(report: dict, title: str | None) -> str:
    stats = (f"skipped: {report['skip_silence']:.0%} of silent windows, {report['skip_speech']:.0%} of speech windows"
             f" · importance: speech {report['importance_speech']:.2f}, silence {report['importance_silence']:.2f}")
    return f"{title}<br><sub>{stats}</sub>" if title else stats


def speech_gates_figure(report: dict, title: str | None = None):
    """Plotly: a :func:`~echo_edu.experiments.speech_gates.gate_report` — log-mel (speech frames marked) over
    the importance ``(L, frames)`` of each sub-layer, skipped cells crossed out."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    x, imp, skip = report["features"].float(), report["importance"], report["skip"]
    L, frames = imp.shape
    t = list(range(frames))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4],
                        subplot_titles=("log-mel above the floor (white dots: speech frames)",
                                        "node importance (× = sub-layer skipped)"))
    fig.add_trace(go.Heatmap(z=x.T.numpy(), colorscale="Viridis", colorbar=dict(title="mel", len=0.55, y=0.75),
                             hovertemplate="frame %{x}<br>band %{y}<br>%{z:.2f}<extra></extra>"), 1, 1)
    speech = torch.nonzero(report["speech"]).flatten().tolist()
    fig.add_trace(go.Scatter(x=speech, y=[77] * len(speech), mode="markers", name="speech",
                             marker=dict(color="white", size=4)), 1, 1)
    ys = [f"sub-layer {i}" for i in range(L)]
    fig.add_trace(go.Heatmap(z=imp.numpy(), x=t, y=ys, zmin=0, zmax=1, colorscale="Blues",
                             colorbar=dict(title="importance", len=0.38, y=0.18),
                             hovertemplate="%{y}<br>frame %{x}<br>importance %{z:.3f}<extra></extra>"), 2, 1)
    layer_idx, tok_idx = torch.nonzero(skip > 0.5, as_tuple=True)
    fig.add_trace(go.Scatter(x=tok_idx.tolist(), y=[ys[i] for i in layer_idx.tolist()], mode="markers",
                             name="skipped", marker=dict(symbol="x", size=6, color="crimson")), 2, 1)
    fig.update_xaxes(title_text="frame (10 ms)", row=2, col=1)
    fig.update_layout(title=_gates_title(report, title), width=900, height=520, showlegend=False,
                      margin=dict(l=90, r=20, t=90, b=40))
    return fig


def speech_gates_static(report: dict, title: str | None = None):
    """Matplotlib twin of :func:`speech_gates_figure`."""
    import matplotlib.pyplot as plt

    x, imp, skip = report["features"].float(), report["importance"], report["skip"]
    L = imp.shape[0]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 4.6), sharex=True, gridspec_kw=dict(height_ratios=[1.5, 1]))
    a1.imshow(x.T.numpy(), origin="lower", aspect="auto", cmap="viridis")
    speech = torch.nonzero(report["speech"]).flatten()
    a1.scatter(speech.numpy(), [77] * len(speech), s=4, color="white")
    a1.set_title(_gates_title(report, title).replace("<br><sub>", "\n").replace("</sub>", ""), fontsize=9)
    a1.set_ylabel("mel band")
    a2.imshow(imp.numpy(), aspect="auto", cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    layer_idx, tok_idx = torch.nonzero(skip > 0.5, as_tuple=True)
    a2.scatter(tok_idx.numpy(), layer_idx.numpy(), marker="x", s=10, color="crimson")
    a2.set_yticks(range(L), [f"sub-layer {i}" for i in range(L)])
    a2.set_xlabel("frame (10 ms)")
    fig.tight_layout()
    return fig


def speech_gates_widget(clips: dict, layers: dict, noise_levels=(None, 30.0, 15.0, 5.0), window: int = 24,
                        threshold: float = 0.6):
    """Dropdowns for the clip (``{name: path or waveform}``), the weights (``{name: MyelinatedAttention}``) and
    added white noise (SNR in dB); each change recomputes the features and runs the layer's gates again."""
    import ipywidgets as widgets

    noise_names = {"no noise" if snr is None else f"noise at {snr:g} dB SNR": snr for snr in noise_levels}
    controls = {"clip": widgets.Dropdown(options=list(clips), description="clip"),
                "weights": widgets.Dropdown(options=list(layers), description="weights"),
                "noise": widgets.Dropdown(options=list(noise_names), description="noise")}

    def report(clip, weights, noise):
        x = clip_features(clips[clip], noise_names[noise])
        return gate_report(layers[weights], x, window, threshold), f"{clip} · {weights} · {noise}"

    return interactive_figure(controls, lambda **v: speech_gates_figure(*report(**v)),
                              lambda **v: speech_gates_static(*report(**v)))
