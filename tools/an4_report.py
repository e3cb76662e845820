"""Score a trained ``echo-an4`` on the held-out real speakers and write its model card.

    python tools/an4_report.py --model assets/echo-an4 --data-root ../shared/data

Reads ``training_log.json`` (written by ``tools/train_an4.py``: the recipe, AN4 dev, and the one AN4
test score), then transcribes, with :data:`DECODING` (joint CTC/attention, as the CLI decodes), speakers the model
never heard: the FSDD speaker and the Speech Commands speakers of those corpora's test splits
(speaker-disjoint, seeded). AN4 dev is decoded with every method of :data:`METHODS`, to show which
one dev prefers (the test split is not rescored); the unseen speakers are also scored as recorded, without
speed search, when the default decoding searches speeds. Everything lands in ``held_out.json`` and ``MODEL_CARD.md`` beside the weights.

The card is generated: its numbers come from the folder's JSON files (``training_log.json``, ``held_out.json``,
and ``experiments.json`` from ``tools/an4_experiment.py`` when present). What people write about those numbers
goes in the card between ``<!-- note: NAME -->`` and ``<!-- /note -->`` (:data:`NOTES` are the places); a rerun
keeps those blocks word for word and regenerates everything else.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))  # an4_experiment, whose tables the card shows

from echo_edu import Echo                                     # noqa: E402
from echo_edu.decode import JOINT_DECODING                    # noqa: E402
from echo_edu.data import load_an4, load_speech               # noqa: E402
from echo_edu.errors import CheckpointError                  # noqa: E402
from echo_edu.evaluate import evaluate_model                  # noqa: E402
from echo_edu.metrics import SclitePoint, format_sclite       # noqa: E402

SOURCES = {"AN4 (CMU census database)": "CMU licence, free for any use with attribution",
           "Speech Commands v0.02 (P. Warden, Google)": "CC BY 4.0",
           "Free Spoken Digit Dataset": "CC BY-SA 4.0"}


#: Where the card's hand-written notes go: after the synthetic-data intro and table, the attention intro and
#: table, a section of recipe variants tried and not adopted, and the recipe's reproduction.
NOTES = ("synthetic-intro", "synthetic", "attention-intro", "attention", "tried", "reproduced")
NOTE = re.compile(r"<!-- note: (?P<name>[\w-]+) -->\n(?P<text>.*?)\n<!-- /note -->", re.S)


def card_notes(card: str) -> dict[str, str]:
    """``{name: text}`` of an existing card's hand-written blocks; an unknown name is a typo that would be lost."""
    notes = {m["name"]: m["text"] for m in NOTE.finditer(card)}
    unknown = sorted(set(notes) - set(NOTES))
    if unknown:
        raise CheckpointError(f"MODEL_CARD.md: notes {unknown} have no place in the card (a rerun would drop "
                              f"them); the places are {list(NOTES)}")
    return notes


def _note(notes: dict[str, str], name: str) -> list[str]:
    return [f"<!-- note: {name} -->", notes[name], "<!-- /note -->", ""] if name in notes else []


def _experiments(experiments: dict, notes: dict[str, str]) -> list[str]:
    """The real / synthetic / both table and the attention-type table of ``experiments.json``, with their notes."""
    from an4_experiment import markdown  # here, not at the top: an4_experiment imports this module

    steps = experiments["steps"]
    seeds = [len(row["dev"]["seeds"]) for row in experiments["table"].values()]
    span = f"{min(seeds)}–{max(seeds)}" if min(seeds) != max(seeds) else f"{min(seeds)}"
    lines = [f"## Does synthetic speech help? (real / synthetic / both, {span} seeds)", ""]
    lines += _note(notes, "synthetic-intro") + [markdown(experiments["table"], steps), ""] + _note(notes, "synthetic")
    if experiments.get("attention"):
        lines += _note(notes, "attention-intro")
        lines += [markdown(experiments["attention"], steps, "encoder attention (data: both)"), ""]
        lines += _note(notes, "attention")
    return lines


def _row(name: str, report: dict) -> str:
    o = report["overall"]
    return f"| {name} | {o['n']} | {o['words']} | {100 * o['wer']:.1f} | {100 * o['cer']:.1f} |"


def _sclite(report: dict, unit: str) -> str:
    table = {k: SclitePoint(**v) for k, v in report["sclite"][unit].items()}
    return format_sclite(table, unit)


#: How the model is scored: joint CTC/attention, 4 beams, the CTC weight chosen on AN4 dev, at the speeds of
#: speed search (the CLI's default).
DECODING = JOINT_DECODING
JOINT_LABEL = f"joint {DECODING['beam_size']} (CTC weight {DECODING['ctc_weight']:g})"
DECODING_LABEL = f"{JOINT_LABEL}, speeds {'/'.join(f'{v:g}' for v in DECODING['speeds'])}"
#: AN4 dev is decoded with each of these (label: ``evaluate_model`` options).
METHODS = {"greedy": {}, "beam 4": {"method": "beam", "beam_size": 4}, "ctc": {"method": "ctc"},
           JOINT_LABEL: {k: v for k, v in DECODING.items() if k != "speeds"}, DECODING_LABEL: DECODING}


def held_out(model, data_root: Path, methods=tuple(METHODS), limit: int | None = None,
             decoding: str = DECODING_LABEL) -> dict:
    """WER/CER on speakers outside training decoded with ``METHODS[decoding]``, plus AN4 dev under each
    method of ``methods``; ``limit``: at most that many clips of each unseen-speaker set (spread over it)."""
    options = METHODS[decoding]
    fsdd = load_speech(f"fsdd:{data_root}/fsdd-dev?fractions=0.67,0,0.33", splits="test")["test"]
    commands = load_speech(f"commands:{data_root}/speech-commands-dev", splits="test")["test"]
    dev = load_an4(data_root / "an4", splits="validation")["validation"]
    out = {"decoding": decoding,
           "fsdd_test_speaker": evaluate_model(model, fsdd, batch_size=48, limit=limit, **options).to_dict(),
           "commands_test_speakers": evaluate_model(model, commands, batch_size=48, limit=limit, **options).to_dict()}
    if decoding == DECODING_LABEL:    # the same speakers as recorded, to show what speed search changed
        out["as_recorded"] = {"decoding": JOINT_LABEL, **{
            key: evaluate_model(model, data, batch_size=48, limit=limit, **METHODS[JOINT_LABEL]).overall.to_dict()
            for key, data in (("fsdd_test_speaker", fsdd), ("commands_test_speakers", commands))}}
    out["an4_dev_by_method"] = {name: evaluate_model(model, dev, batch_size=48, **METHODS[name]).overall.to_dict()
                                for name in methods}
    return out


def _as_recorded(log: dict, extra: dict) -> list[str]:
    """What the unseen speakers scored without speed search (``held_out.json``'s ``as_recorded``)."""
    plain = extra.get("as_recorded")
    if not plain:
        return []
    sets = [("AN4 dev", extra["an4_dev_by_method"].get(plain["decoding"])),
            ("Speech Commands test speakers", plain["commands_test_speakers"]),
            ("FSDD held-out speaker", plain["fsdd_test_speaker"])]
    earlier = [e for e in log.get("earlier_tests", []) if e["method"] == plain["decoding"]]
    if earlier:
        sets.insert(0, ("AN4 test (scored before)", earlier[-1]["overall"]))
    return [f"The same sets with {plain['decoding']}, every clip as recorded (no speed search), WER / CER %: "
            + ", ".join(f"{name} {100 * o['wer']:.1f} / {100 * o['cer']:.1f}" for name, o in sets if o) + ".", ""]


#: (label, where in (test, extra), "wer"/"cer", at most %).
TARGETS = (("AN4 test WER", "test", "wer", 5.0), ("AN4 test CER", "test", "cer", 2.5),
           ("unseen Speech Commands speakers WER", "commands_test_speakers", "wer", 5.0),
           ("unseen FSDD speaker WER", "fsdd_test_speaker", "wer", 5.0))


def targets_line(test: dict | None, extra: dict) -> str:
    """Each target with its number and **met** / **missed** (2 decimals, so 2.65 is not read as 2.7 ≈ 2.5)."""
    parts = []
    for label, where, unit, limit in TARGETS:
        report = test if where == "test" else extra[where]
        if report is None:
            continue
        value = 100 * report["overall"][unit]
        parts.append(f"{label} <= {limit:g} %: {value:.2f} %, **{'met' if value <= limit else 'missed'}**")
    return "; ".join(parts) + "."


def model_card(log: dict, extra: dict, size_mb: float, experiments: dict | None = None,
               notes: dict[str, str] | None = None) -> str:
    """The card's markdown from the folder's JSON data; ``notes`` (:func:`card_notes`) are kept in their places."""
    recipe, test, notes = log["recipe"], log.get("test"), notes or {}
    lines = ["# echo-an4: an Echo that hears real people", "",
             "An Echo encoder-decoder (joint CTC/attention) trained from scratch on recordings of real people",
             "(AN4 train minus its dev speakers, Speech Commands and FSDD training speakers) and AN4-style synthetic",
             "speech (espeak-ng, flite, piper, festival), with speed perturbation, recorded and synthetic noise and",
             "SpecAugment. No downloaded weights.", "",
             f"## Results (speakers never heard in training; decoding {extra.get('decoding', 'greedy')})", "",
             "| set | clips | words | WER % | CER % |", "|---|---:|---:|---:|---:|"]
    if test:
        method = log.get("test_method", "greedy")
        lines.append(_row(f"AN4 test (official, 10 speakers), {method} (chosen on dev; scored once with it)", test))
    dev = extra["an4_dev_by_method"].get(extra.get("decoding"))
    lines += [_row("AN4 dev (8 held-out train speakers; selection)", {"overall": dev} if dev else log["dev"]),
              _row("Speech Commands test speakers", extra["commands_test_speakers"]),
              _row("FSDD held-out speaker", extra["fsdd_test_speaker"]), ""]
    lines += ["For comparison on AN4 test: ESPnet2's transformer recipe (egs2/an4) 7.4 % WER / 3.6 % CER;",
              "PocketSphinx 5 with AN4's language model 22.8 % WER; the bundled synthetic-only echo-digits 95.9 %.",
              "", "**Targets** (the issue's): " + targets_line(test, extra), "",
              "AN4 dev by decoding method (WER / CER %): " + ", ".join(
                  f"{k} {100 * v['wer']:.1f} / {100 * v['cer']:.1f}" for k, v in extra["an4_dev_by_method"].items()), ""]
    lines += _as_recorded(log, extra)
    for key, what in (("decoding_selection", "Decoding"), ("speed_selection", "Speeds")):
        if key in log:
            chosen = log[key]
            lines += [f"{what} chosen on {chosen.get('sets', 'AN4 dev')} ({chosen['note']}), WER % by setting: " + ", ".join(
                f"{name} {v['wer']:.2f}" for name, v in chosen["wer_percent"].items()) + f". Command: `{chosen['command']}`.", ""]
    for earlier in log.get("earlier_tests", []):
        lines += [f"AN4 test was scored before with {earlier['method']} ({100 * earlier['overall']['wer']:.2f} % WER, "
                  f"{100 * earlier['overall']['cer']:.2f} % CER): {earlier['note']}.", ""]
    if test:
        lines += ["### AN4 test, sclite style (per speaker)", "", _sclite(test, "word"), "", _sclite(test, "char"), ""]
    if experiments:
        lines += _experiments(experiments, notes)
    lines += _note(notes, "tried")
    lines += ["## Recipe", "", f"`python tools/train_an4.py --data-root ../shared/data` "
              f"({log['steps']} steps, {log['train_seconds'] / 60:.0f} min of training on {log['machine']}, "
              f"{log['threads']} threads, shared with other work), then `python tools/an4_report.py`.", ""]
    lines += _note(notes, "reproduced")
    lines += ["```json", json.dumps({k: recipe[k] for k in ("dims", "train", "augment")}, indent=1), "```", "",
              "Data mixture (spec `@weight` = share of training draws): " + ", ".join(f"`{s}`" for s in recipe["data"]),
              "", f"Weights: {size_mb:.1f} MB (safetensors).", "",
              "## Training data and licences", ""]
    lines += [f"- {name}: {licence}" for name, licence in SOURCES.items()]
    lines += ["- Synthetic speech: made locally by espeak-ng, flite, festival (Debian) and piper (joe voice).", ""]
    card = "\n".join(lines)
    unplaced = sorted(set(notes) - set(card_notes(card)))
    if unplaced:
        raise CheckpointError(f"MODEL_CARD.md: notes {unplaced} belong with the experiment tables, which this card "
                              "does not have (no experiments.json, or no attention table in it); a rerun would drop them")
    return card


def regenerated_card(folder: Path) -> str:
    """The card of the ``save_pretrained`` folder from its JSON files, keeping the notes of its current card."""
    card, experiments = folder / "MODEL_CARD.md", folder / "experiments.json"
    return model_card(json.loads((folder / "training_log.json").read_text()),
                      json.loads((folder / "held_out.json").read_text()),
                      (folder / "model.safetensors").stat().st_size / 1e6,
                      json.loads(experiments.read_text()) if experiments.exists() else None,
                      card_notes(card.read_text()) if card.exists() else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "assets" / "echo-an4")
    parser.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args(argv)
    extra = held_out(Echo.from_pretrained(args.model), args.data_root)
    (args.model / "held_out.json").write_text(json.dumps(extra, indent=1))
    card = regenerated_card(args.model)
    (args.model / "MODEL_CARD.md").write_text(card)
    print(card)
    return 0


if __name__ == "__main__":
    sys.exit(main())
