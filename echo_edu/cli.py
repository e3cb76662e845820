"""The ``echo-edu`` command.

    echo-edu demo                              # transcribe the bundled sample clips, print WER
    echo-edu transcribe clip.wav other.flac    # one line of text per file
    echo-edu transcribe --json --model DIR *.wav
    echo-edu synth digits --n 600              # make a synthetic corpus
    echo-edu train --task digits ...           # train a model (see echo_edu.train)
    echo-edu evaluate --model DIR              # WER/CER on held-out voices

``train``, ``evaluate`` and ``synth`` live in their own modules (``echo_edu.train``,
``echo_edu.evaluate``, ``echo_edu.data.synth_command``), each with ``add_arguments(parser)`` and
``run(args)``; they are imported only when their subcommand runs. Errors of echo_edu (a missing file,
a bad model folder) print as one line on stderr with exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

__all__ = ["main", "build_parser", "bundled_model_dir"]

_DELEGATED = {  # subcommand -> (module, help)
    "train": ("echo_edu.train", "train an Echo model on a synthetic corpus"),
    "evaluate": ("echo_edu.evaluate", "score a model's WER/CER on held-out voices"),
    "synth": ("echo_edu.data.synth_command", "synthesise a speech corpus with espeak-ng / piper"),
}


def bundled_model_dir() -> Path:
    """``assets/echo-digits/``: the small digits model shipped with the repository."""
    return Path(__file__).resolve().parents[1] / "assets" / "echo-digits"


def _load_model(directory, device):
    from .errors import CheckpointError
    from .model import Echo
    from .utils import default_device

    directory = Path(directory) if directory else bundled_model_dir()
    if not directory.exists() and directory == bundled_model_dir():
        raise CheckpointError(f"the bundled model folder {str(directory)!r} is missing. Train one with "
                              "`echo-edu train --output assets/echo-digits` or pass --model DIR "
                              "(any folder written by save_pretrained).")
    return Echo.from_pretrained(directory, device=device or default_device())


def _add_decoding_options(parser) -> None:
    parser.add_argument("--model", default=None, metavar="DIR",
                        help="a save_pretrained folder (default: the bundled assets/echo-digits)")
    parser.add_argument("--beam-size", type=int, default=1, help="1 = greedy decoding (default), >1 = beam search")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")


def _decoding(args) -> dict:
    return {"method": "beam" if args.beam_size > 1 else "greedy", "beam_size": args.beam_size}


def cmd_transcribe(args) -> int:
    from .transcribe import transcribe_detailed

    model = _load_model(args.model, args.device)
    for path in args.files:   # one file at a time, so output appears as soon as each file is done
        t0 = time.perf_counter()
        result = transcribe_detailed(model, path, overlap=args.overlap, **_decoding(args))[0]
        if args.json:
            record = {"file": str(path), "text": result.text, "seconds": round(result.seconds, 3),
                      "elapsed": round(time.perf_counter() - t0, 3), "windows": len(result.windows)}
            print(json.dumps(record), flush=True)
        else:
            print(result.text, flush=True)
    return 0


def cmd_demo(args) -> int:
    from .data import load_samples
    from .metrics import error_rates
    from .transcribe import transcribe_detailed

    model = _load_model(args.model, args.device)
    samples = load_samples(args.task)
    if len(samples) == 0:
        print(f"no bundled samples for task {args.task!r}", file=sys.stderr)
        return 2
    print(f"Echo demo: model {args.model or bundled_model_dir()} ({model.num_parameters() / 1e6:.2f} M parameters), "
          f"{len(samples)} {args.task} clips from assets/samples/\n")
    t0 = time.perf_counter()
    audio = [row["audio"] for row in samples]
    results = transcribe_detailed(model, audio, **_decoding(args))
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


def _load_delegate(name: str):
    """The module behind a delegated subcommand, or an explanation of why it cannot be loaded."""
    module_name = _DELEGATED[name][0]
    try:
        module = importlib.import_module(module_name)
        module.add_arguments, module.run  # noqa: B018  (both must exist)
    except (ImportError, AttributeError) as exc:
        return None, (f"`echo-edu {name}` is unavailable: {module_name} could not be loaded "
                      f"({type(exc).__name__}: {exc})")
    return module, None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; delegated subcommands load their module only when ``command`` names them."""
    parser = argparse.ArgumentParser(prog="echo-edu", description="Learn, train and run the Echo speech recogniser.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("transcribe", help="print the text of audio files, one line per file")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV, FLAC, OGG, ...)")
    _add_decoding_options(p)
    p.add_argument("--json", action="store_true", help="one JSON object per file: file, text, seconds, ...")
    p.add_argument("--overlap", type=float, default=None,
                   help="seconds shared by windows of long audio (default: 1, at most a quarter window)")
    p.set_defaults(func=cmd_transcribe)

    p = sub.add_parser("demo", help="transcribe the bundled sample clips with the bundled model, print WER")
    _add_decoding_options(p)
    p.add_argument("--task", default="digits", help="which bundled samples (default: digits)")
    p.set_defaults(func=cmd_demo)

    for name, (_, help_text) in _DELEGATED.items():
        p = sub.add_parser(name, help=help_text, add_help=command == name)
        if command == name:
            module, _ = _load_delegate(name)
            module.add_arguments(p)
            p.set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .errors import EchoError

    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    if command in _DELEGATED:
        module, problem = _load_delegate(command)
        if module is None:
            print(problem, file=sys.stderr)
            return 2
    args = build_parser(command).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EchoError as exc:
        print(f"echo-edu {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
