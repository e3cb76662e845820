"""Views of the partial-feedback bandit (lesson 05): regret curves that re-run the learner live.

* :func:`regret_figure` / :func:`regret_static` — for a learner's :class:`~echo_edu.attention.bandit.BanditRun`
  and the greedy learner from the same ``Q₀`` (ε = 0): the cumulative regret averaged over the games
  (the oracle's is 0), with a band from the 10th to the 90th percentile game, and the share of games
  pulling the best arm at each step.
* :func:`bandit_regret_widget` — sliders for ε, α, ``Q₀`` and the seed; every change plays all the
  games again with :func:`~echo_edu.attention.bandit.play_bandit` (the refiner's own update rule).
"""

from __future__ import annotations

import torch

from ..attention.bandit import BanditRun, GaussianBandit, play_bandit
from .widgets import interactive_figure

__all__ = ["play_pair", "regret_figure", "regret_static", "bandit_regret_widget"]

_COLOURS = {"learner": "#1f77b4", "greedy": "#d62728", "oracle": "#2ca02c"}


def play_pair(bandit: GaussianBandit, epsilon: float, alpha: float, initial_q: float, seed: int = 0,
              steps: int = 300, runs: int = 200) -> tuple[BanditRun, BanditRun]:
    """The learner ``(ε, α, Q₀)`` and the greedy learner ``(0, α, Q₀)``, played on the same seed."""
    learner = play_bandit(bandit, epsilon=epsilon, alpha=alpha, initial_q=initial_q, steps=steps, runs=runs,
                          seed=seed)
    greedy = play_bandit(bandit, epsilon=0.0, alpha=alpha, initial_q=initial_q, steps=steps, runs=runs, seed=seed)
    return learner, greedy


def _curves(run: BanditRun) -> dict[str, list[float]]:
    """Mean, 10th and 90th percentile of the cumulative regret ``(steps,)`` and the best-arm share."""
    q = torch.quantile(run.regret, torch.tensor([0.1, 0.9]), dim=1)  # (2, steps)
    return {"mean": run.mean_regret().tolist(), "low": q[0].tolist(), "high": q[1].tolist(),
            "share": run.best_share().tolist()}


def _label(run: BanditRun, name: str) -> str:
    return f"{name} (regret {run.mean_regret()[-1]:.1f}, stuck {run.stuck().float().mean():.0%})"


def regret_figure(learner: BanditRun, greedy: BanditRun, title: str = "Regret with partial feedback"):
    """Plotly: cumulative regret vs step (learner, greedy from the same Q₀, oracle) and the best-arm share."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    steps = learner.actions.shape[0]
    x = list(range(1, steps + 1))
    fig = make_subplots(rows=1, cols=2, column_widths=[0.58, 0.42],
                        subplot_titles=("cumulative regret (mean over games)", "games pulling the best arm"))
    for name, run in (("greedy ε = 0", greedy), ("learner", learner)):
        colour = _COLOURS["greedy" if name.startswith("greedy") else "learner"]
        c = _curves(run)
        fig.add_trace(go.Scatter(x=x + x[::-1], y=c["high"] + c["low"][::-1], fill="toself", fillcolor=colour,
                                 opacity=0.15, line=dict(width=0), hoverinfo="skip", showlegend=False), 1, 1)
        fig.add_trace(go.Scatter(x=x, y=c["mean"], mode="lines", name=_label(run, name), line=dict(color=colour),
                                 legendgroup=name), 1, 1)
        fig.add_trace(go.Scatter(x=x, y=c["share"], mode="lines", name=name, line=dict(color=colour),
                                 legendgroup=name, showlegend=False), 1, 2)
    fig.add_trace(go.Scatter(x=x, y=[0.0] * steps, mode="lines", name="oracle (always the best arm)",
                             line=dict(color=_COLOURS["oracle"], dash="dash")), 1, 1)
    fig.add_trace(go.Scatter(x=x, y=[1.0] * steps, mode="lines", line=dict(color=_COLOURS["oracle"], dash="dash"),
                             showlegend=False), 1, 2)
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="regret", row=1, col=1)
    fig.update_yaxes(range=[0, 1.05], title_text="share", row=1, col=2)
    fig.update_layout(title=title, width=980, height=400, margin=dict(l=60, r=20, t=60, b=40),
                      legend=dict(orientation="h", y=-0.2))
    return fig


def regret_static(learner: BanditRun, greedy: BanditRun, title: str = "Regret with partial feedback"):
    """Matplotlib twin of :func:`regret_figure`."""
    import matplotlib.pyplot as plt

    steps = learner.actions.shape[0]
    x = range(1, steps + 1)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw=dict(width_ratios=[1.4, 1]))
    for name, run in (("greedy ε = 0", greedy), ("learner", learner)):
        colour = _COLOURS["greedy" if name.startswith("greedy") else "learner"]
        c = _curves(run)
        a1.fill_between(x, c["low"], c["high"], color=colour, alpha=0.15)
        a1.plot(x, c["mean"], color=colour, label=_label(run, name))
        a2.plot(x, c["share"], color=colour, label=name)
    a1.axhline(0.0, color=_COLOURS["oracle"], ls="--", label="oracle")
    a2.axhline(1.0, color=_COLOURS["oracle"], ls="--")
    a1.set(xlabel="step", ylabel="regret", title="cumulative regret (mean over games)")
    a2.set(xlabel="step", ylabel="share", ylim=(0, 1.05), title="games pulling the best arm")
    a1.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def bandit_regret_widget(bandit: GaussianBandit, steps: int = 300, runs: int = 200, epsilon: float = 0.1,
                         alpha: float = 0.1, initial_q: float = 0.0, seed: int = 0):
    """Sliders for ε, α, ``Q₀`` and the seed; every change re-plays all ``runs`` games (about a tenth of a second)."""
    import ipywidgets as widgets

    controls = {
        "epsilon": widgets.FloatSlider(value=epsilon, min=0.0, max=0.5, step=0.05, description="ε",
                                       continuous_update=False),
        "alpha": widgets.FloatSlider(value=alpha, min=0.02, max=1.0, step=0.02, description="α",
                                     continuous_update=False),
        "initial_q": widgets.FloatSlider(value=initial_q, min=0.0, max=2.0, step=0.25, description="Q₀",
                                         continuous_update=False),
        "seed": widgets.IntSlider(value=seed, min=0, max=20, description="seed", continuous_update=False),
    }

    def title(epsilon, alpha, initial_q, seed):
        return f"ε = {epsilon:.2f}, α = {alpha:.2f}, Q₀ = {initial_q:.2f}, seed {seed}: {runs} games of {steps} pulls"

    def make(**values):
        return regret_figure(*play_pair(bandit, steps=steps, runs=runs, **values), title=title(**values))

    def static(**values):
        return regret_static(*play_pair(bandit, steps=steps, runs=runs, **values), title=title(**values))

    return interactive_figure(controls, make, static, columns=4)
