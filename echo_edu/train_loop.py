"""The pieces of one training step, each a plain function of what it needs (``echo_edu.train`` runs them).

Read them in the order a step uses them:

1. :func:`step_indices` — the step's example indices (a pure function of the sampler and the step),
   sorted by duration for ``pad_to="longest"``.
2. :func:`micro_batch_indices` — this rank's ``grad_accum`` slices of them; :func:`collate_micro_batch`
   turns one slice into a :class:`~echo_edu.data.collate.Batch` (through a :class:`FeatureCache` when
   features are cached).
3. :func:`optimisation_step` — forward and backward over the micro-batches, gradient clipping, the
   non-finite check, then the optimizer and schedule step; it returns a :class:`StepResult` of 0-d
   tensors that the caller reads on the host only when it logs.

Nothing here knows about checkpoints, validation, callbacks or the progress bar: that is the run's
bookkeeping, in ``echo_edu.train``.
"""

from __future__ import annotations

import copy
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .ctc import ctc_loss_sum, ctc_targets, joint_loss
from .data.collate import IGNORE_INDEX, Batch, SpeechCollator, select_rows
from .distributed import all_reduce_sum
from .errors import TrainingError

__all__ = ["FeatureCache", "StepResult", "step_indices", "micro_batch_indices", "collate_micro_batch",
           "optimisation_step", "splits", "check_lengths", "durations"]


# ---------------------------------------------------------------------------- the training split
def splits(corpus) -> tuple[Any, Any]:
    """``(train, validation)`` of a ``DatasetDict``-like corpus, or ``(corpus, None)`` for one split."""
    if isinstance(corpus, dict) or hasattr(corpus, "keys") and "train" in corpus:
        if "train" not in corpus:
            raise TrainingError(f"the corpus has no 'train' split (splits: {sorted(corpus)})")
        return corpus["train"], corpus.get("validation")
    return corpus, None


def check_lengths(train_set, dims, advice: str = "raise Dimensions.audio_ctx to at least {needed}") -> None:
    """Refuse clips longer than the encoder window: their end (and its words) would be cut off silently.

    Args:
        train_set: a split with a ``duration`` column (seconds); anything else is not checked.
        dims: the model's :class:`~echo_edu.dimensions.Dimensions`; a clip fits when
            ``dims.audio_ctx_for(duration) <= dims.audio_ctx``.
        advice: what the error tells the user to do, formatted with ``needed`` (the smallest audio_ctx).
    """
    cols = getattr(train_set, "column_names", None)
    if cols is None or "duration" not in cols or len(train_set) == 0:
        return
    longest = max(float(d) for d in train_set["duration"])
    needed = dims.audio_ctx_for(longest)
    if needed > dims.audio_ctx:
        raise TrainingError(f"the longest training clip lasts {longest:.2f} s but the model hears only "
                            f"{dims.audio_seconds:.2f} s (Dimensions.audio_ctx={dims.audio_ctx}); "
                            + advice.format(needed=needed))


def durations(train_set) -> list[float] | None:
    """Each training clip's duration (s), for sorting a step's clips; ``None`` without the column."""
    cols = getattr(train_set, "column_names", None)
    return [float(d) for d in train_set["duration"]] if cols is not None and "duration" in cols else None


# ---------------------------------------------------------------------------- batches of one step
def step_indices(sampler, step: int, lengths: Sequence[float] | None = None) -> list[int]:
    """The example indices of optimizer step ``step`` (all ranks, all micro-batches).

    ``sampler`` is a ``StepSampler`` or ``WeightedStepSampler``: the indices depend on ``(seed, step)``
    alone, so a resumed run draws what an uninterrupted one would. With ``lengths`` (each clip's
    duration, for ``pad_to="longest"``) they are sorted shortest first, so clips of similar length share
    a micro-batch: the same examples in the same step, less padding.
    """
    indices = sampler.indices(step)
    return sorted(indices, key=lengths.__getitem__) if lengths is not None else indices


def micro_batch_indices(indices: Sequence[int], batch_size: int, grad_accum: int, rank: int,
                        world_size: int) -> list[list[int]]:
    """This rank's ``grad_accum`` micro-batches of a step's ``batch_size * grad_accum * world_size`` indices.

    Micro-batch ``m`` of rank ``r`` is the ``(m * world_size + r)``-th block of ``batch_size``: at every
    micro-batch the ranks hold neighbouring blocks (similar lengths once sorted), and together the ranks
    cover the step's indices exactly once.
    """
    blocks = [m * world_size + rank for m in range(grad_accum)]
    return [list(indices[b * batch_size:(b + 1) * batch_size]) for b in blocks]


class FeatureCache:
    """Each training clip's log-mel, computed at its first use and reused (``TrainConfig.cache_features``).

    Worth it when feature extraction dominates a small model's step. Only for clean training: an
    augmented clip differs at every draw. Costs ``mels * n_frames * 4`` bytes per cached clip.

    Args:
        collate: the run's :class:`~echo_edu.data.collate.SpeechCollator`.
        rows: the training split (a ``datasets.Dataset`` or a list of rows).
    """

    def __init__(self, collate: SpeechCollator, rows):
        self.collate, self.rows = collate, rows
        # Entries hold whole-window features: a batch of cached clips is then cut to its own longest clip
        # (``pad_to="longest"``) however the clips were grouped when first computed.
        self.window = copy.copy(collate)
        self.window.pad_to = "window"
        #: index -> (mel (mels, frames), the row without its audio, real frames 0-d long)
        self.entries: dict[int, tuple[torch.Tensor, dict, torch.Tensor]] = {}

    def batch(self, indices: Sequence[int]) -> Batch:
        """The :class:`Batch` of rows ``indices``, computing (in one collator call) only the missing features."""
        missing = sorted(set(i for i in indices if i not in self.entries))
        if missing:
            rows = select_rows(self.rows, missing)
            for i, row, mel, frames in zip(missing, rows, *self.window.features_and_lengths(rows)):
                self.entries[i] = (mel, {k: v for k, v in row.items() if k != "audio"}, frames)
        return self.collate([self.entries[i][1] for i in indices],
                            mel=torch.stack([self.entries[i][0] for i in indices]),        # (B, mels, frames)
                            lengths=torch.stack([self.entries[i][2] for i in indices]))    # (B,)


def collate_micro_batch(collate: SpeechCollator, rows, indices: Sequence[int], generator: torch.Generator | None,
                        cache: FeatureCache | None = None) -> Batch:
    """The :class:`Batch` of ``rows[indices]``: from ``cache`` when given, else collated afresh.

    ``generator`` seeds the micro-batch's augmentation (``augment_generator``; ``None`` = clean).
    """
    if cache is not None:
        return cache.batch(indices)
    return collate(select_rows(rows, indices), generator)


# ---------------------------------------------------------------------------- one optimizer step
@dataclass
class StepResult:
    """What one optimizer step measured: 0-d tensors on the run's device, read on the host only when logged.

    Attributes:
        loss: the step's objective over all ranks: joint CE/CTC summed over the label tokens of every
            rank's micro-batches, divided by their count, plus the attention regularisers.
        grad_norm: the global gradient norm before clipping.
        ctc: the summed CTC loss over every rank's examples (0 without a CTC head).
        aux: this rank's attention regulariser (``EchoOutput.aux_loss``, averaged over micro-batches).
        n_tokens: label tokens of the step over all ranks (float).
        info: the attention info of the last micro-batch (``EchoOutput.info``), for ``summarize_info``.
    """

    loss: torch.Tensor
    grad_norm: torch.Tensor
    ctc: torch.Tensor
    aux: torch.Tensor
    n_tokens: torch.Tensor
    info: Any


def ctc_sum(out, labels: torch.Tensor, eos_id: int) -> torch.Tensor:
    """Summed CTC loss of a micro-batch (0 when the model has no CTC head)."""
    if out.ctc_log_probs is None:
        return out.logits.new_zeros((), dtype=torch.float32)
    targets, target_lengths = ctc_targets(labels, eos_id)
    return ctc_loss_sum(out.ctc_log_probs, out.encoded_lengths, targets, target_lengths)


def optimisation_step(net: nn.Module, batches: Sequence[Batch], optimizer, scheduler, params: Sequence[torch.Tensor],
                      *, step: int, device: torch.device, amp: torch.dtype | None, grad_clip: float,
                      world_size: int) -> StepResult:
    """One optimizer step over this rank's micro-batches: accumulate, clip, check, update.

    Each micro-batch's backward carries ``joint_loss(CE, CTC) * world_size / n_tokens + aux / len(batches)``:
    ``n_tokens`` counts the label tokens of the *whole* step (all ranks), and DDP averages gradients
    over ``world_size`` ranks, so the update is the token mean of the combined batch however it is split.
    Under DDP only the last micro-batch synchronises gradients (``no_sync`` for the others).

    Args:
        net: the model, or its ``DistributedDataParallel`` wrapper.
        batches: this rank's micro-batches (CPU; moved to ``device`` one at a time).
        params: the trainable parameters, in ``model.parameters()`` order (the clipping norm sums them).
        step: the 0-based step (for the error message).
        amp: the autocast dtype, or ``None`` for float32.
        grad_clip: the maximum gradient norm (0 = no clipping; the norm is still measured).
        world_size: data-parallel processes.

    Raises:
        TrainingError: the loss or the gradient norm is not finite; the weights are left untouched.
            Checking costs the step's only host synchronisation.
    """
    ddp = isinstance(net, nn.parallel.DistributedDataParallel)
    dims = (net.module if ddp else net).dims
    n_tokens = all_reduce_sum(torch.tensor(float(sum(b.n_label_tokens for b in batches)), device=device))
    ce_total = torch.zeros((), device=device)
    ctc_total = torch.zeros((), device=device)
    aux_total = torch.zeros((), device=device)
    for m, batch in enumerate(batches):
        batch = batch.to(device)
        sync = net.no_sync() if ddp and m < len(batches) - 1 else nullcontext()
        with sync:
            with torch.autocast(device.type, dtype=amp) if amp is not None else nullcontext():
                out = net(batch.mel, batch.input_ids, lengths=batch.lengths)
            ce = F.cross_entropy(out.logits.float().flatten(0, 1), batch.labels.flatten(),   # (B*T, vocab), (B*T,)
                                 ignore_index=IGNORE_INDEX, reduction="sum")
            ctc = ctc_sum(out, batch.labels, dims.eos_token_id)
            aux = out.aux_loss.float() / len(batches)
            (joint_loss(ce, ctc, dims.ctc_weight) * world_size / n_tokens.clamp_min(1) + aux).backward()
        ce_total += ce.detach()
        ctc_total += ctc.detach()
        aux_total += aux.detach()
    grad_norm = nn.utils.clip_grad_norm_(params, grad_clip or float("inf"))
    loss = all_reduce_sum(joint_loss(ce_total, ctc_total, dims.ctc_weight)) / n_tokens.clamp_min(1) + aux_total
    if dims.ctc_weight > 0:   # the logged CTC loss covers every rank's examples, like the loss
        ctc_total = all_reduce_sum(ctc_total.clone())
    finite = torch.isfinite(loss) & torch.isfinite(grad_norm)
    if not bool(finite):  # one host sync per step: a NaN must stop the run before it reaches the weights
        what = "loss" if not bool(torch.isfinite(loss)) else "gradient norm"
        raise TrainingError(f"{what} became {float(loss if what == 'loss' else grad_norm)} at step {step + 1} "
                            f"(lr {scheduler.get_last_lr()[0]:.3g}); lower TrainConfig.lr or check the data")
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return StepResult(loss=loss, grad_norm=grad_norm, ctc=ctc_total, aux=aux_total, n_tokens=n_tokens, info=out.info)
