"""The stored notebooks must be exactly what their text sources build (no hand edits, no outputs)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_notebooks_match_their_sources():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "sync_notebooks.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_source_has_a_notebook_and_names_are_ordered():
    sources = sorted(p.stem for p in (ROOT / "notebooks" / "src").glob("*.py"))
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sources == notebooks
    assert all(name[:2].isdigit() and name[2] == "_" for name in notebooks)
