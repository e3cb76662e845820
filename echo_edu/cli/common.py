"""What several subcommands share: the bundled model, the decoding options, the corpus options.

Each rule lives here once: how ``--beam-size`` picks the decoding method and which options describe a
corpus (``train`` and ``evaluate`` must read the same corpus); the default model's rule is
:func:`echo_edu.bundled.bundled_model_dir`, re-exported here. A corpus is
either the synthetic recipe (``--task/--n/--corpus-seed/--engines``, the default) or, when ``--data``
is given (once per source), the mix ``load_speech(specs, balance=not --no-balance)`` of real and
synthetic sources (spec syntax: :mod:`echo_edu.data.spec`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from ..bundled import bundled_model_dir, digits_model_dir, shipped_model_folder
from ..data import build_corpus, load_speech, parse_data_spec
from ..data.splits import SPLITS
from ..decode import JOINT_CTC_WEIGHT, METHODS, SPEED_SEARCH, decoding_options
from ..errors import ConfigError
from ..model import Echo
from ..speed_search import parse_speeds
from ..utils import default_device

__all__ = ["bundled_model_dir", "digits_model_dir", "add_decoding_arguments", "decoding", "describe_decoding",
           "load_model", "add_corpus_arguments", "corpus_from_args", "corpus_recipe", "corpus_name"]


def _speeds_option(text: str) -> tuple[float, ...]:
    """``--speeds``: :func:`~echo_edu.speed_search.parse_speeds`, its message as argparse's error line."""
    try:
        return parse_speeds(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_decoding_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model``, ``--beam-size``, ``--method``, ``--ctc-weight`` and ``--device``: how a command loads a model
    and decodes."""
    parser.add_argument("--model", default=None, metavar="DIR",
                        help="a save_pretrained folder, or a shipped model by name (default: the bundled "
                             "echo-an4, trained on real speech; echo-digits is the lessons' synthetic digits model)")
    parser.add_argument("--beam-size", type=int, default=None,
                        help="hypotheses kept by beam search (default: 4 with --method beam or joint); without "
                             "--method, 1 = greedy and > 1 = beam search (joint for a model with a CTC head)")
    parser.add_argument("--method", choices=METHODS, default=None,
                        help="decoding method (default: joint, 4 beams, for a model with a CTC head such as the "
                             "bundled echo-an4; else beam when --beam-size > 1, else greedy); joint = beam search "
                             "scored by the decoder and the encoder's CTC head together, ctc = best path of the CTC "
                             "head alone (both: models trained with ctc_weight > 0)")
    parser.add_argument("--ctc-weight", type=float, default=JOINT_CTC_WEIGHT,
                        help=f"with joint decoding: the CTC head's share of each hypothesis's score "
                             f"(default: {JOINT_CTC_WEIGHT}, chosen on AN4 dev)")
    parser.add_argument("--speeds", type=_speeds_option, default=None, metavar="S1,S2,...",
                        help="decode each clip at these playback speeds and keep the transcript the model scores "
                             f"highest (default: {','.join(f'{v:g}' for v in SPEED_SEARCH)} with the default decoding "
                             "of a model with a CTC head, else 1 = as recorded)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: best available)")


def decoding(args: argparse.Namespace, model: Echo) -> dict:
    """``decode`` keyword options for ``model`` from ``--method``, ``--beam-size``, ``--ctc-weight`` and ``--speeds``:
    :func:`echo_edu.decode.decoding_options`, the rule ``transcribe`` follows too (no option: the default
    decoding, speed search included; an explicit ``--method``/``--beam-size`` hears clips as recorded unless
    ``--speeds`` is given)."""
    return decoding_options(model, method=args.method, beam_size=args.beam_size, ctc_weight=args.ctc_weight,
                            speeds=getattr(args, "speeds", None))


def describe_decoding(options: dict) -> str:
    """``decoding()``'s options in words: ``joint decoding (4 beams, CTC weight 0.3) at speeds 0.9/1/1.1``,
    ``greedy decoding``."""
    method = options["method"]
    if method == "joint":
        words = f"joint decoding ({options['beam_size']} beams, CTC weight {options['ctc_weight']:g})"
    else:
        words = f"beam search ({options['beam_size']} beams)" if method == "beam" else f"{method} decoding"
    speeds = tuple(options.get("speeds", (1.0,)))
    if speeds != (1.0,):
        words += " at speeds " + "/".join(f"{v:g}" for v in speeds)
    return words


def load_model(args: argparse.Namespace) -> tuple[Echo, Path]:
    """The model of ``--model`` (default: :func:`echo_edu.bundled.bundled_model_dir`) on ``--device``, and its folder.

    Raises:
        CheckpointError: the bundled model is missing (with how to make it), or the folder is not a model.
    """
    directory = shipped_model_folder(args.model) if args.model else bundled_model_dir()
    return Echo.from_pretrained(directory, device=args.device or default_device()), directory


def add_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    """The corpus recipe options shared by ``train`` and ``evaluate``."""
    parser.add_argument("--task", default="digits", help="corpus task (default: digits)")
    parser.add_argument("--n", type=int, default=5000,
                        help="clips to synthesise over all splits (default: 5000, the bundled model's corpus)")
    parser.add_argument("--corpus-seed", type=int, default=0, help="seed of the corpus recipe (default: 0)")
    parser.add_argument("--engines", nargs="+", default=["espeak", "piper"], help="speech engines (default: both)")
    parser.add_argument("--cache-dir", default=None, help="where synthesised corpora are cached")
    parser.add_argument("--data", action="append", default=None, metavar="KIND:TARGET[?OPT=V&...][@WEIGHT]",
                        help="a data source, repeatable, instead of --task: an4:PATH, fsdd:PATH, commands:PATH, "
                             "manifest:FILE, audiofolder:DIR, hf:NAME_OR_PATH, synth:TASK?n=N; @WEIGHT = its "
                             "share of training draws (default 1)")
    parser.add_argument("--no-balance", action="store_true",
                        help="with --data: draw sources in proportion to weight x clips (default: by weight alone)")


def corpus_from_args(args: argparse.Namespace, splits: str | Sequence[str] = SPLITS):
    """The corpus the options describe: ``load_speech(--data ..., splits=splits)`` when given, else
    ``build_corpus`` (all its splits).

    Every ``--data`` spec is parsed before any is loaded, so a typo in the last one fails at once.
    """
    if args.data:
        return load_speech([parse_data_spec(s) for s in args.data], balance=not args.no_balance, splits=splits)
    return build_corpus(args.task, n=args.n, seed=args.corpus_seed, engines=tuple(args.engines),
                        cache_dir=args.cache_dir)


def corpus_recipe(args: argparse.Namespace) -> dict:
    """What ``training_log.json`` records of the corpus: the data specs, or the synthetic recipe."""
    if args.data:
        return {"data": [str(parse_data_spec(s)) for s in args.data], "balance": not args.no_balance}
    return {"task": args.task, "n": args.n, "seed": args.corpus_seed, "engines": list(args.engines)}


def corpus_name(args: argparse.Namespace) -> str:
    """A short name of the corpus for headers: ``digits`` or ``an4 + fsdd``."""
    return " + ".join(parse_data_spec(s).label for s in args.data) if args.data else args.task
