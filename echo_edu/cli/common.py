"""What several subcommands share: the bundled model, the decoding options, the corpus recipe options.

Each rule lives here once: where the bundled model is, how ``--beam-size`` picks the decoding method,
and which options describe a corpus (``train`` and ``evaluate`` must read the same corpus).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data import build_corpus
from ..errors import CheckpointError
from ..model import Echo
from ..utils import default_device

__all__ = ["bundled_model_dir", "add_decoding_arguments", "decoding", "load_model", "add_corpus_arguments",
           "corpus_from_args"]


def bundled_model_dir() -> Path:
    """``assets/echo-digits/``: the small digits model shipped with the repository (the default model)."""
    return Path(__file__).resolve().parents[2] / "assets" / "echo-digits"


def add_decoding_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model``, ``--beam-size`` and ``--device``: how a command loads a model and decodes."""
    parser.add_argument("--model", default=None, metavar="DIR",
                        help="a save_pretrained folder (default: the bundled assets/echo-digits)")
    parser.add_argument("--beam-size", type=int, default=1, help="1 = greedy decoding (default), >1 = beam search")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: best available)")


def decoding(args: argparse.Namespace) -> dict:
    """``decode`` keyword options from ``--beam-size``: greedy for 1, beam search above."""
    return {"method": "beam" if args.beam_size > 1 else "greedy", "beam_size": args.beam_size}


def load_model(args: argparse.Namespace) -> tuple[Echo, Path]:
    """The model of ``--model`` (default: the bundled one) on ``--device``, and its folder.

    Raises:
        CheckpointError: the bundled folder is missing (with how to make it), or the folder is not a model.
    """
    directory = Path(args.model) if args.model else bundled_model_dir()
    if not args.model and not directory.exists():
        raise CheckpointError(f"the bundled model folder {str(directory)!r} is missing. Train one with "
                              "`echo-edu train --output assets/echo-digits` or pass --model DIR "
                              "(any folder written by save_pretrained).")
    return Echo.from_pretrained(directory, device=args.device or default_device()), directory


def add_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    """The corpus recipe options shared by ``train`` and ``evaluate``."""
    parser.add_argument("--task", default="digits", help="corpus task (default: digits)")
    parser.add_argument("--n", type=int, default=5000,
                        help="clips to synthesise over all splits (default: 5000, the bundled model's corpus)")
    parser.add_argument("--corpus-seed", type=int, default=0, help="seed of the corpus recipe (default: 0)")
    parser.add_argument("--engines", nargs="+", default=["espeak", "piper"], help="speech engines (default: both)")
    parser.add_argument("--cache-dir", default=None, help="where synthesised corpora are cached")


def corpus_from_args(args: argparse.Namespace):
    """``build_corpus(task, n, seed, engines, cache_dir)`` from the parsed options."""
    return build_corpus(args.task, n=args.n, seed=args.corpus_seed, engines=tuple(args.engines),
                        cache_dir=args.cache_dir)
