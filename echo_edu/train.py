"""Train Echo: ``train(model, corpus, TrainConfig(...)) -> TrainHistory``.

One optimizer step, in order:

1. **Batch.** A seeded sampler picks the step's examples from ``(seed, step)`` alone, so a resumed run
   sees exactly the batches an uninterrupted run would. With ``grad_accum`` micro-batches and
   ``world_size`` processes, the step covers ``batch_size * grad_accum * world_size`` examples.
2. **Loss.** Token cross-entropy summed over the step's label tokens and divided by their total count
   (so accumulation and data parallelism give the token mean of the combined batch), plus the
   attention regularisers of ``EchoOutput.aux_loss`` (e.g. the adaptive span penalty).
3. **Update.** Gradients clipped to ``grad_clip``; AdamW with weight decay on weight *matrices* only
   (decay on norms, biases and embeddings only drags them to zero — the original code decayed them all);
   learning rate from one warm-up + cosine schedule.
4. **Watch.** A non-finite loss or gradient stops the run with a :class:`TrainingError` naming the step,
   before the weights are touched. Every ``eval_every`` steps the model *transcribes* validation clips
   autoregressively (greedy decoding, like real use) and reports WER/CER — not the teacher-forced
   "accuracy" that flattered the original. Every ``save_every`` steps a checkpoint is written.

Mixed precision: bf16 autocast on CUDA (``precision="auto"``), float32 on CPU. Data parallel: run under
``torchrun`` (see :mod:`echo_edu.distributed`).
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .audio import POSITIONS_PER_SECOND
from .ctc import ctc_loss_sum, ctc_targets
from .data.collate import IGNORE_INDEX, PAD_MODES, SpeechCollator, StepSampler, augment_generator, build_augmenter, select_rows
from .data.mixture import WeightedStepSampler, sample_weights
from .distributed import all_reduce_sum, barrier, gather_objects, init_distributed
from .errors import ConfigError, TrainingError
from .evaluate import evaluate_model
from .train_state import (CHECKPOINT_NAME, check_writable, find_checkpoint, load_training_state,
                          save_training_state)
from .utils import set_seed

__all__ = ["TrainConfig", "TrainHistory", "train", "parameter_groups", "build_optimizer", "lr_at", "StepSampler",
           "summarize_info", "autocast_dtype"]

PRECISIONS = ("auto", "fp32", "bf16")
#: Attention-info entries worth following over training (refiner spans, myelinated gates, ...).
WATCHED_INFO = ("span", "window", "reward", "skip", "skip_prob", "memory_gate", "importance")


@dataclass
class TrainConfig:
    """Every knob of a training run (saved in each checkpoint)."""

    steps: int = 2000               # optimizer steps in the whole run
    batch_size: int = 32            # examples per micro-batch per process
    grad_accum: int = 1             # micro-batches per optimizer step
    lr: float = 1e-3                # peak learning rate (after warm-up)
    min_lr: float = 1e-5            # learning rate at the end of the cosine
    warmup_steps: int = 100         # linear warm-up from lr/warmup_steps to lr
    weight_decay: float = 0.05      # AdamW decay on weight matrices only
    betas: tuple[float, float] = (0.9, 0.98)
    adam_eps: float = 1e-8
    grad_clip: float = 1.0          # max global gradient norm (0 = no clipping)
    precision: str = "auto"         # "auto" (bf16 on CUDA, fp32 on CPU), "fp32" or "bf16"
    seed: int = 0                   # seeds init-independent randomness: batch order, dropout
    output_dir: str | None = None   # where checkpoints go (None = no checkpoints)
    save_every: int = 0             # checkpoint every N steps (0 = only at the end); needs output_dir
    resume: bool = True             # continue from <output_dir>/checkpoint when it exists
    stop_at: int | None = None      # stop early (after a checkpoint) at this step; the schedule keeps `steps`
    eval_every: int = 0             # validate every N steps (0 = only at the end, if there is validation data)
    eval_samples: int = 64          # validation clips transcribed each time (spread over the split)
    eval_batch_size: int = 32
    log_every: int = 10             # record loss/lr/grad-norm (and attention summaries) every N steps
    progress: bool = True           # tqdm progress bar
    device: str | None = None       # None = cuda if available else cpu (cuda:LOCAL_RANK under torchrun)
    find_unused_parameters: bool = True  # DDP: some attention types leave parameters unused on a step
    augment: Any = None             # an AugmentConfig (or its dict, or True for the defaults): on-the-fly
    #                                 waveform augmentation + SpecAugment of training clips; None = clean
    pad_to: str = "window"          # "longest": pad each micro-batch only to its longest clip, and sort each
    #                                 step's clips by duration first so micro-batches hold similar lengths
    #                                 (for models with Dimensions.mask_padding; see SpeechCollator)
    cache_features: bool = False    # keep each training clip's log-mel in memory after its first use
    #                                 (ignored with augment; costs mels*2*audio_ctx*4 bytes per clip)

    def validate(self) -> "TrainConfig":
        for name in ("steps", "batch_size", "grad_accum", "eval_samples", "eval_batch_size", "log_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"TrainConfig.{name} must be a positive integer, got {value!r}")
        for name in ("warmup_steps", "save_every", "eval_every"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ConfigError(f"TrainConfig.{name} must be an integer >= 0, got {getattr(self, name)!r}")
        if not (self.lr > 0 and 0 <= self.min_lr <= self.lr):
            raise ConfigError(f"TrainConfig needs lr > 0 and 0 <= min_lr <= lr, got lr={self.lr}, min_lr={self.min_lr}")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ConfigError("TrainConfig.weight_decay and grad_clip must be >= 0")
        if self.pad_to not in PAD_MODES:
            raise ConfigError(f"TrainConfig.pad_to={self.pad_to!r}; choose one of {', '.join(PAD_MODES)}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"TrainConfig.precision={self.precision!r}; choose one of {', '.join(PRECISIONS)}")
        if self.stop_at is not None and not 0 < self.stop_at <= self.steps:
            raise ConfigError(f"TrainConfig.stop_at={self.stop_at} must be in 1..steps={self.steps}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class TrainHistory:
    """What happened: ``train`` records every ``log_every`` steps, ``eval`` records at each validation."""

    train: list[dict[str, float]] = field(default_factory=list)
    eval: list[dict[str, Any]] = field(default_factory=list)
    step: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainHistory":
        return cls(**data)


# ---------------------------------------------------------------------------- optimizer and schedule
def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups: weight matrices decay; norms, biases, embeddings and other vectors do not.

    Each group carries ``names`` (the parameter names) so the split can be inspected and tested.
    """
    embedding_params = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    decay, no_decay = ([], []), ([], [])
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        skip = p.ndim < 2 or id(p) in embedding_params or "embed" in name or "positional" in name
        target = no_decay if skip else decay
        target[0].append(name)
        target[1].append(p)
    return [{"params": decay[1], "names": decay[0], "weight_decay": weight_decay},
            {"params": no_decay[1], "names": no_decay[0], "weight_decay": 0.0}]


def lr_at(step: int, config: TrainConfig) -> float:
    """Learning rate of optimizer step ``step`` (0-based): linear warm-up, then cosine to ``min_lr``."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = min(1.0, (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps))
    return config.min_lr + (config.lr - config.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_optimizer(model: nn.Module, config: TrainConfig):
    """AdamW over :func:`parameter_groups` and the :func:`lr_at` schedule as a ``LambdaLR``."""
    groups = [{k: v for k, v in g.items() if k != "names"} for g in parameter_groups(model, config.weight_decay)]
    optimizer = torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, eps=config.adam_eps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_at(s, config) / config.lr)
    return optimizer, scheduler


def autocast_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device`` (``None`` = plain float32)."""
    if precision == "bf16":
        return torch.bfloat16
    if precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def _splits(corpus) -> tuple[Any, Any]:
    if isinstance(corpus, dict) or hasattr(corpus, "keys") and "train" in corpus:
        if "train" not in corpus:
            raise TrainingError(f"the corpus has no 'train' split (splits: {sorted(corpus)})")
        return corpus["train"], corpus.get("validation")
    return corpus, None


def _check_lengths(train_set, model) -> None:
    """Refuse clips longer than the encoder window: their end (and its words) would be cut off silently."""
    cols = getattr(train_set, "column_names", None)
    if cols is None or "duration" not in cols or len(train_set) == 0:
        return
    longest = max(float(d) for d in train_set["duration"])
    window = model.dims.audio_seconds
    if longest > window + 1e-6:
        raise TrainingError(f"the longest training clip lasts {longest:.2f} s but the model hears only "
                            f"{window:.2f} s (Dimensions.audio_ctx={model.dims.audio_ctx}); raise audio_ctx "
                            f"to at least {math.ceil(longest * POSITIONS_PER_SECOND)}")


def _durations(train_set) -> list[float] | None:
    """Each training clip's duration (s), for sorting a step's clips; ``None`` without the column."""
    cols = getattr(train_set, "column_names", None)
    return [float(d) for d in train_set["duration"]] if cols is not None and "duration" in cols else None


def _ctc_sum(out, labels: torch.Tensor, eos_id: int) -> torch.Tensor:
    """Summed CTC loss of a micro-batch (0 when the model has no CTC head)."""
    if out.ctc_log_probs is None:
        return out.logits.new_zeros((), dtype=torch.float32)
    targets, target_lengths = ctc_targets(labels, eos_id)
    return ctc_loss_sum(out.ctc_log_probs, out.encoded_lengths, targets, target_lengths)


def _joint(ce: torch.Tensor, ctc: torch.Tensor, ctc_weight: float) -> torch.Tensor:
    """``(1 - w)·CE + w·CTC`` (both summed over tokens): ESPnet's hybrid CTC/attention objective."""
    return ce if ctc_weight == 0 else (1 - ctc_weight) * ce + ctc_weight * ctc


def summarize_info(info: Any, prefix: str = "") -> dict[str, torch.Tensor]:
    """Mean of each watched attention-info entry (spans, gates, ...), keyed like ``decoder.1.self.span``.

    Returns detached 0-d tensors; the training loop reads them only every ``log_every`` steps.
    """
    out: dict[str, torch.Tensor] = {}
    if isinstance(info, dict):
        for key, value in info.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, torch.Tensor):
                if key in WATCHED_INFO and value.numel() > 0:
                    out[name] = value.detach().float().mean()
            else:
                out.update(summarize_info(value, name))
    elif isinstance(info, (list, tuple)):
        for i, value in enumerate(info):
            out.update(summarize_info(value, f"{prefix}.{i}" if prefix else str(i)))
    return out


# ---------------------------------------------------------------------------- the loop
def train(model: nn.Module, corpus, config: TrainConfig | None = None, *, tokenizer=None,
          callbacks: Sequence[Callable[[str, dict, nn.Module], None]] = ()) -> TrainHistory:
    """Train ``model`` on ``corpus`` and return its :class:`TrainHistory`.

    Args:
        model: an :class:`echo_edu.Echo` (moved to the run's device in place).
        corpus: a ``DatasetDict`` with ``train`` (and optionally ``validation``) splits, or one split
            (a ``datasets.Dataset`` or a list of rows with ``audio`` and ``text``).
        config: a :class:`TrainConfig`.
        tokenizer: the tokenizer (default ``model.tokenizer``).
        callbacks: ``fn(event, record, model)`` called with ``"train"`` records every ``log_every``
            steps and ``"eval"`` records after each validation (live plots use this).
    """
    config = (config or TrainConfig()).validate()
    tokenizer = model.tokenizer if tokenizer is None else tokenizer
    dist, device = init_distributed(config.device)
    train_set, val_set = _splits(corpus)
    _check_lengths(train_set, model)
    if config.output_dir is not None and dist.is_main:
        check_writable(config.output_dir)
    model.to(device)
    optimizer, scheduler = build_optimizer(model, config)
    history, start = TrainHistory(), 0
    checkpoint = find_checkpoint(config.output_dir) if config.resume else None
    if checkpoint is not None:
        state = load_training_state(checkpoint, model, optimizer, scheduler, rank=dist.rank)
        start, history = state["step"], TrainHistory.from_dict(state["history"])
        for key in ("batch_size", "grad_accum", "seed", "steps"):
            if state["config"].get(key) != getattr(config, key):
                warnings.warn(f"resuming {checkpoint} with {key}={getattr(config, key)} (it was saved with "
                              f"{state['config'].get(key)}): the run will not match an uninterrupted one")
    else:
        set_seed(config.seed + dist.rank)
    net = model
    if dist.enabled:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=config.find_unused_parameters)
    collate = SpeechCollator.for_model(model, tokenizer, augmenter=build_augmenter(config.augment), pad_to=config.pad_to)
    durations = _durations(train_set) if config.pad_to == "longest" else None
    per_step, weights = config.batch_size * config.grad_accum * dist.world_size, sample_weights(train_set)
    sampler = (WeightedStepSampler(weights, per_step, config.seed) if weights is not None   # a mix: draw by weight
               else StepSampler(len(train_set), per_step, config.seed))
    amp = autocast_dtype(device, config.precision)
    params = [p for p in model.parameters() if p.requires_grad]
    end = config.stop_at or config.steps

    def validate(step: int) -> None:
        if val_set is None or len(val_set) == 0:
            return
        if dist.is_main:
            report = evaluate_model(model, val_set, tokenizer, limit=config.eval_samples,
                                    batch_size=config.eval_batch_size, progress=False)
            record = {"step": step, "wer": report.overall.wer, "cer": report.overall.cer, "n": report.overall.n,
                      "examples": list(zip(report.references[:3], report.hypotheses[:3]))}
            history.eval.append(record)
            for cb in callbacks:
                cb("eval", record, model)
            if bar is not None:
                bar.set_postfix(loss=last_loss, wer=f"{record['wer']:.3f}")
        barrier()

    def save(step: int) -> None:
        if config.output_dir is None:
            return
        rank_rng = gather_objects(torch.get_rng_state()) if dist.enabled else None
        if dist.is_main:
            history.step = step
            save_training_state(f"{config.output_dir}/{CHECKPOINT_NAME}", model, optimizer, scheduler, step,
                                config=config.to_dict(), history=history.to_dict(), tokenizer=tokenizer,
                                rank_rng=rank_rng)
        barrier()

    cache: dict[int, tuple[torch.Tensor, dict, torch.Tensor]] = {}

    def fetch(indices: list[int], generator):
        if not config.cache_features or generator is not None:
            return collate(select_rows(train_set, indices), generator)
        missing = sorted(set(i for i in indices if i not in cache))
        if missing:
            rows = select_rows(train_set, missing)
            for i, row, mel, frames in zip(missing, rows, *collate.features_and_lengths(rows)):
                cache[i] = (mel, {k: v for k, v in row.items() if k != "audio"}, frames)
        return collate([cache[i][1] for i in indices], mel=torch.stack([cache[i][0] for i in indices]),
                       lengths=torch.stack([cache[i][2] for i in indices]))

    bar = None
    if config.progress and dist.is_main:
        bar = tqdm(total=end, initial=start, desc="train", unit="step", dynamic_ncols=True)
    last_loss, t0 = float("nan"), time.perf_counter() - history.seconds
    for step in range(start, end):
        model.train()
        idx = sampler.indices(step)
        if durations is not None:   # similar lengths share a micro-batch: less padding (same examples, same step)
            idx = sorted(idx, key=durations.__getitem__)
        bs, r, w = config.batch_size, dist.rank, dist.world_size
        batches = [fetch(idx[(m * w + r) * bs:(m * w + r + 1) * bs], augment_generator(config.augment, config.seed, step, m, r))
                   for m in range(config.grad_accum)]
        n_tokens = all_reduce_sum(torch.tensor(float(sum(b.n_label_tokens for b in batches)), device=device))
        ce_total = torch.zeros((), device=device)
        ctc_total = torch.zeros((), device=device)
        aux_total = torch.zeros((), device=device)
        for m, batch in enumerate(batches):
            batch = batch.to(device)
            sync = nullcontext() if not dist.enabled or m == len(batches) - 1 else net.no_sync()
            with sync:
                with torch.autocast(device.type, dtype=amp) if amp is not None else nullcontext():
                    out = net(batch.mel, batch.input_ids, lengths=batch.lengths)
                ce = F.cross_entropy(out.logits.float().flatten(0, 1), batch.labels.flatten(),
                                     ignore_index=IGNORE_INDEX, reduction="sum")
                ctc = _ctc_sum(out, batch.labels, model.dims.eos_token_id)
                aux = out.aux_loss.float() / len(batches)
                (_joint(ce, ctc, model.dims.ctc_weight) * w / n_tokens.clamp_min(1) + aux).backward()
            ce_total += ce.detach()
            ctc_total += ctc.detach()
            aux_total += aux.detach()
        grad_norm = nn.utils.clip_grad_norm_(params, config.grad_clip or float("inf"))
        loss = all_reduce_sum(_joint(ce_total, ctc_total, model.dims.ctc_weight)) / n_tokens.clamp_min(1) + aux_total
        finite = torch.isfinite(loss) & torch.isfinite(grad_norm)
        if not bool(finite):  # one host sync per step: a NaN must stop the run before it reaches the weights
            what = "loss" if not bool(torch.isfinite(loss)) else "gradient norm"
            raise TrainingError(f"{what} became {float(loss if what == 'loss' else grad_norm)} at step {step + 1} "
                                f"(lr {scheduler.get_last_lr()[0]:.3g}); lower TrainConfig.lr or check the data")
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        done = step + 1
        if done % config.log_every == 0 or done == end:
            last_loss = float(loss)
            record = {"step": done, "loss": last_loss, "aux_loss": float(aux_total), "lr": lr_at(step, config),
                      **({"ctc_loss": float(ctc_total / n_tokens.clamp_min(1))} if model.ctc is not None else {}),
                      "grad_norm": float(grad_norm), "seconds": time.perf_counter() - t0}
            record.update({k: float(v) for k, v in summarize_info(out.info).items()})
            history.train.append(record)
            for cb in callbacks:
                cb("train", record, model)
            if bar is not None:
                bar.set_postfix(loss=f"{last_loss:.3f}", lr=f"{record['lr']:.2e}")
        if bar is not None:
            bar.update(1)
        history.step, history.seconds = done, time.perf_counter() - t0
        if (config.eval_every and done % config.eval_every == 0) or done == config.steps:
            validate(done)
        if (config.save_every and done % config.save_every == 0) or done == end:
            save(done)
    if bar is not None:
        bar.close()
    model.eval()
    return history

