"""Would a micro-optimisation branch pay? The one shipped path against it patched back in, in one process.

A "fast path" is a branch whose only purpose is speed: the result is the same (bit for bit) without it.
Four were removed because this benchmark showed no saving above its noise; their code lives here, so
anyone can measure them again. The script times what their comments said they sped up — greedy
transcription of bundled sample clips with the bundled models (a cached decoding step runs each
many times) — with the one path as shipped and with each fast path patched in, interleaved in a random
order each round, fastest of ``--rounds`` samples, and prints ``shipped / with the fast path``: above 1
the fast path would save that much. A second table times one call at a decoding step's shape
``(1, heads, 1, head_dim)`` / ``(1, 1, dims)``. An A/A column (the shipped code against itself) shows
the noise floor. Nothing is asserted.

    python benchmarks/fast_paths.py                 # ~1-2 min on 2 CPU cores
    python benchmarks/fast_paths.py --quick --threads 1

The fast paths (patched in for the run only):

* ``rotary_all_pairs`` — ``RotaryEmbedding.rotate_queries_or_keys`` skipping ``_cos_sin``/``rotate`` for
  plain full-width RoPE inside its table;
* ``rotary_autocast_check`` — ``RotaryEmbedding.rotate`` entering ``autocast(enabled=False)`` only when
  autocast is on;
* ``rmsnorm_float32`` — ``RMSNorm.forward`` skipping the float32 casts when nothing needs casting;
* ``dropout_if_training`` — residual branches skipping the ``nn.Dropout`` call in eval mode.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from echo_edu import Echo, blocks, rotary  # noqa: E402
from echo_edu.bundled import ASSETS_DIR  # noqa: E402
from echo_edu.data import load_samples  # noqa: E402
from echo_edu.transcribe import transcribe  # noqa: E402


_ONE_PATH = {"rotate_queries_or_keys": rotary.RotaryEmbedding.rotate_queries_or_keys,
             "rotate": rotary.RotaryEmbedding.rotate, "rms": blocks.RMSNorm.forward}


def _rotate_all_pairs(self, t, offset=0):
    """The removed fast path: plain full-width RoPE inside the table, nothing to cast, without ``rotate``."""
    end = offset + t.shape[-2]
    if not self.use_projection and self.n_blocks == 0 and self.rot_dim == self.dim and \
            end <= self.cos_cached.shape[0] and t.dtype == self.cos_cached.dtype:
        pairs = t.unflatten(-1, (self.n_pairs, 2))                             # (..., T, P, 2)
        return rotary._turn_pairs(pairs, self.cos_cached[offset:end], self.sin_pm_cached[offset:end]).flatten(-2)
    return _ONE_PATH["rotate_queries_or_keys"](self, t, offset)


def _rotate_checked(self, t, cos, sin, sin_pm=None):
    """The removed branch: enter ``autocast(enabled=False)`` only when autocast is on."""
    if torch.is_autocast_enabled(t.device.type):
        return _ONE_PATH["rotate"](self, t, cos, sin, sin_pm)
    return self._rotate(t, cos, sin, sin_pm)


def _rms_fast(self, x):
    """The removed branch: no casts when ``x`` and the weight are float32."""
    if x.dtype == torch.float32 and self.weight.dtype == torch.float32:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)
    return _ONE_PATH["rms"](self, x)


def _identity(x):
    return x


@contextlib.contextmanager
def fast_path(names: str, model: torch.nn.Module):
    """Run with the removed fast paths ``names`` (``+``-joined) patched back in; restore the one path afterwards."""
    chosen = set(names.split("+"))
    holders = [m for m in model.modules() if isinstance(m.__dict__.get("_modules", {}).get("dropout"), torch.nn.Dropout)]
    if "rotary_all_pairs" in chosen:
        rotary.RotaryEmbedding.rotate_queries_or_keys = _rotate_all_pairs
    if "rotary_autocast_check" in chosen:
        rotary.RotaryEmbedding.rotate = _rotate_checked
    if "rmsnorm_float32" in chosen:
        blocks.RMSNorm.forward = _rms_fast
    dropped = {}
    if "dropout_if_training" in chosen:        # eval: skip the nn.Dropout module call altogether
        for m in holders:
            dropped[m] = m._modules.pop("dropout")
            object.__setattr__(m, "dropout", _identity)
    try:
        yield
    finally:
        rotary.RotaryEmbedding.rotate_queries_or_keys = _ONE_PATH["rotate_queries_or_keys"]
        rotary.RotaryEmbedding.rotate = _ONE_PATH["rotate"]
        blocks.RMSNorm.forward = _ONE_PATH["rms"]
        for m, module in dropped.items():
            object.__delattr__(m, "dropout")
            m._modules["dropout"] = module


BRANCHES = ("rotary_all_pairs", "rotary_autocast_check", "rmsnorm_float32", "dropout_if_training")
#: Columns of the transcription table: each fast path alone, both rotary ones, all four.
COLUMNS = BRANCHES + ("rotary_all_pairs+rotary_autocast_check", "+".join(BRANCHES))


#: CPU seconds of this process (``--clock cpu``, the default): on a machine shared with other jobs a
#: wall clock also counts the time the scheduler gave them, which swamps differences of a few per cent.
CLOCK = time.process_time


def interleaved(contenders: dict, rounds: int, calls: int = 1) -> dict:
    """Seconds per call of each ``name -> (fn, context)``: the fastest of ``rounds`` samples of ``calls`` calls.

    Every round times each contender once, in a fresh random order, so a burst of load from other
    processes lands on all of them alike; the minimum is the cost without interference.
    """
    best = {name: float("inf") for name in contenders}
    order = random.Random(0)
    names = list(contenders)
    for _ in range(rounds):
        order.shuffle(names)
        for name in names:
            fn, context = contenders[name]
            with context():
                fn()                                                     # warm: first call after a patch
                start = CLOCK()
                for _ in range(calls):
                    fn()
                best[name] = min(best[name], (CLOCK() - start) / calls)
    return best


def transcription_table(models: dict, clips: list, rounds: int) -> None:
    print("| model | as shipped (ms) | A/A | " + " | ".join(f"{c.replace('+', ' + ')} (×)" for c in COLUMNS) + " |")
    print("|---|---:|---:|" + "---:|" * len(COLUMNS))
    for label, model in models.items():
        def run(model=model):
            return transcribe(model, clips, method="greedy")   # the cached greedy step, for every model
        shipped = contextlib.nullcontext
        contenders = {"shipped": (run, shipped), "again": (run, shipped)}
        contenders.update({c: (run, lambda c=c, model=model: fast_path(c, model)) for c in COLUMNS})
        t = interleaved(contenders, rounds)
        ratios = [t["shipped"] / t["again"]] + [t["shipped"] / t[c] for c in COLUMNS]
        print(f"| {label} | {t['shipped'] * 1e3:.1f} | " + " | ".join(f"{r:.3f}" for r in ratios) + " |")


def call_table(model: Echo, rounds: int) -> None:
    """One call of each fast path's code at a decoding step's shape, shipped vs patched in, in µs."""
    dims = model.dims
    gen = torch.Generator().manual_seed(0)
    rope = next(m for m in model.modules() if isinstance(m, rotary.RotaryEmbedding))
    norm = next(m for m in model.modules() if isinstance(m, blocks.RMSNorm))
    mlp = next(m for m in model.modules() if isinstance(m, blocks.MLP))
    q = torch.randn(1, dims.text_head, 1, dims.text_head_dim, generator=gen)
    x = torch.randn(1, 1, dims.text_dims, generator=gen)
    calls = {"rotary_all_pairs": lambda: rope.rotate_queries_or_keys(q, offset=5),
             "rotary_autocast_check": lambda: rope.rotate_queries_or_keys(q, offset=5),
             "rmsnorm_float32": lambda: norm(x),
             "dropout_if_training": lambda: mlp.dropout(x)}
    print("\n| fast path (one call) | as shipped (µs) | with the fast path (µs) | shipped / fast |")
    print("|---|---:|---:|---:|")
    for name, fn in calls.items():
        with torch.inference_mode():
            t = interleaved({"shipped": (fn, contextlib.nullcontext),
                             "fast": (fn, lambda name=name: fast_path(name, model))}, rounds, calls=200)
        print(f"| {name} | {t['shipped'] * 1e6:.2f} | {t['fast'] * 1e6:.2f} | {t['shipped'] / t['fast']:.3f} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 clips, short runs")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="cpu = process CPU time (default; robust on a shared machine), wall = perf_counter")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved samples per contender (default 15)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    warnings.filterwarnings("ignore", message=".*max_tokens.*")
    models = {name: Echo.from_pretrained(ASSETS_DIR / name).eval() for name in ("echo-digits", "echo-an4")
              if (ASSETS_DIR / name / "model.safetensors").is_file()}
    samples = load_samples("digits")
    clips = [samples[i]["audio"] for i in range(2 if args.quick else 4)]
    rounds = 4 if args.quick else args.rounds
    print(f"fast paths on CPU ({args.clock} clock), {torch.get_num_threads()} threads, torch {torch.__version__}; greedy "
          f"transcription of {len(clips)} bundled digits clips; ratio = shipped / with the fast path\n")
    transcription_table(models, clips, rounds)
    call_table(next(iter(models.values())), rounds)


if __name__ == "__main__":
    main()
