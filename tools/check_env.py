"""Check that the running environment is exactly requirements/lock.txt, and that torchaudio imports.

    python tools/check_env.py          # exit 0 when the environment matches the lock
    python tools/check_env.py --lock L # another lock file

Every locked package whose environment marker applies here must be installed at its locked version;
nothing else may be installed beside them (pip and echo_edu itself excepted). A drift names each
package, the locked and the installed version, and how to repair it (`make clean setup`).
"""
from __future__ import annotations

import argparse
import importlib.metadata as metadata
import re
import sys
import sysconfig
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
ALLOWED_EXTRA = {"pip", "echo-edu"}
_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def locked_versions(lock: Path) -> dict[str, str]:
    """Return {canonical name: version} of the lock's entries whose markers hold in this interpreter."""
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        match = _REQUIREMENT.match(line.strip())
        if not match:
            continue
        name, version, marker = match.groups()
        if marker and not Marker(marker).evaluate():
            continue
        pins[canonicalize_name(name)] = version
    if not pins:
        raise SystemExit(f"check_env: {lock} holds no `name==version` lines; is it a lock file?")
    return pins


def installed_versions() -> dict[str, str]:
    """Return {canonical name: version} of every distribution installed in this environment.

    Only the environment's own site-packages count: once setuptools is imported, its vendored copies
    (packaging, wheel, jaraco.*, ...) sit on ``sys.path`` too, and they are not installed packages.
    """
    paths = sorted({sysconfig.get_paths()[key] for key in ("purelib", "platlib")})
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions(path=paths)}


def drift(pins: dict[str, str], installed: dict[str, str]) -> list[str]:
    """Describe each difference between the lock and the environment, one line a package."""
    problems = []
    for name, version in sorted(pins.items()):
        have = installed.get(name)
        if have is None:
            problems.append(f"{name}: locked {version}, not installed")
        elif have != version:
            problems.append(f"{name}: locked {version}, installed {have}")
    for name in sorted(set(installed) - set(pins) - ALLOWED_EXTRA):
        problems.append(f"{name}: installed {installed[name]}, not in the lock")
    return problems


def torchaudio_problem() -> str | None:
    """Import torchaudio (it fails when its build does not match torch) and say why, or None."""
    try:
        import torch
        import torchaudio
    except Exception as error:  # noqa: BLE001 - any import failure is the finding
        return f"import torchaudio failed: {type(error).__name__}: {error}"
    torch_base = torch.__version__.split("+")[0]
    audio_base = torchaudio.__version__.split("+")[0]
    if torch_base != audio_base:
        return f"torch {torch.__version__} beside torchaudio {torchaudio.__version__}: not a matching pair"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=ROOT / "requirements" / "lock.txt")
    args = parser.parse_args(argv)
    problems = drift(locked_versions(args.lock), installed_versions())
    audio = torchaudio_problem()
    if audio:
        problems.append(audio)
    if problems:
        print(f"check_env: the environment differs from {args.lock.name}:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        print("repair: make clean setup (reinstalls .venv from the lock)", file=sys.stderr)
        return 1
    print(f"check_env: {len(installed_versions())} packages match {args.lock.name}; torchaudio imports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
