"""tools/run_notebooks.py (what `make demo` renders the lessons with): offline pages, no widget stall."""

from __future__ import annotations

import nbformat

from notebook_rerun import run_notebooks  # tools/run_notebooks.py, loaded once (the rerun plugin uses its client)

WIDGET = "application/vnd.jupyter.widget-view+json"
PLOTLY = "application/vnd.plotly.v1+json"


def _executed() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    cell = nbformat.v4.new_code_cell("w")
    cell.outputs = [nbformat.v4.new_output("display_data", data={WIDGET: {"model_id": "a"}, "image/png": "iVBO",
                                                                  "text/plain": "w"}),
                    nbformat.v4.new_output("display_data", data={WIDGET: {"model_id": "b"}, "text/plain": "x"})]
    drawn = nbformat.v4.new_code_cell("figure_widget()")     # a widget that drew a plotly figure into its Output
    drawn.outputs = [nbformat.v4.new_output("display_data", data={PLOTLY: {"data": []}}),
                     nbformat.v4.new_output("display_data", data={WIDGET: {"model_id": "c"}, "image/png": "iVBO"})]
    alone = nbformat.v4.new_code_cell("go.Figure()")           # a bare figure (its *_static twin: another cell)
    alone.outputs = [nbformat.v4.new_output("display_data", data={PLOTLY: {"data": []}}),
                     nbformat.v4.new_output("stream", name="stdout", text="drawn\n")]
    nb.cells = [cell, drawn, alone]
    return nb


def test_static_view_shows_the_png_of_widgets_that_have_one_and_leaves_the_notebook_alone():
    nb = _executed()
    view = run_notebooks.static_view(nb)
    with_png, without = view.cells[0].outputs
    assert WIDGET not in with_png.data and with_png.data["image/png"] == "iVBO"
    assert WIDGET in without.data            # nothing static to show instead: left as it was
    assert "widgets" not in view.metadata
    assert WIDGET in nb.cells[0].outputs[0].data and "widgets" in nb.metadata  # a copy
    assert [list(o.data) for o in view.cells[1].outputs] == [["image/png"]]    # the PNG stands in for the figure
    assert [o.output_type for o in view.cells[2].outputs] == ["stream"]        # what a page cannot draw goes
    assert len(nb.cells[1].outputs) == len(nb.cells[2].outputs) == 2


def test_lessons_run_without_nbclients_output_widget_imitation():
    """The imitation can stall a cell until its timeout (nbclient#312); here that is 1800 s."""
    client = run_notebooks.NoWidgetClient(nbformat.v4.new_notebook())
    assert client.on_comm_open_jupyter_widget({"content": {}}) is None
    assert type(client).on_comm_open_jupyter_widget is not run_notebooks.NotebookClient.on_comm_open_jupyter_widget
