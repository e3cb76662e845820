"""Where the trained models ship, and the one rule for the default model.

* :data:`ASSETS_DIR` — where the shipped models and ``samples/`` are: the checkout's ``assets/`` folder,
  or, in a regular (not editable) install, its copy inside the package, ``echo_edu/_assets/`` (the
  wheel carries ``echo-an4/``, ``echo-digits/`` and ``samples/``; see ``pyproject.toml``).
* :func:`bundled_model_dir` — the default model: ``assets/echo-an4`` (trained on real speech) when it
  holds a saved model, else a ``fallback`` the caller names, else a :class:`CheckpointError` saying how
  to make one. ``echo-edu transcribe/evaluate/demo`` and the microphone widget both ask it.
* :func:`digits_model_dir` — ``assets/echo-digits``, the lessons' small synthetic-digits model.
* :func:`shipped_model_folder` — a shipped model by name: ``Echo.from_pretrained("echo-an4")`` loads it from
  any working directory, wherever echo_edu is installed (a folder of that name in the working directory
  comes first, as any path does).
"""

from __future__ import annotations

from pathlib import Path

from .errors import CheckpointError

__all__ = ["ASSETS_DIR", "SHIPPED_MODELS", "bundled_model_dir", "digits_model_dir", "holds_model",
           "shipped_model_folder"]

#: The installed copy of the shipped assets; only a regular install has it (``pip install .``, a wheel).
PACKAGED_ASSETS = Path(__file__).resolve().parent / "_assets"
#: The checkout's ``assets/`` folder: what an editable install (``make setup``) reads.
CHECKOUT_ASSETS = Path(__file__).resolve().parents[1] / "assets"
#: Where the trained models and the sample clips are found: the installed copy when there is one.
ASSETS_DIR = PACKAGED_ASSETS if PACKAGED_ASSETS.is_dir() else CHECKOUT_ASSETS
#: The models that ship in ``ASSETS_DIR``, loadable by name.
SHIPPED_MODELS = ("echo-an4", "echo-digits")


def holds_model(folder: Path | str) -> bool:
    """True when ``folder`` holds what ``Echo.from_pretrained`` reads first: ``model.safetensors`` + ``config.json``."""
    folder = Path(folder)
    return (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()


def bundled_model_dir(assets: Path | str | None = None, fallback: Path | str | None = None) -> Path:
    """The default model's folder: ``assets/echo-an4`` when it holds a model, else ``fallback`` when it does.

    Args:
        assets: the assets folder (default :data:`ASSETS_DIR`).
        fallback: a folder to use while ``echo-an4`` is not there (default: none; lesson 10 passes its
            digits model).

    Raises:
        CheckpointError: neither folder holds ``model.safetensors`` + ``config.json``; the message names
            the missing folder and how to make it.
    """
    default = Path(assets if assets is not None else ASSETS_DIR) / "echo-an4"
    for folder in (default, *(() if fallback is None else (Path(fallback),))):
        if holds_model(folder):
            return folder
    also = f" (nor does the fallback {str(fallback)!r})" if fallback is not None else ""
    raise CheckpointError(f"the bundled model folder {str(default)!r} holds no model.safetensors + config.json"
                          f"{also}. Train one with `python tools/train_an4.py` (it writes assets/echo-an4) or "
                          "pass --model DIR (any folder written by save_pretrained).")


def digits_model_dir() -> Path:
    """``assets/echo-digits/``: the lessons' small model, trained on synthetic digits only."""
    return ASSETS_DIR / "echo-digits"


def shipped_model_folder(name_or_path: Path | str) -> Path:
    """The folder to load for ``name_or_path``: the path itself when it exists, else the shipped model of that
    name (one of :data:`SHIPPED_MODELS`) when it is one, else the path unchanged for the loader to refuse."""
    path = Path(name_or_path)
    if not path.exists() and str(name_or_path) in SHIPPED_MODELS:
        return ASSETS_DIR / str(name_or_path)
    return path
