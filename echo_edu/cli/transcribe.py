"""``echo-edu transcribe FILE...``: one line of text (or one JSON object) per audio file.

    echo-edu transcribe clip.wav other.flac
    echo-edu transcribe --json --model DIR --beam-size 4 *.wav
"""

from __future__ import annotations

import argparse
import json
import time

from ..transcribe import transcribe_detailed
from .common import add_decoding_arguments, decoding, load_model

__all__ = ["HELP", "add_arguments", "run"]

HELP = "print the text of audio files, one line per file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV, FLAC, OGG, ...)")
    add_decoding_arguments(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per file: file, text, seconds, ...")
    parser.add_argument("--overlap", type=float, default=None,
                        help="seconds shared by windows of long audio (default: 1, at most a quarter window)")


def run(args: argparse.Namespace) -> int:
    model, _ = load_model(args)
    for path in args.files:   # one file at a time, so output appears as soon as each file is done
        t0 = time.perf_counter()
        result = transcribe_detailed(model, path, overlap=args.overlap, **decoding(args, model))[0]
        if args.json:
            record = {"file": str(path), "text": result.text, "seconds": round(result.seconds, 3),
                      "elapsed": round(time.perf_counter() - t0, 3), "windows": len(result.windows)}
            print(json.dumps(record), flush=True)
        else:
            print(result.text, flush=True)
    return 0
