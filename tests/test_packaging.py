"""A regular install (``pip install .``, a wheel) carries the shipped models and samples, and finds them.

``make setup`` installs echo_edu editable, so everything else in this suite reads the checkout's
``assets/``. Someone who ``pip install``s the package into their own environment gets a copy in
site-packages instead: without the models inside it, ``echo-edu transcribe`` had no default model.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_the_package_list_holds_every_package_of_echo_edu():
    """pyproject lists the packages by hand (to add ``echo_edu._assets``): a new subpackage must be listed."""
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "echo_edu").rglob("__init__.py")}
    assert set(SETUPTOOLS["packages"]) == found | {"echo_edu._assets"}
    assert SETUPTOOLS["package-dir"] == {"echo_edu._assets": "assets"}


def test_the_packaged_folders_exist_and_hold_the_models():
    """Every folder the wheel carries exists and holds files; the models are saved models. (What the library
    reads from them in an install is checked by the wheel test below.)"""
    from echo_edu.bundled import holds_model

    patterns = SETUPTOOLS["package-data"]["echo_edu._assets"]
    folders = [ROOT / "assets" / pattern.removesuffix("/*") for pattern in patterns]
    assert [f.name for f in folders] == ["echo-an4", "echo-digits", "samples"]
    assert all(any(f.iterdir()) for f in folders)
    assert holds_model(folders[0]) and holds_model(folders[1])


@pytest.mark.slow
def test_a_wheel_install_transcribes_with_its_own_copy_of_the_default_model(tmp_path):
    """Build the wheel from a copy of the checkout, install it into a folder, and run it from elsewhere: the paths
    point into the install, a shipped model loads by name, and the default model transcribes a bundled clip."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "echo_edu", source / "echo_edu", ignore=shutil.ignore_patterns("__pycache__"))
    for pattern in SETUPTOOLS["package-data"]["echo_edu._assets"]:
        folder = pattern.removesuffix("/*")
        shutil.copytree(ROOT / "assets" / folder, source / "assets" / folder)
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)], check=True)
    (wheel,) = wheels.glob("echo_edu-*.whl")
    subprocess.run(pip + ["install", "--no-deps", "--target", str(target), str(wheel)], check=True)

    probe = ("import json, echo_edu\n"
             "from echo_edu.bundled import ASSETS_DIR, bundled_model_dir, digits_model_dir\n"
             "from echo_edu.cli import main\n"
             "echo_edu.Echo.from_pretrained('echo-digits')\n"
             "from echo_edu.data.samples import SAMPLES_DIR\n"
             "from echo_edu.experiments.mixtures import find_mixture_table\n"
             "print(json.dumps({'package': echo_edu.__file__, 'assets': str(ASSETS_DIR),\n"
             "                  'model': str(bundled_model_dir()), 'digits': str(digits_model_dir()),\n"
             "                  'manifest': (SAMPLES_DIR / 'manifest.json').is_file(),\n"
             "                  'table': str(find_mixture_table())}))\n"
             "main(['transcribe', str(ASSETS_DIR / 'samples' / 'digits_heldout_piper_0.flac')])\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={"PATH": "", "PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    found, transcript = out.stdout.splitlines()[0], out.stdout.splitlines()[-1]
    paths = json.loads(found)
    packaged = target / "echo_edu" / "_assets"
    assert paths == {"package": str(target / "echo_edu" / "__init__.py"), "assets": str(packaged),
                     "model": str(packaged / "echo-an4"), "digits": str(packaged / "echo-digits"),
                     "manifest": True, "table": str(packaged / "echo-an4" / "experiments.json")}
    clips = json.loads((ROOT / "assets" / "samples" / "manifest.json").read_text())
    assert transcript.strip() == next(c["text"] for c in clips if c["file"] == "digits_heldout_piper_0.flac")
