"""Attention maps: the widget every later lesson reuses (choose layer / head / example, hover to read).

Input contract (as bertviz's, rendered with plotly — no CDN): ``attention`` is a list (one entry per
layer) or a dict ``{layer name: weights}`` of ``(B, H, T_q, T_k)`` tensors, e.g. the ``info["weights"]``
of each layer called with ``need_weights=True``. Token labels are optional.

* :func:`attention_map_figure` / :func:`attention_map_static` / :func:`attention_map_widget` — one head
  (or the mean over heads) of one layer for one example; hover shows query, key and weight.
* :func:`masks_figure` / :func:`masks_static` — boolean masks side by side (True = may attend).
* :func:`collect_attention` — run attention modules with ``need_weights=True`` and gather their maps.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import torch

from ..errors import ShapeError
from .widgets import interactive_figure

__all__ = ["MEAN_HEAD", "collect_attention", "attention_map_figure", "attention_map_static", "attention_map_widget",
           "masks_figure", "masks_static"]

#: The ``head`` value that shows the average over heads.
MEAN_HEAD = "mean"


def _layers(attention) -> dict[str, torch.Tensor]:
    if isinstance(attention, torch.Tensor):
        attention = [attention]
    items = attention.items() if isinstance(attention, Mapping) else ((f"layer {i}", w) for i, w in enumerate(attention))
    layers = {}
    for name, w in items:
        if not isinstance(w, torch.Tensor) or w.dim() != 4:
            raise ShapeError(f"attention map {name!r} must be a (batch, heads, queries, keys) tensor, got "
                             f"{getattr(w, 'shape', type(w).__name__)}")
        layers[str(name)] = w.detach().float().cpu()
    if not layers:
        raise ShapeError("attention maps: got no layers")
    return layers


def _select(attention, layer, head, example) -> tuple[str, torch.Tensor]:
    layers = _layers(attention)
    name = layer if isinstance(layer, str) else list(layers)[layer]
    if name not in layers:
        raise ShapeError(f"no attention layer {name!r}; layers are {list(layers)}")
    w = layers[name]
    if not 0 <= example < w.shape[0]:
        raise ShapeError(f"example {example} out of range: layer {name!r} has a batch of {w.shape[0]}")
    if head == MEAN_HEAD:
        return name, w[example].mean(0)  # (T_q, T_k)
    if not 0 <= int(head) < w.shape[1]:
        raise ShapeError(f"head {head} out of range: layer {name!r} has {w.shape[1]} heads")
    return name, w[example, int(head)]  # (T_q, T_k)


def _labels(tokens: Sequence[str] | None, n: int) -> list[str]:
    if tokens is None:
        return [str(i) for i in range(n)]
    if len(tokens) != n:
        raise ShapeError(f"got {len(tokens)} token labels for {n} positions")
    # plotly merges equal category labels; keep them distinct with the position
    return [f"{i}:{t}" for i, t in enumerate(tokens)]


@torch.no_grad()
def collect_attention(modules, x: torch.Tensor, **forward_kwargs) -> dict[str, torch.Tensor]:
    """Call each attention module on ``x`` with ``need_weights=True``; return ``{name: (B, H, T, S)}``.

    Args:
        modules: a list or dict of attention modules (any registered type); each sees ``x`` and, when the
            residual stream matters, use the model's own ``info`` instead.
        **forward_kwargs: passed on (``causal``, ``context``, ``key_padding_mask``).
    """
    items = modules.items() if isinstance(modules, Mapping) else ((f"layer {i}", m) for i, m in enumerate(modules))
    maps = {}
    for name, module in items:
        _, info = module(x, need_weights=True, **forward_kwargs)
        maps[str(name)] = info["weights"]
    return maps


def attention_map_figure(attention, layer=0, head=0, example: int = 0, query_tokens: Sequence[str] | None = None,
                         key_tokens: Sequence[str] | None = None, title: str | None = None):
    """Plotly heatmap of one attention map: rows are queries, columns keys; hover reads the weight.

    Args:
        attention: list/dict of ``(B, H, T_q, T_k)`` weights (see module docstring).
        layer: index or name; head: index or :data:`MEAN_HEAD`; example: batch index.
        query_tokens, key_tokens: optional labels (key labels default to the query labels when square).
    """
    import plotly.graph_objects as go

    name, w = _select(attention, layer, head, example)
    if key_tokens is None and w.shape[0] == w.shape[1]:
        key_tokens = query_tokens
    ys, xs = _labels(query_tokens, w.shape[0]), _labels(key_tokens, w.shape[1])
    fig = go.Figure(go.Heatmap(z=w.numpy(), x=xs, y=ys, colorscale="Viridis", zmin=0.0,
                               colorbar=dict(title="weight"),
                               hovertemplate="query %{y}<br>key %{x}<br>weight %{z:.3f}<extra></extra>"))
    fig.update_layout(title=title or f"{name}, head {head}, example {example}", width=560, height=520,
                      xaxis_title="key", yaxis_title="query", yaxis_autorange="reversed",
                      margin=dict(l=60, r=20, t=50, b=50))
    return fig


def attention_map_static(attention, layer=0, head=0, example: int = 0, query_tokens=None, key_tokens=None,
                         title: str | None = None):
    """Matplotlib twin of :func:`attention_map_figure` (for places without a widget front end)."""
    import matplotlib.pyplot as plt

    name, w = _select(attention, layer, head, example)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    im = ax.imshow(w.numpy(), cmap="viridis", vmin=0.0, aspect="auto")
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    ax.set_title(title or f"{name}, head {head}, example {example}")
    if query_tokens is not None and len(query_tokens) <= 40:
        ax.set_yticks(range(len(query_tokens)), query_tokens)
        keys = key_tokens if key_tokens is not None else (query_tokens if w.shape[0] == w.shape[1] else None)
        if keys is not None:
            ax.set_xticks(range(len(keys)), keys)
    fig.colorbar(im, ax=ax, label="weight")
    return fig


def attention_map_widget(attention, query_tokens=None, key_tokens=None):
    """Dropdowns for layer and head (or their mean) and a slider for the example, above a hoverable map."""
    import ipywidgets as widgets

    layers = _layers(attention)
    first = next(iter(layers.values()))
    heads = max(w.shape[1] for w in layers.values())
    controls = {
        "layer": widgets.Dropdown(options=list(layers), description="layer"),
        "head": widgets.Dropdown(options=[MEAN_HEAD] + list(range(heads)), value=0, description="head"),
        "example": widgets.IntSlider(0, 0, first.shape[0] - 1, description="example"),
    }

    def make(layer, head, example):
        return attention_map_figure(layers, layer, head, example, query_tokens, key_tokens)

    def static(layer, head, example):
        return attention_map_static(layers, layer, head, example, query_tokens, key_tokens)

    return interactive_figure(controls, make, static)


def masks_figure(masks: Mapping[str, torch.Tensor]):
    """Plotly panels of boolean ``(T_q, T_k)`` masks side by side (yellow = may attend)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(masks), subplot_titles=list(masks), horizontal_spacing=0.05)
    for i, m in enumerate(masks.values(), start=1):
        z = m.detach().to(torch.float32).cpu().numpy()
        fig.add_trace(go.Heatmap(z=z, zmin=0, zmax=1, colorscale="Viridis", showscale=False,
                                 hovertemplate="query %{y}<br>key %{x}<br>may attend %{z}<extra></extra>"),
                      row=1, col=i)
        fig.update_yaxes(autorange="reversed", row=1, col=i)
    fig.update_layout(height=320, width=260 * len(masks), margin=dict(l=30, r=10, t=40, b=30))
    return fig


def masks_static(masks: Mapping[str, torch.Tensor]):
    """Matplotlib twin of :func:`masks_figure`."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(masks), figsize=(2.8 * len(masks), 2.9), squeeze=False)
    for ax, (name, m) in zip(axes[0], masks.items()):
        ax.imshow(m.detach().to(torch.float32).cpu().numpy(), cmap="viridis", vmin=0, vmax=1)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("key")
        ax.set_ylabel("query")
    fig.tight_layout()
    return fig
