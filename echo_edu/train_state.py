"""Training checkpoints that resume *exactly*: weights, optimizer, schedule, random states and step.

A checkpoint folder (``<output_dir>/checkpoint``) holds:

* the model as ``Echo.save_pretrained`` writes it (``model.safetensors`` + ``config.json`` + tokenizer),
  every buffer included (Q-tables, visit counts);
* ``training_state.safetensors``: the optimizer's moment tensors and the torch random-number states;
* ``training_state.json``: the step, the optimizer's hyper-parameters, the scheduler, Python's and
  NumPy's random states, the training config and the history so far.

Nothing is pickled, so loading a checkpoint cannot run code. A folder is written beside the old one and
renamed into place, so an interrupted save never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import json
import random
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from .checkpoint import load_weights
from .errors import CheckpointError, TrainingError

__all__ = ["CHECKPOINT_NAME", "check_writable", "save_training_state", "load_training_state",
           "find_checkpoint", "rng_state", "set_rng_state"]

CHECKPOINT_NAME = "checkpoint"
_STATE_JSON, _STATE_TENSORS = "training_state.json", "training_state.safetensors"


def check_writable(directory: str | Path) -> Path:
    """Create ``directory`` if needed and prove a file can be written there.

    Raises:
        TrainingError: naming the folder, before any training time is spent.
    """
    path = Path(directory)
    probe = path / f".write-test-{uuid.uuid4().hex}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise TrainingError(f"checkpoint folder {str(path)!r} is not writable ({exc.strerror or exc}); "
                            "choose another TrainConfig.output_dir") from None
    return path


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Every random-number state: torch (CPU, CUDA) as tensors; Python and NumPy as JSON-safe values."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    plain = {"python": [version, list(internal), gauss],
             "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)]}
    return tensors, plain


def set_rng_state(tensors: dict[str, torch.Tensor], plain: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[:torch.cuda.device_count()])
    version, internal, gauss = plain["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = plain["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))


def _split_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, state in sd["state"].items():
        for name, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{idx}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{name}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _join_optimizer(tensors: dict[str, torch.Tensor], plain: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
    for key, value in plain["scalars"].items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    return {"state": state, "param_groups": plain["param_groups"]}


def save_training_state(directory: str | Path, model, optimizer, scheduler, step: int, *,
                        config: dict[str, Any], history: dict[str, Any], tokenizer=None,
                        rank_rng: list[torch.Tensor] | None = None) -> Path:
    """Write a complete checkpoint of the run at ``step`` into ``directory`` (replacing any old one).

    ``rank_rng``: every data-parallel rank's torch RNG state (dropout differs per rank), saved so each
    rank resumes with its own.
    """
    final = Path(directory)
    tmp = final.with_name(f"{final.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        model.save_pretrained(tmp, tokenizer=tokenizer)
        opt_tensors, opt_plain = _split_optimizer(optimizer)
        rng_tensors, rng_plain = rng_state()
        rng_tensors.update({f"rng.torch.rank{r}": state for r, state in enumerate(rank_rng or [])})
        save_file({**opt_tensors, **rng_tensors}, str(tmp / _STATE_TENSORS))
        state = {"step": int(step), "optimizer": opt_plain, "scheduler": scheduler.state_dict(),
                 "rng": rng_plain, "config": config, "history": history}
        (tmp / _STATE_JSON).write_text(json.dumps(state, indent=1, default=float))
        old = final.with_name(f"{final.name}.old-{uuid.uuid4().hex[:8]}")
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
        for stale in list(final.parent.glob(f"{final.name}.tmp-*")) + list(final.parent.glob(f"{final.name}.old-*")):
            shutil.rmtree(stale, ignore_errors=True)      # leftovers of a crash between two renames
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise TrainingError(f"could not write checkpoint {str(final)!r} at step {step}: {exc}") from None
    return final


def _saved_step(path: Path) -> int | None:
    """The step of a complete checkpoint folder, ``None`` when it is incomplete or unreadable."""
    if not (path / _STATE_TENSORS).is_file() or not (path / "model.safetensors").is_file():
        return None
    try:
        return int(json.loads((path / _STATE_JSON).read_text())["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def find_checkpoint(output_dir: str | Path | None) -> Path | None:
    """The newest complete checkpoint in ``output_dir``, else ``None``.

    Normally ``<output_dir>/checkpoint``. A crash between the two renames of :func:`save_training_state`
    leaves the previous checkpoint as ``checkpoint.old-*`` and the new one as ``checkpoint.tmp-*``;
    every complete candidate counts and the highest step wins (the regular folder on a tie).
    """
    if output_dir is None:
        return None
    root = Path(output_dir)
    candidates = [root / CHECKPOINT_NAME] + sorted(root.glob(f"{CHECKPOINT_NAME}.tmp-*")) + sorted(
        root.glob(f"{CHECKPOINT_NAME}.old-*"))
    best, best_step = None, -1
    for path in candidates:
        step = _saved_step(path) if path.is_dir() else None
        if step is not None and step > best_step:
            best, best_step = path, step
    return best


def load_training_state(directory: str | Path, model, optimizer, scheduler, rank: int = 0) -> dict[str, Any]:
    """Load a checkpoint into ``model``, ``optimizer`` and ``scheduler`` and restore the random states
    (``rank``'s own torch state when the run was data-parallel).

    Returns:
        The JSON state (``step``, ``config``, ``history``, ...).
    Raises:
        CheckpointError: the folder is incomplete or does not match the model.
    """
    path = Path(directory)
    try:
        state = json.loads((path / _STATE_JSON).read_text())
        tensors = load_file(str(path / _STATE_TENSORS))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"training checkpoint {str(path)!r} is unreadable: {exc}") from None
    load_weights(model, path)
    device = next(model.parameters()).device
    optim_sd = _join_optimizer(tensors, state["optimizer"])
    try:
        optimizer.load_state_dict(optim_sd)
    except (ValueError, KeyError) as exc:
        raise CheckpointError(f"optimizer state in {str(path)!r} does not match the model: {exc}") from None
    for group_state in optimizer.state.values():  # load_state_dict casts to the params' device already
        for name, value in group_state.items():
            if isinstance(value, torch.Tensor) and name != "step":
                group_state[name] = value.to(device)
    scheduler.load_state_dict(state["scheduler"])
    set_rng_state(tensors, state["rng"])
    if f"rng.torch.rank{rank}" in tensors:
        torch.set_rng_state(tensors[f"rng.torch.rank{rank}"])
    return state
