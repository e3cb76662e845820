"""``echo-edu train``: build the corpus, build the model, train, save, score the held-out voices.

    echo-edu train --task digits --n 3000 --preset small --steps 2000 --output runs/digits
    echo-edu train --data an4:../shared/data/an4 --data fsdd:../shared/data/fsdd-dev@0.5 \
        --data synth:an4?n=4000 --augment --noise-dir ../shared/data/speech-commands-dev/noise --output runs/an4

Without ``--data`` the corpus is the synthetic recipe (``--task/--n/--corpus-seed/--engines``). With
``--data`` (once per source) it is ``load_speech(specs)``: every source's splits concatenated, training
draws balanced by each source's ``@WEIGHT`` (``--no-balance``: in proportion to weight x clips).

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

from ..augmentation import AugmentConfig
from ..dimensions import Dimensions
from ..distributed import barrier, init_distributed
from ..data import source_shares
from ..errors import ConfigError, TrainingError
from ..evaluate import evaluate_model
from ..model import Echo
from ..tokenizer import build_tokenizer
from ..train import TrainConfig, train
from ..train_loop import check_lengths
from ..utils import set_seed
from .common import add_corpus_arguments, corpus_from_args, corpus_recipe
from .evaluate import format_report

__all__ = ["HELP", "add_arguments", "run", "dims_from_args", "augment_from_args"]

HELP = "train an Echo model on a synthetic corpus or on real speech (--data)"


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
    parser.add_argument("--noise-dir", default=None, metavar="DIR",
                        help="with --augment: a folder of recorded noise clips mixed in at random SNR "
                             "(e.g. speech-commands-dev/noise)")
    parser.add_argument("--real-noise-fraction", type=float, default=None,
                        help="with --noise-dir: share of noise draws that are recorded clips (default 0.5)")
    parser.add_argument("--test-limit", type=int, default=None, help="score only this many test clips")


def augment_from_args(args: argparse.Namespace):
    """``TrainConfig.augment``: None (clean), True (the defaults) or an ``AugmentConfig`` dict with noise.

    Raises:
        ConfigError: ``--noise-dir`` / ``--real-noise-fraction`` without ``--augment``, a noise folder
            that does not exist, or a fraction outside [0, 1] (``AugmentConfig`` names it).
    """
    noisy = args.noise_dir is not None or args.real_noise_fraction is not None
    if not args.augment:
        if noisy:
            raise ConfigError("--noise-dir and --real-noise-fraction only act with --augment; add --augment")
        return None
    if not noisy:
        return True
    if args.noise_dir is None:
        raise ConfigError("--real-noise-fraction needs --noise-dir DIR (the recorded noise clips)")
    if not Path(args.noise_dir).is_dir():
        raise ConfigError(f"--noise-dir {args.noise_dir!r} is not a folder (recorded noise clips expected)")
    fraction = {} if args.real_noise_fraction is None else {"real_noise_fraction": args.real_noise_fraction}
    return AugmentConfig(noise_dir=args.noise_dir, **fraction).to_dict()


def run(args: argparse.Namespace) -> int:
    """Run ``echo-edu train``."""
    if args.threads:
        torch.set_num_threads(args.threads)
    augment = augment_from_args(args)      # option mistakes fail before any corpus is loaded
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
    check_lengths(corpus["train"] if "train" in corpus else [], dims, advice="pass --dims audio_ctx={needed} (or more)")
    set_seed(args.seed)
    model = Echo(dims, tokenizer=tokenizer)
    config = TrainConfig(steps=args.steps, batch_size=args.batch_size, grad_accum=args.grad_accum, lr=args.lr,
                         min_lr=args.min_lr, warmup_steps=args.warmup_steps, weight_decay=args.weight_decay,
                         grad_clip=args.grad_clip, precision=args.precision, seed=args.seed,
                         output_dir=args.checkpoint_dir or f"{args.output.rstrip('/')}-checkpoints",
                         save_every=args.save_every, resume=not args.no_resume, stop_at=args.stop_at,
                         eval_every=args.eval_every, eval_samples=args.eval_samples, log_every=args.log_every,
                         device=str(device), cache_features=args.cache_features and not args.augment,
                         augment=augment)
    history = train(model, corpus, config, tokenizer=tokenizer)
    if not dist.is_main:
        return 0
    model.save_pretrained(args.output, tokenizer=tokenizer)
    log = {"command": " ".join(getattr(args, "argv", None) or sys.argv),
           "corpus": {**corpus_recipe(args), "sizes": {k: len(v) for k, v in corpus.items()},
                      "build_seconds": corpus_seconds,
                      **({"shares": source_shares(corpus["train"])} if args.data else {})},
           "dims": dims.to_dict(), "parameters": model.num_parameters(), "config": config.to_dict(),
           "world_size": dist.world_size, "threads": args.threads,
           "train_seconds": history.seconds, "history": history.to_dict()}
    if "test" in corpus and len(corpus["test"]):
        report = evaluate_model(model, corpus["test"], tokenizer, limit=args.test_limit, progress=True)
        log["test"] = report.to_dict()
        print(format_report(report))
    Path(args.output, "training_log.json").write_text(json.dumps(log, indent=1, default=str))
    print(f"saved {args.output} after {history.step} steps ({history.seconds / 60:.1f} min of training)")
    return 0
