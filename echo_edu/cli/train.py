"""``echo-edu train``: build the corpus, build the model, train, save, score the held-out voices.

    echo-edu train --task digits --n 3000 --preset small --steps 2000 --output runs/digits

Writes the model to ``--output`` (a ``save_pretrained`` folder ``echo-edu transcribe --model`` reads),
with ``training_log.json`` (config, corpus recipe, history, test-split scores) beside it. Checkpoints go
to ``--checkpoint-dir`` (default ``<output>-checkpoints``); running the same command again resumes there.
Under ``torchrun --nproc_per_node=N`` the run is data-parallel (see :mod:`echo_edu.distributed`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from ..dimensions import Dimensions
from ..distributed import barrier, init_distributed
from ..errors import ConfigError
from ..evaluate import evaluate_model
from ..model import Echo
from ..tokenizer import build_tokenizer
from ..train import TrainConfig, train
from ..utils import set_seed
from .common import add_corpus_arguments, corpus_from_args

__all__ = ["HELP", "add_arguments", "run", "dims_from_args"]

HELP = "train an Echo model on a synthetic corpus"


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def dims_from_args(args, tokenizer):
    """``Dimensions.<preset>(**overrides)`` with ``vocab`` taken from the tokenizer."""
    overrides = {}
    for item in args.dims or []:
        if "=" not in item:
            raise ConfigError(f"--dims expects FIELD=VALUE items, got {item!r}")
        key, value = item.split("=", 1)
        overrides[key.strip()] = _parse_value(value.strip())
    preset = getattr(Dimensions, args.preset, None) if args.preset != "default" else Dimensions
    if preset is None:
        raise ConfigError(f"--preset {args.preset!r} is unknown; choose tiny, small, seed or default")
    try:
        dims = preset(**{"vocab": len(tokenizer), **overrides})
    except TypeError as exc:
        raise ConfigError(f"--dims: {exc}") from None
    return dims.validate()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``echo-edu train`` (every :class:`~echo_edu.train.TrainConfig` field has a flag)."""
    d = TrainConfig()
    add_corpus_arguments(parser)
    parser.add_argument("--output", required=True, help="folder for the trained model (save_pretrained)")
    parser.add_argument("--checkpoint-dir", default=None, help="checkpoints (default: <output>-checkpoints)")
    parser.add_argument("--preset", default="small", help="Dimensions preset: tiny, small, seed, default")
    parser.add_argument("--dims", nargs="*", metavar="FIELD=VALUE", help="override Dimensions fields")
    parser.add_argument("--steps", type=int, default=d.steps)
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help="per process and micro-batch")
    parser.add_argument("--grad-accum", type=int, default=d.grad_accum)
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--min-lr", type=float, default=d.min_lr)
    parser.add_argument("--warmup-steps", type=int, default=d.warmup_steps)
    parser.add_argument("--weight-decay", type=float, default=d.weight_decay)
    parser.add_argument("--grad-clip", type=float, default=d.grad_clip)
    parser.add_argument("--precision", default=d.precision, choices=["auto", "fp32", "bf16"])
    parser.add_argument("--seed", type=int, default=d.seed, help="training seed (init, batch order, dropout)")
    parser.add_argument("--eval-every", type=int, default=d.eval_every)
    parser.add_argument("--eval-samples", type=int, default=d.eval_samples)
    parser.add_argument("--save-every", type=int, default=200)
    parser.add_argument("--log-every", type=int, default=d.log_every)
    parser.add_argument("--stop-at", type=int, default=None, help="stop (checkpointed) at this step")
    parser.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads per process (1 is fastest on a busy machine: no spin-waiting)")
    parser.add_argument("--cache-features", action="store_true", help="keep training log-mels in memory")
    parser.add_argument("--augment", action="store_true",
                        help="augment every training clip on the fly (AugmentConfig defaults: speed, pitch, VTLP, "
                             "noise, reverberation, band-limiting, gain, SpecAugment); disables --cache-features")
    parser.add_argument("--test-limit", type=int, default=None, help="score only this many test clips")


def run(args: argparse.Namespace) -> int:
    """Run ``echo-edu train``."""
    if args.threads:
        torch.set_num_threads(args.threads)
    dist, device = init_distributed(args.device)
    t0 = time.perf_counter()
    if not dist.is_main:
        barrier()      # rank 0 synthesises (and caches) the corpus first
    corpus = corpus_from_args(args)
    if dist.is_main:
        barrier()
    corpus_seconds = time.perf_counter() - t0
    tokenizer = build_tokenizer()
    dims = dims_from_args(args, tokenizer)
    set_seed(args.seed)
    model = Echo(dims, tokenizer=tokenizer)
    config = TrainConfig(steps=args.steps, batch_size=args.batch_size, grad_accum=args.grad_accum, lr=args.lr,
                         min_lr=args.min_lr, warmup_steps=args.warmup_steps, weight_decay=args.weight_decay,
                         grad_clip=args.grad_clip, precision=args.precision, seed=args.seed,
                         output_dir=args.checkpoint_dir or f"{args.output.rstrip('/')}-checkpoints",
                         save_every=args.save_every, resume=not args.no_resume, stop_at=args.stop_at,
                         eval_every=args.eval_every, eval_samples=args.eval_samples, log_every=args.log_every,
                         device=str(device), cache_features=args.cache_features and not args.augment,
                         augment=True if args.augment else None)
    history = train(model, corpus, config, tokenizer=tokenizer)
    if not dist.is_main:
        return 0
    model.save_pretrained(args.output, tokenizer=tokenizer)
    log = {"command": " ".join(getattr(args, "argv", None) or sys.argv),
           "corpus": {"task": args.task, "n": args.n, "seed": args.corpus_seed, "engines": list(args.engines),
                      "sizes": {k: len(v) for k, v in corpus.items()}, "build_seconds": corpus_seconds},
           "dims": dims.to_dict(), "parameters": model.num_parameters(), "config": config.to_dict(),
           "world_size": dist.world_size, "threads": args.threads,
           "train_seconds": history.seconds, "history": history.to_dict()}
    if "test" in corpus:
        report = evaluate_model(model, corpus["test"], tokenizer, limit=args.test_limit, progress=True)
        log["test"] = report.to_dict()
        print(report.to_markdown())
    Path(args.output, "training_log.json").write_text(json.dumps(log, indent=1, default=str))
    print(f"saved {args.output} after {history.step} steps ({history.seconds / 60:.1f} min of training)")
    return 0
