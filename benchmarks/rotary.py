"""Rotary throughput: each echo_edu mode as a ratio to rotary-embedding-torch on the same tensors.

For every shape ``(B, H, T, head_dim)`` the same random tensor goes through
``rotary_embedding_torch.RotaryEmbedding(head_dim)`` (the baseline) and through
``echo_edu.RotaryEmbedding`` in standard, quaternion and projection mode, forward only (inference) and
forward + backward (training: gradients for the input and the learned axes/projection). Times are the
best of three interleaved ``torch.utils.benchmark`` medians (which synchronise CUDA); the table shows
the baseline in µs and every mode as a ratio (below 1 = faster than the baseline). Nothing is asserted.

    python benchmarks/rotary.py                    # CPU (or --device cuda), float32
    python benchmarks/rotary.py --quick            # small shapes, a few seconds
    python benchmarks/rotary.py --device cuda --dtype bfloat16
"""

from __future__ import annotations

import argparse
import platform

import torch
import torch.utils.benchmark as benchmark
from rotary_embedding_torch import RotaryEmbedding as Baseline

from echo_edu import RotaryEmbedding

MODES = {"standard": {}, "quaternion": {"use_quaternion": True},
         "projection": {"use_quaternion": True, "use_projection": True}}
SHAPES = [(1, 8, 256, 64), (4, 8, 1024, 64), (4, 16, 2048, 128)]
QUICK_SHAPES = [(1, 4, 128, 64), (2, 8, 512, 64)]


def best_of(stmts: dict, run_time: float, rounds: int = 3) -> dict:
    """Seconds per call of every ``name -> (stmt, globals)``: the best of ``rounds`` interleaved medians.

    Interleaving the contenders and keeping the minimum makes the *ratios* robust on a busy machine,
    where a burst of load would otherwise land on one contender only.
    """
    best = {name: float("inf") for name in stmts}
    for _ in range(rounds):
        for name, (stmt, env) in stmts.items():
            t = benchmark.Timer(stmt, globals=env).blocked_autorange(min_run_time=run_time / rounds).median
            best[name] = min(best[name], t)
    return best


def rotate_stmt(module: torch.nn.Module, x: torch.Tensor, backward: bool) -> tuple[str, dict]:
    """The statement timing one rotate (and, with ``backward``, its backward pass) on ``x``."""
    if backward:
        return "m.rotate_queries_or_keys(x).sum().backward()", {"m": module, "x": x.detach().requires_grad_()}
    return "with torch.no_grad(): m.rotate_queries_or_keys(x)", {"m": module, "x": x, "torch": torch}


def machine_arguments(parser: argparse.ArgumentParser, dtypes: list[str]) -> None:
    """The options both micro-benchmarks share (device, dtype, quick, threads); also used by quaternion.py."""
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="float32", choices=dtypes)
    parser.add_argument("--quick", action="store_true", help="small sizes, short runs")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")


def describe_machine(args: argparse.Namespace) -> tuple[torch.device, torch.dtype, str]:
    """Apply ``--threads``; return the device, the dtype and a one-line description of where this runs."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"{platform.processor() or 'CPU'}, {torch.get_num_threads()} threads"
    return device, getattr(torch, args.dtype), f"{where}, {args.dtype}, torch {torch.__version__}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    machine_arguments(parser, ["float32", "bfloat16", "float16"])
    args = parser.parse_args(argv)
    device, dtype, where = describe_machine(args)
    shapes, run_time = (QUICK_SHAPES, 0.2) if args.quick else (SHAPES, 1.0)
    print(f"rotary throughput on {where}\n")
    print("| pass | B, H, T, D | rotary-embedding-torch (µs) | " + " | ".join(f"{m} (×)" for m in MODES) + " |")
    print("|---|---|---:|" + "---:|" * len(MODES))
    gen = torch.Generator().manual_seed(0)
    for backward in (False, True):
        for shape in shapes:
            x = torch.randn(*shape, generator=gen).to(device=device, dtype=dtype)
            modules = {"baseline": Baseline(shape[-1]).to(device)}
            modules.update({name: RotaryEmbedding(shape[-1], **opt).to(device) for name, opt in MODES.items()})
            times = best_of({name: rotate_stmt(m, x, backward) for name, m in modules.items()}, run_time)
            base = times["baseline"]
            ratios = [times[name] / base for name in MODES]
            print(f"| {'fwd+bwd' if backward else 'forward'} | {', '.join(map(str, shape))} | {base * 1e6:,.0f} | "
                  + " | ".join(f"{r:.2f}" for r in ratios) + " |")


if __name__ == "__main__":
    main()
