"""tests/xdist_order.py hands out the costliest files first and keeps each file's own order."""

from __future__ import annotations

import os
from types import SimpleNamespace

from xdist_order import file_rank, longest_first


class FakeItem:
    def __init__(self, nodeid: str, *marks: str):
        self.nodeid, self.marks, self.parent = nodeid, set(marks), SimpleNamespace()

    def get_closest_marker(self, name):
        return name if name in self.marks else None


def test_browser_files_then_slow_files_then_by_number_of_tests_and_each_file_keeps_its_order():
    items = [FakeItem("tests/test_a.py::x"), FakeItem("tests/test_b.py::one", "slow"),
             FakeItem("tests/test_a.py::y"), FakeItem("tests/test_browser.py::n1", "browser"),
             FakeItem("tests/test_c.py::p"), FakeItem("tests/test_browser.py::n2", "browser"),
             FakeItem("tests/test_a.py::z")]
    longest_first(items)
    assert [item.nodeid for item in items] == [
        "tests/test_browser.py::n1", "tests/test_browser.py::n2", "tests/test_b.py::one",
        "tests/test_a.py::x", "tests/test_a.py::y", "tests/test_a.py::z", "tests/test_c.py::p"]


def test_this_session_starts_with_the_browser_modules_then_the_lessons(request):
    files: dict[str, list] = {}
    for item in request.session.items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    kinds = [file_rank(group)[:3] for group in files.values()]   # browser, lesson, slow (-k may drop tests)
    assert kinds == sorted(kinds), "the session's files are not in tests/xdist_order.py's order"
    if os.environ.get("PYTEST_XDIST_WORKER"):
        assert request.config.getoption("loadscopereorder") is False, "xdist would reorder them (by number of tests)"
