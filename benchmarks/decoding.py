"""Decoding-method benchmark: greedy, beam search and joint CTC/attention, as ratios in one process.

    python benchmarks/decoding.py                 # the bundled echo-an4 on the bundled sample clips
    python benchmarks/decoding.py --threads 1 --beams 4 8

Every method decodes the same encoded batch (the encoder runs once, outside the timing), so the ratios
compare the searches alone: joint decoding adds the CTC prefix scores of every hypothesis and next
character (:mod:`echo_edu.ctc_prefix`) to each beam step. Never asserted on; printed and, with
``--json``, written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _timing import add_timing_arguments, median_seconds  # noqa: E402

from echo_edu import Echo  # noqa: E402
from echo_edu.bundled import bundled_model_dir  # noqa: E402
from echo_edu.ctc import encoded_lengths  # noqa: E402
from echo_edu.data import load_samples  # noqa: E402
from echo_edu.data.collate import SpeechCollator  # noqa: E402
from echo_edu.decode import JOINT_CTC_WEIGHT, beam_search, greedy_decode  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_timing_arguments(parser, min_run_time=5.0)
    parser.add_argument("--beams", type=int, nargs="+", default=[4])
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = Echo.from_pretrained(bundled_model_dir()).eval()
    rows = list(load_samples())
    mel, frames = SpeechCollator.for_model(model, model.tokenizer, pad_to="longest").features_and_lengths(rows)
    with torch.inference_mode():
        frames = model.encoder.real_frames(mel, frames) if model.encoder.needs_frames else None
        encoded = model.encoder(mel, lengths=frames)                              # (B, S, audio_dims)
        mask = model.encoder.audio_mask(frames, encoded.shape[1])
        lengths = encoded_lengths(frames, mask, encoded, model.dims.audio_stride)
    runs = {"greedy": lambda: greedy_decode(model, encoded, audio_mask=mask)}
    for k in args.beams:
        runs[f"beam {k}"] = lambda k=k: beam_search(model, encoded, beam_size=k, audio_mask=mask)
        runs[f"joint {k}"] = lambda k=k: beam_search(model, encoded, beam_size=k, audio_mask=mask,
                                                     ctc_weight=JOINT_CTC_WEIGHT, ctc_lengths=lengths)
    seconds = {name: median_seconds(fn, args.min_run_time) for name, fn in runs.items()}
    print(f"{len(rows)} clips, {args.threads} threads, encoder output {tuple(encoded.shape)}")
    for name, s in seconds.items():
        print(f"  {name:>8}: {1000 * s:8.1f} ms per batch  ({s / seconds['greedy']:.2f}x greedy)")
    ratios = {f"joint {k} / beam {k}": seconds[f"joint {k}"] / seconds[f"beam {k}"] for k in args.beams}
    for name, r in ratios.items():
        print(f"  {name}: {r:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"seconds": seconds, "ratios": ratios, "clips": len(rows),
                                         "threads": args.threads}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
