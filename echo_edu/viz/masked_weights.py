"""Lesson 02's widget: one mask, one scale, and the attention weights they give.

:func:`masked_weights` computes, for seeded random queries and keys of width ``d``, the mask (True = may
attend) and ``softmax(q kᵀ · scale, masked)``; :func:`masked_weights_figure` draws both, with the mean
row entropy against its largest possible value (uniform over the allowed keys), and
:func:`masked_weights_widget` puts the choices on controls. What to see: blocked keys get weight 0
and every row still sums to 1; without ``1/√d`` a wide head's rows collapse onto one key.
"""

from __future__ import annotations

import torch

from ..attention import attention_core, band_mask, causal_mask, combine_masks, lengths_to_padding_mask
from ..errors import ConfigError
from .widgets import interactive_figure

__all__ = ["MASK_KINDS", "SCALES", "masked_weights", "masked_weights_figure", "masked_weights_static",
           "masked_weights_widget"]

#: The masks the widget offers (lesson 02, section 2).
MASK_KINDS = ("none", "causal", "padding", "band", "causal band", "causal AND padding")
#: ``scale`` choice → the factor of the logits (``None``: ``1/√d``).
SCALES = {"1/√d": None, "1 (unscaled)": 1.0}


def _mask(kind: str, tokens: int, window: int, real: int) -> torch.Tensor:
    """``(T, T)`` bool mask of ``kind``; ``window`` is the band's width, ``real`` the number of real keys."""
    padding = lengths_to_padding_mask(torch.tensor([real]), tokens)[0].expand(tokens, tokens)
    parts = {"none": (torch.ones(tokens, tokens, dtype=torch.bool),), "causal": (causal_mask(tokens, tokens),),
             "padding": (padding,), "band": (band_mask(tokens, tokens, window, causal=False),),
             "causal band": (band_mask(tokens, tokens, window, causal=True),),
             "causal AND padding": (causal_mask(tokens, tokens), padding)}
    return combine_masks(*parts[kind])


def masked_weights(kind: str = "causal", window: int = 3, real: int = 5, scale: str = "1/√d", d: int = 8,
                   tokens: int = 8, seed: int = 0) -> dict:
    """Mask and attention weights of seeded random ``q, k`` of shape ``(tokens, d)``.

    Returns:
        ``mask`` ``(T, T)`` bool, ``weights`` ``(T, T)``, ``entropy`` ``(T,)`` nats per row and
        ``max_entropy`` ``(T,)``, ``ln(allowed keys)`` (0 for a row without any).
    """
    if kind not in MASK_KINDS:
        raise ConfigError(f"mask kind must be one of {MASK_KINDS}, got {kind!r}")
    if scale not in SCALES:
        raise ConfigError(f"scale must be one of {tuple(SCALES)}, got {scale!r}")
    if not (1 <= window <= tokens and 1 <= real <= tokens):
        raise ConfigError(f"window and real keys must lie in 1..{tokens}, got window={window}, real={real}")
    gen = torch.Generator().manual_seed(seed)
    q, k = torch.randn(2, tokens, d, generator=gen, dtype=torch.float64).unbind(0)
    mask = _mask(kind, tokens, window, real)
    _, weights = attention_core(q, k, k, mask, scale=SCALES[scale], need_weights=True)
    entropy = -(weights * weights.clamp_min(1e-300).log()).sum(-1)
    return {"mask": mask, "weights": weights, "entropy": entropy,
            "max_entropy": mask.sum(-1).clamp_min(1).double().log()}


def _title(r: dict, scale: str, d: int) -> str:
    return (f"scale {scale}, d = {d}: mean row entropy {r['entropy'].mean():.2f} nats of at most "
            f"{r['max_entropy'].mean():.2f} · largest weight per row {r['weights'].amax(-1).mean():.2f} on average")


def masked_weights_figure(kind: str = "causal", window: int = 3, real: int = 5, scale: str = "1/√d", d: int = 8):
    """Plotly: the mask (left) and the weights it gives (right); hover reads each entry."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    r = masked_weights(kind, window, real, scale, d)
    fig = make_subplots(rows=1, cols=2, subplot_titles=(f"mask: {kind} (yellow = may attend)", "weights"))
    fig.add_trace(go.Heatmap(z=r["mask"].double().numpy(), zmin=0, zmax=1, colorscale="Viridis", showscale=False,
                             hovertemplate="query %{y}<br>key %{x}<br>may attend %{z}<extra></extra>"), 1, 1)
    fig.add_trace(go.Heatmap(z=r["weights"].numpy(), zmin=0, zmax=1, colorscale="Viridis",
                             colorbar=dict(title="weight"),
                             hovertemplate="query %{y}<br>key %{x}<br>weight %{z:.3f}<extra></extra>"), 1, 2)
    fig.update_yaxes(autorange="reversed", title_text="query", row=1, col=1)
    fig.update_yaxes(autorange="reversed", row=1, col=2)
    fig.update_xaxes(title_text="key")
    fig.update_layout(title=_title(r, scale, d), height=380, width=820, margin=dict(l=50, r=20, t=80, b=40))
    return fig


def masked_weights_static(kind: str = "causal", window: int = 3, real: int = 5, scale: str = "1/√d", d: int = 8):
    """Matplotlib twin of :func:`masked_weights_figure`."""
    import matplotlib.pyplot as plt

    r = masked_weights(kind, window, real, scale, d)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, key, name in ((axes[0], "mask", f"mask: {kind}"), (axes[1], "weights", "weights")):
        im = ax.imshow(r[key].double().numpy(), cmap="viridis", vmin=0, vmax=1)
        ax.set(title=name, xlabel="key", ylabel="query")
    fig.colorbar(im, ax=axes[1], label="weight")
    fig.suptitle(_title(r, scale, d), fontsize=9)
    return fig


def masked_weights_widget(kind: str = "causal", window: int = 3, real: int = 5, scale: str = "1/√d", d: int = 8):
    """Controls for the mask, the band's width, the number of real keys, the scale and the head width."""
    import ipywidgets as widgets

    controls = {
        "kind": widgets.Dropdown(options=MASK_KINDS, value=kind, description="mask"),
        "window": widgets.IntSlider(window, 1, 8, description="band width", continuous_update=False),
        "real": widgets.IntSlider(real, 1, 8, description="real keys", continuous_update=False),
        "scale": widgets.Dropdown(options=list(SCALES), value=scale, description="scale"),
        "d": widgets.SelectionSlider(options=[8, 64, 512], value=d, description="head width d",
                                     continuous_update=False, style={"description_width": "initial"}),
    }
    return interactive_figure(controls, masked_weights_figure, masked_weights_static)

