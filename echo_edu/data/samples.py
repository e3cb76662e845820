"""The small sample set bundled in ``assets/samples/``: audio for lessons and tests, no synthesis.

``load_samples()`` reads ``assets/samples/manifest.json`` (``file, text, voice, engine, task,
held_out`` per clip) and returns a ``datasets.Dataset`` shaped like a corpus split (``audio`` as
``{"array", "sampling_rate"}``). ``held_out`` marks clips spoken by test voices — and with texts
from the test share of the text space — which a trained model has never heard.
``write_samples(folder)`` is how the set was made (``echo-edu synth --samples``).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import torch

from ..audio import SAMPLE_RATE, load_audio, save_audio
from ..bundled import ASSETS_DIR
from ..errors import AudioFileNotFoundError, ConfigError
from .corpus import plan_corpus
from .engines import available_engines, synthesize_job
from .tasks import TASKS

__all__ = ["SAMPLES_DIR", "load_samples", "write_samples"]

SAMPLES_DIR = ASSETS_DIR / "samples"

#: (task, split, clips per engine) picked from a seeded corpus plan.
_PICKS = (("digits", "train", 3), ("digits", "test", 3), ("commands", "train", 2),
          ("sentences", "train", 1), ("sentences", "test", 1))
_SEED = 2026


def load_samples(task: str | None = None, directory: str | Path | None = None):
    """The bundled clips (optionally of one ``task``) as a ``datasets.Dataset``.

    Returns:
        Columns ``audio`` (``{"array": float32 (samples,), "sampling_rate": 16000}``), ``text``,
        ``voice``, ``engine``, ``duration``, ``task``, ``held_out``, ``file``.
    """
    folder = Path(directory) if directory is not None else SAMPLES_DIR
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        raise AudioFileNotFoundError(f"no sample manifest at {str(manifest)!r}; run "
                                     "`echo-edu synth --samples` to make the sample set")
    if task is not None and task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; choose from {sorted(TASKS)}")
    return _load(str(folder.resolve()), manifest.stat().st_mtime_ns, task)


@functools.lru_cache(maxsize=8)
def _load(folder_name: str, _mtime: int, task: str | None):
    """Decode once per (folder, manifest version, task); datasets are immutable, so sharing is safe."""
    from datasets import Dataset, Features, List, Value  # lazy: importing datasets costs ~3 s

    folder = Path(folder_name)
    manifest = folder / "manifest.json"
    rows = [r for r in json.loads(manifest.read_text()) if task is None or r["task"] == task]
    arrays = [load_audio(folder / r["file"]).numpy() for r in rows]
    features = Features({
        "audio": {"array": List(Value("float32")), "sampling_rate": Value("int32")},
        "text": Value("string"), "voice": Value("string"), "engine": Value("string"),
        "duration": Value("float32"), "task": Value("string"), "held_out": Value("bool"),
        "file": Value("string"),
    })
    data = Dataset.from_dict({
        "audio": [{"array": a, "sampling_rate": SAMPLE_RATE} for a in arrays],
        "text": [r["text"] for r in rows], "voice": [r["voice"] for r in rows],
        "engine": [r["engine"] for r in rows], "duration": [len(a) / SAMPLE_RATE for a in arrays],
        "task": [r["task"] for r in rows], "held_out": [bool(r["held_out"]) for r in rows],
        "file": [r["file"] for r in rows],
    }, features=features)
    return data.with_format("numpy", columns=["audio"], output_all_columns=True)


def write_samples(directory: str | Path | None = None, engines=("espeak", "piper")) -> Path:
    """Synthesise the sample set into ``directory`` (16 kHz mono 16-bit FLAC + ``manifest.json``)."""
    folder = Path(directory) if directory is not None else SAMPLES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    engines = tuple(e for e in engines if e in available_engines())
    manifest = []
    for task, split, per_engine in _PICKS:
        plan = plan_corpus(task, 400, _SEED, engines)
        for engine in engines:
            jobs = [j for j in plan if j["split"] == split and j["engine"] == engine][:per_engine]
            for k, job in enumerate(jobs):
                wave = synthesize_job(job, seed=_SEED + k)
                name = f"{task}_{'heldout' if split == 'test' else 'train'}_{engine}_{k}.flac"
                save_audio(folder / name, torch.from_numpy(wave), SAMPLE_RATE)
                manifest.append(dict(file=name, text=job["text"], voice=job["voice"], engine=engine,
                                     task=task, held_out=split == "test"))
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return folder
