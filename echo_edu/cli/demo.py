"""``echo-edu demo``: transcribe the bundled sample clips with the bundled model and print the WER."""

from __future__ import annotations

import argparse
import time

from ..data import load_samples
from ..errors import ConfigError
from ..metrics import error_rates
from ..transcribe import transcribe_detailed
from .common import add_decoding_arguments, decoding, load_model

__all__ = ["HELP", "add_arguments", "run"]

HELP = "transcribe the bundled sample clips with the bundled model, print WER"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_decoding_arguments(parser)
    parser.add_argument("--task", default="digits", help="which bundled samples (default: digits)")


def run(args: argparse.Namespace) -> int:
    model, directory = load_model(args)
    samples = load_samples(args.task)
    if len(samples) == 0:
        raise ConfigError(f"no bundled samples for task {args.task!r}")
    print(f"Echo demo: model {directory} ({model.num_parameters() / 1e6:.2f} M parameters), "
          f"{len(samples)} {args.task} clips from assets/samples/\n")
    t0 = time.perf_counter()
    results = transcribe_detailed(model, [row["audio"] for row in samples], **decoding(args))
    elapsed = time.perf_counter() - t0
    refs, hyps = list(samples["text"]), [r.text for r in results]
    for i, (row, ref, hyp) in enumerate(zip(samples, refs, hyps)):
        rates = error_rates([ref], [hyp])
        voice = f"{row['voice']}{' (held-out voice)' if row['held_out'] else ''}"
        print(f"[{i + 1}] {row['file']}  {voice}")
        print(f"    reference : {ref}")
        print(f"    hypothesis: {hyp}")
        print(f"    WER {rates.wer:6.1%}   CER {rates.cer:6.1%}")
    total = error_rates(refs, hyps)
    held = [i for i, row in enumerate(samples) if row["held_out"]]
    print(f"\nOverall: WER {total.wer:.1%}, CER {total.cer:.1%} over {total.n} clips ({total.words} words)")
    if held:
        h = error_rates([refs[i] for i in held], [hyps[i] for i in held])
        print(f"Held-out voices only: WER {h.wer:.1%}, CER {h.cer:.1%} over {h.n} clips")
    seconds = sum(r.seconds for r in results)
    print(f"Transcribed {seconds:.1f} s of audio in {elapsed:.1f} s (real-time factor {elapsed / seconds:.3f})")
    return 0
