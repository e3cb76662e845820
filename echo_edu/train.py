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

Where things are: the pieces of a step (micro-batches, the feature cache, :func:`optimisation_step`) are
plain functions in :mod:`echo_edu.train_loop`; this module holds the configuration, the optimizer and
schedule, the run's bookkeeping (``_Run``: resuming, records, validation, checkpoints, progress bar) and
:func:`train`, a short loop over them.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from .data.collate import PAD_MODES, Batch, SpeechCollator, StepSampler, augment_generator, build_augmenter
from .data.mixture import WeightedStepSampler, sample_weights
from .distributed import DistInfo, barrier, gather_objects, init_distributed
from .errors import ConfigError
from .evaluate import evaluate_model
from .train_loop import (FeatureCache, StepResult, check_lengths, collate_micro_batch, durations, micro_batch_indices,
                         optimisation_step, splits, step_indices)
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
    #                                 (ignored with augment; costs mels*n_frames*4 bytes per clip)

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


# ---------------------------------------------------------------------------- the run
@dataclass
class _Run:
    """What one call of :func:`train` holds between steps; :meth:`start` builds it (resuming if it can).

    The step itself is :func:`echo_edu.train_loop.optimisation_step`; the methods here are the run's
    bookkeeping around it: batches, records, validation, checkpoints and the progress bar.
    """

    config: TrainConfig
    model: nn.Module
    net: nn.Module                      # the model, or its DistributedDataParallel wrapper
    tokenizer: Any
    dist: DistInfo
    device: torch.device
    train_set: Any
    val_set: Any
    optimizer: torch.optim.Optimizer
    scheduler: Any
    history: TrainHistory
    first: int                          # the first step to run (the checkpoint's step when resuming)
    end: int                            # one past the last step (stop_at, else steps)
    sampler: Any                        # StepSampler or WeightedStepSampler (a weighted mix)
    collate: SpeechCollator
    cache: FeatureCache | None          # cache_features without augmentation
    lengths: list[float] | None         # clip durations when pad_to="longest" sorts each step
    amp: torch.dtype | None
    params: list[torch.Tensor]          # trainable parameters, clipped together
    callbacks: Sequence[Callable[[str, dict, nn.Module], None]]
    bar: Any = None                     # the tqdm bar (main process, progress=True)
    last_loss: float = float("nan")     # the last logged loss (shown by the bar after validation)
    t0: float = 0.0                     # perf_counter at the start, less the seconds of resumed steps

    @classmethod
    def start(cls, model: nn.Module, corpus, config: TrainConfig, tokenizer, callbacks) -> "_Run":
        """Join the process group, check the data, build the optimizer and load the checkpoint (if any).

        The order is part of reproducibility: a fresh run seeds torch (``seed + rank``) after building
        the optimizer and before anything draws random numbers; a resumed one restores the saved states.
        """
        tokenizer = model.tokenizer if tokenizer is None else tokenizer
        dist, device = init_distributed(config.device)
        train_set, val_set = splits(corpus)
        check_lengths(train_set, model.dims)
        if config.output_dir is not None and dist.is_main:
            check_writable(config.output_dir)
        model.to(device)
        optimizer, scheduler = build_optimizer(model, config)
        history, first = TrainHistory(), 0
        checkpoint = find_checkpoint(config.output_dir) if config.resume else None
        if checkpoint is not None:
            state = load_training_state(checkpoint, model, optimizer, scheduler, rank=dist.rank)
            first, history = state["step"], TrainHistory.from_dict(state["history"])
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
        augmenter = build_augmenter(config.augment)
        collate = SpeechCollator.for_model(model, tokenizer, augmenter=augmenter, pad_to=config.pad_to)
        per_step, weights = config.batch_size * config.grad_accum * dist.world_size, sample_weights(train_set)
        sampler = (WeightedStepSampler(weights, per_step, config.seed) if weights is not None  # a mix: by weight
                   else StepSampler(len(train_set), per_step, config.seed))
        run = cls(config=config, model=model, net=net, tokenizer=tokenizer, dist=dist, device=device,
                  train_set=train_set, val_set=val_set, optimizer=optimizer, scheduler=scheduler, history=history,
                  first=first, end=config.stop_at or config.steps, sampler=sampler, collate=collate,
                  cache=FeatureCache(collate, train_set) if config.cache_features and augmenter is None else None,
                  lengths=durations(train_set) if config.pad_to == "longest" else None,
                  amp=autocast_dtype(device, config.precision),
                  params=[p for p in model.parameters() if p.requires_grad], callbacks=callbacks)
        if config.progress and dist.is_main:
            run.bar = tqdm(total=run.end, initial=first, desc="train", unit="step", dynamic_ncols=True)
        run.t0 = time.perf_counter() - history.seconds
        return run

    def micro_batches(self, step: int) -> list[Batch]:
        """This rank's ``grad_accum`` batches of step ``step``, each augmented by its own seeded generator."""
        c, r = self.config, self.dist.rank
        indices = step_indices(self.sampler, step, self.lengths)
        return [collate_micro_batch(self.collate, self.train_set, ix, augment_generator(c.augment, c.seed, step, m, r),
                                    self.cache)
                for m, ix in enumerate(micro_batch_indices(indices, c.batch_size, c.grad_accum, r, self.dist.world_size))]

    def log(self, step: int, result: StepResult) -> None:
        """Record step ``step`` (0-based) in ``history.train``, tell the callbacks, update the bar.

        The record's floats are the step's host transfers beyond the non-finite check, paid every
        ``log_every`` steps only.
        """
        self.last_loss = float(result.loss)
        record = {"step": step + 1, "loss": self.last_loss, "aux_loss": float(result.aux),
                  "lr": lr_at(step, self.config),
                  **({"ctc_loss": float(result.ctc / result.n_tokens.clamp_min(1))} if self.model.ctc is not None else {}),
                  "grad_norm": float(result.grad_norm), "seconds": time.perf_counter() - self.t0}
        record.update({k: float(v) for k, v in summarize_info(result.info).items()})
        self.history.train.append(record)
        for cb in self.callbacks:
            cb("train", record, self.model)
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{self.last_loss:.3f}", lr=f"{record['lr']:.2e}")

    def validate(self, step: int) -> None:
        """Transcribe validation clips on the main process, record WER/CER; the other ranks wait."""
        if self.val_set is None or len(self.val_set) == 0:
            return
        if self.dist.is_main:
            report = evaluate_model(self.model, self.val_set, self.tokenizer, limit=self.config.eval_samples,
                                    batch_size=self.config.eval_batch_size, progress=False)
            record = {"step": step, "wer": report.overall.wer, "cer": report.overall.cer, "n": report.overall.n,
                      "examples": list(zip(report.references[:3], report.hypotheses[:3]))}
            self.history.eval.append(record)
            for cb in self.callbacks:
                cb("eval", record, self.model)
            if self.bar is not None:
                self.bar.set_postfix(loss=self.last_loss, wer=f"{record['wer']:.3f}")
        barrier()

    def save(self, step: int) -> None:
        """Write the checkpoint of step ``step`` (main process), with every rank's RNG state for dropout."""
        if self.config.output_dir is None:
            return
        rank_rng = gather_objects(torch.get_rng_state()) if self.dist.enabled else None
        if self.dist.is_main:
            self.history.step = step
            save_training_state(f"{self.config.output_dir}/{CHECKPOINT_NAME}", self.model, self.optimizer,
                                self.scheduler, step, config=self.config.to_dict(), history=self.history.to_dict(),
                                tokenizer=self.tokenizer, rank_rng=rank_rng)
        barrier()


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
    run = _Run.start(model, corpus, config, tokenizer, callbacks)
    for step in range(run.first, run.end):
        model.train()
        result = optimisation_step(run.net, run.micro_batches(step), run.optimizer, run.scheduler, run.params,
                                   step=step, device=run.device, amp=run.amp, grad_clip=config.grad_clip,
                                   world_size=run.dist.world_size)
        done = step + 1
        if done % config.log_every == 0 or done == run.end:
            run.log(step, result)
        if run.bar is not None:
            run.bar.update(1)
        run.history.step, run.history.seconds = done, time.perf_counter() - run.t0
        if (config.eval_every and done % config.eval_every == 0) or done == config.steps:
            run.validate(done)
        if (config.save_every and done % config.save_every == 0) or done == run.end:
            run.save(done)
    if run.bar is not None:
        run.bar.close()
    model.eval()
    return run.history
