"""``echo-edu evaluate``: WER/CER of a model on a corpus split, as the sclite tables ESPnet prints.

    echo-edu evaluate --model assets/echo-digits --task digits --split test
    echo-edu evaluate --model runs/an4 --data an4:../shared/data/an4 --split test
    echo-edu evaluate --model runs/an4 --data an4:../shared/data/an4 --json report.json

Prints two sclite-style tables, WER (over words) then CER (over characters), each with the pooled
``Sum/Avg`` line first and then one line per speaker (the rows' ``speaker``, or ``voice`` for the
synthetic corpora)::

    |SPKR|Snt|Wrd|Corr|Sub|Del|Ins|Err|S.Err|
    |Sum/Avg|130|773|92.5|5.6|1.9|0.8|8.3|31.5|

``Snt`` sentences, ``Wrd`` reference words (``Chr``: characters), then percentages of ``Wrd``: correct,
substituted, deleted, inserted, all errors (the WER), and ``S.Err`` the share of sentences with any
error — the columns of ESPnet's ``RESULTS.md``, so the number beside the published one reads alike.
Then the per-engine table (per corpus, for real speech). ``--json`` alone prints the whole report as
JSON instead of the tables; ``--json FILE`` prints the tables and writes the JSON to ``FILE``; both hold
every utterance's reference, hypothesis, speaker and id.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..data.splits import SPLITS
from ..errors import ConfigError
from ..evaluate import EvalReport, evaluate_model, evaluation_subset
from ..metrics import format_sclite, format_table
from .common import (add_corpus_arguments, add_decoding_arguments, corpus_from_args, corpus_name, decoding,
                     describe_decoding, load_model)

__all__ = ["HELP", "add_arguments", "run", "format_report"]

HELP = "score a model's WER/CER (sclite tables, per speaker) on a corpus split"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_decoding_arguments(parser)
    add_corpus_arguments(parser)
    parser.add_argument("--split", default="test", help="corpus split to score: train, validation or test "
                                                        "(default: test, held-out speakers)")
    parser.add_argument("--limit", type=int, default=None, help="score only this many clips, spread over the split")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                        help="alone: print the report as JSON instead of tables; with FILE: also write it there")


def format_report(report: EvalReport) -> str:
    """The printed report: the WER and CER sclite tables (pooled, then per speaker), then per engine."""
    parts = [f"### WER\n\n{format_sclite(report.sclite['word'], 'word')}",
             f"### CER\n\n{format_sclite(report.sclite['char'], 'char')}"]
    if report.per_engine:
        parts.append(f"### per engine\n\n{format_table(report.per_engine, 'engine')}")
    return "\n\n".join(parts)


def clips_beyond_window(dataset, limit: int | None, seconds: float) -> int:
    """How many of the clips to be scored last longer than the model's window of ``seconds``.

    The encoder hears ``Dimensions.audio_seconds``; evaluation (like training) cuts what lies beyond,
    so the words there count as deletions. The report says so rather than let the WER look mysterious.
    """
    if "duration" not in (getattr(dataset, "column_names", None) or []):
        return 0
    durations = dataset["duration"]
    return sum(float(durations[i]) > seconds + 1e-6 for i in evaluation_subset(len(dataset), limit))


def run(args: argparse.Namespace) -> int:
    """Load the corpus split, transcribe it, print the tables (and/or the JSON)."""
    if args.limit is not None and args.limit <= 0:
        raise ConfigError(f"--limit must be a positive number of clips, got {args.limit}")
    if args.json not in (None, "-") and not Path(args.json).resolve().parent.is_dir():
        raise ConfigError(f"--json {args.json!r}: the folder {str(Path(args.json).parent)!r} does not exist")
    if args.split not in SPLITS:
        raise ConfigError(f"--split {args.split!r} is not in the corpus (splits: {', '.join(SPLITS)})")
    model, directory = load_model(args)
    corpus = corpus_from_args(args, splits=args.split)   # a real corpus reads only this split's audio
    if len(corpus[args.split]) == 0:
        raise ConfigError(f"--split {args.split!r} of {corpus_name(args)} holds no clips")
    options = decoding(args, model)
    report = evaluate_model(model, corpus[args.split], limit=args.limit, batch_size=args.batch_size,
                            progress=True, **options)
    window = model.dims.audio_seconds
    beyond = clips_beyond_window(corpus[args.split], args.limit, window)
    data = {"model": str(directory), "corpus": corpus_name(args), "split": args.split, "decoding": options,
            "window_seconds": window, "clips_beyond_window": beyond, **report.to_dict(with_transcripts=True)}
    if args.json == "-":
        print(json.dumps(data, indent=2))
        return 0
    print(f"model {directory} · {corpus_name(args)} {args.split} split · {report.overall.n} clips · "
          f"{describe_decoding(options)} · {report.seconds:.1f} s\n")
    if beyond:
        print(f"note: {beyond} of {report.overall.n} clips last longer than the model's {window:.2f} s window; "
              "what lies beyond is cut off (scored as deletions)\n")
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=2))
        print(f"\nwrote {args.json}")
    return 0
