"""Lesson 08's widget: where an Echo's parameters are, and which ``Dimensions`` fields move them.

:func:`parameter_table` builds ``Echo(dims)`` and counts its parameters part by part (the conv stem,
each block's attention, cross-attention and MLP, the token embedding that is also the output layer, the
CTC head). :func:`parameters_figure` draws them as stacked bars, one per part of the model, and
:func:`parameters_widget` puts the fields on controls: the layer-B attention type adds the mechanism's
own modules (myelinated: gates and a skip policy; integrated: the refiner's band logits), more layer-B
blocks add rows, ``ctc_weight > 0`` adds the CTC head.
"""

from __future__ import annotations

from ..attention import ATTENTION_TYPES
from ..dimensions import Dimensions
from ..model import Echo
from .widgets import interactive_figure

__all__ = ["PIECES", "parameter_table", "parameters_dims", "parameters_figure", "parameters_static",
           "parameters_widget"]

#: Child module of a block → the piece it is counted in (norms: everything else).
PIECES = {"attn": "self-attention", "cross": "cross-attention", "mlp": "MLP"}
_COLOURS = {"self-attention": "#1f77b4", "cross-attention": "#17becf", "MLP": "#ff7f0e", "norms": "#bbbbbb",
            "conv stem": "#2ca02c", "embedding (tied output)": "#9467bd", "CTC head": "#d62728"}


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def parameters_dims(self_attention_type: str = "integrated", audio_layerB: int = 1, text_layerB: int = 1,
                    width: int = 64, ctc: bool = True) -> Dimensions:
    """``Dimensions.tiny`` with the widget's fields set (the same width on both sides)."""
    return Dimensions.tiny(self_attention_type=self_attention_type, audio_layerB=audio_layerB,
                           text_layerB=text_layerB, audio_dims=width, text_dims=width,
                           ctc_weight=0.3 if ctc else 0.0)


def parameter_table(dims: Dimensions) -> list[dict]:
    """Rows ``{"part", "piece", "parameters"}`` of ``Echo(dims)``, encoder first; they sum to ``num_parameters()``."""
    model = Echo(dims)
    enc, dec = model.encoder, model.decoder
    rows = [{"part": "encoder stem", "piece": "conv stem", "parameters": _count(enc.conv1) + _count(enc.conv2)}]
    for side, module, layer_a in (("encoder", enc, dims.audio_layerA), ("decoder", dec, dims.text_layerA)):
        if side == "decoder":
            rows.append({"part": "decoder embedding", "piece": "embedding (tied output)",
                         "parameters": _count(dec.token_embedding)})
        for i, block in enumerate(module.blocks):
            kind = "A, standard" if i < layer_a else f"B, {dims.self_attention_type}"
            part = f"{side} block {i} ({kind})"
            counted = 0
            for name, piece in PIECES.items():
                child = getattr(block, name, None)      # encoder blocks have no cross-attention
                if child is not None:
                    rows.append({"part": part, "piece": piece, "parameters": _count(child)})
                    counted += rows[-1]["parameters"]
            rows.append({"part": part, "piece": "norms", "parameters": _count(block) - counted})
        rows.append({"part": f"{side} final norm", "piece": "norms", "parameters": _count(module.norm)})
    if model.ctc is not None:
        rows.append({"part": "CTC head", "piece": "CTC head", "parameters": _count(model.ctc)})
    return rows


def _title(dims: Dimensions, rows: list[dict]) -> str:
    total = sum(r["parameters"] for r in rows)
    return (f"Echo(Dimensions.tiny(...)): {total:,} parameters · width {dims.audio_dims} · layer B: "
            f"{dims.self_attention_type}, {dims.audio_layerB} + {dims.text_layerB} blocks")


def _bars(*fields) -> tuple[str, list[str], dict[str, list[int]]]:
    """What both drawings show: the title, the parts (rows, in model order) and, per piece present, its count
    in each part (0 where the part has none)."""
    dims = parameters_dims(*fields)
    rows = parameter_table(dims)
    parts = list(dict.fromkeys(r["part"] for r in rows))
    series = {}
    for piece in _COLOURS:
        mine = {r["part"]: r["parameters"] for r in rows if r["piece"] == piece}
        if mine:
            series[piece] = [mine.get(p, 0) for p in parts]
    return _title(dims, rows), parts, series


def parameters_figure(self_attention_type: str = "integrated", audio_layerB: int = 1, text_layerB: int = 1,
                      width: int = 64, ctc: bool = True):
    """Plotly stacked bars: one row per part of the model, split into its pieces; hover reads the count."""
    import plotly.graph_objects as go

    title, parts, series = _bars(self_attention_type, audio_layerB, text_layerB, width, ctc)
    fig = go.Figure()
    for piece, values in series.items():
        fig.add_trace(go.Bar(y=parts, x=values, name=piece, orientation="h", marker_color=_COLOURS[piece],
                             hovertemplate="%{y}<br>" + piece + ": %{x:,}<extra></extra>"))
    fig.update_layout(barmode="stack", title=title, height=140 + 26 * len(parts), width=900,
                      xaxis_title="parameters", yaxis_autorange="reversed", margin=dict(l=220, r=20, t=50, b=40))
    return fig


def parameters_static(self_attention_type: str = "integrated", audio_layerB: int = 1, text_layerB: int = 1,
                      width: int = 64, ctc: bool = True):
    """Matplotlib twin of :func:`parameters_figure`."""
    import matplotlib.pyplot as plt

    title, parts, series = _bars(self_attention_type, audio_layerB, text_layerB, width, ctc)
    fig, ax = plt.subplots(figsize=(9, 1 + 0.3 * len(parts)))
    left = [0] * len(parts)
    for piece, values in series.items():
        ax.barh(parts, values, left=left, color=_COLOURS[piece], label=piece)
        left = [a + b for a, b in zip(left, values)]
    ax.invert_yaxis()
    ax.set_xlabel("parameters")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def parameters_widget(self_attention_type: str = "integrated", audio_layerB: int = 1, text_layerB: int = 1,
                      width: int = 64, ctc: bool = True):
    """Controls for the layer-B attention type and block counts, the width and the CTC head."""
    import ipywidgets as widgets

    wide = {"description_width": "initial"}
    controls = {
        "self_attention_type": widgets.Dropdown(options=list(ATTENTION_TYPES), value=self_attention_type,
                                                description="layer B"),
        "audio_layerB": widgets.IntSlider(audio_layerB, 0, 3, description="audio_layerB",
                                         continuous_update=False, style=wide),
        "text_layerB": widgets.IntSlider(text_layerB, 0, 3, description="text_layerB",
                                        continuous_update=False, style=wide),
        "width": widgets.Dropdown(options=[32, 64, 128], value=width, description="width"),
        "ctc": widgets.Dropdown(options=[("ctc_weight 0.3", True), ("no CTC head", False)], value=ctc,
                                description="CTC"),
    }
    return interactive_figure(controls, parameters_figure, parameters_static)
