"""Do the model's micro-optimisation branches pay? Each one against its own general path, in one process.

A "fast path" is a branch whose only purpose is speed: the result is the same (bit for bit) without it.
For each one this script times the thing its comment says it speeds up — greedy transcription of the
bundled sample clips with the bundled models (a cached decoding step runs every branch many times) —
with the branch as shipped and with the branch switched off (the general path only), interleaved in a
random order each round, fastest of ``--rounds`` samples, and prints ``general / as shipped``: above 1 the branch saves that much. A
second table times one call of each branch at a decoding step's shape ``(1, heads, 1, head_dim)`` /
``(1, 1, dims)``. An A/A row (the shipped code against itself) shows the noise floor. Nothing is asserted.

    python benchmarks/fast_paths.py                 # ~1-2 min on 2 CPU cores
    python benchmarks/fast_paths.py --quick --threads 1

Branches measured (switched off by patching in the general path for the run only):

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


def _rms_general(self, x):
    return F.rms_norm(x.float(), self.normalized_shape, self.weight.float(), self.eps).to(x.dtype)


def _rotate_general(self, t, cos, sin, sin_pm=None):
    with torch.autocast(device_type=t.device.type, enabled=False):
        return self._rotate(t, cos, sin, sin_pm)


@contextlib.contextmanager
def general_path(names: str, model: torch.nn.Module):
    """Run with the branches ``names`` (``+``-joined) switched off (general paths only); restore afterwards."""
    ropes = [m for m in model.modules() if isinstance(m, rotary.RotaryEmbedding)]
    saved = {"rotary_all_pairs": [r._all_pairs for r in ropes], "rmsnorm_float32": blocks.RMSNorm.forward,
             "rotary_autocast_check": rotary.RotaryEmbedding.rotate, "dropout_if_training": blocks.dropout_if_training}
    if "rotary_all_pairs" in names.split("+"):
        for r in ropes:
            r._all_pairs = False
    if "rotary_autocast_check" in names.split("+"):
        rotary.RotaryEmbedding.rotate = _rotate_general
    if "rmsnorm_float32" in names.split("+"):
        blocks.RMSNorm.forward = _rms_general
    if "dropout_if_training" in names.split("+"):
        blocks.dropout_if_training = lambda dropout, x: dropout(x)
    try:
        yield
    finally:
        for r, flag in zip(ropes, saved["rotary_all_pairs"]):
            r._all_pairs = flag
        rotary.RotaryEmbedding.rotate = saved["rotary_autocast_check"]
        blocks.RMSNorm.forward = saved["rmsnorm_float32"]
        blocks.dropout_if_training = saved["dropout_if_training"]


BRANCHES = ("rotary_all_pairs", "rotary_autocast_check", "rmsnorm_float32", "dropout_if_training")
#: Columns of the transcription table: each branch off alone, both rotary branches off, all four off.
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
    print("| model | as shipped (ms) | A/A | " + " | ".join(f"{c.replace('+', ' + ')} off (×)" for c in COLUMNS) + " |")
    print("|---|---:|---:|" + "---:|" * len(COLUMNS))
    for label, model in models.items():
        def run(model=model):
            return transcribe(model, clips)
        shipped = contextlib.nullcontext
        contenders = {"shipped": (run, shipped), "again": (run, shipped)}
        contenders.update({c: (run, lambda c=c, model=model: general_path(c, model)) for c in COLUMNS})
        t = interleaved(contenders, rounds)
        ratios = [t["again"] / t["shipped"]] + [t[c] / t["shipped"] for c in COLUMNS]
        print(f"| {label} | {t['shipped'] * 1e3:.1f} | " + " | ".join(f"{r:.3f}" for r in ratios) + " |")


def call_table(model: Echo, rounds: int) -> None:
    """One call of each branch at a decoding step's shape, fast vs general, in µs."""
    dims = model.dims
    gen = torch.Generator().manual_seed(0)
    rope = next(m for m in model.modules() if isinstance(m, rotary.RotaryEmbedding))
    norm = next(m for m in model.modules() if isinstance(m, blocks.RMSNorm))
    drop = next(m for m in model.modules() if isinstance(m, blocks.MLP)).dropout
    q = torch.randn(1, dims.text_head, 1, dims.text_head_dim, generator=gen)
    x = torch.randn(1, 1, dims.text_dims, generator=gen)
    calls = {"rotary_all_pairs": lambda: rope.rotate_queries_or_keys(q, offset=5),
             "rotary_autocast_check": lambda: rope.rotate_queries_or_keys(q, offset=5),
             "rmsnorm_float32": lambda: norm(x),
             "dropout_if_training": lambda: blocks.dropout_if_training(drop, x)}
    print("\n| branch (one call) | as shipped (µs) | general (µs) | general / shipped |")
    print("|---|---:|---:|---:|")
    for name, fn in calls.items():
        # the autocast check only runs on the general rotary path: measure it there
        base = "rotary_all_pairs" if name == "rotary_autocast_check" else ""
        with torch.inference_mode():
            t = interleaved({"shipped": (fn, lambda base=base: general_path(base, model)),
                             "general": (fn, lambda name=name, base=base: general_path(f"{base}+{name}", model))},
                            rounds, calls=200)
        print(f"| {name} | {t['shipped'] * 1e6:.2f} | {t['general'] * 1e6:.2f} | {t['general'] / t['shipped']:.3f} |")


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
          f"transcription of {len(clips)} bundled digits clips; ratio = general path / as shipped\n")
    transcription_table(models, clips, rounds)
    call_table(next(iter(models.values())), rounds)


if __name__ == "__main__":
    main()
