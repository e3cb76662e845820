"""Saving and loading Echo models: a folder of safetensors weights, ``config.json`` and the tokenizer.

::

    model.save_pretrained("my-echo")           # my-echo/model.safetensors, config.json, tokenizer.json, ...
    model = Echo.from_pretrained("my-echo")     # rebuilt from config.json, weights checked, eval mode
    model = Echo.from_pretrained("echo-an4")    # a shipped model, by name, from any working directory

Why safetensors: a ``torch.save`` file is a pickle, and unpickling runs whatever code the file asks
for. echo_edu never unpickles; handing it a pickle raises :class:`CheckpointError`. Every persistent
buffer is saved with the parameters, so the learned state of the experimental attention types (the
refiner's Q-table and visit counts) survives a round trip. ``config.json`` records the SHA-256 of the
weights file, so a modified or truncated weights file is refused with a clear message.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ._version import __version__
from .bundled import SHIPPED_MODELS, shipped_model_folder
from .dimensions import Dimensions
from .errors import CheckpointError, ConfigError
from .tokenizer import load_tokenizer

__all__ = ["save_pretrained", "from_pretrained", "read_config", "read_weights", "load_weights", "WEIGHTS_NAME",
           "CONFIG_NAME"]

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
_META_KEYS = ("model_type", "echo_edu_version", "weights_sha256")
_PICKLE_NAMES = ("pytorch_model.bin", "model.pt", "model.pth", "checkpoint.pt", "model.ckpt")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _looks_like_pickle(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(4)
    return head[:2] == b"PK" or head[:1] == b"\x80"   # torch.save zip archive, or a raw pickle stream


def save_pretrained(model, directory, tokenizer=None) -> Path:
    """Write ``model`` to ``directory`` (created if needed) and return the folder's path.

    Args:
        model: an :class:`~echo_edu.model.Echo`.
        tokenizer: the tokenizer to store; default ``model.tokenizer``.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise CheckpointError(f"cannot save into {str(directory)!r}: it is a file, not a folder")
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = model.tokenizer if tokenizer is None else tokenizer
    if len(tokenizer) != model.dims.vocab:
        raise CheckpointError(f"the tokenizer has {len(tokenizer)} tokens but Dimensions.vocab={model.dims.vocab}")
    # Every parameter and persistent buffer (Q-tables included); own contiguous copies, no shared storage.
    state = {name: t.detach().to("cpu").contiguous().clone() for name, t in model.state_dict().items()}
    weights = directory / WEIGHTS_NAME
    save_file(state, str(weights), metadata={"format": "pt", "echo_edu_version": __version__})
    config = {"model_type": "echo", "echo_edu_version": __version__, "weights_sha256": _sha256(weights),
              **model.dims.to_dict()}
    (directory / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    tokenizer.save_pretrained(str(directory))
    return directory


def read_config(directory) -> tuple[Dimensions, dict]:
    """The :class:`Dimensions` and the metadata stored in ``directory/config.json``."""
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(f"no {CONFIG_NAME} in {str(directory)!r}: not a save_pretrained folder")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{str(path)!r} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("model_type", "echo") != "echo":
        raise CheckpointError(f"{str(path)!r} does not describe an Echo model")
    meta = {k: data.pop(k) for k in _META_KEYS if k in data}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # cross_attention=False notes, already shown at save
            dims = Dimensions.from_dict(data).validate()
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"{str(path)!r} holds an invalid configuration: {exc}") from None
    return dims, meta


def _check_folder(directory) -> Path:
    directory = Path(directory)
    if directory.is_file():
        if _looks_like_pickle(directory):
            raise CheckpointError(f"{str(directory)!r} is a pickle (torch.save) file; echo_edu never unpickles, "
                                  "because loading a pickle can run arbitrary code. Save with save_pretrained.")
        raise CheckpointError(f"{str(directory)!r} is a file; pass the folder written by save_pretrained")
    if not directory.is_dir():
        raise CheckpointError(f"model folder {str(directory)!r} does not exist (the shipped models load by name: "
                              f"{', '.join(SHIPPED_MODELS)})")
    if not (directory / WEIGHTS_NAME).is_file():
        pickles = [n for n in _PICKLE_NAMES if (directory / n).is_file()]
        if pickles:
            raise CheckpointError(f"{str(directory)!r} has {pickles[0]} (a pickle) but no {WEIGHTS_NAME}; echo_edu "
                                  "never unpickles. Convert it with save_pretrained in a trusted session.")
        raise CheckpointError(f"no {WEIGHTS_NAME} in {str(directory)!r}")
    return directory


def read_weights(directory) -> tuple[Dimensions, dict]:
    """The :class:`Dimensions` and the tensors ``{name: tensor}`` of a ``save_pretrained`` folder.

    Raises:
        CheckpointError: missing files, a pickle instead of safetensors, or a weights file that was changed
            after saving.
    """
    directory = _check_folder(directory)
    dims, meta = read_config(directory)
    weights = directory / WEIGHTS_NAME
    expected = meta.get("weights_sha256")
    if expected is not None and _sha256(weights) != expected:
        raise CheckpointError(f"{str(weights)!r} does not match the checksum in {CONFIG_NAME}: the weights were "
                              "modified or damaged after saving")
    try:
        return dims, load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {str(weights)!r} as safetensors: {exc}") from None


def load_weights(model, directory) -> None:
    """Load the tensors of ``directory`` into ``model`` in place (no second model is built).

    Raises:
        CheckpointError: the folder's :class:`Dimensions` differ from ``model.dims``, or its tensors do not
            match the model (names and shapes are listed).
    """
    dims, state = read_weights(directory)
    if dims.to_dict() != model.dims.to_dict():
        raise CheckpointError(f"{str(directory)!r} was written for different Dimensions than this model")
    _load_state(model, state, Path(directory) / WEIGHTS_NAME)


def _load_state(model, state: dict, weights: Path) -> None:
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise CheckpointError(f"{str(weights)!r} does not match {CONFIG_NAME}: missing {missing[:5]}"
                              f"{' ...' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}"
                              f"{' ...' if len(unexpected) > 5 else ''}")
    wrong = [f"{k}: file {tuple(state[k].shape)} vs config {tuple(v.shape)}"
             for k, v in own.items() if tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        raise CheckpointError(f"{str(weights)!r} does not match {CONFIG_NAME}: " + "; ".join(wrong[:5]))
    model.load_state_dict(state, strict=True)


def from_pretrained(model_class, directory, *, device=None, dtype=None):
    """Rebuild a ``model_class`` (:class:`~echo_edu.model.Echo`) from a ``save_pretrained`` folder, in eval mode.

    The class is passed in (``Echo.from_pretrained`` passes itself), so this module never imports the model.

    Args:
        directory: a ``save_pretrained`` folder, or a shipped model's name (``"echo-an4"``, ``"echo-digits"``)
            when no folder of that name exists.
        device, dtype: where to put the model (default: CPU, the saved dtype).
    Raises:
        CheckpointError: as :func:`read_weights` and :func:`load_weights`, or a tokenizer whose size is not
            ``config.json``'s ``vocab``.
    """
    directory = shipped_model_folder(directory)
    dims, state = read_weights(directory)
    tokenizer = load_tokenizer(directory)
    if len(tokenizer) != dims.vocab:
        raise CheckpointError(f"the tokenizer in {str(directory)!r} has {len(tokenizer)} tokens but "
                              f"config.json says vocab={dims.vocab}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = model_class(dims, tokenizer=tokenizer)
    _load_state(model, state, Path(directory) / WEIGHTS_NAME)
    model.to(device=device if device is not None else "cpu")
    if dtype is not None:
        model.to(dtype=dtype)
    return model.eval()
