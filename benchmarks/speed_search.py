"""Speed-search benchmark: what decoding each clip at several playback speeds costs, as a ratio in one process.

    python benchmarks/speed_search.py                 # the bundled echo-an4 on the bundled sample clips
    python benchmarks/speed_search.py --threads 1 --speeds 0.9 1 1.1

Both runs do the whole path a user's clip takes (speed change, log-mel, encoder, joint CTC/attention beam
search, 4 beams), once as recorded and once at every speed of ``--speeds`` keeping the best-scoring
transcript (:mod:`echo_edu.speed_search`). Never asserted on; printed and, with ``--json``, written.
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
from echo_edu.data import load_samples  # noqa: E402
from echo_edu.decode import JOINT_CTC_WEIGHT, SPEED_SEARCH  # noqa: E402
from echo_edu.evaluate import transcribe_rows  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_timing_arguments(parser, min_run_time=10.0)
    parser.add_argument("--speeds", type=float, nargs="+", default=list(SPEED_SEARCH))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = Echo.from_pretrained(bundled_model_dir()).eval()
    rows = list(load_samples())
    joint = dict(method="joint", beam_size=4, ctc_weight=JOINT_CTC_WEIGHT, batch_size=len(rows))
    runs = {"as recorded": lambda: transcribe_rows(model, rows, speeds=(1.0,), **joint),
            "speed search": lambda: transcribe_rows(model, rows, speeds=tuple(args.speeds), **joint)}
    seconds = {name: median_seconds(fn, args.min_run_time) for name, fn in runs.items()}
    ratio = seconds["speed search"] / seconds["as recorded"]
    print(f"{len(rows)} clips, {args.threads} threads, speeds {args.speeds}")
    for name, s in seconds.items():
        print(f"  {name:>12}: {1000 * s:8.1f} ms per batch")
    print(f"  speed search / as recorded: {ratio:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"seconds": seconds, "ratio": ratio, "speeds": args.speeds,
                                         "clips": len(rows), "threads": args.threads}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
