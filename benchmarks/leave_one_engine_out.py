"""Leave-one-engine-out: does a model trained on one speech engine understand another?

Rows (same model size, same optimizer steps and batch size in every row; several seeds each):

* ``espeak -> piper``  train on espeak-ng only, test on piper (an engine it never heard) and on
  espeak-ng's held-out voices;
* ``piper -> espeak``  the reverse;
* ``both -> held-out`` train on both, test on the held-out voices of each engine.

Each row runs without and with on-the-fly augmentation (``echo_edu.augmentation``). Results go to
``assets/results/leave_one_engine_out.json`` (every run, plus mean ± sd per row) and a markdown table
beside it; notebook 11 and the README read them. Finished runs are kept, so an interrupted experiment
continues where it stopped. The full budget takes hours on a CPU; ``--quick`` is a smoke test.

    python benchmarks/leave_one_engine_out.py                      # the full experiment
    python benchmarks/leave_one_engine_out.py --quick --output /tmp/loeo.json

How augmentation reaches training: when ``TrainConfig`` has an ``augment`` field (the collator applies
the ``Augmenter`` and feature normalisation), it is used; otherwise the training split is wrapped so each
clip's waveform is augmented, freshly and seeded, every time the trainer reads it (waveform effects only).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
ROWS = {  # name: (training engines, {test set name: (corpus engines, engine filter)})
    "espeak -> piper": (("espeak",), {"unseen engine (piper)": ("piper",), "held-out voices (espeak)": ("espeak",)}),
    "piper -> espeak": (("piper",), {"unseen engine (espeak)": ("espeak",), "held-out voices (piper)": ("piper",)}),
    "both -> held-out": (("espeak", "piper"), {"held-out voices (espeak)": ("espeak",),
                                               "held-out voices (piper)": ("piper",)}),
}


class AugmentedSplit:
    """A training split whose rows come back with freshly augmented audio on every read.

    The generator of the ``k``-th read of row ``i`` is seeded with ``(seed, i, k)``, so a run is
    reproducible while every epoch hears a different version of each clip.
    """

    def __init__(self, rows, augmenter, seed: int):
        self.rows, self.augmenter, self.seed = rows, augmenter, seed
        self.reads: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        from echo_edu.audio import SAMPLE_RATE

        row = dict(self.rows[int(i)])
        k = self.reads.get(int(i), 0)
        self.reads[int(i)] = k + 1
        generator = torch.Generator().manual_seed((self.seed * 1_000_003 + int(i)) * 1_000_003 + k)
        wave = torch.tensor(row["audio"]["array"], dtype=torch.float32).reshape(-1)   # a copy
        wave = self.augmenter.augment_waveform(wave, SAMPLE_RATE, generator)
        row["audio"] = {"array": wave.numpy(), "sampling_rate": SAMPLE_RATE}
        return row


def test_rows(split, limit: int | None) -> list[dict]:
    """``limit`` test rows spread over ``split``, with their audio copied into ordinary (writable) arrays."""
    import numpy as np

    from echo_edu.collate import select_rows
    from echo_edu.evaluate import evaluation_subset

    rows = select_rows(split, evaluation_subset(len(split), limit))
    return [{**r, "audio": {**r["audio"], "array": np.array(r["audio"]["array"], dtype=np.float32)}} for r in rows]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="digits")
    p.add_argument("--n", type=int, default=3000, help="clips per corpus (each row's corpus has this many)")
    p.add_argument("--corpus-seed", type=int, default=0)
    p.add_argument("--preset", default="small", help="Dimensions preset (tiny, small)")
    p.add_argument("--steps", type=int, default=1500, help="optimizer steps per run (the same in every row)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--augment", nargs="+", default=["off", "on"], choices=["off", "on"])
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--test-limit", type=int, default=300, help="test clips per test set")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--output", default=str(ROOT / "assets" / "results" / "leave_one_engine_out.json"))
    p.add_argument("--quick", action="store_true", help="smoke test: tiny model, tiny corpora, a few steps")
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.preset, args.steps, args.batch_size = 30, "small", 2, 4
        args.seeds, args.test_limit = args.seeds[:1], 4
    args.argv = sys.argv[1:] if argv is None else list(argv)
    return args


def train_config(args, seed: int, augment: bool):
    """The run's ``TrainConfig``; with an ``augment`` field it carries the augmentation itself."""
    from echo_edu.augmentation import AugmentConfig
    from echo_edu.train import TrainConfig

    options = dict(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=seed, eval_every=0,
                   warmup_steps=min(100, max(1, args.steps // 10)), progress=not args.quick, output_dir=None)
    native = "augment" in {f.name for f in dataclasses.fields(TrainConfig)}
    if native:
        options["augment"] = AugmentConfig().to_dict() if augment else None
    return TrainConfig(**options), native


def run_one(args, corpora, test_sets, row: str, seed: int, augment: bool) -> dict:
    """Train one model for ``row`` and score it on the row's test sets."""
    from echo_edu.augmentation import Augmenter
    from echo_edu.dimensions import Dimensions
    from echo_edu.evaluate import evaluate_model
    from echo_edu.model import Echo
    from echo_edu.tokenizer import build_tokenizer
    from echo_edu.utils import set_seed

    train_engines, tests = ROWS[row]
    corpus = corpora[train_engines]
    tokenizer = build_tokenizer()
    set_seed(seed)
    model = Echo(getattr(Dimensions, args.preset)(vocab=len(tokenizer)))
    config, native = train_config(args, seed, augment)
    train_split = corpus["train"]
    if augment and not native:
        train_split = AugmentedSplit(train_split, Augmenter(), seed)
    from echo_edu.train import train

    history = train(model, {"train": train_split}, config, tokenizer=tokenizer)
    result = {"row": row, "seed": seed, "augment": augment, "augment_path": "collator" if native else "waveform wrapper",
              "train_engines": list(train_engines), "train_clips": len(corpus["train"]),
              "train_seconds": history.seconds, "final_loss": history.train[-1]["loss"] if history.train else None,
              "tests": {}}
    for name, engines in tests.items():
        report = evaluate_model(model, test_sets[engines], tokenizer)
        result["tests"][name] = {"wer": report.overall.wer, "cer": report.overall.cer, "n": report.overall.n,
                                 "per_voice": {k: v.wer for k, v in report.per_voice.items()}}
    return result


def summarise(runs: list[dict]) -> list[dict]:
    """Mean and sample sd of WER/CER over seeds, per (row, augmentation, test set)."""
    groups: dict[tuple, list[dict]] = {}
    for run in runs:
        for test, score in run["tests"].items():
            groups.setdefault((run["row"], run["augment"], test), []).append(score)
    out = []
    for (row, augment, test), scores in groups.items():
        wers, cers = [s["wer"] for s in scores], [s["cer"] for s in scores]
        out.append({"row": row, "augment": augment, "test": test, "seeds": len(scores),
                    "wer_mean": statistics.mean(wers), "wer_sd": statistics.stdev(wers) if len(wers) > 1 else 0.0,
                    "cer_mean": statistics.mean(cers), "cer_sd": statistics.stdev(cers) if len(cers) > 1 else 0.0})
    return out


def markdown(result: dict) -> str:
    b = result["budget"]
    lines = [f"Leave-one-engine-out, task `{b['task']}`: preset `{b['preset']}`, {b['steps']} steps × batch "
             f"{b['batch_size']} per run, {b['n']} clips per corpus, seeds {b['seeds']}."
             + (" **Smoke test (--quick): these numbers mean nothing.**" if result.get("quick") else ""), "",
             "| trained on | tested on | augmentation | WER (mean ± sd) | CER (mean ± sd) | seeds |",
             "|---|---|---|---|---|---|"]
    for s in result["summary"]:
        lines.append(f"| {s['row'].split(' -> ')[0]} | {s['test']} | {'on' if s['augment'] else 'off'} | "
                     f"{100 * s['wer_mean']:.1f} ± {100 * s['wer_sd']:.1f} % | "
                     f"{100 * s['cer_mean']:.1f} ± {100 * s['cer_sd']:.1f} % | {s['seeds']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from echo_edu.data import build_corpus

    args = parse_args(argv)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    budget = {k: getattr(args, k) for k in ("task", "n", "corpus_seed", "preset", "steps", "batch_size", "lr",
                                            "seeds", "test_limit")}
    previous = json.loads(output.read_text()) if output.exists() else {}
    runs = previous.get("runs", []) if previous.get("budget") == budget else []
    corpora = {}
    for engines in {ROWS[r][0] for r in args.rows} | {e for r in args.rows for e in ROWS[r][1].values()}:
        corpora[engines] = build_corpus(args.task, args.n, args.corpus_seed, engines=engines,
                                        cache_dir=args.cache_dir, progress=not args.quick)
    test_sets = {engines: test_rows(corpus["test"], args.test_limit) for engines, corpus in corpora.items()}
    for row in args.rows:
        for augment in (a == "on" for a in args.augment):
            for seed in args.seeds:
                if any(r["row"] == row and r["seed"] == seed and r["augment"] == augment for r in runs):
                    continue
                t0 = time.perf_counter()
                runs.append(run_one(args, corpora, test_sets, row, seed, augment))
                scores = ", ".join(f"{k}: WER {100 * v['wer']:.1f} %" for k, v in runs[-1]["tests"].items())
                print(f"[{row} | augment {'on' if augment else 'off'} | seed {seed}] {scores} "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
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
