"""Quaternion throughput: echo_edu.quaternion as a ratio to roma on the same inputs.

roma stores quaternions (x, y, z, w) and echo_edu (w, x, y, z); both libraries get their own layout,
converted once outside the timed region, so only the operation is timed. Times are the best of three
interleaved ``torch.utils.benchmark`` medians; the table shows roma's time in µs and echo_edu's as a
ratio (below 1 = faster). Nothing is asserted.

    python benchmarks/quaternion.py                 # CPU (or --device cuda), float32
    python benchmarks/quaternion.py --quick
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import roma
import torch

from echo_edu import quaternion as eq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rotary import best_of, describe_machine, machine_arguments  # noqa: E402  (the CLI both micro-benchmarks share)


def operations(n: int, device: torch.device, dtype: torch.dtype) -> dict:
    """name → (echo_edu callable, roma callable) over ``n`` random inputs each."""
    gen = torch.Generator().manual_seed(0)
    q = eq.quat_random(n, generator=gen, dtype=dtype).to(device)
    r = eq.quat_random(n, generator=gen, dtype=dtype).to(device)
    v = torch.randn(n, 3, generator=gen, dtype=dtype).to(device)
    t = torch.rand(n, generator=gen, dtype=dtype).to(device)
    m = eq.quat_to_matrix(q)
    qx, rx = roma.quat_wxyz_to_xyzw(q), roma.quat_wxyz_to_xyzw(r)
    return {
        "rotate vectors (sandwich)": (lambda: eq.quat_rotate(q, v), lambda: roma.quat_action(qx, v, is_normalized=True)),
        "product": (lambda: eq.quat_multiply(q, r), lambda: roma.quat_product(qx, rx)),
        "to matrix": (lambda: eq.quat_to_matrix(q), lambda: roma.unitquat_to_rotmat(qx)),
        "from matrix": (lambda: eq.quat_from_matrix(m), lambda: roma.rotmat_to_unitquat(m)),
        # one interpolation fraction per pair: roma takes steps of shape (B,) for every pair, so pass t[:1]
        "slerp (one step)": (lambda: eq.quat_slerp(q, r, t[:1]), lambda: roma.unitquat_slerp(qx, rx, t[:1])),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    machine_arguments(parser, ["float32", "float64"])
    args = parser.parse_args(argv)
    device, dtype, where = describe_machine(args)
    sizes, run_time = ([1_000, 100_000], 0.2) if args.quick else ([1_000, 100_000, 1_000_000], 1.0)
    print(f"quaternion throughput on {where}, roma {roma.__version__}\n")
    print("| operation | N | roma (µs) | echo_edu (×) |")
    print("|---|---:|---:|---:|")
    for n in sizes:
        for name, (ours, theirs) in operations(n, device, dtype).items():
            t = best_of({"roma": ("f()", {"f": theirs}), "ours": ("f()", {"f": ours})}, run_time)
            print(f"| {name} | {n:,} | {t['roma'] * 1e6:,.1f} | {t['ours'] / t['roma']:.2f} |")


if __name__ == "__main__":
    main()
