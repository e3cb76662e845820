"""``echo-edu evaluate``: WER/CER of a model on a corpus split, overall, per engine and per voice.

    echo-edu evaluate --model assets/echo-digits --task digits --split test
"""

from __future__ import annotations

import argparse
import json

from ..errors import ConfigError
from ..evaluate import evaluate_model
from .common import add_corpus_arguments, add_decoding_arguments, corpus_from_args, decoding, load_model

__all__ = ["HELP", "add_arguments", "run"]

HELP = "score a model's WER/CER on held-out voices"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_decoding_arguments(parser)
    add_corpus_arguments(parser)
    parser.add_argument("--split", default="test", help="corpus split to score (default: test, held-out voices)")
    parser.add_argument("--limit", type=int, default=None, help="score only this many clips, spread over the split")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of tables")


def run(args: argparse.Namespace) -> int:
    """Build (or load the cached) corpus split, transcribe it, print the tables."""
    model, directory = load_model(args)
    corpus = corpus_from_args(args)
    if args.split not in corpus:
        raise ConfigError(f"--split {args.split!r} is not in the corpus (splits: {', '.join(corpus)})")
    report = evaluate_model(model, corpus[args.split], limit=args.limit, batch_size=args.batch_size,
                            progress=True, **decoding(args))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(f"model {directory} · {args.task} {args.split} split · {report.overall.n} clips · "
              f"{report.seconds:.1f} s\n")
        print(report.to_markdown())
    return 0
