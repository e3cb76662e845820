"""One diagram of the whole Echo model, labelled from a :class:`~echo_edu.Dimensions`.

:func:`echo_diagram` draws what :class:`echo_edu.model.Echo` builds from the config: the log-mel input,
the conv stem (stride 2), one box per encoder block (layer A: standard self-attention, layer B:
``self_attention_type``), the padding mask, the CTC head (dashed when ``ctc_weight`` is 0), one box per
decoder block (causal self-attention, then cross-attention to the audio with ``cross_attention_type``),
the tied output and the loss. A side panel says where each attention type may sit and what the
span choosers (the Q-learning refiner, the adaptive span, the focus window) feed; the types the config
uses are bold. Every patch has a ``gid`` (``"encoder-block-0"``, ``"decoder-cross-1"``, ``"ctc-head"``...)
so tests and readers can find it.
"""

from __future__ import annotations

import textwrap

from ..dimensions import Dimensions

__all__ = ["echo_diagram", "ATTENTION_COLOURS"]

#: Face colour of each attention type's boxes.
ATTENTION_COLOURS = {"standard": "#dfe7f2", "myelinated": "#e6d9f2", "integrated": "#fbe0c4",
                     "adaptive": "#d6efd6", "focus": "#cdeeee"}
#: What a self-attention layer of each type does (one line inside its block).
_SELF_HINT = {"standard": "softmax over every key", "myelinated": "sub-layers: skip gates, importance, memory",
              "integrated": "local band (width ← Q-refiner) + pooled global",
              "adaptive": "soft span per head ← content",
              "focus": "band width ← frame activity"}
#: What each type becomes as cross-attention (text and audio positions have no distance).
_CROSS_NOTE = {"standard": "", "myelinated": " (sub-layers)", "integrated": " (= plain: no band)",
               "adaptive": " (= plain: no span)", "focus": " (= plain: no window)"}
#: Side panel: where each type may sit, and what its choice feeds.
_PANEL = [
    ("standard", "every layer-A block; layer B and cross when chosen. Learns by gradient only."),
    ("myelinated", "layer B or cross. Pooled stream → skip policy (straight-through Gumbel) → which "
                   "sub-layers' updates apply; importance and memory gates; compute_cost → aux_loss."),
    ("integrated", "layer B (cross: plain attention). Global pooled branch → state (distance, entropy) → "
                   "Q-refiner picks a window per token → local band. Reward = coverage - width cost, "
                   "closed form, no gradient; updates in train() only."),
    ("adaptive", "layer B (cross: plain). Pooled input → span z per head → log of a soft ramp added to the "
                 "logits; span_penalty · z / max_span → aux_loss."),
    ("focus", "layer B (cross: plain). Frame activity → thresholds (calibrate) → window per example "
              "(per position when causal) → band. No learning in the choice."),
]


def _box(ax, x, y, w, h, text, *, gid, face="#f4f4f4", dashed=False, size=8.0, weight="normal"):
    """A rounded box with centred text; ``(x, y)`` is its lower-left corner. Returns the patch."""
    from matplotlib.patches import FancyBboxPatch
    patch = FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.12", facecolor=face,
                           edgecolor="#777" if dashed else "#333", linestyle="--" if dashed else "-", lw=1.0, gid=gid)
    ax.add_patch(patch)
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size, weight=weight,
            color="#777" if dashed else "black", gid=f"{gid}-label")
    return patch


def _arrow(ax, start, end, *, dashed=False, colour="#333", rad=0.0):
    from matplotlib.patches import FancyArrowPatch
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, lw=1.0, color=colour,
                                 linestyle="--" if dashed else "-", connectionstyle=f"arc3,rad={rad}"))


def echo_diagram(dims: Dimensions | None = None, *, title: str | None = None):
    """Draw the Echo model that ``Echo(dims)`` builds; returns a matplotlib ``Figure``.

    Args:
        dims: the configuration; ``None`` gives ``Dimensions.small`` with one layer-B block on each side
            (integrated self-attention) and a CTC head (``ctc_weight=0.3``), so every part is visible.
        title: figure title (default: a one-line summary of ``dims``).
    """
    import matplotlib.pyplot as plt

    if dims is None:
        dims = Dimensions.small(audio_layerB=1, text_layerB=1, self_attention_type="integrated", ctc_weight=0.3)
    dims.validate()
    enc = ["standard"] * dims.audio_layerA + [dims.self_attention_type] * dims.audio_layerB
    dec = ["standard"] * dims.text_layerA + [dims.self_attention_type] * dims.text_layerB
    rot = " · rotary" if dims.rotary else ""
    row, gap = 1.05, 0.3                                    # block height, space between boxes
    blocks_h = max(len(enc) * (row + gap) + 1.35, len(dec) * (1.45 + gap))
    height = 4.3 + blocks_h + 2.0
    fig, ax = plt.subplots(figsize=(16 * 0.78, height * 0.78))
    ax.set(xlim=(0, 16), ylim=(0, height)), ax.axis("off")
    ex, ew, dx, dw = 0.2, 5.0, 6.9, 5.0                     # encoder and decoder columns
    top = height - 0.35

    # --- encoder: log-mel, conv stem, padding mask, blocks, encoded audio, CTC head
    _box(ax, ex, top - 1.0, ew, 1.0, f"log-mel (B, mels={dims.mels}, ≤ {dims.n_frames} frames of 10 ms)\n"
         f"feature_norm = {dims.feature_norm}", gid="input-mel")
    _box(ax, ex, top - 2.3, ew, 1.0, f"conv stem: Conv1d({dims.mels}→{dims.audio_dims}, k 3) → {dims.audio_act}"
         f"\n→ Conv1d(k 3, stride 2) → {dims.audio_act}{' (twice)' if dims.audio_stride == 4 else ''}\n"
         f"{10 * dims.audio_stride} ms per position (≤ {dims.audio_ctx}) + sinusoidal "
         "positions", gid="conv-stem")
    _arrow(ax, (ex + ew / 2, top - 1.0), (ex + ew / 2, top - 1.3))
    mask_on = dims.mask_padding
    _box(ax, ex, top - 3.25, ew, 0.65, "padding mask (B, S): position i is real when 2i < frames\n"
         + ("→ every encoder self-attention and every cross-attention" if mask_on else "off (mask_padding=False)"),
         gid="padding-mask", face="#fff6cc", dashed=not mask_on, size=7.5)
    y = top - 3.25 - gap
    for i, kind in enumerate(enc):
        y -= row
        layer = "A" if i < dims.audio_layerA else "B"
        _box(ax, ex, y, ew, row, f"encoder block {i} · layer {layer} · pre-norm + MLP\n"
             f"self: {kind} (bidirectional){rot}\n{_SELF_HINT[kind]}", gid=f"encoder-block-{i}",
             face=ATTENTION_COLOURS[kind])
        _arrow(ax, (ex + ew / 2, y + row + gap), (ex + ew / 2, y + row))
        if mask_on:                                     # the mask reaches every encoder block
            ax.plot([ex, ex - 0.12, ex - 0.12], [top - 2.92, top - 2.92, y + row / 2], ls="--", lw=1.0,
                    color="#b08d00")
            _arrow(ax, (ex - 0.12, y + row / 2), (ex, y + row / 2), colour="#b08d00")
        y -= gap
    y -= 0.75
    _box(ax, ex, y, ew, 0.75, f"final norm → encoded audio (B, S ≤ {dims.audio_ctx}, {dims.audio_dims})",
         gid="encoded-audio")
    _arrow(ax, (ex + ew / 2, y + 0.75 + gap), (ex + ew / 2, y + 0.75))
    ctc_on = dims.ctc_weight > 0
    _box(ax, ex + 0.6, y - 1.05, ew - 1.2, 0.7, f"CTC head: Linear({dims.audio_dims}→{dims.vocab}), log-softmax\n"
         + (f"ctc_weight = {dims.ctc_weight:g}" if ctc_on else "none (ctc_weight = 0)"), gid="ctc-head",
         dashed=not ctc_on, face="#eaf4e4" if ctc_on else "#fafafa")
    _arrow(ax, (ex + ew / 2, y), (ex + ew / 2, y - 0.35), dashed=not ctc_on)
    enc_bottom = y

    # --- decoder: tokens, embedding, blocks (causal self + cross), tied logits
    _box(ax, dx, top - 1.0, dw, 1.0, f"token ids (B, T ≤ {dims.text_ctx})\nfirst = <|startoftranscript|> "
         f"(id {dims.decoder_start_token_id})", gid="input-tokens")
    pos = "positions: rotary inside self-attention" if dims.rotary else "+ learned positions (rotary off)"
    _box(ax, dx, top - 2.3, dw, 1.0, f"token embedding E ({dims.vocab} × {dims.text_dims})\n{pos}", gid="embedding")
    _arrow(ax, (dx + dw / 2, top - 1.0), (dx + dw / 2, top - 1.3))
    y, drow = top - 2.3 - gap, 1.45                        # a decoder block: title, self box, cross box
    bus_top = y
    cross = dims.cross_attention_type
    for i, kind in enumerate(dec):
        y -= drow
        layer = "A" if i < dims.text_layerA else "B"
        _box(ax, dx, y, dw, drow, "", gid=f"decoder-block-{i}", face="white")
        ax.text(dx + dw / 2, y + drow - 0.06, f"decoder block {i} · layer {layer} · pre-norm + MLP", fontsize=7.5,
                va="top", ha="center")
        _box(ax, dx + 0.1, y + 0.5, dw - 0.2, 0.6, f"self: {kind} (causal){rot}\n{_SELF_HINT[kind]}",
             gid=f"decoder-self-{i}", face=ATTENTION_COLOURS[kind], size=7.5)
        _box(ax, dx + 0.1, y + 0.07, dw - 0.2, 0.35, f"cross → audio: {cross}{_CROSS_NOTE[cross]} · no rotary",
             gid=f"decoder-cross-{i}", face=ATTENTION_COLOURS[cross], size=7.5)
        _arrow(ax, (dx + dw / 2, y + drow + gap), (dx + dw / 2, y + drow))
        _arrow(ax, (6.3, y + 0.25), (dx + 0.1, y + 0.25), colour="#1f5fa8")
        y -= gap
    y -= 0.75
    _box(ax, dx, y, dw, 0.75, f"final norm → logits = x · Eᵀ (tied), (B, T, {dims.vocab})", gid="logits")
    _arrow(ax, (dx + dw / 2, y + 0.75 + gap), (dx + dw / 2, y + 0.75))
    _arrow(ax, (dx + dw + 0.02, y + 0.5), (dx + dw + 0.02, top - 1.8), dashed=True, colour="#888", rad=0.25)
    ax.text(dx + dw + 0.35, (y + top - 1.8) / 2, "tied", rotation=90, fontsize=7, color="#888", va="center")

    # --- the audio "bus": encoded audio feeds the cross-attention of every decoder block
    bus_bottom = min(y, enc_bottom)
    _box(ax, 5.5, bus_bottom, 0.8, bus_top - bus_bottom, "encoded audio (+ mask) → cross K/V, once per clip",
         gid="audio-bus", face="#e3edf9", size=7.5)
    ax.texts[-1].set_rotation(90)
    _arrow(ax, (ex + ew, enc_bottom + 0.375), (5.5, enc_bottom + 0.375), colour="#1f5fa8")

    # --- the loss
    loss = (f"loss = {1 - dims.ctc_weight:g} · CE(logits) + {dims.ctc_weight:g} · CTC + aux_loss" if ctc_on
            else "loss = CE(logits) + aux_loss") + "   (aux_loss: sum of every attention layer's regulariser)"
    _box(ax, ex, 0.15, dx + dw - ex, 0.6, loss, gid="loss", face="#f7e1e1")
    _arrow(ax, (dx + dw / 2, y), (dx + dw / 2, 0.75))
    if ctc_on:
        _arrow(ax, (ex + ew / 2, enc_bottom - 1.05), (ex + ew / 2, 0.75))

    # --- side panel: where each type sits, what it feeds; the types in use are bold
    px, py = 12.75, top
    ax.text(px, py, "Attention types: where, and what drives them", fontsize=8.5, weight="bold", va="top")
    used = {dims.self_attention_type if dims.audio_layerB + dims.text_layerB else "standard",
            dims.cross_attention_type, "standard"}
    py -= 0.45
    for kind, words in _PANEL:
        lines = textwrap.wrap(words, 44)
        _box(ax, px, py - 0.28, 0.3, 0.28, "", gid=f"panel-{kind}", face=ATTENTION_COLOURS[kind])
        ax.text(px + 0.4, py, kind + ("  (in this config)" if kind in used else ""), fontsize=8, va="top",
                weight="bold" if kind in used else "normal")
        ax.text(px + 0.4, py - 0.3, "\n".join(lines), fontsize=7, va="top", linespacing=1.25)
        py -= 0.55 + 0.235 * len(lines)
    ax.text(px, py, "\n".join(textwrap.wrap(f"Rotary (rotary={dims.rotary}) rotates q and k of every "
            "self-attention layer; cross-attention rotates nothing. Layer A is always standard; layer B of "
            "encoder and decoder share self_attention_type; every decoder block cross-attends.", 50)),
            fontsize=7, va="top", linespacing=1.25, style="italic")
    ax.set_title(title or f"Echo: {len(enc)} encoder blocks, {len(dec)} decoder blocks, self-attention layer B = "
                 f"{dims.self_attention_type}, cross = {dims.cross_attention_type}, ctc_weight = {dims.ctc_weight:g}",
                 fontsize=10)
    fig.tight_layout()
    return fig
