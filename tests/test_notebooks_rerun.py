"""The rerun of the lessons (tests/notebook_rerun.py) sees leftovers and never waits out a cell timeout.

nbval runs each lesson once; ``notebooks/NN_topic.ipynb::rerun`` (added by tests/conftest.py) runs it
again in a fresh kernel when that run left files behind. These tests check the two things it relies on.
"""

from __future__ import annotations

import os
import time

import nbformat
import pytest

from notebook_rerun import ROOT, add_rerun_items, changes, execute, snapshot


def test_snapshot_sees_new_and_changed_files(tmp_path):
    """The skip rule of the rerun relies on this."""
    (tmp_path / "a.txt").write_text("1")
    before = snapshot(tmp_path)
    (tmp_path / "b.txt").write_text("2")
    (tmp_path / "a.txt").write_text("11")
    assert changes(before, snapshot(tmp_path)) == [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]


def test_a_log_growing_at_the_top_of_the_repo_is_no_leftover(tmp_path):
    """`make test > make_test.log` inside the checkout must not make every lesson rerun; a log anywhere else
    (a lesson's training log, say) still counts."""
    (tmp_path / "train.log").write_text("a lesson's log")
    assert str(tmp_path / "train.log") in snapshot(tmp_path)
    log = ROOT / f"rerun-test-{os.getpid()}.log"
    before = snapshot(ROOT)
    try:
        log.write_text("a test command's log, growing\n")
        assert str(log) not in changes(before, snapshot(ROOT))
        assert str(log) not in snapshot(ROOT)
    finally:
        log.unlink(missing_ok=True)


def test_every_collected_lesson_gets_one_rerun_after_its_last_cell(request):
    cells = [item for item in request.session.items if type(item.parent).__name__ == "IPyNbFile"]
    lessons = {item.parent for item in cells}
    reruns = [item for item in request.session.items if item.name == "rerun"]
    assert len(reruns) == len({item.parent for item in cells if item.name != "rerun"}) == len(lessons)
    items = list(request.session.items)
    for rerun in reruns:
        mine = [i for i, item in enumerate(items) if item.parent is rerun.parent]
        assert items.index(rerun) == max(mine), f"{rerun.nodeid} does not come after its lesson's cells"
    before = list(items)
    add_rerun_items(items)                      # a lesson that has its rerun gets no second one
    assert items == before
    without = [item for item in items if item.name != "rerun"]
    add_rerun_items(without)
    assert [item.nodeid for item in without] == [item.nodeid for item in before]


@pytest.mark.slow
def test_output_widget_cells_never_wait_out_the_cell_timeout(tmp_path):
    """nbclient issue #312: 80 cells printing into Output widgets (about 5 expected stalls with nbclient's
    frontend imitation) must all finish well inside one cell timeout."""
    cells = [nbformat.v4.new_code_cell("import ipywidgets as w\nfrom IPython.display import display")]
    cells += [nbformat.v4.new_code_cell(f"out = w.Output(); display(out)\nwith out:\n    print({i})") for i in range(80)]
    path = tmp_path / "widgets.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    started = time.monotonic()
    execute(path, dict(os.environ), timeout=30)
    assert time.monotonic() - started < 30, "a cell sat out its timeout: the execute reply's wake-up was lost"
