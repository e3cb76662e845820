"""Small helpers shared by the library, the notebooks and the tests."""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch


def set_seed(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA) and return a fresh seeded ``torch.Generator``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def quick_mode() -> bool:
    """True when ``ECHO_EDU_QUICK=1``: notebooks and scripts shrink their work to run in CI.

    People get the full lessons by default; the test command sets ``ECHO_EDU_QUICK=1``.
    """
    return os.environ.get("ECHO_EDU_QUICK", "0").strip().lower() in {"1", "true", "yes"}


def cache_root() -> Path:
    """``$ECHO_EDU_CACHE`` or ``~/.cache/echo_edu``: the one folder everything echo_edu caches lives under
    (synthesised corpora, saved experiment results), each in its own subfolder."""
    return Path(os.environ.get("ECHO_EDU_CACHE") or Path.home() / ".cache" / "echo_edu")


def default_device() -> torch.device:
    """The best device available: CUDA when present, else CPU. Never hard-code a device."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _sdpa_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """FLOPs of one fused attention call: ``q kᵀ`` then ``weights · v``, ``(…, T_q, d)`` against ``(…, T_k, d)``."""
    rows = math.prod(query_shape[:-1])  # every leading dim and T_q
    return 2 * rows * key_shape[-2] * (query_shape[-1] + value_shape[-1])


def matmul_flops(fn: Callable[[], object]) -> int:
    """Floating-point operations of the matrix products one call of ``fn()`` runs: linear layers and attention.

    Counted from tensor shapes with :class:`torch.utils.flop_counter.FlopCounterMode`, so the number is exact
    and the same on an idle or a busy machine (a timing is neither). The fused CPU attention kernel, which
    torch's counter does not know, is counted as its two products (``2·T_q·T_k·(d_q + d_v)`` per head);
    element-wise work (softmax, masks, norms) is not counted. ``fn`` runs once.
    """
    from torch.utils.flop_counter import FlopCounterMode

    aten = torch.ops.aten
    fused_cpu = {aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_flops}
    with FlopCounterMode(display=False, custom_mapping=fused_cpu) as counter:
        fn()
    return int(counter.get_total_flops())


class DerivedBuffers:
    """Mixin (before ``nn.Module`` in the bases) for non-persistent buffers computed from the config: position
    tables, window lists. ``register_derived_buffers(name=maker)`` registers ``maker()`` (a picklable callable:
    a module-level function or a ``functools.partial``), and every ``_apply`` (``.to()``, ``.double()``,
    ``to_empty``) calls it again and puts the result on the new device, in the dtype the move gave. So a model
    built under ``torch.device("meta")`` (shapes only) and then ``to_empty(device=...)``'d holds the real
    tables, not uninitialised memory."""

    def register_derived_buffers(self, **makers: Callable[[], torch.Tensor]) -> None:
        self._derived_makers = {**getattr(self, "_derived_makers", {}), **makers}
        for name, make in makers.items():
            self.register_buffer(name, make(), persistent=False)

    def _apply(self, fn, recurse: bool = True):
        super()._apply(fn, recurse)
        for name, make in getattr(self, "_derived_makers", {}).items():
            moved = getattr(self, name)
            setattr(self, name, make().to(moved.device, moved.dtype))
        return self
