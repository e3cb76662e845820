"""Views for lesson 01: a 3-D rotation explorer and slerp vs. naive interpolation.

Each view is a pure plotly builder (``*_figure``), a matplotlib twin (``*_static``) and a widget
(``*_widget``) wiring sliders to the builder through :func:`echo_edu.viz.widgets.interactive_figure`.
Quaternions are (w, x, y, z), as everywhere in echo_edu.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..quaternion import (quat_angle_between, quat_from_axis_angle, quat_slerp, quat_to_matrix, rodrigues_rotate)
from .widgets import interactive_figure

__all__ = ["rotation_state", "rotation_explorer_figure", "rotation_explorer_static", "rotation_explorer_widget",
           "slerp_figure", "slerp_static", "slerp_widget"]

AXIS_COLORS = ("#d62728", "#2ca02c", "#1f77b4")                 # x red, y green, z blue
# A lopsided box (long in x, flat in z) so that every orientation looks different.
_BOX = torch.tensor([[x, y, z] for x in (-0.9, 0.9) for y in (-0.45, 0.45) for z in (-0.2, 0.2)],
                    dtype=torch.float64)
_BOX_TRIANGLES = ([0, 0, 4, 4, 0, 0, 2, 2, 0, 0, 1, 1], [1, 3, 5, 7, 4, 5, 6, 7, 2, 6, 3, 7],
                  [3, 2, 7, 6, 5, 1, 7, 3, 6, 4, 7, 5])


def rotation_state(axis_x: float, axis_y: float, axis_z: float, angle_deg: float) -> dict:
    """Everything the explorer shows, computed with the library: unit axis, quaternion, matrix, rotated box."""
    axis = torch.tensor([axis_x, axis_y, axis_z], dtype=torch.float64)
    if float(axis.norm()) < 1e-9:                                # a zero axis means "no rotation"
        axis = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    axis = axis / axis.norm()
    angle = math.radians(angle_deg)
    q = quat_from_axis_angle(axis, angle)                        # (4,) w, x, y, z
    matrix = quat_to_matrix(q)                                   # (3, 3)
    sweep = torch.linspace(0, angle, 48, dtype=torch.float64)
    tip = torch.tensor([0.9, 0.45, 0.2], dtype=torch.float64)    # a corner of the box
    return {"axis": axis, "angle": angle, "q": q, "matrix": matrix, "box": _BOX @ matrix.T,
            "arc": rodrigues_rotate(axis.expand(48, 3), sweep, tip.expand(48, 3))}


def _numpy(state: dict) -> dict:
    """The same dict with tensors as NumPy arrays (what plotly and matplotlib want)."""
    return {k: v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v for k, v in state.items()}


def _state_text(s: dict) -> list[str]:
    w, x, y, z = s["q"].tolist()
    rows = [" ".join(f"{v:+.3f}" for v in row) for row in s["matrix"].tolist()]
    return [f"q = ({w:+.3f}, {x:+.3f}, {y:+.3f}, {z:+.3f})", f"|q| = {s['q'].norm():.3f}   (w, x, y, z)",
            "R = " + rows[0], "    " + rows[1], "    " + rows[2],
            f"det R = {torch.linalg.det(s['matrix']):+.3f}"]


def rotation_explorer_figure(axis_x: float = 1.0, axis_y: float = 1.0, axis_z: float = 0.5,
                             angle_deg: float = 60.0):
    """Plotly 3-D scene: the box before (faint) and after the rotation, both frames, the axis, the arc
    a corner travels; beside it a table with the live quaternion (w, x, y, z) and rotation matrix."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    s = rotation_state(axis_x, axis_y, axis_z, angle_deg)
    text, s, box0 = _state_text(s), _numpy(s), _BOX.numpy()
    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38],
                        specs=[[{"type": "scene"}, {"type": "table"}]])
    i, j, k = _BOX_TRIANGLES
    for verts, opacity, name in ((box0, 0.15, "before"), (s["box"], 0.85, "after")):
        fig.add_trace(go.Mesh3d(x=verts[:, 0], y=verts[:, 1], z=verts[:, 2], i=i, j=j, k=k, opacity=opacity,
                                color="#ff7f0e" if name == "after" else "grey", name=f"box {name}",
                                flatshading=True, showlegend=True), 1, 1)
    for c, color in enumerate(AXIS_COLORS):
        for frame, dash in ((np.eye(3), "dot"), (s["matrix"], "solid")):
            end = frame[:, c] * 1.4                               # column c = image of basis vector c
            fig.add_trace(go.Scatter3d(x=[0, end[0]], y=[0, end[1]], z=[0, end[2]], mode="lines",
                                       line=dict(color=color, width=6 if dash == "solid" else 3, dash=dash),
                                       name=f"{'xyz'[c]} {'rotated' if dash == 'solid' else 'original'}",
                                       showlegend=False), 1, 1)
    a = s["axis"] * 1.8
    fig.add_trace(go.Scatter3d(x=[-a[0], a[0]], y=[-a[1], a[1]], z=[-a[2], a[2]], mode="lines",
                               line=dict(color="black", width=4, dash="dash"), name="axis u"), 1, 1)
    fig.add_trace(go.Scatter3d(x=s["arc"][:, 0], y=s["arc"][:, 1], z=s["arc"][:, 2], mode="lines",
                               line=dict(color="#9467bd", width=5), name="corner's path"), 1, 1)
    fig.add_trace(go.Table(header=dict(values=[f"axis-angle: {math.degrees(s['angle']):.0f}° about "
                                               f"({', '.join(f'{v:.2f}' for v in s['axis'].tolist())})"]),
                           cells=dict(values=[text], font=dict(family="monospace", size=13), height=28)), 1, 2)
    lim = [-2, 2]
    fig.update_layout(height=460, margin=dict(l=0, r=0, t=40, b=0), title="Rotation explorer",
                      scene=dict(xaxis=dict(range=lim), yaxis=dict(range=lim), zaxis=dict(range=lim),
                                 aspectmode="cube"), legend=dict(x=0.0, y=0.0))
    return fig


def rotation_explorer_static(axis_x: float = 1.0, axis_y: float = 1.0, axis_z: float = 0.5,
                             angle_deg: float = 60.0):
    """Matplotlib twin of :func:`rotation_explorer_figure` (for places without a widget front end)."""
    import matplotlib.pyplot as plt

    s = rotation_state(axis_x, axis_y, axis_z, angle_deg)
    text, s, box0 = _state_text(s), _numpy(s), _BOX.numpy()
    fig = plt.figure(figsize=(9, 4.2))
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    i, j, k = _BOX_TRIANGLES
    for verts, alpha, color in ((box0, 0.12, "grey"), (s["box"], 0.7, "#ff7f0e")):
        ax.plot_trisurf(verts[:, 0], verts[:, 1], list(zip(i, j, k)), verts[:, 2], color=color, alpha=alpha)
    for c, color in enumerate(AXIS_COLORS):
        end = s["matrix"][:, c] * 1.4
        ax.plot([0, end[0]], [0, end[1]], [0, end[2]], color=color, lw=3)
        ax.plot([0, 1.4 * (c == 0)], [0, 1.4 * (c == 1)], [0, 1.4 * (c == 2)], color=color, lw=1, ls=":")
    a = s["axis"] * 1.8
    ax.plot([-a[0], a[0]], [-a[1], a[1]], [-a[2], a[2]], "k--", lw=1.5, label="axis u")
    ax.plot(s["arc"][:, 0], s["arc"][:, 1], s["arc"][:, 2], color="#9467bd", lw=2, label="corner's path")
    ax.set(xlim=(-2, 2), ylim=(-2, 2), zlim=(-2, 2), xlabel="x", ylabel="y", zlabel="z")
    ax.legend(loc="lower left", fontsize=8)
    text_ax = fig.add_subplot(1, 2, 2)
    text_ax.axis("off")
    text_ax.text(0, 0.5, "\n".join(text), family="monospace", fontsize=10, va="center")
    fig.suptitle(f"Rotation by {angle_deg:.0f}° about the axis shown")
    return fig


def rotation_explorer_widget(axis_x: float = 1.0, axis_y: float = 1.0, axis_z: float = 0.5, angle_deg: float = 60.0):
    """Sliders for the axis (x, y, z) and the angle (degrees) driving :func:`rotation_explorer_figure`."""
    import ipywidgets as widgets

    def slider(value, lo, hi, step, name):
        return widgets.FloatSlider(value=value, min=lo, max=hi, step=step, description=name, continuous_update=False)

    controls = {"axis_x": slider(axis_x, -1, 1, 0.05, "axis x"), "axis_y": slider(axis_y, -1, 1, 0.05, "axis y"),
                "axis_z": slider(axis_z, -1, 1, 0.05, "axis z"), "angle_deg": slider(angle_deg, -360, 360, 5, "angle °")}
    return interactive_figure(controls, rotation_explorer_figure, rotation_explorer_static, columns=2)


# ---------------------------------------------------------------- slerp vs. naive interpolation
def _interpolations(angle_deg: float, steps: int = 21) -> dict:
    """Two rotations about different axes, interpolated by slerp and by averaging matrices (then applied to a point)."""
    q0 = quat_from_axis_angle(torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64), 0.0)
    q1 = quat_from_axis_angle(torch.tensor([1.0, 1.0, 0.2], dtype=torch.float64), math.radians(angle_deg))
    t = torch.linspace(0, 1, steps, dtype=torch.float64)
    slerp = quat_slerp(q0, q1, t)                                # (steps, 4)
    r0, r1 = quat_to_matrix(q0), quat_to_matrix(q1)
    naive = (1 - t)[:, None, None] * r0 + t[:, None, None] * r1  # (steps, 3, 3): not rotations in between
    point = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    return {"t": t, "slerp_points": quat_to_matrix(slerp) @ point, "naive_points": naive @ point,
            "slerp_speed": quat_angle_between(slerp[:-1], slerp[1:]) * (steps - 1),
            "naive_scale": torch.linalg.svdvals(naive)}          # (steps, 3): 1, 1, 1 for a rotation


def slerp_figure(angle_deg: float = 150.0):
    """Left: the path of a point under slerp (on the sphere) vs. averaged matrices (cuts inside).
    Right: slerp's angular speed (flat) and the averaged matrix's smallest singular value (dips below 1)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    s = _numpy(_interpolations(angle_deg))
    fig = make_subplots(rows=1, cols=2, specs=[[{"type": "scene"}, {"type": "xy"}]],
                        subplot_titles=("path of the point (0, 0, 1)", "along the way"))
    for key, color, name in (("slerp_points", "#1f77b4", "slerp"), ("naive_points", "#d62728", "averaged matrices")):
        p = s[key]
        fig.add_trace(go.Scatter3d(x=p[:, 0], y=p[:, 1], z=p[:, 2], mode="lines+markers", marker=dict(size=3),
                                   line=dict(color=color, width=4), name=name), 1, 1)
    fig.add_trace(go.Scatter(x=s["t"][1:], y=s["slerp_speed"], name="slerp angular speed (rad per unit t)",
                             line=dict(color="#1f77b4")), 1, 2)
    fig.add_trace(go.Scatter(x=s["t"], y=s["naive_scale"][:, -1], name="averaged: smallest singular value",
                             line=dict(color="#d62728")), 1, 2)
    fig.update_layout(height=420, margin=dict(l=0, r=0, t=60, b=0), title=f"Interpolating a {angle_deg:.0f}° turn",
                      scene=dict(aspectmode="cube", xaxis=dict(range=[-1.1, 1.1]), yaxis=dict(range=[-1.1, 1.1]),
                                 zaxis=dict(range=[-1.1, 1.1])))
    fig.update_xaxes(title_text="t", row=1, col=2)
    return fig


def slerp_static(angle_deg: float = 150.0):
    """Matplotlib twin of :func:`slerp_figure`."""
    import matplotlib.pyplot as plt

    s = _numpy(_interpolations(angle_deg))
    fig = plt.figure(figsize=(9, 3.8))
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    for key, color, name in (("slerp_points", "#1f77b4", "slerp"), ("naive_points", "#d62728", "averaged matrices")):
        p = s[key]
        ax.plot(p[:, 0], p[:, 1], p[:, 2], "o-", ms=2, color=color, label=name)
    ax.set(xlim=(-1.1, 1.1), ylim=(-1.1, 1.1), zlim=(-1.1, 1.1))
    ax.legend(fontsize=8)
    ax2 = fig.add_subplot(1, 2, 2)
    ax2.plot(s["t"][1:], s["slerp_speed"], color="#1f77b4", label="slerp angular speed")
    ax2.plot(s["t"], s["naive_scale"][:, -1], color="#d62728", label="averaged: smallest singular value")
    ax2.set(xlabel="t")
    ax2.legend(fontsize=8)
    fig.suptitle(f"Interpolating a {angle_deg:.0f}° turn")
    return fig


def slerp_widget(angle_deg: float = 150.0):
    """A slider for the size of the turn driving :func:`slerp_figure`."""
    import ipywidgets as widgets

    control = widgets.FloatSlider(value=angle_deg, min=10, max=179, step=1, description="turn °",
                                  continuous_update=False)
    return interactive_figure({"angle_deg": control}, slerp_figure, slerp_static)
