"""Reproduce the bundled digits model ``assets/echo-digits/`` on a CPU, and write its model card.

    python tools/train_bundled.py                 # corpus (cached after the first run) + training + card
    python tools/train_bundled.py --card-only     # rewrite MODEL_CARD.md from training_log.json

It is ``echo-edu train`` with the recipe below fixed (any ``echo-edu train`` flag may be added to
override it). Training checkpoints every ``--save-every`` steps into ``--checkpoint-dir``; running the
same command again resumes there, so an interrupted run loses at most that many steps. After
training, the model is scored on the held-out-voice test split and ``MODEL_CARD.md`` is written from
the measured numbers (``training_log.json`` beside the weights keeps everything).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "assets" / "echo-digits"

#: The recipe: every flag of ``echo-edu train`` that differs from its default.
RECIPE = [
    "--task", "digits", "--n", "5000", "--corpus-seed", "0", "--engines", "espeak", "piper",
    "--preset", "small",
    "--dims", "audio_ctx=192", "audio_dims=128", "audio_head=4", "audio_layerA=3",
    "text_ctx=64", "text_dims=128", "text_head=4", "text_layerA=1",
    "--steps", "2000", "--batch-size", "16", "--lr", "2e-3", "--min-lr", "2e-5", "--warmup-steps", "60",
    "--weight-decay", "0.05", "--grad-clip", "1.0", "--seed", "0",
    "--eval-every", "200", "--eval-samples", "64", "--save-every", "50", "--log-every", "10", "--cache-features", "--threads", "1",
]


def _table(rows: dict, title: str) -> str:
    lines = [f"| {title} | clips | words | WER % | CER % |", "|---|---:|---:|---:|---:|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['n']} | {r['words']} | {100 * r['wer']:.2f} | {100 * r['cer']:.2f} |")
    return "\n".join(lines)


def write_model_card(output: Path, argv: list[str]) -> Path:
    """``MODEL_CARD.md`` in ``output`` from its ``training_log.json``."""
    log = json.loads((output / "training_log.json").read_text())
    dims, config, corpus = log["dims"], log["config"], log["corpus"]
    size_mb = (output / "model.safetensors").stat().st_size / 1e6
    hist = log["history"]
    test = log.get("test")
    finished = hist["step"] == config["steps"]
    world = log.get("world_size", 1)
    launcher = f"torchrun --nproc_per_node {world} " if world > 1 else "python "
    lines = [
        "# echo-digits: the bundled Echo model", "",
        "A small Echo encoder–decoder that transcribes spoken digit strings (\"four oh seven two\"). It is the",
        "lessons' model (the CLI's default is echo-an4, trained on real speech). Trained from scratch on",
        "speech synthesised locally by espeak-ng and piper; no downloaded data or weights.", "",
        "## Results on the held-out-voice test split", "",
    ]
    if test:
        o = test["overall"]
        lines += [f"**WER {100 * o['wer']:.2f} %, CER {100 * o['cer']:.2f} %** on {o['n']} test clips "
                  f"({o['words']} words) spoken by voices never heard in training, greedy decoding.", "",
                  _table(test["per_engine"], "engine"), "", "<details><summary>per voice</summary>", "",
                  _table(test["per_voice"], "voice"), "", "</details>", ""]
    else:
        lines += ["(not scored yet)", ""]
    if test and test["overall"]["wer"] > 0.02:
        worst = max(test["per_voice"].items(), key=lambda kv: kv[1]["wer"] * kv[1]["words"])
        lines += [f"**Short of the target** (≤ 2 % WER on held-out voices): {100 * test['overall']['wer']:.2f} %. "
                  f"The voice contributing most errors is `{worst[0]}` ({100 * worst[1]['wer']:.1f} % WER, the slowest "
                  "piper setting); most errors are insertions after single-digit clips (see below). A longer "
                  "run, one-digit strings in every split, or on-the-fly augmentation (`TrainConfig.augment`) are "
                  "the next things to try.", ""]
    analysis = log.get("analysis")
    if analysis:
        one, many = analysis["single_digit"], analysis["multi_digit"]
        lines += ["### Where the errors are", "",
                  f"- Multi-digit clips ({many['clips']} clips): **WER {100 * many['wer']:.2f} %**, CER "
                  f"{100 * many['cer']:.2f} %.",
                  f"- Single-digit clips ({one['clips']} clips): WER {100 * one['wer']:.1f} %, all insertions "
                  "(\"four\" → \"four oh\", \"seven\" → \"seven two\"). The corpus keeps test *texts* out of "
                  "training, and with only eleven one-word strings that leaves exactly \"four\" and \"seven\" "
                  "never heard as a whole utterance in training: the decoder has learnt that a digit string goes on.",
                  f"- Beam search (4 beams) instead of greedy: WER {100 * analysis['beam4']['wer']:.2f} %, CER "
                  f"{100 * analysis['beam4']['cer']:.2f} % (`echo-edu evaluate --beam-size 4`).", ""]
    if not finished:
        lines += [f"Note: training stopped at step {hist['step']} of the planned {config['steps']}.", ""]
    evals = hist.get("eval", [])
    if evals:
        lines += ["Validation during training (training voices, unseen digit strings, greedy decoding, "
                  f"{evals[-1]['n']} clips):", "",
                  "| step | WER % | CER % |", "|---:|---:|---:|"]
        lines += [f"| {e['step']} | {100 * e['wer']:.2f} | {100 * e['cer']:.2f} |" for e in evals]
        lines.append("")
    lines += [
        "## Reproduce", "",
        "```bash", launcher + "tools/train_bundled.py " + " ".join(argv), "```", "",
        "which is the same as", "", "```bash",
        launcher.replace("python ", "") + ("-m echo_edu.cli " if world > 1 else "echo-edu ")
        + "train --output assets/echo-digits " + " ".join(RECIPE + argv), "```", "",
        (f"`torchrun` runs {world} data-parallel processes (gloo on CPU), each with batch {config['batch_size']}: "
         f"one process with `--batch-size {world * config['batch_size']}` computes the same updates "
         "(tests/test_ddp.py checks this)." if world > 1 else ""), "",
        f"Measured here: corpus synthesis {corpus.get('first_build_seconds', corpus['build_seconds']) / 60:.1f} min "
        "(2 synthesis workers; instant once cached), training "
        f"{log['train_seconds'] / 60:.1f} min for {hist['step']} steps on {platform.machine()} CPU "
        "(2 cores shared with other jobs, so expect it to be faster on an idle machine). A GPU is used "
        "automatically when present (bf16 autocast).", "",
        "## Data", "",
        f"`build_corpus(\"{corpus['task']}\", n={corpus['n']}, seed={corpus['seed']}, engines={tuple(corpus['engines'])})`: "
        "digit strings of 1–7 digits (zero read as \"zero\" or \"oh\"), spoken by espeak-ng voices × variants "
        "and piper voices with varied length/noise scales. Splits: "
        + ", ".join(f"{k} {v}" for k, v in corpus["sizes"].items())
        + ". The test split's voices (about 15 % of each engine's voices) are held out of training and "
        "validation. Digit strings of two or more digits are split by a hash of their text, so validation "
        "and test strings never occur in training; a single digit is the vocabulary itself and occurs in "
        "every split.", "",
        "## Model", "",
        f"{log['parameters']:,} parameters ({size_mb:.1f} MB of float32 safetensors). Encoder: conv stem + "
        f"{dims['audio_layerA']} standard blocks, width {dims['audio_dims']}, {dims['audio_head']} heads, "
        f"{dims['audio_ctx']} positions ({dims['audio_ctx'] / 50:.1f} s of audio). Decoder: {dims['text_layerA']} "
        f"blocks, width {dims['text_dims']}, cross-attention to the audio in every block, character vocabulary "
        f"of {dims['vocab']}. Rotary positions: {'on' if dims['rotary'] else 'off'}. Full config in `config.json`.", "",
        "## Training", "",
        f"AdamW (β = {tuple(config['betas'])}, weight decay {config['weight_decay']} on weight matrices only), "
        f"peak learning rate {config['lr']} after {config['warmup_steps']} warm-up steps, cosine to "
        f"{config['min_lr']}, gradient clipping {config['grad_clip']}, batch {config['batch_size']} × "
        f"{world} process(es) × accumulation {config['grad_accum']}, {config['steps']} steps planned, seed {config['seed']}, precision "
        f"{config['precision']} (float32 on CPU).", "",
        "## Limits", "",
        "- Digits only: any other word comes out as the nearest digit string.",
        f"- Clips longer than {dims['audio_ctx'] / 50:.1f} s are transcribed in chunks by `transcribe`; the model "
        "never saw a chunk boundary in training.",
        "- Synthetic voices only: real microphones, noise and accents are out of its training distribution "
        "(see the leave-one-engine-out results below for how far such a model carries).",
    ]
    loeo = ROOT / "assets" / "results" / "leave_one_engine_out.md"
    if loeo.exists():
        lines += ["", "## How far it carries: leave one engine out", "",
                  "The same architecture trained on one engine and tested on the other "
                  "(`python benchmarks/leave_one_engine_out.py`; a smaller budget than this model's):", "",
                  loeo.read_text().strip()]
    path = output / "MODEL_CARD.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def train_recipe(recipe: list[str], output: Path, checkpoints: str, argv: list[str]) -> None:
    """``echo-edu train --output OUTPUT <recipe> <argv>``, checkpointing in ``runs/<checkpoints>``."""
    from echo_edu.cli.train import add_arguments, run

    parser = argparse.ArgumentParser(prog=Path(sys.argv[0]).stem)
    add_arguments(parser)
    args = parser.parse_args(["--output", str(output), "--checkpoint-dir", str(ROOT / "runs" / checkpoints)]
                             + recipe + argv)
    shown = output.relative_to(ROOT) if output.is_relative_to(ROOT) else output
    args.argv = ["--output", str(shown)] + recipe + argv
    run(args)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    card_only = "--card-only" in argv
    argv = [a for a in argv if a != "--card-only"]
    output = OUTPUT
    if "--output" in argv:
        output = Path(argv[argv.index("--output") + 1]).resolve()
        argv = [a for i, a in enumerate(argv) if i not in (argv.index("--output"), argv.index("--output") + 1)]
    if not card_only:
        train_recipe(RECIPE, output, "echo-digits-checkpoints", argv)
    if int(os.environ.get("RANK", "0")) == 0:      # under torchrun only rank 0 saves, scores and writes
        print(write_model_card(output, argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
