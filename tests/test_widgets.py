"""The widget pattern (echo_edu.viz.widgets): a control change redraws; only a redraw clears the area."""

import ipywidgets

from echo_edu.viz.widgets import interactive_figure


def test_a_widget_clears_its_area_on_redraws_only(monkeypatch):
    """The first draw must not clear: without a widget front end that clear empties the whole cell."""
    cleared = []
    monkeypatch.setattr(ipywidgets.Output, "clear_output", lambda self, *a, **k: cleared.append(k))
    slider = ipywidgets.IntSlider(value=1, min=0, max=3)
    widget = interactive_figure({"n": slider}, lambda n: f"figure {n}")
    assert cleared == [] and widget.figure == "figure 1"
    slider.value = 2
    assert cleared == [{"wait": True}] and widget.figure == "figure 2"
