"""Speed search (lesson 12): what hearing each clip at several playback speeds does to each kind of error.

Every view takes a :class:`~echo_edu.evaluate.SpeedSweep` (:func:`echo_edu.evaluate.speed_sweep`: one set
of clips decoded at each speed) and a ``choice``: one speed, or ``"search"`` (per clip, the speed whose
transcript scored highest). The figure stacks substitutions, deletions and insertions for every speed and
for the search, outlines the choice, and lists the clips whose transcript depends on the speed: what was
said, what the choice writes, the speed the search kept and each speed's decoding score.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..metrics import utterance_errors
from .joint_decoding import add_error_stack, draw_error_stack
from .widgets import interactive_figure

__all__ = ["SEARCH", "speed_changed_clips", "speed_search_figure", "speed_search_static", "speed_search_widget"]

#: The choice that stands for speed search itself (the other choices are speeds).
SEARCH = "search"


def _options(sweep) -> dict:
    """``{label: EvalReport}``: each speed alone, then the search."""
    return {**{f"{v:g}": r for v, r in sweep.reports.items()}, SEARCH: sweep.searched}


def _label(choice) -> str:
    return SEARCH if choice == SEARCH else f"{float(choice):g}"


def speed_changed_clips(sweep, most: int = 6) -> list[int]:
    """Indices of up to ``most`` clips whose transcript differs between speeds, those where the search's
    transcript has fewer word errors than the as-recorded one first, then those it made worse, then the rest."""
    n = len(sweep.searched.hypotheses)
    changed = [i for i in range(n) if len({r.hypotheses[i] for r in sweep.reports.values()}) > 1]
    base = sweep.reports.get(1.0, next(iter(sweep.reports.values())))
    before = utterance_errors(base.references, base.hypotheses)
    after = utterance_errors(sweep.searched.references, sweep.searched.hypotheses)
    return sorted(changed, key=lambda i: (after[i] - before[i], i))[:most]


def _title(sweep, choice) -> str:
    report = _options(sweep)[_label(choice)]
    o = report.overall
    counts = ", ".join(f"{v:g} for {sweep.kept.count(v)}" for v in sweep.speeds)
    how = "speed search" if _label(choice) == SEARCH else f"speed {_label(choice)} alone"
    return (f"{how}: WER {100 * o.wer:.1f} % (sub {o.substitutions}, del {o.deletions}, ins {o.insertions} of "
            f"{o.words} words, {o.n} clips) · the search kept {counts}")


def _table(sweep, choice) -> tuple[list[str], list[list[str]]]:
    report = _options(sweep)[_label(choice)]
    rows = speed_changed_clips(sweep)
    scores = [" / ".join(f"{sweep.scores[k, i]:.1f}" for k in range(len(sweep.speeds))) for i in rows]
    header = ["said", f"written ({_label(choice)})", "kept by the search",
              "score at " + " / ".join(f"{v:g}" for v in sweep.speeds)]
    return header, [[report.references[i] for i in rows], [report.hypotheses[i] for i in rows],
                    [f"{sweep.kept[i]:g}" for i in rows], scores]


def speed_search_figure(sweep, choice=SEARCH) -> go.Figure:
    """Stacked error kinds for every speed and for the search (``choice`` outlined), and a table of the
    clips the speed changes as ``choice`` writes them."""
    options, chosen = _options(sweep), _label(choice)
    fig = make_subplots(rows=2, cols=1, row_heights=[0.55, 0.45], vertical_spacing=0.12,
                        specs=[[{"type": "xy"}], [{"type": "table"}]])
    add_error_stack(fig, options, chosen)
    header, columns = _table(sweep, choice)
    fig.add_trace(go.Table(header=dict(values=header), cells=dict(values=columns)), row=2, col=1)
    fig.update_layout(barmode="stack", title=dict(text=_title(sweep, choice), font=dict(size=13)), height=580,
                      margin=dict(t=60, b=20, l=60, r=20), xaxis_title="playback speed (search: best-scoring per clip)",
                      yaxis_title="% of reference words")
    return fig


def speed_search_static(sweep, choice=SEARCH):
    """Matplotlib twin of :func:`speed_search_figure` (the table as text under the bars)."""
    import matplotlib.pyplot as plt

    options, chosen = _options(sweep), _label(choice)
    fig, (ax, text) = plt.subplots(2, 1, figsize=(8, 5.6), gridspec_kw=dict(height_ratios=[3, 2]))
    draw_error_stack(ax, options, chosen, "playback speed (search: best-scoring per clip)")
    ax.set_title(_title(sweep, choice), fontsize=8)
    text.axis("off")
    header, columns = _table(sweep, choice)
    lines = [f"said: {s} | written: {w} | kept {k} | scores {c}" for s, w, k, c in zip(*columns)]
    text.text(0, 1, "\n".join(lines) or "no clip changes with the speed", va="top", family="monospace", fontsize=7)
    fig.tight_layout()
    return fig


def speed_search_widget(sweep, choice=SEARCH):
    """A dropdown of the speeds and the search, redrawing :func:`speed_search_figure`."""
    import ipywidgets as widgets

    options = list(_options(sweep))
    controls = {"choice": widgets.Dropdown(options=options, value=_label(choice), description="decode at")}
    return interactive_figure(controls, lambda choice: speed_search_figure(sweep, choice),
                              lambda choice: speed_search_static(sweep, choice))
