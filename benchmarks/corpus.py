"""Corpus synthesis throughput: clips per second by engine and number of worker processes.

Builds small corpora with ``build_corpus`` into a temporary cache (``overwrite=True``, so nothing is
reused) and reports clips/s, seconds of audio synthesised per second, and the speed-up of 2 workers
over 1 — the baseline measured in the same process. Nothing is asserted.

    python benchmarks/corpus.py              # 200 digit clips per row
    python benchmarks/corpus.py --quick      # 40 clips per row
    python benchmarks/corpus.py --n 300 --task sentences
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from echo_edu.data import available_engines, build_corpus


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="digits")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    n = 40 if args.quick else args.n
    engines = available_engines()
    print(f"{args.task} corpus synthesis, {n} clips per row, {os.cpu_count()} CPU cores, "
          f"engines here: {', '.join(engines) or 'none'}\n")
    print("| engines | workers | seconds | clips/s | audio s per s | speed-up vs 1 worker |")
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as cache:   # warm-up: imports, resampler kernels, piper load
        build_corpus(args.task, 6, seed=1, engines=engines, cache_dir=cache, workers=1, progress=False)
    rows = [(e,) for e in engines] + ([tuple(engines)] if len(engines) > 1 else [])
    for chosen in rows:
        base = None
        for workers in (1, 2):
            with tempfile.TemporaryDirectory() as cache:
                start = time.perf_counter()
                corpus = build_corpus(args.task, n, seed=0, engines=chosen, cache_dir=cache,
                                      workers=workers, progress=False, overwrite=True)
                seconds = time.perf_counter() - start
            audio = sum(float(sum(split["duration"])) for split in corpus.values())
            base = base or seconds
            print(f"| {' + '.join(chosen)} | {workers} | {seconds:.1f} | {n / seconds:.1f} | "
                  f"{audio / seconds:.1f} | {base / seconds:.2f} |")


if __name__ == "__main__":
    main()
