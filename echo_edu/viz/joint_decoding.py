"""Joint CTC/attention decoding (lesson 12): what the CTC head's weight does to each kind of error.

Every view takes ``reports``: ``{ctc_weight: EvalReport}`` from
:func:`echo_edu.evaluate.ctc_weight_sweep` on one set of clips (weight 0 = plain beam search), and the
weight to show. The figure stacks substitutions, deletions and insertions per weight (the WER), marks
the chosen weight, and lists the utterances whose transcript the weight changes, as written at it.
"""

from __future__ import annotations

from typing import Mapping

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..metrics import utterance_errors
from .widgets import interactive_figure

__all__ = ["ERROR_KINDS", "error_percent", "add_error_stack", "draw_error_stack", "weight_changed_utterances",
           "ctc_weight_figure", "ctc_weight_static", "ctc_weight_widget"]

#: ErrorRates fields, stacked in this order (by :func:`add_error_stack` and :func:`draw_error_stack`).
ERROR_KINDS = ("substitutions", "deletions", "insertions")


def error_percent(reports: Mapping, kind: str) -> list[float]:
    """Each report's errors of ``kind`` as % of its reference words, in the order of ``reports``."""
    return [100 * getattr(r.overall, kind) / max(r.overall.words, 1) for r in reports.values()]


def add_error_stack(fig, reports: Mapping, outlined) -> None:
    """Plotly: one bar trace per error kind in row 1 of ``fig``, over the labels of ``reports``
    (``{label: report}``), % of reference words, the bars of label ``outlined`` edged in black."""
    for kind in ERROR_KINDS:
        fig.add_trace(go.Bar(name=kind, x=list(reports), y=error_percent(reports, kind),
                             marker_line_width=[3 if k == outlined else 0 for k in reports],
                             marker_line_color="black"), row=1, col=1)


def draw_error_stack(ax, reports: Mapping, outlined, xlabel: str) -> None:
    """Matplotlib: the error kinds of each of ``reports`` (``{label: report}``) stacked as % of reference
    words, the bar of label ``outlined`` edged in black."""
    bottom = [0.0] * len(reports)
    for kind in ERROR_KINDS:
        values = error_percent(reports, kind)
        ax.bar(list(reports), values, bottom=bottom, label=kind,
               linewidth=[2.5 if k == outlined else 0 for k in reports], edgecolor="black")
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_xlabel(xlabel)
    ax.set_ylabel("% of reference words")
    ax.legend(fontsize=8)


def weight_changed_utterances(reports: Mapping, most: int = 5) -> list[int]:
    """Indices of up to ``most`` utterances whose hypothesis differs between weights, those written in the
    most different ways first (then by their largest number of word errors at any weight)."""
    runs = list(reports.values())
    errors = [utterance_errors(r.references, r.hypotheses) for r in runs]
    n = len(runs[0].hypotheses)
    variants = [len({r.hypotheses[i] for r in runs}) for i in range(n)]
    changed = [i for i in range(n) if variants[i] > 1]
    return sorted(changed, key=lambda i: (-variants[i], -max(e[i] for e in errors), i))[:most]


def _selected(reports: Mapping, weight: float):
    key = min(reports, key=lambda w: abs(w - weight))
    return key, reports[key]


def _title(reports: Mapping, weight: float) -> str:
    key, report = _selected(reports, weight)
    o = report.overall
    return (f"joint decoding at CTC weight {key:g}: WER {100 * o.wer:.1f} % "
            f"(sub {o.substitutions}, del {o.deletions}, ins {o.insertions} of {o.words} words, {o.n} clips)")


def ctc_weight_figure(reports: Mapping, weight: float = 0.3) -> go.Figure:
    """Stacked error kinds per CTC weight, the chosen weight outlined, and a table of the utterances the
    weight changes: reference and hypothesis at ``weight`` (the nearest weight of ``reports``)."""
    key, report = _selected(reports, weight)
    labels = [f"{w:g}" for w in reports]
    fig = make_subplots(rows=2, cols=1, row_heights=[0.58, 0.42], vertical_spacing=0.12,
                        specs=[[{"type": "xy"}], [{"type": "table"}]])
    add_error_stack(fig, dict(zip(labels, reports.values())), f"{key:g}")
    rows = weight_changed_utterances(reports)
    fig.add_trace(go.Table(header=dict(values=["said", f"written at weight {key:g}"]),
                           cells=dict(values=[[report.references[i] for i in rows],
                                              [report.hypotheses[i] for i in rows]])), row=2, col=1)
    fig.update_layout(barmode="stack", title=_title(reports, weight), height=560,
                      margin=dict(t=60, b=20, l=60, r=20), xaxis_title="CTC weight (0 = attention decoder alone)",
                      yaxis_title="% of reference words")
    return fig


def ctc_weight_static(reports: Mapping, weight: float = 0.3):
    """Matplotlib twin of :func:`ctc_weight_figure` (the table as text under the bars)."""
    import matplotlib.pyplot as plt

    key, report = _selected(reports, weight)
    labels = [f"{w:g}" for w in reports]
    rows = weight_changed_utterances(reports)
    fig, (ax, text) = plt.subplots(2, 1, figsize=(8, 5.6), gridspec_kw=dict(height_ratios=[3, 2]))
    draw_error_stack(ax, dict(zip(labels, reports.values())), f"{key:g}", "CTC weight (0 = attention decoder alone)")
    ax.set_title(_title(reports, weight), fontsize=9)
    text.axis("off")
    lines = [f"said:    {report.references[i]}\nwritten: {report.hypotheses[i]}" for i in rows]
    text.text(0, 1, "\n".join(lines) or "no utterance changes with the weight", va="top", family="monospace",
              fontsize=8)
    fig.tight_layout()
    return fig


def ctc_weight_widget(reports: Mapping, weight: float = 0.3):
    """A slider over the weights of ``reports``, redrawing :func:`ctc_weight_figure`."""
    import ipywidgets as widgets

    options = [(f"{w:g}", w) for w in reports]
    start = _selected(reports, weight)[0]
    controls = {"weight": widgets.SelectionSlider(options=options, value=start, description="CTC weight")}
    return interactive_figure(controls, lambda weight: ctc_weight_figure(reports, weight),
                              lambda weight: ctc_weight_static(reports, weight))
