"""Data-parallel training helpers: one process per device, gradients averaged after each backward.

Launch with ``torchrun --nproc_per_node=N -m echo_edu.cli train ...``. torchrun sets ``RANK``,
``LOCAL_RANK`` and ``WORLD_SIZE``; :func:`init_distributed` reads them and joins the process group with
the backend that suits the device: **nccl** on CUDA, **gloo** on CPU. Each rank then trains on its own
slice of every batch (``echo_edu.train`` picks it), and ``DistributedDataParallel`` averages gradients,
so N processes with per-process batch ``b`` compute the same update as one process with batch ``N·b``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "init_distributed", "dist_info", "all_reduce_sum", "gather_objects",
           "barrier", "cleanup"]


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size`` processes, ``local_rank`` on its node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def backend_for(device: torch.device) -> str:
    """``"nccl"`` for CUDA devices, ``"gloo"`` otherwise."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def init_distributed(device: torch.device | str | None = None) -> tuple[DistInfo, torch.device]:
    """Join the process group described by torchrun's environment, if any.

    Returns the :class:`DistInfo` and the device this rank should use (``cuda:LOCAL_RANK`` when CUDA is
    present, else CPU, unless ``device`` is given). Without ``WORLD_SIZE > 1`` nothing is initialised.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        device = torch.device(f"cuda:{local}") if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(device)
    if world > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend_for(device), rank=rank, world_size=world)
    return dist_info(), device


def dist_info() -> DistInfo:
    """The current process group's rank and size (``DistInfo()`` when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    return DistInfo()


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum ``t`` over all ranks (in place) and return it; a no-op when not distributed."""
    if dist_info().enabled:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def gather_objects(obj) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank (``[obj]`` when not distributed)."""
    info = dist_info()
    if not info.enabled:
        return [obj]
    out = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if dist_info().enabled:
        dist.barrier()


def cleanup() -> None:
    """Leave the process group (call once at the end of a torchrun job)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
