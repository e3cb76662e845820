"""Views for lesson 12 (real speech): two models on real people, the training-data table, the worst speakers.

* :func:`model_gap_figure` / :func:`model_gap_static` — WER of each model on each real set, side by side.
* :func:`mixture_figure` / :func:`mixture_static` / :func:`mixture_widget` — the real / synthetic / both
  table (:mod:`echo_edu.experiments.mixtures`): one bar per mixture (mean WER over seeds) and one point
  per seed, so the seed spread is visible next to the gap; the widget picks the column.
* :func:`speaker_errors_figure` / :func:`speaker_errors_static` — per-speaker substitutions, deletions
  and insertions (an :class:`~echo_edu.evaluate.EvalReport`'s sclite word table), worst speaker first.
"""

from __future__ import annotations

from typing import Mapping

import plotly.graph_objects as go

from ..experiments.mixtures import MIXTURE_COLUMNS, seed_scores
from .widgets import interactive_figure

__all__ = ["model_gap_figure", "model_gap_static", "mixture_figure", "mixture_static", "mixture_widget",
           "speaker_rows", "speaker_errors_figure", "speaker_errors_static"]

_KINDS = (("sub", "substitutions"), ("dele", "deletions"), ("ins", "insertions"))


def model_gap_figure(scores: Mapping[str, Mapping[str, float]]) -> go.Figure:
    """Grouped bars: ``scores[set][model]`` WER % (one group per real set, one colour per model)."""
    models = list(dict.fromkeys(m for row in scores.values() for m in row))
    fig = go.Figure([go.Bar(name=m, x=list(scores), y=[scores[s].get(m) for s in scores],
                            text=[f"{scores[s][m]:.0f}" if m in scores[s] else "" for s in scores]) for m in models])
    fig.update_layout(barmode="group", title="WER on recordings of real people", yaxis_title="WER % (greedy)",
                      height=340, margin=dict(t=50, b=40, l=60, r=20))
    return fig


def model_gap_static(scores: Mapping[str, Mapping[str, float]]):
    """Matplotlib twin of :func:`model_gap_figure`."""
    import matplotlib.pyplot as plt
    import numpy as np

    models = list(dict.fromkeys(m for row in scores.values() for m in row))
    x, width = np.arange(len(scores)), 0.8 / max(len(models), 1)
    fig, ax = plt.subplots(figsize=(8, 3.4))
    for i, m in enumerate(models):
        values = [scores[s].get(m, np.nan) for s in scores]
        bars = ax.bar(x + (i - (len(models) - 1) / 2) * width, values, width, label=m)
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_xticks(x, list(scores))
    ax.set_ylabel("WER % (greedy)")
    ax.set_title("WER on recordings of real people")
    ax.legend()
    fig.tight_layout()
    return fig


def _mixture_series(table: Mapping, column: str):
    scores = seed_scores(table, column)
    means = {mix: sum(s.values()) / len(s) for mix, s in scores.items()}
    return scores, means, MIXTURE_COLUMNS.get(column, column)


def mixture_figure(table: Mapping, column: str = "dev") -> go.Figure:
    """One bar per mixture (mean WER % over seeds) with its seeds as points, for one column of the table."""
    scores, means, label = _mixture_series(table, column)
    fig = go.Figure(go.Bar(x=list(means), y=list(means.values()), name="mean over seeds", opacity=0.6,
                           text=[f"{v:.1f}" for v in means.values()]))
    fig.add_trace(go.Scatter(x=[mix for mix, s in scores.items() for _ in s],
                             y=[v for s in scores.values() for v in s.values()], mode="markers", name="one seed",
                             marker=dict(size=10, color="black", symbol="circle-open"),
                             text=[f"seed {seed}" for s in scores.values() for seed in s],
                             hovertemplate="%{x} %{text}: %{y:.1f} %<extra></extra>"))
    fig.update_layout(title=f"{label}: WER by training data ({table.get('steps', '?')} steps per arm)",
                      xaxis_title="training data", yaxis_title="WER %", height=360, margin=dict(t=50, b=40, l=60, r=20))
    return fig


def mixture_static(table: Mapping, column: str = "dev"):
    """Matplotlib twin of :func:`mixture_figure`."""
    import matplotlib.pyplot as plt

    scores, means, label = _mixture_series(table, column)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    bars = ax.bar(list(means), list(means.values()), alpha=0.6, label="mean over seeds")
    ax.bar_label(bars, fmt="%.1f", fontsize=9)
    for i, s in enumerate(scores.values()):
        ax.scatter([i] * len(s), list(s.values()), facecolors="none", edgecolors="black", zorder=3,
                   label="one seed" if i == 0 else None)
    ax.set_xlabel("training data")
    ax.set_ylabel("WER %")
    ax.set_title(f"{label}: WER by training data ({table.get('steps', '?')} steps per arm)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def mixture_widget(table: Mapping, column: str = "dev"):
    """Pick a column of the table (AN4 dev, AN4 test, the unseen-speaker sets ...) and see its bars and seeds."""
    import ipywidgets as widgets

    present = [c for c in MIXTURE_COLUMNS if any(c in cols for cols in table.get("table", table).values())]
    controls = {"column": widgets.Dropdown(options=[(MIXTURE_COLUMNS[c], c) for c in present], value=column,
                                           description="scored on")}
    return interactive_figure(controls, lambda column: mixture_figure(table, column),
                              lambda column: mixture_static(table, column))


def speaker_rows(sclite_words: Mapping) -> list[tuple[str, dict]]:
    """``(speaker, {sub, dele, ins, err, units, snt})`` per speaker, highest error first, ``"Sum/Avg"`` left out.

    ``sclite_words`` is ``report.sclite["word"]`` of an :class:`~echo_edu.evaluate.EvalReport` (points or
    their ``to_dict()``); the percentages are of each speaker's own reference words.
    """
    rows = [(name, p if isinstance(p, Mapping) else p.to_dict()) for name, p in sclite_words.items() if name != "Sum/Avg"]
    return sorted(rows, key=lambda row: -row[1]["err"])


def _pooled(sclite_words: Mapping) -> float:
    p = sclite_words["Sum/Avg"]
    return (p if isinstance(p, Mapping) else p.to_dict())["err"]


def speaker_errors_figure(sclite_words: Mapping, title: str = "AN4 dev") -> go.Figure:
    """Stacked bars per speaker: substitutions, deletions, insertions (% of that speaker's words)."""
    rows = speaker_rows(sclite_words)
    names = [f"{n} ({r['units']} words)" for n, r in rows]
    fig = go.Figure([go.Bar(name=label, x=names, y=[r[key] for _, r in rows]) for key, label in _KINDS])
    fig.add_hline(y=_pooled(sclite_words), line_dash="dot", annotation_text="all speakers")
    fig.update_layout(barmode="stack", title=f"{title}: word errors per speaker, worst first",
                      yaxis_title="% of the speaker's words", height=360, margin=dict(t=50, b=60, l=60, r=20))
    return fig


def speaker_errors_static(sclite_words: Mapping, title: str = "AN4 dev"):
    """Matplotlib twin of :func:`speaker_errors_figure`."""
    import matplotlib.pyplot as plt

    rows = speaker_rows(sclite_words)
    names = [f"{n}\n({r['units']} w)" for n, r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(rows)), 3.4))
    bottom = [0.0] * len(rows)
    for key, label in _KINDS:
        values = [r[key] for _, r in rows]
        ax.bar(names, values, bottom=bottom, label=label)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.axhline(_pooled(sclite_words), ls=":", color="black", label="all speakers")
    ax.set_ylabel("% of the speaker's words")
    ax.set_title(f"{title}: word errors per speaker, worst first")
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
