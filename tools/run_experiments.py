"""Run the mechanism lessons' pre-registered experiments and commit their results for lesson 09.

    python tools/run_experiments.py            # quick budget (what CI's lesson 09 loads) and full budget
    python tools/run_experiments.py --quick    # quick budget only (about a minute per experiment on 2 cores)

Results go to ``assets/results/experiments/<name>-<steps>.json`` with each experiment's fingerprint (plan,
trial code, torch version): lesson 09 loads one only while it matches, so rerun this after changing
``echo_edu/experiments/lessons.py`` (``tests/test_experiments.py`` says when the committed ones are stale).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from echo_edu.experiments import collect, overlap_sentence, verdicts_markdown

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "assets" / "results" / "experiments"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the quick budget only")
    args = parser.parse_args()
    for quick in (True,) if args.quick else (True, False):
        results = collect(quick, {"assets/results/experiments": FOLDER}, progress=True)
        print(verdicts_markdown(results, {}), overlap_sentence(results), sep="\n\n")


if __name__ == "__main__":
    main()
