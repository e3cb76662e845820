"""The ``echo-edu`` command: one subcommand per module of this package.

    echo-edu demo                              # transcribe the bundled sample clips, print WER
    echo-edu transcribe clip.wav other.flac    # one line of text per file
    echo-edu transcribe --json --model DIR *.wav
    echo-edu synth digits --n 600              # make a synthetic corpus
    echo-edu train --task digits ...           # train a model
    echo-edu evaluate --model DIR              # WER/CER on held-out voices (sclite tables)
    echo-edu train --data an4:PATH --data fsdd:PATH@0.5 --output DIR   # real speech, mixed
    echo-edu evaluate --model DIR --data an4:PATH --split test --json report.json

Every subcommand module has ``HELP``, ``add_arguments(parser)`` and ``run(args) -> exit status``, and
lets errors of echo_edu rise: :func:`main` prints them the one way, ``echo-edu CMD: error: ...`` on
stderr with exit status 2, never a traceback. What several commands share (the bundled model, the
``--beam-size`` rule, the corpus options) is in :mod:`.common`.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import EchoError
from . import demo, evaluate, synth, train, transcribe
from .common import bundled_model_dir, digits_model_dir

__all__ = ["main", "build_parser", "bundled_model_dir", "digits_model_dir", "COMMANDS"]

#: subcommand -> its module
COMMANDS = {"transcribe": transcribe, "demo": demo, "synth": synth, "train": train, "evaluate": evaluate}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="echo-edu", description="Learn, train and run the Echo speech recogniser.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        command = sub.add_parser(name, help=module.HELP)
        module.add_arguments(command)
        command.set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``echo-edu`` with ``argv`` (default: the process arguments); return the exit status."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.func(args) or 0)
    except EchoError as exc:
        print(f"echo-edu {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
