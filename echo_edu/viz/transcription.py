"""Views for lesson 10: where the decoder listens, beam vs greedy, transcribe your own file.

* :func:`cross_attention_alignment` — transcribe a clip, then replay the decoder on its own output with
  ``need_weights=True`` and keep every block's cross-attention ``(heads, tokens, audio frames)``.
* :func:`alignment_figure` / :func:`alignment_static` / :func:`alignment_widget` — the picture: audio
  time (one column per encoder position: 20 ms at ``audio_stride`` 2, 40 ms at 4, as echo-an4) across,
  emitted characters down; a trained model draws a diagonal.
* :func:`compare_decoding` + :func:`decoding_comparison_figure` / ``_static`` — WER, log-probability
  and time of greedy search and beam search of several widths on the same clips.
* :func:`upload_transcriber` — a file-upload widget that transcribes whatever you drop on it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Sequence

import torch

from ..audio import HOP_LENGTH, SAMPLE_RATE, load_audio, process_audio
from ..audio.speed import change_speed
from ..decode import decode, decoding_options, default_decoding
from ..errors import EchoError, ShapeError
from ..metrics import error_rates
from ..speed_search import decode_at_speeds
from ..transcribe import transcribe_detailed, window_features
from .widgets import interactive_figure

__all__ = ["Alignment", "cross_attention_alignment", "alignment_figure", "alignment_static", "alignment_widget",
           "draw_alignment",
           "compare_decoding", "decoding_comparison_figure", "decoding_comparison_static", "upload_transcriber"]

MEAN = "mean"


@dataclass
class Alignment:
    """Cross-attention of one transcribed clip.

    Attributes:
        weights: ``(blocks, heads, tokens, audio_ctx)`` float32 — row t is where the decoder listened
            while predicting token t+1 (row 0: from the start token).
        tokens: the emitted characters (``"␣"`` for a space) plus ``"⏎"`` for end-of-text, one per row.
        text: the transcript; seconds: the clip's duration (frames past it are padding).
        position_seconds: audio time per encoder position, one column of ``weights``
            (``audio_stride`` mel frames of 10 ms).
    """

    weights: torch.Tensor
    tokens: list[str]
    text: str
    seconds: float
    position_seconds: float = 0.02


@torch.no_grad()
def cross_attention_alignment(model, audio, *, method: str | None = None, beam_size: int | None = None,
                              ctc_weight: float | None = None, speeds: Sequence[float] | None = None) -> Alignment:
    """Transcribe ``audio`` (one clip, ≤ one window) and collect the decoder's cross-attention maps.

    The decoding options follow :func:`~echo_edu.decode.decoding_options`, as ``transcribe``'s do (none given:
    the model's default decoding, so the maps are those of the transcript ``transcribe`` returns). With
    several ``speeds`` (:mod:`echo_edu.speed_search`) the maps are those of the speed whose transcript was
    kept, drawn over the clip played at that speed."""
    options = decoding_options(model, method=method, beam_size=beam_size, ctc_weight=ctc_weight, speeds=speeds)
    dims = model.dims
    wave = load_audio(audio)

    tokenizer = model.tokenizer
    result = decode_at_speeds(model, [wave], partial(window_features, model), **options, tokenizer=tokenizer)
    wave = change_speed(wave, result.speeds[0])
    mel, frames = window_features(model, [wave])
    ids = [dims.decoder_start_token_id] + result.tokens[0]
    was_training = model.training
    model.eval()
    frames = model.encoder.real_frames(mel, frames) if model.encoder.needs_frames else None     # (1,) or None
    encoded = model.encoder(mel, lengths=frames)                                                # (1, S, d)
    _, infos = model.decoder(torch.tensor([ids], device=model.device), encoded, return_info=True, need_weights=True,
                             audio_mask=model.encoder.audio_mask(frames, encoded.shape[1]))
    model.train(was_training)
    maps = [info["cross"]["weights"][0].float().cpu() for info in infos]          # each (H, T, S)
    labels = [tokenizer.convert_ids_to_tokens(t) for t in result.tokens[0]] + ["⏎"]
    labels = ["␣" if t == " " else t for t in labels]
    return Alignment(torch.stack(maps), labels, result.texts[0], wave.shape[-1] / SAMPLE_RATE,
                     dims.audio_stride * HOP_LENGTH / SAMPLE_RATE)


def _pick(alignment: Alignment, block, head) -> torch.Tensor:
    w = alignment.weights
    if not isinstance(w, torch.Tensor) or w.dim() != 4:
        raise ShapeError(f"alignment weights must be (blocks, heads, tokens, frames), got {getattr(w, 'shape', w)}")
    w = w.mean(0) if block == MEAN else w[int(block)]
    return w.mean(0) if head == MEAN else w[int(head)]                         # (tokens, frames)


def _frames(alignment: Alignment) -> int:
    return min(alignment.weights.shape[-1], max(1, int(round(alignment.seconds / alignment.position_seconds)) + 5))


def alignment_figure(alignment: Alignment, block=MEAN, head=MEAN):
    """Heatmap: audio time across, emitted characters down (plotly)."""
    import plotly.graph_objects as go

    w = _pick(alignment, block, head)[:, :_frames(alignment)].numpy()
    times = [round(i * alignment.position_seconds, 2) for i in range(w.shape[1])]
    rows = [f"{i}:{t}" for i, t in enumerate(alignment.tokens)]
    fig = go.Figure(go.Heatmap(z=w, x=times, y=rows, colorscale="Viridis", colorbar=dict(title="weight"),
                               hovertemplate="t=%{x:.2f}s  token %{y}<br>weight %{z:.3f}<extra></extra>"))
    fig.update_layout(title=f"Cross-attention: where the decoder listens — “{alignment.text}”",
                      xaxis_title="audio time (s)", yaxis_title="emitted token", yaxis_autorange="reversed",
                      height=max(300, 16 * len(rows) + 120), margin=dict(l=60, r=20, t=50, b=40))
    return fig


def draw_alignment(ax, alignment: Alignment, block=MEAN, head=MEAN):
    """Draw the alignment heatmap on matplotlib axes ``ax``; return the image."""
    w = _pick(alignment, block, head)[:, :_frames(alignment)].numpy()
    image = ax.imshow(w, aspect="auto", cmap="viridis",
                      extent=(0, w.shape[1] * alignment.position_seconds, len(w) - 0.5, -0.5))
    ax.set_yticks(range(len(alignment.tokens)), alignment.tokens)
    ax.set_xlabel("audio time (s)")
    ax.set_ylabel("emitted token")
    return image


def alignment_static(alignment: Alignment, block=MEAN, head=MEAN):
    """The same picture in matplotlib (PNG fallback)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.22 * len(alignment.tokens) + 1)))
    draw_alignment(ax, alignment, block, head)
    ax.set_title(f"Cross-attention — “{alignment.text}”")
    return fig


def alignment_widget(alignment: Alignment):
    """Choose the decoder block and head (or their mean) of the alignment picture."""
    import ipywidgets as widgets

    blocks, heads = alignment.weights.shape[:2]
    controls = {
        "block": widgets.Dropdown(options=[MEAN] + list(range(blocks)), value=MEAN, description="block"),
        "head": widgets.Dropdown(options=[MEAN] + list(range(heads)), value=MEAN, description="head"),
    }
    return interactive_figure(controls, lambda block, head: alignment_figure(alignment, block, head),
                              lambda block, head: alignment_static(alignment, block, head))


@torch.no_grad()
def compare_decoding(model, audio, references, beam_sizes=(1, 2, 4)) -> list[dict]:
    """Transcribe the same clips greedily (beam 1) and with wider beams; WER, mean log-prob and time.

    Returns:
        One dict per beam size: ``beam_size``, ``wer``, ``cer``, ``logprob`` (mean per clip), ``seconds``,
        ``texts``.
    """
    dims = model.dims
    tokenizer = model.tokenizer
    mel = process_audio([load_audio(a) for a in audio], dims.audio_ctx, dims.mels, device=model.device,
                        stride=dims.audio_stride)
    rows = []
    for k in beam_sizes:
        t0 = time.perf_counter()
        result = decode(model, mel.to(model.dtype), method="greedy" if k == 1 else "beam", beam_size=k,
                        tokenizer=tokenizer)
        seconds = time.perf_counter() - t0
        rates = error_rates(list(references), result.texts)
        rows.append({"beam_size": k, "wer": rates.wer, "cer": rates.cer, "logprob": float(result.scores.mean()),
                     "seconds": seconds, "texts": result.texts})
    return rows


def decoding_comparison_figure(rows: list[dict]):
    """Bars of WER and CER per beam size, with decoding time and mean log-probability in the hover."""
    import plotly.graph_objects as go

    names = ["greedy" if r["beam_size"] == 1 else f"beam {r['beam_size']}" for r in rows]
    hover = [f"{r['seconds']:.2f} s, mean log-prob {r['logprob']:.2f}" for r in rows]
    fig = go.Figure([go.Bar(name="WER", x=names, y=[r["wer"] for r in rows], hovertext=hover),
                     go.Bar(name="CER", x=names, y=[r["cer"] for r in rows], hovertext=hover)])
    fig.update_layout(barmode="group", yaxis_tickformat=".0%", title="Greedy vs beam search on the same clips",
                      yaxis_title="error rate", height=360)
    return fig


def decoding_comparison_static(rows: list[dict]):
    import matplotlib.pyplot as plt
    import numpy as np

    names = ["greedy" if r["beam_size"] == 1 else f"beam {r['beam_size']}" for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(x - 0.2, [r["wer"] for r in rows], 0.4, label="WER")
    ax.bar(x + 0.2, [r["cer"] for r in rows], 0.4, label="CER")
    for i, r in enumerate(rows):
        ax.annotate(f"{r['seconds']:.2f}s", (i, max(r["wer"], r["cer"])), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, names)
    ax.set_ylabel("error rate")
    ax.legend()
    ax.set_title("Greedy vs beam search")
    return fig


def upload_transcriber(model, decoding: dict | None = None):
    """A FileUpload button: drop a WAV/FLAC/OGG file, read its transcript and alignment picture.

    ``decoding``: :func:`~echo_edu.decode.decode` options (default: :func:`~echo_edu.decode.default_decoding`,
    joint CTC/attention for a model with a CTC head, else greedy)."""
    import ipywidgets as widgets
    from IPython.display import display


    options = default_decoding(model) if decoding is None else dict(decoding)
    upload = widgets.FileUpload(accept=".wav,.flac,.ogg", multiple=False, description="audio file")
    output = widgets.Output()

    def on_upload(change) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        output.clear_output()
        with output:
            try:
                blob = {"bytes": bytes(item["content"]), "path": item["name"]}
                result = transcribe_detailed(model, blob, **options)[0]
                print(f"{item['name']} ({result.seconds:.1f} s): {result.text}")
                if len(result.windows) == 1:
                    display(alignment_figure(cross_attention_alignment(model, blob, **options)))
            except EchoError as exc:
                print(f"cannot transcribe {item['name']}: {exc}")

    upload.observe(on_upload, names="value")
    return widgets.VBox([upload, output])
