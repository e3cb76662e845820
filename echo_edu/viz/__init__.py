"""Figures and widgets for the lessons.

Nothing in the core library imports this package. Each lesson's views live in their own module
(``viz.quaternion``, ``viz.rotary``, ``viz.attention``, ...); every public name of those modules is
reachable as ``echo_edu.viz.<name>``, imported on first use so ``import echo_edu`` stays light.

The house pattern (see ``viz.widgets``): a pure ``*_figure(...) -> plotly.graph_objects.Figure``
builder, a matplotlib ``*_static(...)`` twin for places without a widget front end, and a
``*_widget(...)`` that wires ipywidgets controls to the builder with :func:`interactive_figure`.
"""

from __future__ import annotations

import importlib
import pkgutil

__all__: list[str] = []


def _submodules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def __getattr__(name: str):
    for sub in _submodules():
        module = importlib.import_module(f"{__name__}.{sub}")
        if name in getattr(module, "__all__", ()):
            return getattr(module, name)
    raise AttributeError(f"echo_edu.viz has no attribute {name!r}")


def __dir__() -> list[str]:
    names = set(globals())
    for sub in _submodules():
        names.update(getattr(importlib.import_module(f"{__name__}.{sub}"), "__all__", ()))
    return sorted(names)
