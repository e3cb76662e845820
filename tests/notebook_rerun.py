"""nbval runs every lesson once; when that run leaves files behind, the lesson runs again over them.

The second run is a fresh kernel over what the first left (checkpoints, corpora, cached experiment
results, ``runs/`` folders): exactly where "file exists", stale-cache and resume-by-accident bugs show
up. It is an extra item, ``notebooks/NN_topic.ipynb::rerun``, appended after the lesson's last nbval
cell, so ``pytest --dist loadfile`` runs it in the same worker right after them. With nothing left
behind a fresh kernel would start from exactly the state the first run started from, so it passes
without running. The rerun hides CUDA (``CUDA_VISIBLE_DEVICES=""``): on a GPU runner each lesson that
leaves files also runs CPU-only once; on a CPU-only machine (CI) the first run already was.
"""

from __future__ import annotations

import importlib.util
import json
import os
from datetime import datetime
from pathlib import Path

import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "tools" / "run_notebooks.py")
run_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_notebooks)
Client = run_notebooks.NoWidgetClient  # nbclient without its Output-widget imitation (nbclient#312)
CELL_TIMEOUT_S = 300  # whole quick-mode lessons take 10-40 s here: a hang fails in 5 min, not at CI's limit
# repo folders whose changes say nothing about the notebooks (tools, caches, other tests' output)
IGNORED = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", "test-artifacts", ".ipynb_checkpoints",
           "node_modules"}
# sources edited by people (or other sessions) while the tests run say nothing about leftovers either
SOURCES = {ROOT / name for name in ("echo_edu", "tests", "docs", "tools", "benchmarks", ".ci")}
# and a log of the test command itself (`make test > make_test.log`) grows the whole run: at the top of the
# repo, where no lesson writes (lessons run in notebooks/), *.log files are not leftovers
TOP_LOG_SUFFIX = ".log"


def snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    """``{path: (size, mtime_ns)}`` of every file under ``folders`` (ignoring caches of tools)."""
    state = {}
    for folder in folders:
        if not folder.exists():
            continue
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = [d for d in dirnames if d not in IGNORED and Path(dirpath, d) not in SOURCES]
            for name in filenames:
                path = Path(dirpath) / name
                if path.parent == ROOT and name.endswith(TOP_LOG_SUFFIX):
                    continue
                try:
                    st = path.stat()
                except OSError:
                    continue
                state[str(path)] = (st.st_size, st.st_mtime_ns)
    return state


def changes(before: dict, after: dict) -> list[str]:
    """Files created, deleted or modified between two snapshots."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def watched() -> tuple[Path, ...]:
    """Where a lesson's leftovers can land: the repo (its notebooks/ included) and echo_edu's cache."""
    from echo_edu.utils import cache_root

    return (ROOT, cache_root())


def execute(path: Path, env: dict[str, str], timeout: int = CELL_TIMEOUT_S) -> list[dict]:
    """Run the notebook at ``path`` top to bottom in a fresh kernel with ``env``, in its own folder.

    Returns the three slowest cells with nbclient's timestamps: ``wait_s`` from the previous cell's reply
    to this cell's start in the kernel (a request the kernel left unread sits there), ``seconds`` from
    that start to this cell's reply (time inside the cell).
    """
    nb = nbformat.read(path, as_version=4)
    client = Client(nb, timeout=timeout, kernel_name="python3",
                    resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=env)
    timed, previous = [], None
    for index, cell in enumerate(nb.cells):
        stamps = cell.get("metadata", {}).get("execution", {})
        if "iopub.status.busy" not in stamps or "shell.execute_reply" not in stamps:
            continue
        start, end = (datetime.fromisoformat(stamps[k].replace("Z", "+00:00"))
                      for k in ("iopub.status.busy", "shell.execute_reply"))
        timed.append({"cell": index, "source": cell.source[:60], "seconds": (end - start).total_seconds(),
                      "wait_s": (start - previous).total_seconds() if previous else 0.0})
        previous = end
    return sorted(timed, key=lambda t: -(t["seconds"] + t["wait_s"]))[:3]


def record(name: str, **facts) -> None:
    """Append timings and what was left behind to test-artifacts/rerun.jsonl (for reports; not asserted)."""
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    facts = {k: round(v, 1) if isinstance(v, float) else v for k, v in facts.items()}
    with open(out / "rerun.jsonl", "a") as f:
        f.write(json.dumps({"notebook": name, **facts}) + "\n")


class RerunItem(pytest.Item):
    """``NN_topic.ipynb::rerun``: the lesson again, in a fresh kernel, over what nbval's run left."""

    def runtest(self):
        path = Path(self.path)
        before = getattr(self.parent, "_echo_snapshot", None)
        if before is None:
            pytest.skip("nbval did not run this lesson's cells in this worker (selected alone?)")
        left = changes(before, snapshot(*watched()))
        record(path.name, left_behind=len(left), examples=[os.path.relpath(p, ROOT) for p in left[:5]])
        if not left:
            return
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="")  # conftest set ECHO_EDU_QUICK and the cache
        try:
            slowest = execute(path, env)
        except nbclient.exceptions.CellExecutionError as exc:
            shown = "\n".join(left[:20]) + ("\n..." if len(left) > 20 else "")
            pytest.fail(f"{path.name} passes once but fails when run again over what its first run left:\n"
                        f"{shown}\n\n{str(exc)[-4000:]}", pytrace=False)
        record(path.name, rerun_slowest_cells=slowest)

    def reportinfo(self):
        return self.path, None, f"{Path(self.path).name}: rerun over what its first run left"


def is_cell(item) -> bool:
    return type(item.parent).__name__ == "IPyNbFile" and not isinstance(item, RerunItem)


def add_rerun_items(items: list) -> None:
    """Append one :class:`RerunItem` after the last nbval cell of every lesson (in place)."""
    out = []
    for index, item in enumerate(items):
        out.append(item)
        following = items[index + 1] if index + 1 < len(items) else None
        if is_cell(item) and (following is None or following.parent is not item.parent):
            out.append(RerunItem.from_parent(item.parent, name="rerun"))
    items[:] = out


def take_snapshot_before_first_cell(item) -> None:
    """Remember the watched folders' state before a lesson's first nbval cell (its kernel starts then)."""
    if is_cell(item) and not hasattr(item.parent, "_echo_snapshot"):
        item.parent._echo_snapshot = snapshot(*watched())


# ---------------------------------------------------------------- the plugin's hooks (conftest registers it)
def pytest_collection_modifyitems(items):
    add_rerun_items(items)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    take_snapshot_before_first_cell(item)
