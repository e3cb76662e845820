"""Every lesson, run in a real JupyterLab in headless Chromium: no errors, widgets drawn and live.

nbval proves that each notebook's code runs; it cannot see a blank widget, a "Loading widget..."
placeholder or a plotly figure that never draws. This test starts JupyterLab (127.0.0.1, a random free
port, a token, a temporary copy of ``notebooks/`` as its root so nothing is written into the repo),
opens each notebook in Debian's Chromium through Playwright, runs all cells with JupyterLab's own
"Run All Cells" command, and checks:

* every code cell ran and none produced an error output (or a traceback on stderr, in a cell, in a
  widget's output, or in the kernel's log);
* every widget output is drawn (a ``.jupyter-widgets`` view, no "Loading widget..." or
  "Error displaying widget"), and sliders/dropdowns exist in notebooks that build widgets;
* every plotly figure is drawn (``.js-plotly-plot`` with a ``.main-svg``);
* moving a slider (keyboard, as a person would) or picking another dropdown entry changes the figure
  the widget shows (the plot's data and layout, read from the drawn plotly element);
* the kernel is still alive afterwards (it answers an execute request);
* lesson 10's microphone records: Chromium's fake microphone plays a bundled digits clip (written to a
  WAV at test time), the test presses record, waits, presses stop, and the clip's transcript appears.

A screenshot of each notebook (and of its first interactive widget) goes to ``test-artifacts/browser/``.
A tiny generated probe notebook runs first, so a broken front end (widgets or plotly not rendering)
is reported as such, apart from any lesson's own problem.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from browser_support import (JS_KERNEL_ALIVE, JS_KERNEL_ERRORS, JS_OUTPUTS, JS_SHUTDOWN_KERNEL, error_outputs,
                             fake_microphone_args, find_chromium, launch_chromium, open_notebook, run_all_cells,
                             start_lab)
from browser_widgets import (JS_PLOT_REPORT, JS_WIDGET_REPORT, MIC_CLIP, MIC_PAD_S, _exercise_figure,
                             _exercise_microphone, _exercise_upload, _short)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
NOTEBOOKS = sorted(p.name for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
# this file runs the probe and the first half; tests/test_browser_notebooks_late.py the rest (another worker)
EARLY, LATE = NOTEBOOKS[:len(NOTEBOOKS) // 2], NOTEBOOKS[len(NOTEBOOKS) // 2:]
PROBE = "_probe/browser_probe.ipynb"
RUN_TIMEOUT_S = 600        # per notebook, all cells (quick mode keeps each well under a minute)
REDRAW_TIMEOUT_S = 60      # per control change
MAX_CONTROLS_PER_NOTEBOOK = 3
DRAW_WAIT_S = 1.5          # after the kernel is idle, the longest wait for widgets and figures to draw

playwright_api = pytest.importorskip("playwright.sync_api")


def _probe_notebook() -> nbformat.NotebookNode:
    """A minimal lesson-like notebook: the house widget pattern, a bare plotly figure, an upload box."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Browser probe\nA widget, a plotly figure and a dropdown."),
        nbformat.v4.new_code_cell(
            "import ipywidgets as widgets\n"
            "import plotly.graph_objects as go\n"
            "from echo_edu.viz.widgets import interactive_figure\n\n"
            "def wave_figure(freq, shape):\n"
            "    ys = [((i * freq) % 7) if shape == 'saw' else (i * freq) % 2 for i in range(40)]\n"
            "    return go.Figure(go.Scatter(y=ys, name=shape), layout=dict(title=f'{shape} x{freq}'))\n\n"
            "interactive_figure({'freq': widgets.IntSlider(value=1, min=1, max=5, description='freq'),\n"
            "                    'shape': widgets.Dropdown(options=['saw', 'square'], description='shape')},\n"
            "                   wave_figure)"),
        nbformat.v4.new_code_cell("go.Figure(go.Bar(y=[1, 2, 3]))"),
        nbformat.v4.new_code_cell(
            "upload, shown = widgets.FileUpload(accept='.flac,.wav'), widgets.Output()\n\n"
            "def show(change):\n"
            "    with shown:\n"
            "        print('got', change['new'][0]['name'], len(change['new'][0]['content']), 'bytes')\n\n"
            "upload.observe(show, names='value')\n"
            "widgets.VBox([upload, shown])"),
        nbformat.v4.new_code_cell("assert 6 * 7 == 42"),
    ]
    return nb


def _expects_widgets(path: Path) -> bool:
    """Does the notebook's code build a widget? (the house pattern: ``*_widget(...)``, ``interactive_figure``)."""
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    code = re.sub(r"#.*", "", code)
    return bool(re.search(r"\b\w*_widget\s*\(|\binteractive_figure\s*\(|\bwidgets\.\w+\s*\(", code))


@pytest.fixture(scope="module")
def chromium_path():
    path = find_chromium()
    if path is None:
        pytest.skip("no system Chromium (install Debian's `chromium`: make system-deps)")
    return path


def prepare_root(base: Path) -> Path:
    """Copy notebooks/ (lessons, their jupytext sources, jupytext.toml) and add the probe.

    Each ``.ipynb`` is dated a few seconds after its ``src/*.py``: the state right after
    ``make notebooks`` (``tools/sync_notebooks.py`` writes the notebooks from the sources), which is
    what a person who edits a lesson and runs ``make lab`` opens. Nothing is written into the repo.
    """
    root = base / "notebooks"
    shutil.copytree(NOTEBOOK_DIR, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for notebook in root.glob("[0-9][0-9]_*.ipynb"):
        source = root / "src" / f"{notebook.stem}.py"
        if source.exists():
            stamp = source.stat().st_mtime + 5
            os.utime(notebook, (stamp, stamp))
    (root / PROBE).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(_probe_notebook(), root / PROBE)
    return root


@pytest.fixture(scope="module")
def lab(tmp_path_factory, chromium_path):
    """A JupyterLab server over a temporary copy of notebooks/ (plus the probe); always shut down.

    Its kernels get an echo_edu cache of their own: lessons start cold here as in nbval, and what they
    leave is not seen by the nbval runs and reruns that this worker does later."""
    base = tmp_path_factory.mktemp("lab")
    root = prepare_root(base)
    server = start_lab(root, base / "state", env={"ECHO_EDU_CACHE": str(base / "cache")})
    try:
        yield server
    finally:
        server.stop()


def fake_microphone_wav(folder: Path) -> tuple[Path, float]:
    """:data:`MIC_CLIP` as a 16-bit WAV (what Chromium's fake capture reads) padded with silence; its seconds."""
    import numpy as np
    import soundfile as sf

    data, rate = sf.read(MIC_CLIP, dtype="float32")
    pad = np.zeros(int(MIC_PAD_S * rate), np.float32)
    path = folder / "microphone.wav"
    sf.write(path, np.concatenate([pad, data, pad]), rate, subtype="PCM_16")
    return path, (len(data) + 2 * len(pad)) / rate


@pytest.fixture(scope="module")
def microphone(tmp_path_factory) -> tuple[Path, float]:
    return fake_microphone_wav(tmp_path_factory.mktemp("microphone"))


@pytest.fixture(scope="module")
def browser(lab, chromium_path, tmp_path_factory, microphone):
    """One headless Chromium with a fresh profile for the whole module; its microphone plays :data:`MIC_CLIP`."""
    with playwright_api.sync_playwright() as p:
        context = launch_chromium(p, tmp_path_factory.mktemp("chromium-profile"), chromium_path,
                                  extra_args=fake_microphone_args(microphone[0]))
        try:
            yield context
        finally:
            context.close()


class LabTab:
    """One Chromium tab kept on JupyterLab from notebook to notebook of a module.

    Loading JupyterLab costs about 4 s a notebook here; opening the next notebook in the app already loaded
    costs none of it (each notebook still gets its own kernel and widget manager). After a notebook that
    failed the tab is closed, and the next notebook loads JupyterLab in a new one: a failure cannot leave
    the front end in a state that fails the notebooks after it.
    """

    def __init__(self, browser, lab):
        self.browser, self.lab, self.page = browser, lab, None

    def open(self, name):
        """The tab, showing ``name`` with its kernel connected and idle."""
        reuse = self.page is not None
        if not reuse:
            self.page = self.browser.new_page()
        open_notebook(self.page, self.lab, name, reuse=reuse)
        return self.page

    def done(self, passed: bool):
        """Shut the notebook's kernel down; close the tab unless the notebook passed."""
        if self.page is None:
            return
        try:
            self.page.evaluate(JS_SHUTDOWN_KERNEL)
        except Exception:
            passed = False
        if not passed:
            self.page.close()
            self.page = None


@pytest.fixture(scope="module")
def lab_tab(browser, lab):
    tab = LabTab(browser, lab)
    yield tab
    tab.done(passed=False)


def _record_timings(name, timings):
    """Append this notebook's timings to test-artifacts/browser/timings.jsonl (for the report, not asserted)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "timings.jsonl", "a") as f:
        f.write(json.dumps({"notebook": name, **timings}) + "\n")


def _screenshot(page, name, view_index=None):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = Path(name).stem
    try:
        if view_index is not None:
            view = page.locator(f'[data-echo-view="{view_index}"]')
            view.scroll_into_view_if_needed()
            view.screenshot(path=str(ARTIFACTS / f"{stem}-widget.png"))
        page.screenshot(path=str(ARTIFACTS / f"{stem}.png"))
    except Exception as exc:  # a screenshot is evidence, never the reason a test fails
        print(f"screenshot of {name} failed: {exc}")


def _draw_problems(views: list[dict], plots: list[dict], widget_outputs: int, plot_outputs: int) -> list[str]:
    """What is not drawn: a widget output without its view, a view not rendered (or loading, or showing an error),
    an empty Output area in a widget with controls, a plotly output not drawn; ``[]`` when all is drawn."""
    problems = [] if len(views) == widget_outputs else [f"{widget_outputs} widget outputs but {len(views)} views"]
    problems += [f"widget not drawn: {v}" for v in views if not v["rendered"] or v["loading"] or v["error"]]
    # a figure widget draws at once (an upload box may wait)
    problems += [f"a widget's Output area is empty: {v}" for v in views
                 if (v["sliders"] or v["dropdowns"]) and v["emptyOutputs"] != 0]
    if len(plots) < plot_outputs:
        problems.append(f"{plot_outputs} plotly outputs, {len(plots)} drawn")
    undrawn = [p for p in plots if not p["drawn"] or p["width"] <= 0 or p["height"] <= 0]
    return problems + ([f"plotly figures not drawn: {undrawn}"] if undrawn else [])


def _drawn_report(page, widget_outputs: int, plot_outputs: int) -> tuple[list[dict], list[dict], list[str]]:
    """``(views, plots, problems)`` once nothing is left undrawn, or after :data:`DRAW_WAIT_S` with what still is."""
    deadline = time.monotonic() + DRAW_WAIT_S
    while True:
        views, plots = page.evaluate(JS_WIDGET_REPORT), page.evaluate(JS_PLOT_REPORT)
        problems = _draw_problems(views, plots, widget_outputs, plot_outputs)
        if not problems or time.monotonic() >= deadline:
            return views, plots, problems
        page.wait_for_timeout(100)


def _check_notebook(tab: LabTab, name):
    lab = tab.lab
    log_start = len(lab.log_path.read_text(errors="replace"))
    first_live_view = None
    timings: dict = {"fresh_tab": tab.page is None}
    expects_widgets = _expects_widgets(lab.root_dir / name)
    page, passed = None, False
    try:
        t0 = time.monotonic()
        page = tab.open(name)
        t1 = time.monotonic()
        state = run_all_cells(page, RUN_TIMEOUT_S)
        timings["open_s"], timings["run_all_s"] = round(t1 - t0, 1), round(time.monotonic() - t1, 1)
        assert not state.get("timed_out"), f"{name}: cells still running after {RUN_TIMEOUT_S} s: {state}"
        assert state["kernel"] not in ("dead", "unknown"), f"{name}: kernel died while running: {state}"

        outputs = page.evaluate(JS_OUTPUTS)
        problems = error_outputs(outputs)
        assert not problems, f"{name}: error outputs:\n" + "\n\n".join(problems)
        assert state["unexecuted"] == 0, f"{name}: {state['unexecuted']} code cells never ran: {state}"

        # let the widget manager and plotly finish drawing what the kernel sent (at most DRAW_WAIT_S)
        widget_outputs = sum("application/vnd.jupyter.widget-view+json" in o.get("mimes", []) for o in outputs)
        plot_outputs = sum("application/vnd.plotly.v1+json" in o.get("mimes", []) for o in outputs)
        views, plots, drawing = _drawn_report(page, widget_outputs, plot_outputs)
        assert not drawing, f"{name}: " + "\n".join(drawing)
        for v in views:
            assert not v["tracebacks"], f"{name}: error inside a widget: {v['tracebacks']}"
        if expects_widgets:
            assert any(v["sliders"] or v["dropdowns"] for v in views), \
                f"{name}: builds widgets but no slider or dropdown is on the page: {views}"
        assert page.get_by_text("Loading widget").count() == 0, f"{name}: a widget is stuck loading"

        # move the controls of each live figure (a few per notebook): the figure must change
        live = [v for v in views if (v["sliders"] or v["dropdowns"]) and v["plots"]]
        if expects_widgets and any(v["outputs"] for v in views):
            assert live, f"{name}: no widget combines a control and a plotly figure: {views}"
        t2 = time.monotonic()
        actions = []
        for v in live[:MAX_CONTROLS_PER_NOTEBOOK]:
            if first_live_view is None:
                first_live_view = v["index"]
            actions.append(_exercise_figure(page, name, v, REDRAW_TIMEOUT_S))
        for v in [v for v in views if v.get("uploads")][:1]:
            actions.append(_exercise_upload(page, name, v, REDRAW_TIMEOUT_S * 2))
        for v in [v for v in views if v.get("microphones")][:1]:
            t3 = time.monotonic()
            actions.append(_exercise_microphone(page, name, v, REDRAW_TIMEOUT_S))
            timings["microphone_s"] = round(time.monotonic() - t3, 1)
        timings["actions"] = actions
        timings["controls_s"], timings["controls"] = round(time.monotonic() - t2, 1), len(live[:MAX_CONTROLS_PER_NOTEBOOK])
        errors = page.evaluate(JS_KERNEL_ERRORS)
        assert not errors, f"{name}: the kernel raised:\n" + _short(errors)
        alive = page.evaluate(JS_KERNEL_ALIVE)
        assert alive["alive"], f"{name}: kernel not alive at the end: {alive}"

        # callbacks that raise outside an Output only reach the kernel's stderr (the server log)
        log = lab.log_path.read_text(errors="replace")[log_start:]
        assert "Traceback (most recent call last)" not in log, f"{name}: traceback in the kernel log:\n{log[-3000:]}"
        passed = True
    finally:
        if tab.page is not None:
            _screenshot(tab.page, name, first_live_view)
        _record_timings(name, timings)
        tab.done(passed)


def test_front_end_probe(lab_tab):
    """The toolchain itself: ipywidgets and plotly render in this JupyterLab, and a slider is live."""
    _check_notebook(lab_tab, PROBE)


@pytest.mark.parametrize("name", EARLY or [pytest.param("none", marks=pytest.mark.skip("no notebooks yet"))])
def test_notebook_in_browser(lab_tab, name):
    _check_notebook(lab_tab, name)


def test_a_failed_notebook_closes_the_tab_and_the_next_loads_jupyterlab_afresh(monkeypatch):
    """LabTab's isolation, with stand-ins for Chromium: a passed notebook keeps the tab (the next one reuses
    the loaded app), a failed one closes it (the next one gets a new tab and a fresh JupyterLab)."""
    opened, pages = [], []

    class Page:
        closed = False

        def evaluate(self, js, *args):
            return True

        def close(self):
            self.closed = True

    class Browser:
        def new_page(self):
            pages.append(Page())
            return pages[-1]

    monkeypatch.setitem(globals(), "open_notebook", lambda page, lab, name, reuse: opened.append((page, name, reuse)))
    tab = LabTab(Browser(), lab=None)
    for name, passed in (("a", True), ("b", False), ("c", True), ("d", True)):
        tab.open(name)
        tab.done(passed)
    assert [(pages.index(p), n, r) for p, n, r in opened] == [(0, "a", False), (0, "b", True), (1, "c", False),
                                                                (1, "d", True)]
    assert pages[0].closed and not pages[1].closed
