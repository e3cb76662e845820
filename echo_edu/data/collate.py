"""Batching: corpus rows → (log-mel, decoder inputs, labels) tensors for training and evaluation.

A training example is one clip and its transcript. The decoder learns by *teacher forcing*: it reads the
true transcript shifted right by one token and predicts the next token at every position::

    tokens         =         h   e   l   l   o
    input_ids      = <sot>   h   e   l   l   o          ([sot] + tokens)
    labels         =   h     e   l   l   o <eot>        (tokens + [eot])

Rows are padded to the longest transcript in the batch: ``input_ids`` with ``<|pad|>`` and ``labels``
with ``-100`` (:data:`IGNORE_INDEX`), the value ``cross_entropy`` skips, so padding never counts.
Audio becomes Whisper-style log-mel features of exactly ``2 * audio_ctx`` frames (``process_audio``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ..audio import SAMPLE_RATE, frame_lengths, load_audio, process_audio
from ..augmentation import AugmentConfig, Augmenter
from ..errors import AudioError, ConfigError, ShapeError
from ..text import normalize_text

__all__ = ["PAD_MODES", "IGNORE_INDEX", "Batch", "SpeechCollator", "StepSampler", "example_audio", "encode_targets",
           "select_rows", "build_augmenter", "augment_generator"]

#: How a batch's features are padded (``SpeechCollator(pad_to=...)``, ``TrainConfig.pad_to``).
PAD_MODES = ("window", "longest")

#: Label value that the loss ignores (``torch.nn.functional.cross_entropy(ignore_index=-100)``).
IGNORE_INDEX = -100


@dataclass
class Batch:
    """One batch of examples.

    Attributes:
        mel: ``(B, mels, 2*audio_ctx)`` float32 log-mel features.
        input_ids: ``(B, T)`` long, ``[sot] + tokens`` padded with the pad id.
        labels: ``(B, T)`` long, ``tokens + [eot]`` padded with ``-100``.
        texts: the ``B`` normalised reference transcripts.
        meta: per-example metadata columns (``engine``, ``voice``, ...), each a list of length ``B``.
        lengths: ``(B,)`` long real mel frames of each clip (``frame_lengths`` of its samples, at most
            ``2*audio_ctx``), or ``None`` when unknown (the model then reads them from the padding).
    """

    mel: torch.Tensor
    input_ids: torch.Tensor
    labels: torch.Tensor
    texts: list[str]
    meta: dict[str, list] = field(default_factory=dict)
    lengths: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> "Batch":
        """The same batch with its tensors on ``device`` (non-blocking where possible)."""
        return replace(self, mel=self.mel.to(device, non_blocking=True),
                       input_ids=self.input_ids.to(device, non_blocking=True),
                       labels=self.labels.to(device, non_blocking=True),
                       lengths=None if self.lengths is None else self.lengths.to(device, non_blocking=True))

    def __len__(self) -> int:
        return self.mel.shape[0]

    @property
    def n_label_tokens(self) -> int:
        """How many label positions the loss counts (``labels != -100``)."""
        return int((self.labels != IGNORE_INDEX).sum())


def select_rows(dataset, indices: Sequence[int]) -> list[dict]:
    """Rows ``indices`` of a ``datasets.Dataset`` (one columnar read) or of a list of dicts."""
    indices = [int(i) for i in indices]
    if hasattr(dataset, "select") and hasattr(dataset, "column_names"):   # datasets.Dataset
        cols = dataset[indices]
        return [{k: cols[k][i] for k in cols} for i in range(len(indices))]
    return [dataset[i] for i in indices]


def example_audio(example: Mapping[str, Any]) -> torch.Tensor:
    """The waveform of one corpus row as a ``(samples,)`` float32 tensor at 16 kHz.

    Accepts ``{"audio": {"array", "sampling_rate"}}`` (the corpus format) or ``{"audio": {"path"}}``
    (a ``datasets.Audio(decode=False)`` column), and resamples through ``echo_edu.audio.load_audio``.
    """
    audio = example.get("audio") if isinstance(example, Mapping) else None
    if audio is None:
        raise AudioError(f"corpus row has no 'audio' column (columns: {sorted(example)})")
    if isinstance(audio, Mapping) and audio.get("array") is not None:
        array = np.asarray(audio["array"], dtype=np.float32)
        sr = int(audio.get("sampling_rate") or SAMPLE_RATE)
        if sr == SAMPLE_RATE:
            return torch.from_numpy(array.copy()).reshape(-1)   # own, writable memory
        return load_audio(array, sr=sr)
    if isinstance(audio, Mapping) and audio.get("path"):
        return load_audio(audio["path"])
    raise AudioError(f"corpus row's 'audio' must hold 'array' or 'path', got keys {sorted(audio)}")


def encode_targets(tokenizer, text: str, text_ctx: int, sot_id: int, eot_id: int) -> tuple[list[int], list[int]]:
    """Decoder inputs and labels for one transcript (both at most ``text_ctx`` long).

    ``full = [sot] + tokens + [eot]``; inputs are ``full[:-1]`` and labels ``full[1:]``, both cut to
    ``text_ctx``. Cutting both from the same sequence keeps them aligned: a truncated transcript simply
    has no ``<eot>`` label, instead of one in the wrong place.
    """
    tokens = tokenizer.encode(normalize_text(text), add_special_tokens=False)
    full = [sot_id] + list(tokens) + [eot_id]
    return full[:-1][:text_ctx], full[1:][:text_ctx]


class SpeechCollator:
    """Turn a list of corpus rows into a :class:`Batch` (the ``collate_fn`` of training and evaluation).

    Args:
        tokenizer: the character tokenizer (``echo_edu.tokenizer.build_tokenizer()``).
        audio_ctx, mels, text_ctx: the model's ``Dimensions`` fields (``stride``: its ``audio_stride``,
            frames per encoder position; a window is ``stride * audio_ctx`` frames).
        sot_id, eot_id, pad_id: ``decoder_start_token_id``, ``eos_token_id``, ``pad_token_id``.
        meta_columns: columns copied into ``Batch.meta`` when present.
        augmenter: an ``echo_edu.augmentation.Augmenter``; when given *and* a generator is passed to
            ``__call__``, each clip gets a random waveform chain and SpecAugment (training only).
        pad_to: ``"window"`` pads every clip to the model's whole window (``stride*audio_ctx`` frames);
            ``"longest"`` only to the batch's longest clip, rounded up to 8 encoder positions — the
            same outputs for a model that masks its padding (``Dimensions.mask_padding``), and a batch of
            short clips costs a fraction of a full window.
    """

    def __init__(self, tokenizer, audio_ctx: int, mels: int, text_ctx: int, *, sot_id: int = 1, eot_id: int = 2,
                 pad_id: int = 0, meta_columns: Sequence[str] = ("engine", "voice", "duration"), augmenter=None,
                 pad_to: str = "window", stride: int = 2):
        if pad_to not in PAD_MODES:
            raise ConfigError(f"pad_to={pad_to!r} is unknown; choose one of {', '.join(PAD_MODES)}")
        self.tokenizer, self.audio_ctx, self.mels, self.text_ctx = tokenizer, audio_ctx, mels, text_ctx
        self.pad_to, self.stride = pad_to, stride
        self.sot_id, self.eot_id, self.pad_id = sot_id, eot_id, pad_id
        self.meta_columns = tuple(meta_columns)
        self.augmenter = augmenter

    @classmethod
    def for_model(cls, model, tokenizer, **kwargs) -> "SpeechCollator":
        """A collator matching ``model.dims`` (audio length, mel channels, text length, special ids)."""
        d = model.dims
        return cls(tokenizer, d.audio_ctx, d.mels, d.text_ctx, sot_id=d.decoder_start_token_id,
                   eot_id=d.eos_token_id, pad_id=d.pad_token_id, stride=d.audio_stride, **kwargs)

    def features(self, examples: Sequence[Mapping[str, Any]], generator: torch.Generator | None = None) -> torch.Tensor:
        """Log-mel features ``(B, mels, stride*positions)`` of the rows' audio (padded or trimmed).

        With an ``augmenter`` and a ``generator``, every waveform is augmented before its log-mel and
        the batch gets SpecAugment masks inside each clip's real frames.
        """
        return self.features_and_lengths(examples, generator)[0]

    def features_and_lengths(self, examples: Sequence[Mapping[str, Any]],
                             generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`features` and the ``(B,)`` long real frames of each (augmented) clip, ``frame_lengths``
        of its sample count capped at ``stride*audio_ctx`` — what the model must normalise and mask by."""
        if len(examples) == 0:
            raise ShapeError("cannot collate an empty list of examples")
        augment = self.augmenter is not None and generator is not None
        waves = [example_audio(ex) for ex in examples]
        if augment:
            waves = [self.augmenter.augment_waveform(w, SAMPLE_RATE, generator) for w in waves]
        mel, frames = self.wave_features(waves)
        if augment:
            mel = self.augmenter.augment_features(mel, generator, frames)
        return mel, frames  # (B, mels, stride*ctx), (B,)

    def wave_features(self, waves: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-mel ``(B, mels, stride*positions)`` and real frames ``(B,)`` of 16 kHz ``(samples,)`` waves
        (no augmentation): the second half of :meth:`features_and_lengths`."""
        frames = frame_lengths([w.shape[-1] for w in waves], max_frames=self.stride * self.audio_ctx)   # (B,)
        ctx = self.positions(frames)
        mel = torch.stack([process_audio(w, ctx, self.mels, stride=self.stride).reshape(self.mels, -1)
                           for w in waves])
        return mel, frames

    def positions(self, frames: torch.Tensor) -> int:
        """Encoder positions a batch with real ``frames`` ``(B,)`` is padded to (see ``pad_to``)."""
        if self.pad_to == "window":
            return self.audio_ctx
        return min(self.audio_ctx, -(-int(frames.max()) // (8 * self.stride)) * 8)

    def __call__(self, examples: Sequence[Mapping[str, Any]], generator: torch.Generator | None = None,
                 mel: torch.Tensor | None = None, lengths: torch.Tensor | None = None) -> Batch:
        """Collate ``examples``; ``mel`` ``(B, mels, stride*audio_ctx)`` skips the feature computation (cached),
        with its ``lengths`` ``(B,)`` real frames when known."""
        if mel is None:
            mel, lengths = self.features_and_lengths(examples, generator)
        elif lengths is not None:
            mel = mel[..., :self.stride * self.positions(lengths)]    # cached full-window features, cut to pad_to
        pairs = [encode_targets(self.tokenizer, str(ex["text"]), self.text_ctx, self.sot_id, self.eot_id)
                 for ex in examples]
        T = max(len(inp) for inp, _ in pairs)
        input_ids = torch.full((len(pairs), T), self.pad_id, dtype=torch.long)   # (B, T)
        labels = torch.full((len(pairs), T), IGNORE_INDEX, dtype=torch.long)    # (B, T)
        for row, (inp, lab) in enumerate(pairs):  # ragged Python lists → padded rows (data prep, not a forward)
            input_ids[row, :len(inp)] = torch.tensor(inp, dtype=torch.long)
            labels[row, :len(lab)] = torch.tensor(lab, dtype=torch.long)
        meta = {c: [ex[c] for ex in examples] for c in self.meta_columns if c in examples[0]}
        return Batch(mel=mel, input_ids=input_ids, labels=labels, texts=[str(ex["text"]) for ex in examples],
                     meta=meta, lengths=lengths)


class StepSampler:
    """Example indices of each optimizer step, a pure function of ``(seed, step)``.

    The examples form an endless stream of epochs, each a fresh seeded permutation; step ``s`` takes
    positions ``[s·k, (s+1)·k)`` of the stream (``k`` = examples per step).
    """

    def __init__(self, n: int, per_step: int, seed: int):
        if n <= 0:
            raise ShapeError("the training split is empty")
        self.n, self.per_step, self.seed = n, per_step, seed
        self._perms: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._perms:
            self._perms = {e: p for e, p in self._perms.items() if e >= epoch - 1}
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perms[epoch] = torch.randperm(self.n, generator=g)
        return self._perms[epoch]

    def indices(self, step: int) -> list[int]:
        pos = torch.arange(step * self.per_step, (step + 1) * self.per_step)
        epochs, offsets = pos // self.n, pos % self.n
        return [int(self._perm(int(e))[int(o)]) for e, o in zip(epochs, offsets)]


def build_augmenter(augment):
    """An ``Augmenter`` for ``TrainConfig.augment`` (an ``AugmentConfig``, its dict, or True), else None."""
    if augment is None or augment is False:
        return None
    if augment is True:
        augment = AugmentConfig()
    elif isinstance(augment, dict):
        augment = AugmentConfig.from_dict(augment)
    return Augmenter(augment)


def augment_generator(augment, seed: int, step: int, micro: int, rank: int) -> torch.Generator | None:
    """A generator seeded by (seed, step, micro-batch, rank), so augmentation is reproducible and resumable;
    ``None`` when ``augment`` is off."""
    if augment is None or augment is False:
        return None
    return torch.Generator().manual_seed(((seed * 1_000_003 + step) * 1009 + micro) * 64 + rank)
