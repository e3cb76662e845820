"""Views for lesson 09: training curves (live and afterwards), attention mechanisms over training, ablation.

* :func:`training_figure` / :func:`training_static` — loss (and learning rate) per step beside the
  validation WER/CER measured by real decoding.
* :class:`LiveTrainingPlot` — a ``train(..., callbacks=[live])`` callback that redraws the curves while
  the model trains (in JupyterLab; elsewhere it draws nothing and costs nothing).
* :func:`mechanism_figure` / :func:`mechanism_static` / :func:`mechanism_widget` — the attention
  summaries the trainer records (refiner spans and windows, myelinated gates, skip rates, ...) per step.
* :func:`ablation_markdown` — the committed ablation results as a markdown table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..train import lr_at
from .widgets import interactive_figure

__all__ = ["lr_schedule_figure", "training_figure", "training_static", "LiveTrainingPlot", "mechanism_series", "mechanism_figure",
           "mechanism_static", "mechanism_widget", "ablation_markdown"]

_BASE_KEYS = {"step", "loss", "aux_loss", "lr", "grad_norm", "seconds"}


def _records(history) -> tuple[list[dict], list[dict]]:
    if history is None:
        return [], []
    if hasattr(history, "train"):
        return list(history.train), list(history.eval)
    return list(history.get("train", [])), list(history.get("eval", []))


def lr_schedule_figure(config) -> go.Figure:
    """The learning rate of every step of a :class:`~echo_edu.train.TrainConfig`: warm-up, then cosine."""
    steps = list(range(config.steps))
    fig = go.Figure(go.Scatter(x=steps, y=[lr_at(s, config) for s in steps], mode="lines", name="lr"))
    fig.add_vline(x=config.warmup_steps, line_dash="dot", annotation_text="end of warm-up")
    fig.update_layout(title="learning-rate schedule", xaxis_title="optimizer step", yaxis_title="learning rate",
                      height=300, margin=dict(t=50, b=40, l=60, r=20))
    return fig


def training_figure(history, title: str = "Training") -> go.Figure:
    """Loss per step (left) and validation WER/CER from greedy decoding (right)."""
    train, evals = _records(history)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss (cross-entropy + aux)",
                                                        "validation error (autoregressive decoding)"))
    steps = [r["step"] for r in train]
    fig.add_trace(go.Scatter(x=steps, y=[r["loss"] for r in train], name="loss", mode="lines"), row=1, col=1)
    if any(r.get("aux_loss") for r in train):
        fig.add_trace(go.Scatter(x=steps, y=[r["aux_loss"] for r in train], name="aux loss", mode="lines"),
                      row=1, col=1)
    for key in ("wer", "cer"):
        fig.add_trace(go.Scatter(x=[r["step"] for r in evals], y=[100 * r[key] for r in evals],
                                 name=key.upper() + " %", mode="lines+markers"), row=1, col=2)
    fig.update_xaxes(title_text="optimizer step")
    fig.update_yaxes(type="log", title_text="loss", row=1, col=1)
    fig.update_yaxes(title_text="%", rangemode="tozero", row=1, col=2)
    fig.update_layout(title=title, height=360, margin=dict(t=60, b=40, l=50, r=20))
    return fig


def training_static(history, title: str = "Training"):
    """Matplotlib twin of :func:`training_figure`."""
    import matplotlib.pyplot as plt

    train, evals = _records(history)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    left.plot([r["step"] for r in train], [r["loss"] for r in train], label="loss")
    if any(r.get("aux_loss") for r in train):
        left.plot([r["step"] for r in train], [r["aux_loss"] for r in train], label="aux loss")
    left.set_yscale("log")
    left.set(xlabel="optimizer step", ylabel="loss", title="training loss")
    for key in ("wer", "cer"):
        right.plot([r["step"] for r in evals], [100 * r[key] for r in evals], marker="o", label=key.upper())
    right.set(xlabel="optimizer step", ylabel="%", title="validation error (decoding)")
    right.set_ylim(bottom=0)
    for ax in (left, right):
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


class LiveTrainingPlot:
    """A training callback that redraws :func:`training_figure` into an ``ipywidgets.Output``.

    Usage::

        live = LiveTrainingPlot(every=5)
        display(live.output)
        history = train(model, corpus, config, callbacks=[live])

    Attributes:
        history: the records received so far (``{"train": [...], "eval": [...]}``).
        redraws: how many times the figure was redrawn.
    """

    def __init__(self, every: int = 5, title: str = "Training (live)"):
        import ipywidgets as widgets

        self.every, self.title = max(1, int(every)), title
        self.output = widgets.Output()
        self.history: dict[str, list] = {"train": [], "eval": []}
        self.redraws = 0

    def __call__(self, event: str, record: dict, model=None) -> None:
        self.history.setdefault(event, []).append(dict(record))
        if event == "eval" or len(self.history["train"]) % self.every == 0:
            self.redraw()

    def redraw(self) -> None:
        from IPython.display import display

        self.redraws += 1
        self.output.clear_output(wait=True)
        with self.output:
            display(training_figure(self.history, self.title))


def mechanism_series(history, patterns: Iterable[str] = ("span", "window", "reward", "gate", "skip", "importance")
                     ) -> dict[str, list]:
    """The recorded attention summaries whose name contains one of ``patterns``: ``{name: [(step, value)]}``."""
    train, _ = _records(history)
    patterns = tuple(patterns)
    series: dict[str, list] = {}
    for r in train:
        for key, value in r.items():
            if key not in _BASE_KEYS and any(p in key for p in patterns):
                series.setdefault(key, []).append((r["step"], value))
    return series


def mechanism_figure(history, pattern: str = "all") -> go.Figure:
    """Each recorded mechanism summary (e.g. ``decoder.2.self.span``: mean span) against the step."""
    series = mechanism_series(history) if pattern == "all" else mechanism_series(history, (pattern,))
    fig = go.Figure()
    for name, points in sorted(series.items()):
        fig.add_trace(go.Scatter(x=[s for s, _ in points], y=[v for _, v in points], name=name, mode="lines"))
    if not series:
        fig.add_annotation(text="no experimental attention in this model (all blocks standard)",
                           showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(title=f"attention mechanisms over training ({pattern})", xaxis_title="optimizer step",
                      yaxis_title="mean value", height=360, margin=dict(t=50, b=40, l=50, r=20))
    return fig


def mechanism_static(history, pattern: str = "all"):
    """Matplotlib twin of :func:`mechanism_figure`."""
    import matplotlib.pyplot as plt

    series = mechanism_series(history) if pattern == "all" else mechanism_series(history, (pattern,))
    fig, ax = plt.subplots(figsize=(8, 3.4))
    for name, points in sorted(series.items()):
        ax.plot([s for s, _ in points], [v for _, v in points], label=name)
    if series:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no experimental attention in this model", ha="center", transform=ax.transAxes)
    ax.set(xlabel="optimizer step", ylabel="mean value", title=f"attention mechanisms over training ({pattern})")
    fig.tight_layout()
    return fig


def mechanism_widget(history):
    """Pick which mechanism family (spans, windows, rewards, gates, skips) to follow over training."""
    import ipywidgets as widgets

    choice = widgets.Dropdown(options=["all", "span", "window", "reward", "importance", "skip", "memory_gate"], value="all", description="show")
    return interactive_figure({"pattern": choice}, lambda pattern: mechanism_figure(history, pattern),
                              lambda pattern: mechanism_static(history, pattern))


def ablation_markdown(path: str | Path) -> str:
    """The ablation results file (``benchmarks/ablation.py`` output) as a markdown table."""
    data: dict[str, Any] = json.loads(Path(path).read_text())
    rows = data["summary"]
    lines = [f"Budget: {data['budget']}", ""] + ([f"Note: {data['note']}", ""] if data.get("note") else [])
    lines += ["| variant | seeds | parameters | WER % (mean ± sd) | CER % (mean ± sd) | final train loss | train s |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        loss = f"{r['final_loss']:.3f}" if "final_loss" in r else "–"
        lines.append(f"| {r['variant']} | {r['seeds']} | {r['parameters']:,} | {r['wer_mean']:.1f} ± {r['wer_sd']:.1f} "
                     f"| {r['cer_mean']:.1f} ± {r['cer_sd']:.1f} | {loss} | {r['train_seconds']:.0f} |")
    return "\n".join(lines)
