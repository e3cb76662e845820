"""Lessons 01 and 03 views: figures build headlessly, carry no NaN, and follow their controls."""

import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from echo_edu.viz import quaternion as vq  # noqa: E402
from echo_edu.viz import rotary as vr  # noqa: E402


def numbers(fig):
    """Every numeric array in a plotly figure's traces, flattened."""
    out = []
    for trace in fig.data:
        for key in ("x", "y", "z"):
            value = getattr(trace, key, None)
            if value is not None and not isinstance(value, str):
                arr = np.asarray(value, dtype=object)
                if arr.dtype == object and arr.size and not isinstance(arr.flat[0], str):
                    out.append(np.asarray(value, dtype=float).ravel())
    return np.concatenate(out)


def data_of(fig):
    return fig.to_json()


def test_rotation_explorer_figure_static_and_widget():
    fig = vq.rotation_explorer_figure(0.0, 0.0, 1.0, 90.0)
    kinds = [t.type for t in fig.data]
    assert kinds.count("mesh3d") == 2 and "table" in kinds and kinds.count("scatter3d") == 8
    assert np.isfinite(numbers(fig)).all()
    table = " ".join(fig.data[-1].cells.values[0])
    assert "det R = +1.000" in table and "q = (+0.707, +0.000, +0.000, +0.707)" in table
    assert len(vq.rotation_explorer_static().axes) == 2
    widget = vq.rotation_explorer_widget()
    before = data_of(widget.figure)
    widget.controls["angle_deg"].value = 150.0
    assert data_of(widget.figure) != before
    assert "image/png" in widget._repr_mimebundle_()


def test_rotation_state_matches_quarter_turn_about_z():
    s = vq.rotation_state(0, 0, 2, 90)
    np.testing.assert_allclose(s["matrix"].numpy(), [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-12)
    np.testing.assert_allclose(s["arc"][-1].numpy(), [-0.45, 0.9, 0.2], atol=1e-12)   # the corner, turned


def test_slerp_view_shows_constant_speed_and_a_shrinking_average():
    s = vq._interpolations(150.0)
    speed = s["slerp_speed"].numpy()
    np.testing.assert_allclose(speed, math.radians(150.0), rtol=1e-6)
    assert s["naive_scale"][:, -1].min() < 0.5                      # averaged matrices are not rotations
    fig = vq.slerp_figure(90.0)
    assert len(fig.data) == 4 and np.isfinite(numbers(fig)).all()
    widget = vq.slerp_widget()
    before = data_of(widget.figure)
    widget.controls["angle_deg"].value = 40.0
    assert data_of(widget.figure) != before


@pytest.mark.parametrize("mode", list(vr.ROTARY_MODES))
def test_similarity_map_is_relative_only_with_one_shared_module(mode):
    same = vr.similarity_map(mode=mode, vectors=vr.VECTORS[1], length=24)
    assert same["spread"] < 1e-9
    separate = vr.similarity_map(mode=mode, vectors=vr.VECTORS[1], k_rotary=vr.K_ROTARY[1], length=24)
    assert separate["spread"] > 0.1


def test_negative_theta_transposes_the_similarity_map():
    pos = vr.similarity_map(theta=100.0, vectors=vr.VECTORS[1], length=16)["scores"]
    neg = vr.similarity_map(theta=-100.0, vectors=vr.VECTORS[1], length=16)["scores"]
    np.testing.assert_allclose(neg.numpy(), pos.T.numpy(), atol=1e-9)
    assert not np.allclose(neg.numpy(), pos.numpy(), atol=1e-3)


def test_similarity_figure_static_and_every_control():
    fig = vr.similarity_figure(length=16)
    assert [t.type for t in fig.data] == ["heatmap", "scatter", "scatter", "scatter"]
    assert np.isfinite(np.asarray(fig.data[0].z)).all()
    assert len(vr.similarity_static(length=16).axes) == 3             # two panels and a colour bar
    widget = vr.similarity_widget()
    changes = {"theta": 100.0, "rot_scale": 0.5, "rot_count": 4, "mode": "quaternion",
               "k_rotary": vr.K_ROTARY[1], "vectors": vr.VECTORS[1]}
    for name, value in changes.items():
        before = data_of(widget.figure)
        widget.controls[name].value = value
        assert data_of(widget.figure) != before, name


def test_rope_planes_turn_by_position_times_frequency():
    s = vr.rope_planes(position=7, theta=100.0, dim=8, planes=4)
    angles = np.arctan2(s["path"][-1, :, 1].numpy(), s["path"][-1, :, 0].numpy())
    want = np.angle(np.exp(1j * 7 * np.array(s["freqs"])))
    np.testing.assert_allclose(angles, want, atol=1e-6)
    fig = vr.rope_planes_figure(position=3)
    assert len(fig.data) == 12 and np.isfinite(numbers(fig)).all()
    assert len(vr.rope_planes_static(position=3).axes) == 4
    widget = vr.rope_planes_widget()
    before = data_of(widget.figure)
    widget.controls["position"].value = 30
    assert data_of(widget.figure) != before
