"""Where the real corpora are on this machine: ``$ECHO_EDU_DATA``, else ``../shared/data`` beside the checkout.

The recordings never ship with the repository (see README "Real speech"). Code that *can* use them
when present — ``echo-edu demo``, the real-data tests — asks :func:`find_data_root` and carries on
without them when it returns ``None``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_ENV", "find_data_root"]

#: The environment variable naming the folder that holds ``an4/``, ``fsdd-dev/``, ...
DATA_ENV = "ECHO_EDU_DATA"


def find_data_root(corpus: str = "an4") -> Path | None:
    """The first of ``$ECHO_EDU_DATA`` and ``<checkout>/../shared/data`` that holds a ``corpus`` folder.

    Returns:
        The data folder (the parent of ``corpus/``), or ``None`` when neither place has it.
    """
    for root in (os.environ.get(DATA_ENV), Path(__file__).resolve().parents[3] / "shared" / "data"):
        if root and (Path(root) / corpus).is_dir():
            return Path(root)
    return None
