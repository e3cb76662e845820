"""Views for lesson 03: RoPE planes turning with position, and the q·k similarity map over positions.

Each view is a pure plotly builder (``*_figure``), a matplotlib twin (``*_static``) and a widget
(``*_widget``) built with :func:`echo_edu.viz.widgets.interactive_figure`.
"""

from __future__ import annotations

import math

import torch

from ..rotary import RotaryEmbedding
from .widgets import interactive_figure

__all__ = ["THETA_CHOICES", "ROTARY_MODES", "build_rotary", "similarity_map", "similarity_figure",
           "similarity_static", "similarity_widget", "rope_planes", "rope_planes_figure", "rope_planes_static",
           "rope_planes_widget"]

THETA_CHOICES = (-10000.0, -1000.0, -100.0, -10.0, 10.0, 100.0, 1000.0, 10000.0)
ROTARY_MODES = {"standard": {}, "quaternion": {"use_quaternion": True},
         "projection": {"use_quaternion": True, "use_projection": True}}
K_ROTARY = ("same module", "separate module, opposite θ")
VECTORS = ("q = k (all ones)", "q ≠ k (random)")


def build_rotary(mode: str = "standard", dim: int = 32, seed: int = 0, **options) -> RotaryEmbedding:
    """A :class:`RotaryEmbedding` in ``mode`` ("standard", "quaternion", "projection") whose random axes and
    projection come from ``seed``, without touching the global random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return RotaryEmbedding(dim, **ROTARY_MODES[mode], **options)


def similarity_map(theta: float = 10000.0, rot_scale: float = 1.0, rot_count: int = 16, mode: str = "standard",
                   k_rotary: str = K_ROTARY[0], vectors: str = VECTORS[0], dim: int = 32, length: int = 48) -> dict:
    """Cosine similarity ``⟨R(m) q, R'(n) k⟩ / (|q||k|)`` for every query position m and key position n.

    ``R'`` is the same module as ``R`` (the correct use) or, with ``k_rotary="separate module, opposite θ"``,
    a second module with ``-theta`` and its own random axes (what the original Echo did). Returns the
    ``(length, length)`` map, the module's description, and per relative distance ``n - m`` the mean, min
    and max score: for a relative encoding min == max on every diagonal.
    """
    rope = build_rotary(mode, dim, seed=0, theta=theta, rot_scale=rot_scale, rot_count=rot_count)
    rope_k = rope if k_rotary == K_ROTARY[0] else build_rotary(mode, dim, seed=1, theta=-theta,
                                                               rot_scale=rot_scale, rot_count=rot_count)
    if vectors == VECTORS[0]:
        q = k = torch.ones(dim, dtype=torch.float64)
    else:
        g = torch.Generator().manual_seed(0)
        q, k = torch.randn(2, dim, generator=g, dtype=torch.float64)
    with torch.no_grad():
        pos = torch.arange(length)                                           # angles from freqs, in float64
        rq = rope.double().rotate_at(q.expand(length, dim), pos)             # (T, dim)
        rk = rope_k.double().rotate_at(k.expand(length, dim), pos)
    scores = (rq @ rk.T) / (q.norm() * k.norm())                             # (T_q, T_k)
    rel = torch.arange(-(length - 1), length)
    offsets = torch.arange(length)[None, :] - torch.arange(length)[:, None]  # n - m
    diag = [scores[offsets == d] for d in rel.tolist()]
    return {"scores": scores, "relative": rel, "mean": torch.stack([v.mean() for v in diag]),
            "min": torch.stack([v.min() for v in diag]), "max": torch.stack([v.max() for v in diag]),
            "spread": max(float((v.max() - v.min())) for v in diag), "describe": rope.extra_repr()}


def _title(s: dict, mode: str, theta: float) -> str:
    verdict = "relative: each diagonal is constant" if s["spread"] < 1e-6 else "NOT relative: diagonals vary"
    return f"{mode} RoPE, θ = {theta:g} — {verdict} (max spread {s['spread']:.2g})"


def similarity_figure(theta: float = 10000.0, rot_scale: float = 1.0, rot_count: int = 16, mode: str = "standard",
                      k_rotary: str = K_ROTARY[0], vectors: str = VECTORS[0], dim: int = 32, length: int = 48):
    """Plotly heatmap of q·k similarity over (query, key) positions and, beside it, score vs. n - m."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    s = similarity_map(theta, rot_scale, rot_count, mode, k_rotary, vectors, dim, length)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.5, 0.5], horizontal_spacing=0.12,
                        subplot_titles=("similarity over positions", "score vs. relative position n − m"))
    fig.add_trace(go.Heatmap(z=s["scores"].numpy(), zmin=-1, zmax=1, colorscale="RdBu", reversescale=True,
                             colorbar=dict(x=0.44, len=0.9), name="q·k",
                             hovertemplate="query m=%{y}<br>key n=%{x}<br>cos=%{z:.3f}<extra></extra>"), 1, 1)
    rel = s["relative"].numpy()
    fig.add_trace(go.Scatter(x=rel, y=s["max"].numpy(), line=dict(width=0), showlegend=False, name="max"), 1, 2)
    fig.add_trace(go.Scatter(x=rel, y=s["min"].numpy(), fill="tonexty", line=dict(width=0),
                             fillcolor="rgba(214,39,40,0.3)", name="min–max over pairs"), 1, 2)
    fig.add_trace(go.Scatter(x=rel, y=s["mean"].numpy(), line=dict(color="#1f77b4"), name="mean"), 1, 2)
    fig.update_xaxes(title_text="key position n", row=1, col=1)
    fig.update_yaxes(title_text="query position m", autorange="reversed", row=1, col=1)
    fig.update_xaxes(title_text="n − m", row=1, col=2)
    fig.update_yaxes(range=[-1.05, 1.05], row=1, col=2)
    fig.update_layout(height=430, margin=dict(l=10, r=10, t=80, b=10), title=_title(s, mode, theta) + "<br><sub>"
                      + s["describe"] + "</sub>", legend=dict(x=0.75, y=0.02))
    return fig


def similarity_static(theta: float = 10000.0, rot_scale: float = 1.0, rot_count: int = 16, mode: str = "standard",
                      k_rotary: str = K_ROTARY[0], vectors: str = VECTORS[0], dim: int = 32, length: int = 48):
    """Matplotlib twin of :func:`similarity_figure`."""
    import matplotlib.pyplot as plt

    s = similarity_map(theta, rot_scale, rot_count, mode, k_rotary, vectors, dim, length)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    im = ax.imshow(s["scores"].numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set(xlabel="key position n", ylabel="query position m", title="similarity over positions")
    rel = s["relative"].numpy()
    ax2.fill_between(rel, s["min"].numpy(), s["max"].numpy(), color="#d62728", alpha=0.3, label="min–max over pairs")
    ax2.plot(rel, s["mean"].numpy(), color="#1f77b4", label="mean")
    ax2.set(xlabel="n − m", ylim=(-1.05, 1.05), title="score vs. relative position")
    ax2.legend(fontsize=8, loc="lower right")
    fig.suptitle(_title(s, mode, theta) + "\n" + s["describe"], fontsize=9)
    fig.tight_layout()
    return fig


def similarity_widget(theta: float = 10000.0, rot_scale: float = 1.0, rot_count: int = 16, mode: str = "standard",
                      k_rotary: str = K_ROTARY[0], vectors: str = VECTORS[0]):
    """Controls for θ (sign included), rot_scale, rot_count, mode, how k is rotated and which vectors."""
    import ipywidgets as widgets

    controls = {
        "theta": widgets.SelectionSlider(options=THETA_CHOICES, value=theta, description="θ", continuous_update=False),
        "rot_scale": widgets.FloatSlider(value=rot_scale, min=0.125, max=1.0, step=0.125, description="rot_scale",
                                         continuous_update=False),
        "rot_count": widgets.IntSlider(value=rot_count, min=1, max=16, description="rot_count", continuous_update=False),
        "mode": widgets.Dropdown(options=list(ROTARY_MODES), value=mode, description="mode"),
        "k_rotary": widgets.Dropdown(options=K_ROTARY, value=k_rotary, description="k rotated by"),
        "vectors": widgets.Dropdown(options=VECTORS, value=vectors, description="vectors"),
    }
    return interactive_figure(controls, similarity_figure, similarity_static)


# ---------------------------------------------------------------- the planes of standard RoPE
def rope_planes(position: int = 5, theta: float = 10000.0, dim: int = 16, planes: int = 4) -> dict:
    """Where the unit vector (1, 0) of each of the first ``planes`` RoPE pairs points at positions 0..position."""
    rope = RotaryEmbedding(dim, theta=theta)
    e = torch.zeros(position + 1, dim, dtype=torch.float64)
    e[:, 0::2] = 1.0                                                        # (1, 0) in every pair
    with torch.no_grad():
        path = rope.double().rotate_queries_or_keys(e).view(position + 1, dim // 2, 2)[:, :planes]  # (P+1, planes, 2)
    wavelength = [2 * math.pi / abs(float(w)) for w in rope.freqs[:planes]]
    return {"path": path, "wavelength": wavelength, "freqs": rope.freqs[:planes].tolist()}


def rope_planes_figure(position: int = 5, theta: float = 10000.0, dim: int = 16, planes: int = 4):
    """One panel per pair: the pair's vector at ``position`` (arrow) and the track of earlier positions."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    s = rope_planes(position, theta, dim, planes)
    titles = [f"pair {k}: ω={w:.3g}, λ={lam:.3g}" for k, (w, lam) in enumerate(zip(s["freqs"], s["wavelength"]))]
    fig = make_subplots(rows=1, cols=planes, subplot_titles=titles)
    circle = torch.linspace(0, 2 * math.pi, 100)
    for k in range(planes):
        p = s["path"][:, k]
        fig.add_trace(go.Scatter(x=circle.cos().numpy(), y=circle.sin().numpy(), line=dict(color="lightgrey"),
                                 showlegend=False, hoverinfo="skip"), 1, k + 1)
        fig.add_trace(go.Scatter(x=p[:, 0].numpy(), y=p[:, 1].numpy(), mode="markers",
                                 marker=dict(color=list(range(position + 1)), colorscale="Viridis", size=6),
                                 showlegend=False, name="positions 0..p"), 1, k + 1)
        fig.add_trace(go.Scatter(x=[0, float(p[-1, 0])], y=[0, float(p[-1, 1])], mode="lines+markers",
                                 line=dict(color="#d62728", width=3), showlegend=False, name=f"position {position}"),
                      1, k + 1)
        fig.update_xaxes(range=[-1.2, 1.2], row=1, col=k + 1, showticklabels=False)
        fig.update_yaxes(range=[-1.2, 1.2], row=1, col=k + 1, scaleanchor=f"x{k + 1 if k else ''}",
                         showticklabels=False)
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=70, b=10),
                      title=f"Position {position}: pair k turns by {position}·ω_k (θ = {theta:g})")
    return fig


def rope_planes_static(position: int = 5, theta: float = 10000.0, dim: int = 16, planes: int = 4):
    """Matplotlib twin of :func:`rope_planes_figure`."""
    import matplotlib.pyplot as plt

    s = rope_planes(position, theta, dim, planes)
    fig, axes = plt.subplots(1, planes, figsize=(2.6 * planes, 2.9))
    circle = torch.linspace(0, 2 * math.pi, 100)
    for k, ax in enumerate(axes):
        p = s["path"][:, k]
        ax.plot(circle.cos(), circle.sin(), color="lightgrey")
        ax.scatter(p[:, 0], p[:, 1], c=range(position + 1), cmap="viridis", s=12)
        ax.plot([0, p[-1, 0]], [0, p[-1, 1]], color="#d62728", lw=2.5)
        ax.set(xlim=(-1.2, 1.2), ylim=(-1.2, 1.2), aspect="equal", xticks=[], yticks=[],
               title=f"pair {k}: λ={s['wavelength'][k]:.3g}")
    fig.suptitle(f"Position {position}: pair k turns by {position}·ω_k (θ = {theta:g})")
    return fig


def rope_planes_widget(position: int = 5, theta: float = 10000.0):
    """A position slider and a θ choice driving :func:`rope_planes_figure`."""
    import ipywidgets as widgets

    controls = {"position": widgets.IntSlider(value=position, min=0, max=60, description="position",
                                              continuous_update=False),
                "theta": widgets.SelectionSlider(options=THETA_CHOICES, value=theta, description="θ",
                                                 continuous_update=False)}
    return interactive_figure(controls, rope_planes_figure, rope_planes_static)
