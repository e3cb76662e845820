"""``echo-edu synth``: build (or load from cache) a synthetic speech corpus from the shell.

    echo-edu synth digits --n 6000 --seed 0            # train/validation/test, cached
    echo-edu synth sentences --n 300 --engines piper    # one engine only
    echo-edu synth an4 --n 2000 --engines espeak piper flite festival   # the AN4 domain, 4 engines
    echo-edu synth --list-voices                        # engines found here and their voices
    echo-edu synth --samples assets/samples             # remake the bundled sample set

"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..data import (DEFAULT_ENGINES, ENGINES, TASKS, available_engines, build_corpus, default_cache_dir,
                    held_out_voices, list_voices, write_samples)

__all__ = ["HELP", "add_arguments", "run"]

HELP = "synthesise a speech corpus with espeak-ng / piper"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", nargs="?", choices=sorted(TASKS), default="digits",
                        help="what the voices say (default: digits)")
    parser.add_argument("--n", type=int, default=600, help="total clips over all splits (default 600)")
    parser.add_argument("--seed", type=int, default=0, help="plan seed (default 0)")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(DEFAULT_ENGINES),
                        help="speech engines (default: espeak piper; missing ones are skipped)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="corpus cache folder (default $ECHO_EDU_CACHE/corpora or ~/.cache/echo_edu/corpora)")
    parser.add_argument("--workers", type=int, default=2, help="synthesis processes (default 2)")
    parser.add_argument("--augment", action="store_true",
                        help="augment the train split (noise, gain, speed; seeded per clip)")
    parser.add_argument("--overwrite", action="store_true", help="rebuild even if cached")
    parser.add_argument("--list-voices", action="store_true", help="list engines and voices, then exit")
    parser.add_argument("--samples", type=Path, default=None, metavar="FOLDER",
                        help="write the small bundled sample set to FOLDER instead")


def run(args: argparse.Namespace) -> int:
    if args.list_voices:
        have = available_engines()
        for engine in ENGINES:
            voices = list_voices(engine)
            held = {v.name for v in held_out_voices(engine)}
            state = "available" if engine in have else "NOT INSTALLED"
            print(f"{engine}: {state}, {len(voices)} voices ({len(held)} held out for testing)")
            for v in voices:
                print(f"  {v.name}{'  [test]' if v.name in held else ''}")
        return 0
    if args.samples is not None:
        folder = write_samples(args.samples, engines=tuple(args.engines))
        print(f"wrote the sample set to {folder}")
        return 0
    start = time.perf_counter()
    corpus = build_corpus(args.task, args.n, seed=args.seed, engines=tuple(args.engines),
                          cache_dir=args.cache_dir, workers=args.workers,
                          augment=True if args.augment else None, overwrite=args.overwrite)
    seconds = time.perf_counter() - start
    summary = {split: {"clips": ds.num_rows, "hours": round(float(sum(ds["duration"])) / 3600, 3),
                       "voices": len(set(ds["voice"]))} for split, ds in corpus.items()}
    print(json.dumps({"task": args.task, "n": args.n, "seed": args.seed, "seconds": round(seconds, 1),
                      "cache_dir": str(args.cache_dir or default_cache_dir()), "splits": summary}, indent=1))
    return 0
