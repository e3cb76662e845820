"""The order in which ``pytest -n 2 --dist loadfile`` hands test files to its workers: longest first.

xdist gives each worker whole files, the next one whenever it is free. Its own order (most tests first)
started the two browser modules, about 4 minutes each, only halfway through the run, so one worker
finished them while the other idled. Handing out the longest work first ("longest processing time
first") leaves only short files for the end. The cost of a file is estimated, not measured: the browser
modules, then the lessons (nbval, plus their reruns), then files with a ``slow`` test, then the rest by
number of tests. The test command passes ``--no-loadscope-reorder`` so that xdist keeps this order.
The order inside a file is unchanged (a lesson's cells, then its rerun).
"""

from __future__ import annotations


def file_rank(items: list) -> tuple:
    """Sort key of one file's items: smaller runs earlier."""
    first = items[0]
    browser = first.get_closest_marker("browser") is not None
    lesson = type(first.parent).__name__ == "IPyNbFile"
    slow = any(item.get_closest_marker("slow") is not None for item in items)
    return (not browser, not lesson, not slow, -len(items))


def longest_first(items: list) -> None:
    """Regroup ``items`` (in place) file by file, costliest file first; ties keep the collected order."""
    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    items[:] = [item for group in sorted(files.values(), key=file_rank) for item in group]


def pytest_collection_modifyitems(items):
    longest_first(items)
