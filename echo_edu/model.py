"""Echo: an encoder–decoder speech recogniser (Whisper's shape, the seed's attention experiments).

Reading order: :class:`AudioEncoder` (log-mel → audio vectors), :class:`TextDecoder` (tokens + audio
→ next-token logits), :class:`DecoderCache` (keys/values kept between decoding steps), :class:`Echo`
(both, the loss, save/load and transcription shortcuts). The blocks are in :mod:`echo_edu.blocks`.

The seed usage runs as written::

    model = Echo(param=Dimensions(...))
    encoded_audio = model.encoder(mel)                 # (B, mels, 2*audio_ctx) -> (B, audio_ctx, audio_dims)
    logits = model.decoder(input_ids, encoded_audio)   # (B, T) -> (B, T, vocab)

Unlike the original, every decoder block cross-attends to ``encoded_audio`` (see
:mod:`echo_edu.dimensions` on ``cross_attention``), decoding starts from ``decoder_start_token_id``, and
:meth:`Echo.new_cache` gives a KV cache so each new token costs one step, not a full recompute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from . import checkpoint
from .attention import KVCache
from .audio import encoder_positions, normalize_features, signal_frames
from .blocks import ResidualBlock, make_activation, make_norm, sinusoids
from .ctc import CTCHead, ctc_loss_sum, ctc_targets, encoded_lengths, joint_loss
from .decode import decode
from .dimensions import Dimensions
from .errors import ConfigError, ShapeError
from .tokenizer import build_tokenizer
from .transcribe import transcribe
from .utils import DerivedBuffers

__all__ = ["Echo", "EchoOutput", "AudioEncoder", "TextDecoder", "DecoderCache"]


def _check_ids(ids: torch.Tensor, vocab: int, name: str, ignore: int | None = None) -> None:
    """Raise :class:`ShapeError` for token ids outside ``[0, vocab)`` — on CPU tensors only.

    Reading the values costs nothing on the CPU; on a GPU it would stall the device every forward
    (a host sync), so there the check is skipped and an out-of-range id fails inside the embedding.
    """
    if ids.device.type != "cpu" or ids.numel() == 0 or torch.compiler.is_compiling():
        return
    valid = ids if ignore is None else ids[ids != ignore]
    if not valid.numel():
        return
    low, high = (int(v) for v in torch.aminmax(valid))   # one pass (a decoding step checks its one new id)
    if low < 0 or high >= vocab:
        raise ShapeError(f"{name} holds token ids outside [0, vocab={vocab}): min {low}, "
                         f"max {high}" + (f" (use {ignore} to ignore a position)" if ignore is not None else ""))


def _sum_aux(infos: list[dict], like: torch.Tensor) -> torch.Tensor:
    total = like.new_zeros((), dtype=torch.float32)
    for info in infos:
        total = total + info["aux_loss"].float()
    return total


class AudioEncoder(DerivedBuffers, nn.Module):
    """Log-mel frames → one vector per 20 ms (``audio_stride`` 2) or 40 ms (4).

    With ``dims.feature_norm`` set, each clip's log-mel is first normalised by its own statistics over
    its real frames (``normalize_features``; "cmvn" removes loudness and the channel's spectral tilt).
    The padding is scaled with the clip's statistics, not zeroed: it must still read as silence.
    The real frames are ``lengths`` when the caller knows them (the collator and transcription do:
    ``frame_lengths`` of each clip's samples); only without them are they read from the padding
    (``signal_frames``), which SpecAugment's full-width frequency masks would defeat.
    With ``dims.mask_padding`` every self-attention layer gets a ``(B, audio_ctx)`` key padding mask
    (:meth:`audio_mask`: position ``i`` is real when ``stride·i < frames``), so no layer pools over padding.
    Conv stem (``Conv1d(mels, d, 3) → act → Conv1d(d, d, 3, stride 2) → act``) halves the frame rate; with
    ``audio_stride=4`` a second ``Conv1d(d, d, 3, stride 2) → act`` (``conv3``) halves it again; fixed sinusoidal
    positions are added; then layer-A blocks (standard), layer-B (``self_attention_type``), bidirectional; a norm.
    """

    def __init__(self, dims: Dimensions):
        super().__init__()
        d = dims.audio_dims
        self.dims = dims
        self.conv1 = nn.Conv1d(dims.mels, d, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(d, d, kernel_size=3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(d, d, kernel_size=3, stride=2, padding=1) if dims.audio_stride == 4 else None
        self.act = make_activation(dims.audio_act)
        self.register_derived_buffers(positional=partial(sinusoids, dims.audio_ctx, d))   # (audio_ctx, d)
        kinds = ["standard"] * dims.audio_layerA + [dims.self_attention_type] * dims.audio_layerB
        self.blocks = nn.ModuleList(ResidualBlock(d, dims.audio_head, dims.audio_act, kind, dims) for kind in kinds)
        self.norm = make_norm(dims.norm, d)

    def check_input(self, mel: torch.Tensor) -> torch.Tensor:
        """``mel`` as ``(B, mels, F)`` (a single ``(mels, F)`` gets a batch axis) with ``F`` a multiple of
        ``audio_stride`` and at most ``n_frames = audio_stride*audio_ctx``: the full window, or a batch padded only to its longest clip (the padding mask makes
        the two agree). Raises :class:`ShapeError` for any other shape or a non-float dtype."""
        dims = self.dims
        if mel.dim() == 2:
            mel = mel.unsqueeze(0)
        stride = dims.audio_stride
        if mel.dim() != 3 or mel.shape[1] != dims.mels or not stride <= mel.shape[2] <= dims.n_frames \
                or mel.shape[2] % stride:
            raise ShapeError(f"encoder input must be (batch, mels={dims.mels}, frames) with a multiple of audio_stride="
                             f"{stride} frames up to audio_stride*audio_ctx={dims.n_frames}; got {tuple(mel.shape)}. Use "
                             f"process_audio(audio, {dims.audio_ctx}, {dims.mels}, stride={stride}) to pad or trim.")
        if not mel.is_floating_point():
            raise ShapeError(f"encoder input must be a floating-point log-mel, got dtype {mel.dtype}")
        return mel

    @property
    def needs_frames(self) -> bool:
        """Whether the forward uses the real frame counts (feature normalisation or padding mask)."""
        return self.dims.feature_norm != "none" or self.dims.mask_padding

    def real_frames(self, mel: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``(B,)`` long real frames of ``mel`` ``(B, mels, F)``: ``lengths`` clamped to
        ``[1, F]`` on ``mel``'s device, or read from the padding (``signal_frames``) when ``None``."""
        if lengths is None:
            return signal_frames(mel)
        lengths = torch.as_tensor(lengths)
        if lengths.shape != (mel.shape[0],) or lengths.is_floating_point() or lengths.dtype == torch.bool:
            raise ShapeError(f"lengths must be ({mel.shape[0]},) integer frame counts for mel "
                             f"{tuple(mel.shape)}, got {tuple(lengths.shape)} {lengths.dtype}")
        return lengths.to(device=mel.device, dtype=torch.long).clamp(1, mel.shape[2])

    def audio_mask(self, frames: torch.Tensor | None, positions: int | None = None) -> torch.Tensor | None:
        """``(B, positions)`` bool (default ``audio_ctx`` positions), True = a position the conv stem computed
        from a real frame, for ``frames`` ``(B,)`` real frames; ``None`` when ``dims.mask_padding`` is off
        (or ``frames`` is None). The first ``ceil(frames / audio_stride)`` positions are real
        (:func:`~echo_edu.audio.encoder_positions`: each stride-2 conv centres output ``i`` on input ``2i``).
        """
        if not self.dims.mask_padding or frames is None:
            return None
        real = encoder_positions(frames, self.dims.audio_stride)                              # (B,)
        return torch.arange(positions or self.dims.audio_ctx, device=frames.device) < real[:, None]

    def forward(self, mel: torch.Tensor, *, lengths: torch.Tensor | None = None, return_info: bool = False,
                need_weights: bool = False):
        """Args:
            mel: ``(B, mels, F)`` log-mel, ``F = audio_stride*S <= n_frames`` (see :meth:`check_input`).
            lengths: ``(B,)`` real frames per clip (``frame_lengths`` of the sample counts), or ``None``
                to read them from the padding.
        Returns:
            ``(B, S, audio_dims)``; with ``return_info`` a pair ``(x, infos)`` (one dict per block).
            Padded positions are computed but, with ``dims.mask_padding``, never attended to.
        """
        dims = self.dims
        mel = self.check_input(mel)
        frames = self.real_frames(mel, lengths) if self.needs_frames else None   # (B,) or None
        if dims.feature_norm != "none":
            mel = normalize_features(mel.float(), frames, mode=dims.feature_norm, padding="scale")
        mask = self.audio_mask(frames, mel.shape[2] // dims.audio_stride)          # (B, S) or None
        mel = mel.to(self.conv1.weight.dtype)
        x = self.act(self.conv1(mel))                     # (B, d, F), F = stride*S frames
        x = self.act(self.conv2(x))                       # (B, d, F/2)
        if self.conv3 is not None:
            x = self.act(self.conv3(x))                   # (B, d, F/4)
        x = x.transpose(1, 2)                             # (B, S, d), S = F / stride <= audio_ctx
        x = x + self.positional[:x.shape[1]].to(x.dtype)
        infos = []
        for block in self.blocks:
            x, info = block(x, causal=False, need_weights=need_weights, key_padding_mask=mask)
            infos.append(info)
        x = self.norm(x)
        return (x, infos) if return_info else x


class DecoderCache:
    """Keys and values of every decoder block, kept between decoding steps.

    ``length`` is the number of tokens already decoded (the rotary / position offset). Cross-attention
    caches hold the audio's keys and values, computed once on the first step.
    """

    def __init__(self, n_blocks: int):
        self.self_caches = [KVCache() for _ in range(n_blocks)]
        self.cross_caches = [KVCache() for _ in range(n_blocks)]
        self.length = 0

    def reorder(self, index: torch.Tensor) -> None:
        """Reorder (or repeat) the batch axis of every cache: beam search keeps the surviving beams."""
        for cache in self.self_caches + self.cross_caches:
            cache.reorder(index)


class TextDecoder(nn.Module):
    """Token ids + encoded audio → next-token logits.

    Token embeddings (N(0, 0.02), tied with the output layer), learned positions only when rotary is
    off (rotary positions live inside self-attention), then layer-A and layer-B blocks with causal
    self-attention and cross-attention to the audio in *every* block, a final norm, logits = x·Eᵀ.
    """

    def __init__(self, dims: Dimensions):
        super().__init__()
        d = dims.text_dims
        self.dims = dims
        self.token_embedding = nn.Embedding(dims.vocab, d)
        self.positional = None if dims.rotary else nn.Parameter(torch.empty(dims.text_ctx, d))
        kinds = ["standard"] * dims.text_layerA + [dims.self_attention_type] * dims.text_layerB
        self.blocks = nn.ModuleList(
            ResidualBlock(d, dims.text_head, dims.text_act, kind, dims,
                          cross_attention_type=dims.cross_attention_type, context_dims=dims.audio_dims)
            for kind in kinds)
        self.norm = make_norm(dims.norm, d)

    def forward(self, input_ids: torch.Tensor, encoded_audio: torch.Tensor, cache: DecoderCache | None = None,
                *, return_info: bool = False, need_weights: bool = False, audio_mask: torch.Tensor | None = None):
        """Args:
            input_ids: ``(B, T)`` token ids (int64). With a ``cache``, only the *new* tokens.
            encoded_audio: ``(B, audio_ctx, audio_dims)`` from the encoder.
            cache: a :class:`DecoderCache` from :meth:`Echo.new_cache`, updated in place.
            audio_mask: ``(B, audio_ctx)`` bool, True = real audio position (``AudioEncoder.audio_mask``);
                cross-attention ignores the rest. ``None`` attends to every position.
        Returns:
            logits ``(B, T, vocab)``; with ``return_info`` a pair ``(logits, infos)``.
        """
        dims = self.dims
        if input_ids.dim() == 1:
            input_ids = input_ids.unsqueeze(0)
        if input_ids.dim() != 2 or input_ids.dtype not in (torch.int64, torch.int32):
            raise ShapeError(f"decoder input_ids must be (batch, tokens) integers, got {tuple(input_ids.shape)} "
                             f"{input_ids.dtype}")
        if encoded_audio.dim() != 3 or encoded_audio.shape[-1] != dims.audio_dims:
            raise ShapeError(f"encoded_audio must be (batch, frames, audio_dims={dims.audio_dims}), got "
                             f"{tuple(encoded_audio.shape)}; pass model.encoder(mel)")
        if encoded_audio.shape[0] != input_ids.shape[0]:
            raise ShapeError(f"batch sizes differ: input_ids {input_ids.shape[0]}, encoded_audio "
                             f"{encoded_audio.shape[0]}")
        _check_ids(input_ids, dims.vocab, "input_ids")
        offset = cache.length if cache is not None else 0
        T = input_ids.shape[1]
        if offset + T > dims.text_ctx:
            raise ShapeError(f"{offset + T} tokens exceed text_ctx={dims.text_ctx} (Dimensions.text_ctx)")
        x = self.token_embedding(input_ids)              # (B, T, d)
        if self.positional is not None:
            x = x + self.positional[offset:offset + T].to(x.dtype)
        context = encoded_audio.to(x.dtype)             # (B, audio_ctx, audio_dims), cast once for all blocks
        infos = []
        for i, block in enumerate(self.blocks):
            x, info = block(x, context, causal=True,
                            self_cache=cache.self_caches[i] if cache is not None else None,
                            cross_cache=cache.cross_caches[i] if cache is not None else None,
                            need_weights=need_weights, context_mask=audio_mask)
            infos.append(info)
        if cache is not None:
            cache.length = offset + T
        x = self.norm(x)
        logits = F.linear(x, self.token_embedding.weight.to(x.dtype))   # (B, T, vocab) = x·Eᵀ, tied weights
        return (logits, infos) if return_info else logits


@dataclass
class EchoOutput:
    """What :meth:`Echo.forward` returns.

    logits ``(B, T, vocab)``; loss: ``(1 - ctc_weight)`` × token cross-entropy over ``labels != -100``
    plus ``ctc_weight`` × CTC per target token, plus ``aux_loss`` (``None`` without labels); aux_loss:
    scalar sum of attention regularisers; info: per-block dicts. With a CTC head, ``ctc_log_probs``
    ``(B, S, vocab)`` and ``encoded_lengths`` ``(B,)`` (real encoder positions); else ``None``.
    """

    logits: torch.Tensor
    loss: torch.Tensor | None
    aux_loss: torch.Tensor
    info: dict = field(default_factory=dict)
    ctc_log_probs: torch.Tensor | None = None
    encoded_lengths: torch.Tensor | None = None


class Echo(nn.Module):
    """The whole recogniser: ``Echo(Dimensions(...))`` or, as in the seed, ``Echo(param=...)``.

    ``tokenizer`` (default: the character tokenizer of :func:`echo_edu.tokenizer.build_tokenizer`) turns
    ids into text and back; it must have ``dims.vocab`` tokens. It is saved and loaded with the weights,
    and every function that decodes text reads ``model.tokenizer``.
    """

    def __init__(self, param: Dimensions | None = None, *, dims: Dimensions | None = None, tokenizer=None):
        super().__init__()
        if param is not None and dims is not None:
            raise ConfigError("pass the Dimensions once: Echo(param) or Echo(dims=...)")
        param = param if param is not None else (dims if dims is not None else Dimensions())
        if not isinstance(param, Dimensions):
            raise ConfigError(f"Echo expects a Dimensions, got {type(param).__name__}")
        self.dims = param.validate()
        self.tokenizer = build_tokenizer() if tokenizer is None else tokenizer
        if len(self.tokenizer) != self.dims.vocab:
            raise ConfigError(f"the tokenizer has {len(self.tokenizer)} tokens but Dimensions.vocab="
                              f"{self.dims.vocab}; pass Echo(dims, tokenizer=...) with a matching one")
        self.encoder = AudioEncoder(self.dims)
        self.decoder = TextDecoder(self.dims)
        self.ctc = CTCHead(self.dims.audio_dims, self.dims.vocab) if self.dims.ctc_weight > 0 else None
        self._init_weights()

    # ------------------------------------------------------------------ initialisation
    def _init_weights(self) -> None:
        """GPT-2-style init: embeddings, MLPs, convs and every residual branch's output.

        Embeddings N(0, 0.02) so the tied logits start near zero (initial loss ≈ ln(vocab)); MLP input and
        conv weights N(0, 0.02). Every layer that writes into the residual stream (``residual_outputs()``
        of self-attention, cross-attention and MLP) starts at N(0, 0.02/sqrt(branches)), ``branches`` the
        number of such additions in the stack (2 per encoder block, 3 per decoder block), with zero bias,
        so the stream's variance does not grow with depth. Attention q/k/v and gates keep their own init.
        """
        nn.init.normal_(self.decoder.token_embedding.weight, std=0.02)
        if self.decoder.positional is not None:
            nn.init.normal_(self.decoder.positional, std=0.01)
        for stack in (self.encoder.blocks, self.decoder.blocks):
            branches = sum(2 + (block.cross is not None) for block in stack)
            scale = 0.02 / math.sqrt(max(branches, 1))
            for block in stack:
                nn.init.normal_(block.mlp.fc.weight, std=0.02)
                nn.init.zeros_(block.mlp.fc.bias)
                outputs = block.attn.residual_outputs() + block.mlp.residual_outputs()
                outputs += block.cross.residual_outputs() if block.cross is not None else []
                for linear in outputs:
                    nn.init.normal_(linear.weight, std=scale)
                    if linear.bias is not None:
                        nn.init.zeros_(linear.bias)
        for conv in filter(None, (self.encoder.conv1, self.encoder.conv2, self.encoder.conv3)):
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)

    # ------------------------------------------------------------------ properties
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def new_cache(self) -> DecoderCache:
        """An empty :class:`DecoderCache` for token-by-token decoding."""
        return DecoderCache(len(self.decoder.blocks))

    # ------------------------------------------------------------------ forward
    def forward(self, mel: torch.Tensor, input_ids: torch.Tensor, labels: torch.Tensor | None = None, *,
                lengths: torch.Tensor | None = None, need_weights: bool = False) -> EchoOutput:
        """Teacher-forced pass.

        Args:
            mel: ``(B, mels, 2*audio_ctx)``; input_ids: ``(B, T)`` starting with ``decoder_start_token_id``;
            labels: ``(B, T)`` next tokens (``-100`` = ignore), or ``None``;
            lengths: ``(B,)`` real mel frames per clip (``Batch.lengths``), or ``None`` to read them
                from the padding.
        Returns:
            :class:`EchoOutput`.
        """
        mel = self.encoder.check_input(mel)
        frames = self.encoder.real_frames(mel, lengths) if self.encoder.needs_frames else None   # (B,) or None
        encoded, enc_infos = self.encoder(mel, lengths=frames, return_info=True, need_weights=need_weights)
        audio_mask = self.encoder.audio_mask(frames, encoded.shape[1])                           # (B, S) or None
        logits, dec_infos = self.decoder(input_ids, encoded, return_info=True, need_weights=need_weights,
                                         audio_mask=audio_mask)
        aux = _sum_aux(enc_infos + dec_infos, logits)
        ctc_log_probs = enc_lengths = None
        if self.ctc is not None:
            ctc_log_probs = self.ctc(encoded)                                                     # (B, S, vocab)
            enc_lengths = encoded_lengths(frames, audio_mask, encoded, self.dims.audio_stride)
        loss = None
        if labels is not None:
            if labels.shape != logits.shape[:2]:
                raise ShapeError(f"labels must be (batch, tokens) = {tuple(logits.shape[:2])}, got {tuple(labels.shape)}")
            _check_ids(labels, self.dims.vocab, "labels", ignore=-100)
            ce = F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100)
            loss = ce + aux
            if self.ctc is not None:
                targets, target_lengths = ctc_targets(labels, self.dims.eos_token_id)
                ctc = ctc_loss_sum(ctc_log_probs, enc_lengths, targets, target_lengths) / target_lengths.sum().clamp_min(1)
                loss = joint_loss(ce, ctc, self.dims.ctc_weight) + aux
        return EchoOutput(logits=logits, loss=loss, aux_loss=aux, ctc_log_probs=ctc_log_probs,
                          encoded_lengths=enc_lengths,
                          info={"encoder": enc_infos, "decoder": dec_infos, "encoded": encoded})

    # ------------------------------------------------------------------ conveniences
    def save_pretrained(self, directory, tokenizer=None) -> None:
        """Write ``model.safetensors`` + ``config.json`` + tokenizer to ``directory`` (see :mod:`echo_edu.checkpoint`)."""
        checkpoint.save_pretrained(self, directory, tokenizer=tokenizer)

    @classmethod
    def from_pretrained(cls, directory, *, device=None, dtype=None) -> "Echo":
        """Load a folder written by :meth:`save_pretrained` (never unpickles)."""
        return checkpoint.from_pretrained(cls, directory, device=device, dtype=dtype)

    @torch.no_grad()
    def generate(self, mel: torch.Tensor, **options) -> list[list[int]]:
        """Decode token ids from ``mel`` ``(B, mels, 2*audio_ctx)``; options as :func:`echo_edu.decode.decode`."""
        return decode(self, mel, **options).tokens

    def transcribe(self, audio, **options):
        """Text for one file/array (or a list of them); see :func:`echo_edu.transcribe.transcribe`."""
        return transcribe(self, audio, **options)
