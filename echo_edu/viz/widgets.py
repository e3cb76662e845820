"""The one widget pattern every lesson uses: controls → pure figure builder → live plot.

:func:`interactive_figure` returns an :class:`InteractiveFigure` (an ``ipywidgets.VBox``). In
JupyterLab it is live: moving a control re-runs ``make_figure(**values)`` and redraws the plotly
figure. Where no widget front end exists (nbval, GitHub, an HTML export) it shows a static PNG drawn
by ``make_static(**values)`` (matplotlib), so the notebook reads well everywhere.
"""

from __future__ import annotations

import io
from typing import Any, Callable, Mapping

import ipywidgets as widgets

__all__ = ["interactive_figure", "InteractiveFigure", "figure_to_png"]


def figure_to_png(fig) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it (no GUI backend needed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


class InteractiveFigure(widgets.VBox):
    """Controls above a plotly figure; carries a static PNG fallback in its display bundle.

    Attributes:
        controls: the named ipywidgets controls, in display order.
        figure: the plotly figure currently shown (rebuilt on every control change).
        output: the ``ipywidgets.Output`` the figure is drawn into.
    """

    def __init__(self, controls: Mapping[str, widgets.Widget], make_figure: Callable[..., Any],
                 make_static: Callable[..., Any] | None = None, columns: int = 3):
        self.controls = dict(controls)
        self.make_figure = make_figure
        self.make_static = make_static
        self.output = widgets.Output()
        self.figure = None
        rows = [widgets.HBox(list(self.controls.values())[i:i + columns])
                for i in range(0, len(self.controls), columns)]
        super().__init__(rows + [self.output])
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.redraw()

    def values(self) -> dict[str, Any]:
        """The current value of every control, keyed by its name."""
        return {name: c.value for name, c in self.controls.items()}

    def redraw(self) -> None:
        """Rebuild the figure from the controls' values and draw it into the output area."""
        from IPython.display import display

        first = self.figure is None
        self.figure = self.make_figure(**self.values())
        if not first:
            # Only a redraw clears. The first draw goes into an empty area, and where no widget front end
            # routes the clear message to the Output (nbval, nbclient, an HTML export) it clears the *cell*
            # instead: whatever the cell displayed before the widget would be lost.
            self.output.clear_output(wait=True)
        with self.output:
            display(self.figure)

    def _on_change(self, _change) -> None:
        self.redraw()

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if self.make_static is not None and isinstance(bundle, dict):
            bundle["image/png"] = figure_to_png(self.make_static(**self.values()))
        return bundle


def interactive_figure(controls: Mapping[str, widgets.Widget], make_figure: Callable[..., Any],
                       make_static: Callable[..., Any] | None = None, columns: int = 3) -> InteractiveFigure:
    """Wire ``controls`` to ``make_figure(**values)``; see :class:`InteractiveFigure`."""
    return InteractiveFigure(controls, make_figure, make_static, columns)
