"""echo-an4's model card is generated from the JSON files beside the weights, and a rerun keeps its notes.

``python tools/an4_report.py`` is the last step of the recipe. It rewrites ``MODEL_CARD.md``, so every number in
the card must come from ``training_log.json``, ``held_out.json`` or ``experiments.json``. The prose that people
wrote about those numbers sits in ``<!-- note: NAME -->`` blocks, which a rerun keeps in their places.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from echo_edu.errors import CheckpointError

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "assets" / "echo-an4"
_spec = importlib.util.spec_from_file_location("an4_report", ROOT / "tools" / "an4_report.py")
an4_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(an4_report)


@pytest.fixture
def folder(tmp_path) -> Path:
    """A copy of echo-an4's card and JSON files; the weights are a stand-in of the same size (only stat'ed)."""
    for name in ("MODEL_CARD.md", "training_log.json", "held_out.json", "experiments.json"):
        shutil.copy(MODEL / name, tmp_path / name)
    with open(tmp_path / "model.safetensors", "wb") as f:
        f.truncate((MODEL / "model.safetensors").stat().st_size)
    return tmp_path


def test_the_shipped_card_is_what_its_json_files_and_notes_generate():
    assert an4_report.regenerated_card(MODEL) == (MODEL / "MODEL_CARD.md").read_text()


def test_a_rerun_takes_new_numbers_from_the_json_and_keeps_every_note(folder):
    notes = an4_report.card_notes((folder / "MODEL_CARD.md").read_text())
    assert set(notes) == set(an4_report.NOTES)
    held_out = json.loads((folder / "held_out.json").read_text())
    held_out["fsdd_test_speaker"]["overall"]["wer"] = 0.0421
    (folder / "held_out.json").write_text(json.dumps(held_out))
    card = an4_report.regenerated_card(folder)
    assert "| FSDD held-out speaker | 500 | 500 | 4.2 |" in card
    assert an4_report.card_notes(card) == notes
    # each note stays where it was: the tried section before the recipe, the reproduction inside it
    assert card.index("<!-- note: attention -->") < card.index("<!-- note: tried -->") < card.index("## Recipe")
    assert card.index("## Recipe") < card.index("<!-- note: reproduced -->") < card.index("```json")


def test_without_experiments_the_card_has_no_experiment_tables_and_their_notes_are_not_dropped(folder):
    (folder / "experiments.json").unlink()
    with pytest.raises(CheckpointError, match=r"notes \['attention', 'attention-intro', 'synthetic', 'synthetic-intro'\]"
                                              r" belong with the experiment tables"):
        an4_report.regenerated_card(folder)
    card = folder / "MODEL_CARD.md"
    kept = {k: v for k, v in an4_report.card_notes(card.read_text()).items() if k in ("tried", "reproduced")}
    card.write_text(an4_report.model_card(*(json.loads((folder / f).read_text()) for f in ("training_log.json",
                                                                                          "held_out.json")), 16.5, notes=kept))
    regenerated = an4_report.regenerated_card(folder)
    assert "Does synthetic speech help?" not in regenerated and "| real (seeds" not in regenerated
    assert an4_report.card_notes(regenerated) == kept


def test_a_note_with_no_place_is_refused_not_dropped(folder):
    card = folder / "MODEL_CARD.md"
    card.write_text(card.read_text() + "\n<!-- note: tired -->\nA typo in the name.\n<!-- /note -->\n")
    with pytest.raises(CheckpointError, match=r"MODEL_CARD.md: notes \['tired'\] have no place"):
        an4_report.regenerated_card(folder)
