"""Run every lesson notebook top to bottom in a fresh kernel and save the executed copies.

    python tools/run_notebooks.py --html build/notebooks   # executed .ipynb + .html per lesson
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]


class NoWidgetClient(NotebookClient):
    """nbclient without its imitation of a browser's Output widget.

    To capture what a cell prints into an ``ipywidgets.Output``, nbclient acts as the frontend: for
    each such output it sends a ``comm_msg`` state update on the *shell* socket from inside the task
    that reads IOPub, while another task awaits the cell's execute reply on that same socket with the
    cell timeout. The send can swallow the socket's wake-up, so that wait ends only at the timeout,
    finds the reply already there, and the cell "passes" 300 s late (nbclient issue #312). Measured
    here: cells printing into an Output stalled for the whole 8 s timeout 17 times in 300 with the
    imitation, 0 in 1200 without; with this tool's 1800 s cell timeout a stall would cost 30 minutes.
    So the imitation is dropped: no client-side widget models, no shell sends.
    """

    def on_comm_open_jupyter_widget(self, msg):
        return None


PLOTLY = "application/vnd.plotly.v1+json"


def static_view(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of an executed notebook for a page read offline: each widget output that carries a static
    PNG (every lesson widget does) shows that PNG, and the widget state (drawn only by a script from a
    CDN) is left out. So are plotly-only outputs: an HTML page draws them as nothing (nbconvert warned once
    for each), and the lessons' matplotlib twins stand in for them (a figure a widget drew into its Output
    area: the widget's PNG; a bare plotly figure: the ``*_static`` cell beside it)."""
    view = copy.deepcopy(nb)
    view.metadata.pop("widgets", None)
    for cell in view.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                data.pop("application/vnd.jupyter.widget-view+json", None)
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs if set(o.get("data", ())) != {PLOTLY}]
    return view


def run(path: Path, out_dir: Path, timeout: int) -> float:
    """Execute one notebook with its own folder as working directory; return seconds taken."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NoWidgetClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    html, _ = HTMLExporter().from_notebook_node(static_view(nb))
    (out_dir / path.with_suffix(".html").name).write_text(html)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "build" / "notebooks", help="output folder")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("names", nargs="*", help="notebook names (default: all)")
    args = parser.parse_args(argv)
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.names:
        paths = [p for p in paths if any(n in p.name for n in args.names)]
    for path in paths:
        print(f"running {path.name} ...", flush=True)
        print(f"  done in {run(path, args.html, args.timeout):.1f} s -> {args.html / path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
