"""Ablation: which attention type and which rotary mode helps Echo on the digits task?

Every variant is the same small Echo (one standard layer-A block and one layer-B block on each side),
trained on the same digits corpus with the same optimizer steps and batch size, then scored by greedy
decoding on the held-out-voice test split. Variants:

* attention (the layer-B self-attention; rotary standard): ``standard``, ``myelinated``, ``integrated``,
  ``adaptive``;
* rotary mode (attention standard): ``rotary none``, ``rotary quaternion``, ``rotary projection``
  (``rotary standard`` is the ``standard`` row).

Several seeds per variant; the result file ``assets/results/ablation.json`` keeps every run and a
mean ± sd summary, and ``assets/results/ablation.md`` the table (notebook 09 and the README read them).
Finished runs are kept, so an interrupted experiment continues where it stopped.

    python benchmarks/ablation.py                                   # the reported budget (~45 min on one core)
    python benchmarks/ablation.py --steps 60 --n 400 --seeds 0 1    # a tiny budget (minutes)
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "standard": {},
    "myelinated": {"self_attention_type": "myelinated"},
    "integrated": {"self_attention_type": "integrated"},
    "adaptive": {"self_attention_type": "adaptive"},
    "rotary none": {"rotary": False},
    "rotary quaternion": {"use_quaternion": True},
    "rotary projection": {"use_quaternion": True, "use_projection": True},
}


def base_dims(audio_ctx: int, width: int, **changes):
    from echo_edu.dimensions import Dimensions

    return Dimensions(audio_ctx=audio_ctx, audio_dims=width, audio_head=4, audio_layerA=1, audio_layerB=1,
                      text_ctx=64, text_dims=width, text_head=4, text_layerA=1, text_layerB=1, **changes)


def run_one(variant: str, seed: int, corpus, args) -> dict:
    from echo_edu.evaluate import evaluate_model
    from echo_edu.model import Echo
    from echo_edu.train import TrainConfig, train
    from echo_edu.utils import set_seed

    longest = max(float(d) for d in corpus["train"]["duration"])
    dims = base_dims(math.ceil(longest * 50), args.width, **VARIANTS[variant])
    set_seed(seed)
    model = Echo(dims)
    config = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, warmup_steps=args.steps // 10,
                         seed=seed, progress=False, log_every=max(1, args.steps // 20), cache_features=True)
    t0 = time.perf_counter()
    history = train(model, {"train": corpus["train"]}, config)
    seconds = time.perf_counter() - t0
    report = evaluate_model(model, corpus["test"], limit=args.test_limit)
    return {"variant": variant, "seed": seed, "wer": report.overall.wer, "cer": report.overall.cer,
            "test_clips": report.overall.n, "parameters": model.num_parameters(), "train_seconds": seconds,
            "final_loss": history.train[-1]["loss"], "dims": dims.to_dict()}


def summarise(runs: list[dict]) -> list[dict]:
    rows = []
    for variant in VARIANTS:
        mine = [r for r in runs if r["variant"] == variant]
        if not mine:
            continue
        wer, cer = [100 * r["wer"] for r in mine], [100 * r["cer"] for r in mine]
        sd = (lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0)
        rows.append({"variant": variant, "seeds": len(mine), "parameters": mine[0]["parameters"],
                     "wer_mean": statistics.mean(wer), "wer_sd": sd(wer), "cer_mean": statistics.mean(cer),
                     "cer_sd": sd(cer), "train_seconds": statistics.mean(r["train_seconds"] for r in mine),
                     "final_loss": statistics.mean(r["final_loss"] for r in mine)})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="digits clips in the corpus (all splits)")
    parser.add_argument("--steps", type=int, default=1000, help="optimizer steps per run")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--width", type=int, default=128, help="audio_dims = text_dims")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--test-limit", type=int, default=300, help="score only this many test clips")
    parser.add_argument("--output", default=str(ROOT / "assets" / "results" / "ablation.json"))
    parser.add_argument("--note", default=None, help="a sentence shown under the budget line")
    parser.add_argument("--fresh", action="store_true", help="ignore finished runs in --output")
    args = parser.parse_args(argv)

    from echo_edu.data import build_corpus
    from echo_edu.viz.training import ablation_markdown

    torch.set_num_threads(1)   # one thread: the fastest per core on a shared machine, and comparable timings
    corpus = build_corpus("digits", args.n, seed=0, progress=False)
    out = Path(args.output)
    budget = (f"digits corpus n={args.n} (train {len(corpus['train'])}, test {len(corpus['test'])} held-out-voice "
              f"clips{'' if args.test_limit is None else f', {args.test_limit} scored'}); {args.steps} steps x batch "
              f"{args.batch_size}, lr {args.lr}, width {args.width}; seeds {args.seeds}; {platform.processor() or 'cpu'}, "
              f"{torch.get_num_threads()} threads")
    keep = ("n", "steps", "batch_size", "lr", "width", "test_limit")
    settings = {k: getattr(args, k) for k in keep}
    runs = []
    if out.exists() and not args.fresh:
        old = json.loads(out.read_text())
        if old.get("settings") == settings:
            runs = old["runs"]
    for seed in args.seeds:              # seed-major: an interrupted run still has every variant
        for variant in args.variants:
            if any(r["variant"] == variant and r["seed"] == seed for r in runs):
                continue
            result = run_one(variant, seed, corpus, args)
            runs.append(result)
            print(f"{variant:>18} seed {seed}: WER {100 * result['wer']:.1f} %  CER {100 * result['cer']:.1f} %  "
                  f"({result['train_seconds']:.0f} s)", flush=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            data = {"budget": budget, "settings": settings, "note": args.note, "command": "python benchmarks/ablation.py " +
                    " ".join(argv or []), "runs": runs, "summary": summarise(runs)}
            out.write_text(json.dumps(data, indent=1))
    table = ablation_markdown(out)
    out.with_suffix(".md").write_text("# Ablation (benchmarks/ablation.py)\n\n" + table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
