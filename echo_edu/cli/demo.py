"""``echo-edu demo``: transcribe the bundled sample clips, and a few real AN4 recordings when present.

The bundled samples (``assets/samples/``) are synthetic voices, so they ship with the repository. When
the real corpora are on the machine (``$ECHO_EDU_DATA``, or ``../shared/data`` beside the checkout,
holding ``an4/``) the demo also transcribes :data:`AN4_CLIPS` fixed AN4 test utterances — people the
model has never heard — and prints their WER: the honest second number. A model whose
``training_log.json`` records no real corpus (the lessons' ``assets/echo-digits`` is one) is named as
synthetic-only, so a high WER there reads as what it is.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..data import find_data_root, load_samples
from ..data.an4 import read_an4_list
from ..data.rows import normalise_clips
from ..data.spec import parse_data_spec
from ..errors import ConfigError
from ..evaluate import evaluation_subset
from ..metrics import error_rates
from ..transcribe import transcribe_detailed
from .common import add_decoding_arguments, decoding, describe_decoding, load_model

__all__ = ["HELP", "add_arguments", "run", "AN4_CLIPS", "real_sources"]

HELP = "transcribe the bundled sample clips (and a few real AN4 clips when present), print WER"

#: AN4 test utterances the demo transcribes (spread evenly over the 130, so over several speakers).
AN4_CLIPS = 6


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_decoding_arguments(parser)
    parser.add_argument("--task", default="digits", help="which bundled samples (default: digits)")


def real_sources(directory: Path) -> list[str] | None:
    """The real (non-``synth``) corpora a model's ``training_log.json`` records, or ``None`` without a log.

    An empty list means the model was trained on synthetic speech only.
    """
    path = Path(directory) / "training_log.json"
    if not path.is_file():
        return None
    specs = json.loads(path.read_text()).get("corpus", {}).get("data", [])
    return [kind for kind in (parse_data_spec(s).kind for s in specs) if kind != "synth"]


def _print_clips(names, refs, hyps) -> None:
    for i, (name, ref, hyp) in enumerate(zip(names, refs, hyps)):
        rates = error_rates([ref], [hyp])
        print(f"[{i + 1}] {name}")
        print(f"    reference : {ref}")
        print(f"    hypothesis: {hyp}")
        print(f"    WER {rates.wer:6.1%}   CER {rates.cer:6.1%}")


def _real_speech(model, args, synthetic_only: bool) -> None:
    """Transcribe :data:`AN4_CLIPS` AN4 test clips when the corpus is found; say where to get it if not."""
    root = find_data_root("an4")
    if root is None:
        print("\nReal speech: no AN4 found (set ECHO_EDU_DATA to the folder holding an4/; see README "
              "'Real speech').")
        return
    clips, _ = normalise_clips(read_an4_list(root / "an4", "test"))
    clips = [clips[i] for i in evaluation_subset(len(clips), AN4_CLIPS)]
    print(f"\nReal speech: {len(clips)} AN4 test clips from {root / 'an4'} (speakers the model never heard)"
          + ("\n  note: this model was trained on synthetic voices only; expect a high WER on real people"
             if synthetic_only else "") + "\n")
    hyps = [r.text for r in transcribe_detailed(model, [c.path for c in clips], **decoding(args, model))]
    refs = [c.text for c in clips]
    _print_clips([f"{c.id}  speaker {c.speaker}" for c in clips], refs, hyps)
    total = error_rates(refs, hyps)
    print(f"\nAN4 (real speech): WER {total.wer:.1%}, CER {total.cer:.1%} over {total.n} clips ({total.words} words)")


def run(args: argparse.Namespace) -> int:
    model, directory = load_model(args)
    samples = load_samples(args.task)
    if len(samples) == 0:
        raise ConfigError(f"no bundled samples for task {args.task!r}")
    real = real_sources(directory)
    synthetic_only = real == []
    kind = ("the default bundled model, trained on synthetic voices only" if args.model is None and synthetic_only
            else "trained on synthetic voices only" if synthetic_only else
            f"trained with real speech ({', '.join(sorted(set(real)))})" if real else "no training log")
    print(f"Echo demo: model {directory} ({model.num_parameters() / 1e6:.2f} M parameters; {kind}; "
          f"{describe_decoding(decoding(args, model))}), "
          f"{len(samples)} {args.task} clips from assets/samples/\n")
    t0 = time.perf_counter()
    results = transcribe_detailed(model, [row["audio"] for row in samples], **decoding(args, model))
    elapsed = time.perf_counter() - t0
    refs, hyps = list(samples["text"]), [r.text for r in results]
    _print_clips([f"{row['file']}  {row['voice']}{' (held-out voice)' if row['held_out'] else ''}"
                  for row in samples], refs, hyps)
    total = error_rates(refs, hyps)
    held = [i for i, row in enumerate(samples) if row["held_out"]]
    print(f"\nOverall: WER {total.wer:.1%}, CER {total.cer:.1%} over {total.n} clips ({total.words} words)")
    if held:
        h = error_rates([refs[i] for i in held], [hyps[i] for i in held])
        print(f"Held-out voices only: WER {h.wer:.1%}, CER {h.cer:.1%} over {h.n} clips")
    seconds = sum(r.seconds for r in results)
    print(f"Transcribed {seconds:.1f} s of audio in {elapsed:.1f} s (real-time factor {elapsed / seconds:.3f})")
    _real_speech(model, args, synthetic_only)
    return 0
