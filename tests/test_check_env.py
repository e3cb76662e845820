"""tools/check_env.py: the environment must be exactly the lock, and torchaudio must import."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_env", ROOT / "tools" / "check_env.py")
check_env = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_env)

LOCK = """\
# a comment
torch==2.11.0 \\
    --hash=sha256:aa
numpy==2.2.6 ; python_full_version < '3.0' \\
    --hash=sha256:bb
numpy==2.4.6 ; python_full_version >= '3.0' \\
    --hash=sha256:cc
Typing_Extensions==4.15.0
    # via torch
"""


def test_lock_lines_apply_markers_and_canonical_names(tmp_path):
    lock = tmp_path / "lock.txt"
    lock.write_text(LOCK)
    assert check_env.locked_versions(lock) == {"torch": "2.11.0", "numpy": "2.4.6", "typing-extensions": "4.15.0"}


def test_drift_names_each_package_and_both_versions():
    pins = {"torch": "2.11.0", "torchaudio": "2.11.0", "numpy": "2.4.6"}
    installed = {"torch": "2.11.0", "torchaudio": "2.11.1", "pip": "24.0", "ipdb": "0.13"}
    assert check_env.drift(pins, installed) == [
        "numpy: locked 2.4.6, not installed",
        "torchaudio: locked 2.11.0, installed 2.11.1",
        "ipdb: installed 0.13, not in the lock",
    ]
    assert check_env.drift(pins, dict(pins, pip="24.0")) == []


def test_a_file_without_pins_is_refused(tmp_path):
    lock = tmp_path / "requirements.in"
    lock.write_text("torch>=2\n")
    with pytest.raises(SystemExit, match="no `name==version` lines"):
        check_env.locked_versions(lock)


def test_main_reports_drift_and_the_repair(tmp_path, capsys):
    lock = tmp_path / "lock.txt"
    lock.write_text("torch==0.0.1\n")
    assert check_env.main(["--lock", str(lock)]) == 1
    err = capsys.readouterr().err
    assert "torch: locked 0.0.1, installed" in err and "make clean setup" in err


@pytest.mark.skipif(not (ROOT / ".venv").exists() or Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(),
                    reason="runs inside the project's .venv (make setup), the environment the lock describes")
def test_this_environment_is_the_lock():
    assert check_env.main([]) == 0


def test_vendored_copies_on_sys_path_are_not_installed_packages(tmp_path, monkeypatch):
    """setuptools puts its _vendor folder (packaging, wheel, ... dist-infos) on sys.path when imported."""
    vendor = tmp_path / "_vendor" / "wheel-0.0.1.dist-info"
    vendor.mkdir(parents=True)
    (vendor / "METADATA").write_text("Metadata-Version: 2.1\nName: wheel\nVersion: 0.0.1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "_vendor"))
    assert check_env.installed_versions().get("wheel") != "0.0.1"



@pytest.mark.skipif(Path(sys.prefix).resolve() != (ROOT / ".venv").resolve() or not (ROOT / ".venv" / ".installed").exists(),
                    reason="checks the bytecode that `make setup` compiles into .venv; not running in it")
def test_make_setup_compiled_what_the_package_imports(tmp_path):
    """`make setup` leaves code that no process imports out of the bytecode (the Makefile's NOT_COMPILED). Where
    PYTHONDONTWRITEBYTECODE is set, a module left out but imported after all would compile again in every process.
    Checked on all that this test process has imported (echo_edu, and transformers' tokenizer and Whisper front end
    among it)."""
    from transformers import PreTrainedTokenizerFast, WhisperFeatureExtractor  # noqa: F401

    from echo_edu.tokenizer import build_tokenizer

    build_tokenizer().save_pretrained(tmp_path)
    PreTrainedTokenizerFast.from_pretrained(tmp_path)
    site = str(Path(sys.prefix) / "lib")
    sources = [getattr(m, "__file__", None) or "" for m in list(sys.modules.values())]
    missing = sorted(p for p in sources if p.startswith(site) and p.endswith(".py")
                     and not os.path.exists(importlib.util.cache_from_source(p)))
    assert len(sources) > 500 and not missing, "imported without bytecode (widen NOT_COMPILED's exceptions):\n" + \
        "\n".join(missing)
