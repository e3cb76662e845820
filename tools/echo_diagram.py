"""Write ``assets/figures/echo_diagram.png``: the whole Echo model as ``echo_edu.viz.echo_diagram`` draws it.

    python tools/echo_diagram.py            # the default example config (one layer-B block each side)
    python tools/echo_diagram.py --out FILE

The README and lesson 08 show this file; rerun it whenever the model's wiring or the diagram changes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from echo_edu.viz.diagram import echo_diagram  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "figures" / "echo_diagram.png")
    parser.add_argument("--dpi", type=int, default=110)
    args = parser.parse_args()
    echo_diagram().savefig(args.out, dpi=args.dpi, metadata={"Software": None})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
