"""Does synthetic speech help a real low-resource task? Train the echo-an4 recipe on each data mixture.

    python tools/an4_experiment.py --steps 400 --seeds 0 1            # 3 mixtures x 2 seeds, then the table
    python tools/an4_experiment.py --steps 400 --seeds 0 --mixes both --attention integrated myelinated
    python tools/an4_experiment.py --table-only                       # rebuild the table from finished runs

Every arm uses ``tools/train_an4.py``'s architecture, schedule and augmentation, shortened to ``--steps``
(the same budget for every arm); only the data differ (``--mix``): the real recordings, the AN4-domain
synthetic speech, or both. Each arm is scored on AN4 dev (greedy), once on AN4 test, and on the real
speakers no arm heard (the FSDD and Speech Commands test speakers). Runs land in ``<out>/<mix>-s<seed>``
(``<mix>-<attention>-s<seed>`` for an Echo attention type in the encoder, ``--attention``) and are
skipped when already finished; the table (mean and standard deviation over seeds) is written to
``<out>/table.md`` and ``<out>/table.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from echo_edu import Echo                                      # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
from an4_report import held_out                                # noqa: E402
from echo_edu.attention import ATTENTION_TYPES                 # noqa: E402
from train_an4 import MIXES                                    # noqa: E402

#: Clips scored of each unseen-speaker set per arm (spread over the set); beam search is left out: time.
UNSEEN_CLIPS = 300
#: Table columns: (label, where the WER lives in an arm's scores).
COLUMNS = (("AN4 dev", "dev"), ("AN4 dev, CTC head", "dev_ctc"), ("AN4 test", "test"),
           ("Speech Commands unseen", "commands"), ("FSDD unseen", "fsdd"))


def arm_folder(out: Path, mix: str, seed: int, attention: str = "standard") -> Path:
    """Where one arm's run lives: ``<mix>-s<seed>``, or ``<mix>-<attention>-s<seed>`` for an Echo type."""
    return out / (f"{mix}-s{seed}" if attention == "standard" else f"{mix}-{attention}-s{seed}")


def run_arm(out: Path, mix: str, seed: int, steps: int, data_root: Path, threads: int,
            attention: str = "standard") -> None:
    """Train and score one arm into ``<folder>/scores.json`` (nothing to do when it finished before)."""
    folder = arm_folder(out, mix, seed, attention)
    scores_path = folder / "scores.json"
    if scores_path.exists():
        return
    subprocess.run([sys.executable, str(ROOT / "tools" / "train_an4.py"), "--data-root", str(data_root),
                    "--output", str(folder), "--mix", mix, "--seed", str(seed), "--steps", str(steps),
                    "--threads", str(threads), "--attention", attention, "--score-test"], check=True)
    log = json.loads((folder / "training_log.json").read_text())
    extra = held_out(Echo.from_pretrained(folder), data_root, methods=("greedy", "ctc"), limit=UNSEEN_CLIPS,
                     decoding="greedy")
    scores = {"mix": mix, "attention": attention, "seed": seed, "steps": log["steps"], "train_seconds": log["train_seconds"],
              "dev": log["dev"]["overall"], "test": log["test"]["overall"],
              "commands": extra["commands_test_speakers"]["overall"], "fsdd": extra["fsdd_test_speaker"]["overall"],
              "dev_ctc": extra["an4_dev_by_method"]["ctc"], "dev_by_method": extra["an4_dev_by_method"]}
    scores_path.write_text(json.dumps(scores, indent=1))


def summarise(arms: list[dict], key: str = "mix") -> dict:
    """``{arm[key]: {column: {wer, wer_sd, cer, seeds, wer_each}}}`` over the finished arms (WER, CER in %)."""
    table = {}
    for name in dict.fromkeys(a[key] for a in arms):
        runs = [a for a in arms if a[key] == name]
        table[name] = {}
        for _, column in COLUMNS:
            wer = [100 * r[column]["wer"] for r in runs]
            cer = [100 * r[column]["cer"] for r in runs]
            table[name][column] = {"wer": statistics.fmean(wer), "wer_sd": statistics.stdev(wer) if len(wer) > 1 else None,
                               "cer": statistics.fmean(cer), "seeds": [r["seed"] for r in runs],
                               "wer_each": wer}
    return table


def markdown(table: dict, steps: int, first: str = "training data") -> str:
    lines = [f"WER % (mean ± sd over seeds; CER % in brackets), {steps} steps of 32 clips per arm; greedy decoding "
             "of the attention decoder except the CTC-head column.",
             "", f"| {first} | " + " | ".join(label for label, _ in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for mix, cols in table.items():
        cells = []
        for _, key in COLUMNS:
            c = cols[key]
            sd = f" ± {c['wer_sd']:.1f}" if c["wer_sd"] is not None else ""
            cells.append(f"{c['wer']:.1f}{sd} ({c['cer']:.1f})")
        lines.append(f"| {mix} (seeds {', '.join(map(str, cols['dev']['seeds']))}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "an4-experiment")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--mixes", nargs="+", choices=sorted(MIXES), default=list(MIXES))
    parser.add_argument("--attention", nargs="+", choices=ATTENTION_TYPES, default=["standard"],
                        help="self-attention of the encoder's last blocks (train_an4.py --attention)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--table-only", action="store_true", help="only rebuild the table from finished arms")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.table_only:
        for seed in args.seeds:
            for attention in args.attention:
                for mix in args.mixes:
                    run_arm(args.out, mix, seed, args.steps, args.data_root, args.threads, attention)
    # the table covers every finished arm in --out, whichever command trained it
    arms = [json.loads(p.read_text()) for p in sorted(args.out.glob("*-s*/scores.json"))]
    for arm in arms:
        arm.setdefault("attention", "standard")
    standard = [a for a in arms if a["attention"] == "standard"]
    table = dict(sorted(summarise(standard).items(), key=lambda row: list(MIXES).index(row[0])))
    # the attention comparison: every type trained on the model's data (both), beside standard
    attention = summarise([a for a in arms if a["mix"] == "both"], key="attention")
    (args.out / "table.json").write_text(json.dumps({"steps": args.steps, "table": table, "attention": attention,
                                                     "arms": arms}, indent=1))
    text = markdown(table, args.steps) + "\n\n" + markdown(attention, args.steps, "encoder attention (data: both)")
    (args.out / "table.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
