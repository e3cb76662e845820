"""Attention speed and memory: every registered type against standard attention, same process.

For each sequence length and each type in ``echo_edu.attention.ATTENTION_TYPES`` this times one
training step's forward + backward of a single self-attention layer (equal width and heads, rotary on,
``x`` of shape ``(batch, T, dims)``) and reports the median over repeats (on CPU by default the
process's CPU time, which a busy shared machine disturbs far less than wall time) and the ratio to
``standard`` at the same length. Memory: the bytes autograd saves for the backward pass (the activations
a training step holds at its peak; any device), and on CUDA also ``torch.cuda.max_memory_allocated``
above the inputs (there is no reliable peak counter for the CPU allocator). Nothing is asserted.

Integrated attention runs its local branch with the blocked kernel (only the band is computed) and
its global branch over ``global_pool``-pooled keys, so it should pull ahead of full attention as ``T``
grows.

    python benchmarks/attention.py                  # T = 256, 1024, 4096 (minutes on a 2-core CPU)
    python benchmarks/attention.py --quick          # T = 128, 512, 1024
    python benchmarks/attention.py --lengths 4096 --causal --types integrated   # standard vs integrated only
    python benchmarks/attention.py --device cuda --dtype bfloat16 --causal
    python benchmarks/attention.py --output build/attention.md   # also write the table to a file
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

from echo_edu.attention import ATTENTION_TYPES, build_attention


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step(layer, x: torch.Tensor, causal: bool) -> None:
    """One forward + backward (the update plus any regulariser the type reports)."""
    out, info = layer(x, causal=causal)
    loss = out.float().square().mean() + info.get("aux_loss", torch.zeros((), device=x.device))
    loss.backward()


def saved_mib(layer, x: torch.Tensor, causal: bool) -> float:
    """Memory autograd keeps for the backward pass (distinct storages saved in the forward), in MiB.

    The activations a training step holds at its peak, measurable on any device."""
    seen, total = set(), 0

    def pack(t):
        nonlocal total
        storage = t.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            total += storage.nbytes()
        return t

    layer.zero_grad(set_to_none=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out, info = layer(x, causal=causal)
    (out.float().square().mean() + info.get("aux_loss", torch.zeros((), device=x.device))).backward()
    return total / 2**20


def timed_step(layer, x, causal, device, clock=time.perf_counter) -> float:
    layer.zero_grad(set_to_none=True)
    x.grad = None
    sync(device)
    start = clock()
    step(layer, x, causal)
    sync(device)
    return clock() - start


def measure_length(kinds, args, T: int, device: torch.device, dtype: torch.dtype) -> list[dict]:
    """Time every type at length ``T``. Repeats go round-robin over the types, so a slow spell of a
    shared machine hits all of them alike; the median per type is reported."""
    layers, peaks, saved = {}, {}, {}
    x = torch.randn(args.batch, T, args.dims, device=device, dtype=dtype, requires_grad=True)
    for kind in kinds:
        torch.manual_seed(0)
        layer = build_attention(kind, args.dims, args.heads, rotary={"theta": 10000.0})
        layers[kind] = layer.to(device=device, dtype=dtype).train()
        for _ in range(args.warmup):
            timed_step(layers[kind], x, args.causal, device)
        peaks[kind] = None
        saved[kind] = saved_mib(layers[kind], x, args.causal)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            base = torch.cuda.memory_allocated(device)
            timed_step(layers[kind], x, args.causal, device)
            peaks[kind] = (torch.cuda.max_memory_allocated(device) - base) / 2**20
    times = {kind: [] for kind in kinds}
    for _ in range(args.repeats):
        for kind in kinds:
            times[kind].append(timed_step(layers[kind], x, args.causal, device, CLOCKS[args.clock]))
    return [{"kind": k, "T": T, "ms": 1000 * statistics.median(times[k]), "peak_mb": peaks[k], "saved_mb": saved[k]}
            for k in kinds]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short sequences (128, 512, 1024)")
    parser.add_argument("--lengths", type=int, nargs="+", help="sequence lengths (default 256 1024 4096)")
    parser.add_argument("--types", nargs="+", default=None, help="attention types (default: all registered)")
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--causal", action="store_true", help="decoder (causal) self-attention")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (1 keeps CPU-time measurements honest: idle OpenMP workers spin)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default=None,
                        help="wall time, or this process's CPU time (all threads) — steadier on a busy shared "
                             "CPU; default: cpu on CPU, wall on CUDA")
    parser.add_argument("--output", default=None, help="also write the markdown table to this file")
    args = parser.parse_args(argv)
    args.clock = args.clock or ("wall" if args.device.startswith("cuda") else "cpu")
    torch.set_num_threads(args.threads)
    device, dtype = torch.device(args.device), getattr(torch, args.dtype)
    lengths = args.lengths or ([128, 512, 1024] if args.quick else [256, 1024, 4096])
    kinds = args.types or sorted(ATTENTION_TYPES)
    kinds = ["standard"] + [k for k in kinds if k != "standard"]
    lines = [f"# attention forward+backward, dims={args.dims}, heads={args.heads}, batch={args.batch}, "
             f"{'causal' if args.causal else 'bidirectional'}, {args.dtype}, device={device}"
             f"{'' if device.type == 'cuda' else f' ({args.threads} threads)'}, torch {torch.__version__}, "
             f"{platform.processor() or platform.machine()}; median of {args.repeats}, {args.clock} clock", "",
             "| type | T | ms | × standard | saved for backward MiB | × standard | CUDA peak MiB | × standard |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    print("\n".join(lines), flush=True)
    for T in lengths:
        rows = measure_length(kinds, args, T, device, dtype)
        base = rows[0]
        for r in rows:
            mem = "n/a" if r["peak_mb"] is None else f"{r['peak_mb']:.1f}"
            mem_ratio = "n/a" if r["peak_mb"] is None else f"{r['peak_mb'] / max(base['peak_mb'], 1e-9):.2f}"
            lines.append(f"| {r['kind']} | {T} | {r['ms']:.1f} | {r['ms'] / base['ms']:.2f} | {r['saved_mb']:.1f} | "
                         f"{r['saved_mb'] / base['saved_mb']:.2f} | {mem} | {mem_ratio} |")
            print(lines[-1], flush=True)
    if args.output:
        path = Path(args.output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")

if __name__ == "__main__":
    main()
