"""Views for the Q-learning refiner (lesson 06): the Q-table, learning curves, stepping the agent, spans.

* :func:`q_table_figure` / :func:`q_table_static` — ``Q[s, a]`` as a heatmap, the greedy action of each
  state outlined (and the known best one, when given, marked with a star).
* :func:`learning_curve_figure` / :func:`learning_curve_static` — reward per round, smoothed.
* :func:`refiner_steps_widget` — a slider that steps through a recorded training run: the table and
  the curve up to that round.
* :func:`span_timeline_figure` / :func:`span_timeline_static` — the window each token got, training step
  by training step (integrated attention).
"""

from __future__ import annotations

from typing import Sequence

import torch

from .widgets import interactive_figure

__all__ = ["q_table_figure", "q_table_static", "learning_curve_figure", "learning_curve_static",
           "refiner_steps_figure", "refiner_steps_static", "refiner_steps_widget", "span_timeline_figure",
           "span_timeline_static"]


def _labels(labels: Sequence | None, n: int, prefix: str) -> list[str]:
    return [f"{prefix} {i}" for i in range(n)] if labels is None else [str(x) for x in labels]


def _smooth(history: torch.Tensor, window: int) -> torch.Tensor:
    """Trailing mean over ``window`` rounds (same length as ``history``)."""
    h = history.detach().float().cpu()
    c = torch.cat([torch.zeros(1), h.cumsum(0)])
    idx = torch.arange(1, len(h) + 1)
    start = (idx - window).clamp(min=0)
    return (c[idx] - c[start]) / (idx - start)


def _greedy(q: torch.Tensor) -> torch.Tensor:
    """Greedy action per state with ties to the last action (what the refiner does in eval)."""
    flipped = q.flip(-1).argmax(-1)
    return q.shape[-1] - 1 - flipped


def q_table_figure(q_table: torch.Tensor, state_labels=None, action_labels=None, best: torch.Tensor | None = None,
                   title: str = "Q-table (□ greedy, ★ best)"):
    """Plotly heatmap of ``q_table`` ``(S, A)``; hover reads each value."""
    import plotly.graph_objects as go

    q = q_table.detach().float().cpu()
    S, A = q.shape
    xs, ys = _labels(action_labels, A, "action"), _labels(state_labels, S, "state")
    fig = go.Figure(go.Heatmap(z=q.numpy(), x=xs, y=ys, colorscale="RdBu", zmid=0.0, colorbar=dict(title="Q"),
                               hovertemplate="%{y}, %{x}<br>Q = %{z:.3f}<extra></extra>"))
    greedy = _greedy(q)
    fig.add_trace(go.Scatter(x=[xs[a] for a in greedy.tolist()], y=ys, mode="markers", name="greedy",
                             marker=dict(symbol="square-open", size=26, color="black", line=dict(width=2))))
    if best is not None:
        fig.add_trace(go.Scatter(x=[xs[a] for a in best.tolist()], y=ys, mode="markers", name="best",
                                 marker=dict(symbol="star", size=12, color="gold", line=dict(width=1))))
    fig.update_layout(title=title, yaxis_autorange="reversed", width=520, height=360, showlegend=False,
                      margin=dict(l=70, r=20, t=50, b=40))
    return fig


def q_table_static(q_table: torch.Tensor, state_labels=None, action_labels=None, best=None,
                   title: str = "Q-table (□ greedy, ★ best)", ax=None):
    """Matplotlib twin of :func:`q_table_figure`."""
    import matplotlib.pyplot as plt

    q = q_table.detach().float().cpu()
    S, A = q.shape
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.4))
    lim = max(float(q.abs().max()), 1e-6)
    im = ax.imshow(q.numpy(), cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(A), _labels(action_labels, A, "action"))
    ax.set_yticks(range(S), _labels(state_labels, S, "state"))
    for s, a in enumerate(_greedy(q).tolist()):
        ax.add_patch(plt.Rectangle((a - 0.5, s - 0.5), 1, 1, fill=False, lw=2, color="black"))
    if best is not None:
        ax.scatter(best.tolist(), range(S), marker="*", s=120, color="gold", edgecolors="black")
    ax.set_title(title)
    (fig or ax.figure).colorbar(im, ax=ax, label="Q")
    return fig or ax.figure


def learning_curve_figure(history: torch.Tensor, optimum: float | None = None, smooth: int = 10,
                          title: str = "reward per round"):
    """Plotly line of the reward per round and its ``smooth``-round trailing mean."""
    import plotly.graph_objects as go

    h = history.detach().float().cpu()
    x = list(range(1, len(h) + 1))
    fig = go.Figure([go.Scatter(x=x, y=h.tolist(), mode="lines", name="per round", opacity=0.35),
                     go.Scatter(x=x, y=_smooth(h, smooth).tolist(), mode="lines", name=f"mean of {smooth}")])
    if optimum is not None:
        fig.add_hline(y=optimum, line_dash="dash", annotation_text="best possible")
    fig.update_layout(title=title, xaxis_title="round", yaxis_title="reward", width=560, height=320,
                      margin=dict(l=50, r=20, t=50, b=40))
    return fig


def learning_curve_static(history: torch.Tensor, optimum: float | None = None, smooth: int = 10,
                          title: str = "reward per round", ax=None):
    """Matplotlib twin of :func:`learning_curve_figure`."""
    import matplotlib.pyplot as plt

    h = history.detach().float().cpu()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3))
    ax.plot(range(1, len(h) + 1), h.numpy(), alpha=0.35, label="per round")
    ax.plot(range(1, len(h) + 1), _smooth(h, smooth).numpy(), label=f"mean of {smooth}")
    if optimum is not None:
        ax.axhline(optimum, ls="--", color="grey", label="best possible")
    ax.set_xlabel("round")
    ax.set_ylabel("reward")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig or ax.figure


def refiner_steps_figure(tables: torch.Tensor, history: torch.Tensor, step: int, best=None, optimum=None,
                         state_labels=None, action_labels=None):
    """The Q-table after ``step`` rounds (``tables`` ``(steps + 1, S, A)``) next to the curve so far."""
    from plotly.subplots import make_subplots

    table = q_table_figure(tables[step], state_labels, action_labels, best)
    curve = learning_curve_figure(history[:max(step, 1)], optimum)
    fig = make_subplots(rows=1, cols=2, subplot_titles=(f"Q-table after {step} rounds", "reward so far"),
                        column_widths=[0.45, 0.55])
    for trace in table.data:
        fig.add_trace(trace, row=1, col=1)
    for trace in curve.data:
        fig.add_trace(trace, row=1, col=2)
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    fig.update_xaxes(range=[0, len(history) + 1], row=1, col=2)
    if optimum is not None:
        fig.add_hline(y=optimum, line_dash="dash", row=1, col=2)
    fig.update_layout(width=980, height=380, showlegend=False, margin=dict(l=70, r=20, t=50, b=40))
    return fig


def refiner_steps_static(tables, history, step: int, best=None, optimum=None, state_labels=None, action_labels=None):
    """Matplotlib twin of :func:`refiner_steps_figure`."""
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.4))
    q_table_static(tables[step], state_labels, action_labels, best, title=f"Q-table after {step} rounds", ax=a1)
    learning_curve_static(history[:max(step, 1)], optimum, title="reward so far", ax=a2)
    a2.set_xlim(0, len(history) + 1)
    fig.tight_layout()
    return fig


def refiner_steps_widget(tables: torch.Tensor, history: torch.Tensor, best=None, optimum=None, state_labels=None,
                         action_labels=None):
    """A slider that steps the agent through a recorded run (see :meth:`ToySpanTask.train` with ``snapshots``)."""
    import ipywidgets as widgets

    steps = len(tables) - 1
    controls = {"step": widgets.IntSlider(min(10, steps), 0, steps, description="round",
                                          continuous_update=False)}

    def make(step):
        return refiner_steps_figure(tables, history, step, best, optimum, state_labels, action_labels)

    def static(step):
        return refiner_steps_static(tables, history, step, best, optimum, state_labels, action_labels)

    return interactive_figure(controls, make, static)


def span_timeline_figure(windows: torch.Tensor, title: str = "window chosen for each token during training"):
    """Heatmap of ``windows`` ``(steps, T)``: one row per training step, one column per token."""
    import plotly.graph_objects as go

    w = windows.detach().float().cpu()
    fig = go.Figure(go.Heatmap(z=w.numpy(), colorscale="Viridis", colorbar=dict(title="window"),
                               hovertemplate="step %{y}<br>token %{x}<br>window %{z:.0f}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="token position", yaxis_title="training step", width=640,
                      height=360, margin=dict(l=60, r=20, t=50, b=40))
    return fig


def span_timeline_static(windows: torch.Tensor, title: str = "window chosen for each token during training"):
    """Matplotlib twin of :func:`span_timeline_figure`."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    im = ax.imshow(windows.detach().float().cpu().numpy(), aspect="auto", cmap="viridis", origin="upper")
    ax.set_xlabel("token position")
    ax.set_ylabel("training step")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, label="window")
    return fig
