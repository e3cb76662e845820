"""Leave-one-engine-out: does a model trained on one speech engine understand another?

Rows (the bundled model's architecture, the same optimizer steps, batch size and number of training
clips in every row; several seeds each):

* ``espeak -> piper``  train on espeak-ng only, test on piper (an engine it never heard) and on
  espeak-ng's held-out voices;
* ``piper -> espeak``  the reverse;
* ``both -> held-out`` train on both (half the clips from each), test on the held-out voices of each.

Every row is one digits corpus (the bundled model's, ``build_corpus("digits", 5000)``) split by its
``engine`` column, so no extra synthesis is needed. Each row runs under two conditions:

* ``plain``  Whisper-style log-mel, no augmentation (the baseline the issue measured);
* ``cmvn``   per-utterance CMVN inside the encoder (``Dimensions.feature_norm="cmvn"``);
* ``cmvn + light augment``  CMVN and on-the-fly augmentation (``TrainConfig.augment``: speed, pitch,
  VTLP, noise, reverberation, band-limiting, gain, SpecAugment) at half the default probabilities
  (:data:`LIGHT_AUGMENT`) — the two tools ``echo_edu`` offers against unseen voices.
  (``cmvn + augment`` and ``augment`` use the full defaults; see :data:`LIGHT_AUGMENT` for why they are
  not in the default set.)

Results go to ``assets/results/leave_one_engine_out.json`` (every run, plus mean ± sd per row) and a
markdown table beside it; notebook 11 and the README read them. Finished runs are kept, so an
interrupted experiment continues where it stopped (same budget).

    python benchmarks/leave_one_engine_out.py                      # the reported budget (~90 min, 1 core)
    python benchmarks/leave_one_engine_out.py --quick --output /tmp/loeo.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
ROWS = {  # name: (training engines, {test set name: test engines})
    "espeak -> piper": (("espeak",), {"unseen engine (piper)": ("piper",), "held-out voices (espeak)": ("espeak",)}),
    "piper -> espeak": (("piper",), {"unseen engine (espeak)": ("espeak",), "held-out voices (piper)": ("piper",)}),
    "both -> held-out": (("espeak", "piper"), {"held-out voices (espeak)": ("espeak",),
                                               "held-out voices (piper)": ("piper",)}),
}
#: Half-strength augmentation. At this budget (1000 steps) the defaults (``AugmentConfig()``) slow
#: learning so much that the model has not started to transcribe when training ends (measured: loss
#: 0.53 vs 0.004 without, WER 93 % even on held-out voices of the training engine).
LIGHT_AUGMENT = dict(p_speed=0.3, p_pitch=0.2, p_vtlp=0.2, p_reverb=0.15, p_noise=0.3, snr_db=(10.0, 30.0),
                     p_telephone=0.05, p_gain=0.5, p_specaugment=0.5)
#: name: (Dimensions.feature_norm, on-the-fly augmentation: None, "default" or "light")
CONDITIONS = {"plain": ("none", None), "cmvn": ("cmvn", None), "cmvn + light augment": ("cmvn", "light"),
              "cmvn + augment": ("cmvn", "default"), "augment": ("none", "default")}
#: The bundled model's architecture (tools/train_bundled.py), on the ``small`` preset.
ARCHITECTURE = dict(audio_ctx=192, audio_dims=128, audio_head=4, audio_layerA=3, text_ctx=64, text_dims=128,
                    text_head=4, text_layerA=1)


def engine_rows(split, engines: tuple[str, ...], limit: int | None, seed: int) -> list[int]:
    """Indices of ``split`` spoken by ``engines``: ``limit`` of them in all, an equal seeded share per engine."""
    column = list(split["engine"])
    chosen = []
    for k, engine in enumerate(engines):
        mine = [i for i, e in enumerate(column) if e == engine]
        if limit is not None:
            share = limit // len(engines) + (1 if k < limit % len(engines) else 0)
            order = torch.randperm(len(mine), generator=torch.Generator().manual_seed(seed))
            mine = sorted(mine[int(j)] for j in order[:share])
        chosen += mine
    return sorted(chosen)


def test_rows(split, engines: tuple[str, ...], limit: int | None) -> list[dict]:
    """The test clips of ``engines`` (``limit`` of them, spread out), audio copied into writable arrays."""
    import numpy as np

    from echo_edu.data.collate import select_rows
    from echo_edu.evaluate import evaluation_subset

    idx = engine_rows(split, engines, None, 0)
    idx = [idx[i] for i in evaluation_subset(len(idx), limit)]
    rows = select_rows(split, idx)
    return [{**r, "audio": {**r["audio"], "array": np.array(r["audio"]["array"], dtype=np.float32)}} for r in rows]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="digits")
    p.add_argument("--n", type=int, default=5000, help="clips in the corpus (all splits, both engines)")
    p.add_argument("--corpus-seed", type=int, default=0)
    p.add_argument("--train-clips", type=int, default=2000, help="training clips per row (equal share per engine)")
    p.add_argument("--steps", type=int, default=1000, help="optimizer steps per run (the same in every row)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--conditions", nargs="+", default=["plain", "cmvn", "cmvn + light augment"],
                   choices=list(CONDITIONS))
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--test-limit", type=int, default=250, help="test clips per test set")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--output", default=str(ROOT / "assets" / "results" / "leave_one_engine_out.json"))
    p.add_argument("--quick", action="store_true", help="smoke test: tiny model and corpus, a few steps")
    p.add_argument("--report", action="store_true", help="only rewrite the markdown table from --output")
    args = p.parse_args(argv)
    args.architecture = dict(ARCHITECTURE)
    if args.quick:
        args.n, args.train_clips, args.steps, args.batch_size = 40, 8, 2, 4
        args.seeds, args.test_limit = args.seeds[:1], 3
        args.architecture.update(audio_ctx=150, audio_dims=32, audio_head=2, audio_layerA=1, text_dims=32, text_head=2)
    args.argv = sys.argv[1:] if argv is None else list(argv)
    return args


def run_one(args, corpus, test_sets, row: str, condition: str, seed: int) -> dict:
    """Train one model for ``row`` under ``condition`` and score it on the row's test sets."""
    from echo_edu.augmentation import AugmentConfig
    from echo_edu.dimensions import Dimensions
    from echo_edu.evaluate import evaluate_model
    from echo_edu.model import Echo
    from echo_edu.tokenizer import build_tokenizer
    from echo_edu.train import TrainConfig, train
    from echo_edu.utils import set_seed

    train_engines, tests = ROWS[row]
    feature_norm, strength = CONDITIONS[condition]
    augment = strength is not None
    tokenizer = build_tokenizer()
    set_seed(seed)
    model = Echo(Dimensions.small(vocab=len(tokenizer), feature_norm=feature_norm, **args.architecture))
    config = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, min_lr=args.lr / 100,
                         warmup_steps=min(60, max(1, args.steps // 10)), seed=seed, eval_every=0,
                         progress=not args.quick, output_dir=None, cache_features=not augment,
                         augment=None if strength is None else
                         AugmentConfig(**(LIGHT_AUGMENT if strength == "light" else {})).to_dict())
    train_split = corpus["train"].select(engine_rows(corpus["train"], train_engines, args.train_clips, seed))
    history = train(model, {"train": train_split}, config, tokenizer=tokenizer)
    result = {"row": row, "condition": condition, "seed": seed, "feature_norm": feature_norm, "augment": strength,
              "train_engines": list(train_engines), "train_clips": len(train_split),
              "train_seconds": history.seconds, "final_loss": history.train[-1]["loss"] if history.train else None,
              "tests": {}}
    for name, engines in tests.items():
        report = evaluate_model(model, test_sets[engines], tokenizer)
        result["tests"][name] = {"wer": report.overall.wer, "cer": report.overall.cer, "n": report.overall.n,
                                 "per_voice": {k: v.wer for k, v in report.per_voice.items()}}
    return result


def summarise(runs: list[dict]) -> list[dict]:
    """Mean and sample sd of WER/CER over seeds, per (row, condition, test set), in ROWS/CONDITIONS order."""
    groups: dict[tuple, list[dict]] = {}
    for run in runs:
        for test, score in run["tests"].items():
            groups.setdefault((run["row"], run["condition"], test), []).append(score)
    order = {name: i for i, name in enumerate([*ROWS, *CONDITIONS])}
    out = []
    for (row, condition, test), scores in sorted(groups.items(), key=lambda kv: (order[kv[0][0]], kv[0][2],
                                                                                   order[kv[0][1]])):
        wers, cers = [s["wer"] for s in scores], [s["cer"] for s in scores]
        out.append({"row": row, "condition": condition, "test": test, "seeds": len(scores),
                    "wer_mean": statistics.mean(wers), "wer_sd": statistics.stdev(wers) if len(wers) > 1 else 0.0,
                    "cer_mean": statistics.mean(cers), "cer_sd": statistics.stdev(cers) if len(cers) > 1 else 0.0})
    return out


def markdown(result: dict) -> str:
    b = result["budget"]
    minutes = statistics.mean(r["train_seconds"] for r in result["runs"]) / 60
    seeds = sorted({r["seed"] for r in result["runs"]})
    lines = [f"Leave-one-engine-out, task `{b['task']}`: the bundled model's architecture, {b['steps']} steps × "
             f"batch {b['batch_size']}, {b['train_clips']} training clips per run, seeds {seeds}, "
             f"about {minutes:.0f} min of training per run on one thread of a busy 2-core CPU."
             + (" **Smoke test (--quick): these numbers mean nothing.**" if result.get("quick") else ""), "",
             "| trained on | tested on | condition | WER (mean ± sd) | CER (mean ± sd) | seeds |",
             "|---|---|---|---:|---:|---:|"]
    for s in result["summary"]:
        spread = (lambda sd: f" ± {100 * sd:.1f}" if s["seeds"] > 1 else "")
        lines.append(f"| {s['row'].split(' -> ')[0]} | {s['test']} | {s['condition']} | "
                     f"{100 * s['wer_mean']:.1f}{spread(s['wer_sd'])} % | "
                     f"{100 * s['cer_mean']:.1f}{spread(s['cer_sd'])} % | {s['seeds']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from echo_edu.data import build_corpus

    args = parse_args(argv)
    if args.report:
        result = json.loads(Path(args.output).read_text())
        result["summary"] = summarise(result["runs"])
        Path(args.output).with_suffix(".md").write_text(markdown(result))
        print(markdown(result))
        return 0
    torch.set_num_threads(1)     # one thread per run: the fastest per core on a shared machine
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    budget = {k: getattr(args, k) for k in ("task", "n", "corpus_seed", "train_clips", "steps", "batch_size", "lr",
                                            "seeds", "test_limit", "architecture")}
    previous = json.loads(output.read_text()) if output.exists() else {}
    runs = previous.get("runs", []) if previous.get("budget") == budget else []
    corpus = build_corpus(args.task, args.n, args.corpus_seed, engines=("espeak", "piper"),
                          cache_dir=args.cache_dir, progress=not args.quick)
    test_sets = {engines: test_rows(corpus["test"], engines, args.test_limit)
                 for engines in {e for r in args.rows for e in ROWS[r][1].values()}}
    for seed in args.seeds:              # seed-major: an interrupted run still has every row and condition
        for condition in args.conditions:
            for row in args.rows:
                if any(r["row"] == row and r["seed"] == seed and r["condition"] == condition for r in runs):
                    continue
                t0 = time.perf_counter()
                runs.append(run_one(args, corpus, test_sets, row, condition, seed))
                scores = ", ".join(f"{k}: WER {100 * v['wer']:.1f} %" for k, v in runs[-1]["tests"].items())
                print(f"[{row} | {condition} | seed {seed}] {scores} ({time.perf_counter() - t0:.0f} s)", flush=True)
                result = {"budget": budget, "command": "python benchmarks/leave_one_engine_out.py " + " ".join(args.argv),
                          "machine": {"python": platform.python_version(), "torch": torch.__version__,
                                      "device": "cuda" if torch.cuda.is_available() else "cpu",
                                      "threads": torch.get_num_threads()},
                          "quick": args.quick, "runs": runs, "summary": summarise(runs)}
                output.write_text(json.dumps(result, indent=1))
                output.with_suffix(".md").write_text(markdown(result))
    if output.exists():
        print(output.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
