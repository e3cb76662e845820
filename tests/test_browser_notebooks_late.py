"""The second half of the lessons in the real browser; tests/test_browser_notebooks.py says what is checked.

A file of its own so that ``pytest -n 2 --dist loadfile`` can give the two halves to different workers
(each with its own JupyterLab and Chromium): run as one file, the browser test was the longest unit of
the test command and its worker finished alone.
"""

from __future__ import annotations

import pytest

from test_browser_notebooks import (LATE, _check_notebook, browser, chromium_path, lab, lab_tab,  # noqa: F401
                                    microphone)


pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("name", LATE)
def test_notebook_in_browser(lab_tab, name):  # noqa: F811
    _check_notebook(lab_tab, name)
