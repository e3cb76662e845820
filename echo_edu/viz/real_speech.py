"""Views for lesson 12 (real speech): two models on real people, the training-data table, the worst speakers.

* :func:`model_gap_figure` / :func:`model_gap_static` — WER of each model on each real set, side by side.
* :func:`mixture_figure` / :func:`mixture_static` / :func:`mixture_widget` — the real / synthetic / both
  table (:mod:`echo_edu.experiments.mixtures`): one bar per mixture (mean WER over seeds) and one point
  per seed, so the seed spread is visible next to the gap; the widget picks the column.
* :func:`seed_noise_figure` / :func:`seed_noise_static` / :func:`seed_noise_widget` — two simulated arms
  whose true WERs differ by ``gap``, each seed drawn with spread ``sd``: how often the ranking counts as a
  result (:func:`~echo_edu.experiments.mixtures.compare_mixtures`) at a given number of seeds.
* :func:`speaker_errors_figure` / :func:`speaker_errors_static` — per-speaker substitutions, deletions
  and insertions (an :class:`~echo_edu.evaluate.EvalReport`'s sclite word table), worst speaker first.
"""

from __future__ import annotations

from typing import Mapping

import plotly.graph_objects as go

import torch

from ..experiments.mixtures import MIXTURE_COLUMNS, compare_mixtures, seed_scores
from .widgets import interactive_figure

__all__ = ["model_gap_figure", "model_gap_static", "mixture_figure", "mixture_static", "mixture_widget",
           "simulated_arms", "seed_noise_figure", "seed_noise_static", "seed_noise_widget", "speaker_rows", "speaker_errors_figure", "speaker_errors_static"]

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


def simulated_arms(gap: float, sd: float, seeds: int, draw: int = 0, base: float = 30.0) -> dict:
    """A table of two arms ("better", true WER ``base``; "worse", ``base + gap``), ``seeds`` draws each.

    Each seed's WER is the arm's true WER plus Gaussian noise of standard deviation ``sd`` (seeded by ``draw``:
    another ``draw`` is another set of training runs). Returns the ``{"steps", "table"}`` schema of
    :mod:`echo_edu.experiments.mixtures` (column ``"dev"``), so :func:`compare_mixtures` can judge it.
    """
    noise = torch.randn(2, seeds, generator=torch.Generator().manual_seed(draw)) * sd          # (arms, seeds)
    wers = (torch.tensor([[base], [base + gap]]) + noise).tolist()
    return {"steps": 0, "table": {arm: {"dev": {"wer": sum(w) / len(w), "wer_sd": None, "cer": 0.0,
                                                "seeds": list(range(seeds)), "wer_each": w}}
                                  for arm, w in zip(("better", "worse"), wers)}}


def _verdict_line(table: dict) -> str:
    v = compare_mixtures(table, "dev")
    word = "a result" if v.is_result else "not a result"
    swapped = " (the truly worse arm leads!)" if v.winner == "worse" else ""
    return f"'{v.winner}' leads by {v.gap:.1f}{swapped}: {word}"


def seed_noise_figure(gap: float = 2.0, sd: float = 2.0, seeds: int = 2, draw: int = 0) -> go.Figure:
    """The simulated seeds of :func:`simulated_arms` as points, the true WERs as dashed lines, the verdict as title."""
    table = simulated_arms(gap, sd, seeds, draw)
    fig = go.Figure()
    for i, (arm, cols) in enumerate(table["table"].items()):
        fig.add_trace(go.Scatter(x=[arm] * seeds, y=cols["dev"]["wer_each"], mode="markers", name=arm,
                                 marker=dict(size=11)))
        fig.add_hline(y=30.0 + i * gap, line_dash="dash", annotation_text=f"true {arm}")
    fig.update_layout(title=f"{seeds} seeds per arm, true gap {gap:g}, seed sd {sd:g}: {_verdict_line(table)}",
                      yaxis_title="WER %", height=340, margin=dict(t=50, b=40, l=60, r=20), title_font_size=13)
    return fig


def seed_noise_static(gap: float = 2.0, sd: float = 2.0, seeds: int = 2, draw: int = 0):
    """Matplotlib twin of :func:`seed_noise_figure`."""
    import matplotlib.pyplot as plt

    table = simulated_arms(gap, sd, seeds, draw)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for i, (arm, cols) in enumerate(table["table"].items()):
        ax.scatter([i] * seeds, cols["dev"]["wer_each"], label=arm, zorder=3)
        ax.axhline(30.0 + i * gap, ls="--", color=f"C{i}", lw=1)
    ax.set_xticks([0, 1], list(table["table"]))
    ax.set_ylabel("WER %")
    ax.set_title(f"{seeds} seeds, true gap {gap:g}, sd {sd:g}: {_verdict_line(table)}", fontsize=9)
    fig.tight_layout()
    return fig


def seed_noise_widget(gap: float = 2.0, sd: float = 2.0, seeds: int = 2):
    """Sliders for the true gap, the seed spread, the number of seeds and the draw (another set of runs)."""
    import ipywidgets as widgets

    controls = {"gap": widgets.FloatSlider(value=gap, min=0.0, max=10.0, step=0.5, description="true gap"),
                "sd": widgets.FloatSlider(value=sd, min=0.1, max=5.0, step=0.1, description="seed sd"),
                "seeds": widgets.IntSlider(value=seeds, min=1, max=10, description="seeds"),
                "draw": widgets.IntSlider(value=0, min=0, max=20, description="draw")}
    return interactive_figure(controls, seed_noise_figure, seed_noise_static, columns=2)


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
