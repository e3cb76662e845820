"""Build the lesson notebooks from their text sources, or check that they are in sync.

Lessons are written as jupytext "percent" scripts in ``notebooks/src/NN_topic.py`` (reviewable
diffs, no JSON noise) and stored as stripped ``notebooks/NN_topic.ipynb`` (what people open).

    python tools/sync_notebooks.py          # write every .ipynb from its source
    python tools/sync_notebooks.py --check  # exit 1 and name the notebooks that differ
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "notebooks" / "src"
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def build(source: Path) -> nbformat.NotebookNode:
    """Read one percent-format source into a notebook with no outputs and a python3 kernel."""
    nb = jupytext.read(source)
    nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"},
                   "jupytext": {"formats": "ipynb,src//py:percent"}}
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index:03d}"          # stable ids: rebuilding never changes a notebook
        cell.metadata.pop("lines_to_next_cell", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def target(source: Path) -> Path:
    return source.parent.parent / f"{source.stem}.ipynb"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks out of sync")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(SOURCES.glob("[0-9][0-9]_*.py")):
        text = nbformat.writes(build(source)) + "\n"
        path = target(source)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print("out of sync with notebooks/src (run python tools/sync_notebooks.py):", *stale)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
