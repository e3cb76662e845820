"""Build a reproducible synthetic speech corpus as a Hugging Face ``DatasetDict``.

``build_corpus("digits", 600, seed=0)`` plans every clip first (text, voice, speed, pitch, noise)
from the seed, then synthesises the plan in worker processes (one per core) and caches the result
on disk, so the same call later loads in a second. Three splits:

* ``train`` — training voices, training texts;
* ``validation`` — training voices, *unseen texts* (for early stopping / model choice);
* ``test`` — *held-out voices* (never in train or validation) and unseen texts.

Texts of two or more words are assigned to splits by a hash of the text itself, so no such
transcript appears in two splits (for any seed). A one-word text (a single digit, a command word)
*is* the vocabulary: it appears in every split, because a test word the model never heard in
training measures nothing but that gap (with hashing, "four" would be test-only and the
``commands`` task could not be learned at all). Held-out voices are a fixed ~15 % of each engine's voices (the same for every
seed, so results of different seeds compare), see :func:`held_out_voices`.

Audio is stored as plain float32 arrays (no torchcodec/FFmpeg needed): ``corpus["train"][i]["audio"]``
is ``{"array": np.ndarray float32 (samples,), "sampling_rate": 16000}``.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import random
import shutil
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from ..audio import SAMPLE_RATE
from ..augmentation.corpus import CorpusAugmentConfig, random_augment
from ..errors import ConfigError, EngineUnavailableError
from ..utils import cache_root
from .engines import (_PIPER, DEFAULT_ENGINES, ENGINES, Voice, available_engines, check_engine, list_voices,
                      synthesize_job)
from .tasks import TASKS, generate_text, spoken_form

__all__ = ["build_corpus", "held_out_voices", "plan_corpus", "default_cache_dir", "SPLITS",
           "CORPUS_VERSION"]

CORPUS_VERSION = 2          # bump when the plan or the synthesis changes, to invalidate caches
SPLITS = ("train", "validation", "test")
#: clips per worker job: piper re-seeds once per job; festival starts a process per clip (~0.3 s)
_CHUNK = {"espeak": 64, "piper": 16, "flite": 64, "festival": 16}


def default_cache_dir() -> Path:
    """``$ECHO_EDU_CACHE/corpora`` or ``~/.cache/echo_edu/corpora``."""
    return cache_root() / "corpora"


def _stable_hash(*parts) -> int:
    return int(hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:15], 16)


def held_out_voices(engine: str, fraction: float = 0.15) -> list[Voice]:
    """The voices of ``engine`` kept out of training (at least one; the same for every seed)."""
    voices = sorted(list_voices(engine), key=lambda v: _stable_hash("held-out", v.name))
    return sorted(voices[:max(1, math.ceil(fraction * len(voices)))], key=lambda v: v.name)


def _text_split(task: str, text: str, fractions: Sequence[float]) -> str:
    u = (_stable_hash(task, text) % 1_000_000) / 1_000_000
    edges = np.cumsum(fractions)
    return SPLITS[min(int(np.searchsorted(edges, u, side="right")), len(SPLITS) - 1)]


def _allowed_in(split: str, task: str, text: str, fractions: Sequence[float]) -> bool:
    """One-word texts go in every split; longer texts only in the split their hash names."""
    return len(text.split()) == 1 or _text_split(task, text, fractions) == split


def plan_corpus(task: str, n: int, seed: int, engines: Sequence[str],
                fractions: Sequence[float] = (0.8, 0.1, 0.1), test_fraction_voices: float = 0.15,
                augment: CorpusAugmentConfig | None = None) -> list[dict]:
    """Decide every clip (no synthesis): a list of ``n`` job dicts in split order.

    Each job: ``split, text, spoken`` (the words the engine says: the text, or the task's
    :func:`~echo_edu.data.tasks.spoken_form` of it), ``voice`` (name), ``engine``, ``params`` (the
    voice's settings plus this clip's espeak ``speed``/``pitch``, piper ``noise_w`` or flite/festival
    duration ``stretch``) and ``aug_seed`` (``None`` when not augmenting).
    """
    rng = random.Random(f"echo-corpus|{task}|{seed}")
    counts = [int(round(n * f)) for f in fractions[1:]]
    counts = [n - sum(counts)] + counts
    jobs: list[dict] = []
    for split, count in zip(SPLITS, counts):
        pools = {}
        for engine in engines:
            test = {v.name for v in held_out_voices(engine, test_fraction_voices)}
            pool = [v for v in list_voices(engine) if (v.name in test) == (split == "test")]
            rng.shuffle(pool)
            pools[engine] = pool
        for i in range(count):
            text, tries = generate_text(task, rng), 0
            # The first draw decides "one word or more" (the task's natural mix); a longer text is
            # then redrawn among longer texts until its hash names this split.
            while not _allowed_in(split, task, text, fractions) or (tries and len(text.split()) == 1):
                text, tries = generate_text(task, rng), tries + 1
                if tries > 100_000:
                    raise ConfigError(f"cannot draw {split} texts for task {task!r}; widen its fraction")
            engine = engines[i % len(engines)]               # engines alternate: balanced
            pool = pools[engine]
            voice = pool[(i // len(engines)) % len(pool)]      # voices cycle: balanced
            params = dict(voice.params)
            if engine == "espeak":
                params.update(speed=rng.randint(130, 200), pitch=rng.randint(25, 75))
            elif engine == "piper":
                params.update(noise_w=round(rng.uniform(0.4, 1.0), 3))
            else:   # flite, festival: 15 % faster to 20 % slower than the voice's own tempo
                params.update(stretch=round(rng.uniform(0.85, 1.2), 3))
            aug_seed = rng.randrange(2**31) if (augment is not None and split == "train") else None
            jobs.append(dict(split=split, text=text, spoken=spoken_form(task, text), voice=voice.name,
                             engine=engine, params=params, aug_seed=aug_seed))
    return jobs


# --------------------------------------------------------------------------- workers

def _init_worker() -> None:
    torch.set_num_threads(1)


def _run_chunk(args) -> tuple[list[int], list[np.ndarray]]:
    """Synthesise one chunk of jobs (in a worker process)."""

    chunk_seed, indices, jobs, augment = args
    if any(j["engine"] == "piper" for j in jobs):
        _PIPER.reseed(chunk_seed)
    waves = []
    for job in jobs:
        wave = synthesize_job(job)
        if job["aug_seed"] is not None:
            gen = torch.Generator().manual_seed(job["aug_seed"])
            wave = random_augment(torch.from_numpy(wave), augment, gen)[0].numpy()
        waves.append(wave.astype(np.float32))
    return indices, waves


def _chunks(jobs: list[dict], seed: int, augment) -> list[tuple]:
    out = []
    for engine in ENGINES:
        idx = [i for i, j in enumerate(jobs) if j["engine"] == engine]
        size = _CHUNK[engine]
        for c in range(0, len(idx), size):
            part = idx[c:c + size]
            out.append((_stable_hash("chunk", seed, engine, c) % 2**31, part, [jobs[i] for i in part], augment))
    return out


def _synthesise(jobs, seed, augment, workers, progress, desc) -> list[np.ndarray]:
    chunks = _chunks(jobs, seed, augment)
    waves: list[np.ndarray | None] = [None] * len(jobs)
    threads = torch.get_num_threads()
    if workers <= 1:
        # One torch thread: idle OpenMP threads spin and steal the core the engine's subprocess needs
        # (measured: 64 espeak clips took 9.3 s with 2 threads, 1.6 s with 1).
        torch.set_num_threads(1)
    with tqdm(total=len(jobs), desc=desc, unit="clip", disable=not progress) as bar:
        if workers <= 1:
            pool, results = None, map(_run_chunk, chunks)
        else:
            # fork (Linux) starts workers in milliseconds; spawn elsewhere re-imports torch per worker.
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            pool = context.Pool(workers, initializer=_init_worker)
            results = pool.imap_unordered(_run_chunk, chunks)
        try:
            for indices, chunk_waves in results:
                for i, w in zip(indices, chunk_waves):
                    waves[i] = w
                bar.update(len(indices))
        finally:
            torch.set_num_threads(threads)
            if pool is not None:
                pool.close()
                pool.join()
    return waves


# --------------------------------------------------------------------------- the corpus

def _features():
    from datasets import Features, List, Value

    return Features({
        "audio": {"array": List(Value("float32")), "sampling_rate": Value("int32")},
        "text": Value("string"), "voice": Value("string"), "engine": Value("string"),
        "duration": Value("float32"),
    })


def _split_dataset(jobs: list[dict], waves: list[np.ndarray], fingerprint: str):
    """One split as a ``datasets.Dataset``, built straight from Arrow buffers.

    (``Dataset.from_dict`` would turn every sample into a Python float — 8x the audio's size in
    memory — and hashing the table for a fingerprint costs as much again; a 6 000-clip corpus then
    needs ~8 GB instead of ~1.5 GB.)
    """
    import pyarrow as pa
    from datasets import Dataset, DatasetInfo
    from datasets.table import InMemoryTable

    chunks = []
    for start in range(0, max(len(waves), 1), 500):   # int32 list offsets: keep each chunk small
        part = waves[start:start + 500]
        offsets = np.zeros(len(part) + 1, dtype=np.int32)
        offsets[1:] = np.cumsum([len(w) for w in part])
        values = np.concatenate(part).astype(np.float32) if part else np.zeros(0, np.float32)
        arrays = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))
        rates = pa.array(np.full(len(part), SAMPLE_RATE, dtype=np.int32))
        chunks.append(pa.StructArray.from_arrays([arrays, rates], names=["array", "sampling_rate"]))
    table = pa.table({
        "audio": pa.chunked_array(chunks, type=chunks[0].type),
        "text": pa.array([j["text"] for j in jobs], pa.string()),
        "voice": pa.array([j["voice"] for j in jobs], pa.string()),
        "engine": pa.array([j["engine"] for j in jobs], pa.string()),
        "duration": pa.array([len(w) / SAMPLE_RATE for w in waves], pa.float32()),
    })
    return Dataset(InMemoryTable(table), info=DatasetInfo(features=_features()), fingerprint=fingerprint)


def _formatted(corpus):
    """Arrays come back as numpy (not lists of Python floats); other columns stay Python."""
    return corpus.with_format("numpy", columns=["audio"], output_all_columns=True)


def build_corpus(task: str, n: int, seed: int = 0, engines: Sequence[str] = DEFAULT_ENGINES,
                 cache_dir: str | os.PathLike | None = None, *,
                 fractions: Sequence[float] = (0.8, 0.1, 0.1), test_voice_fraction: float = 0.15,
                 augment: CorpusAugmentConfig | bool | None = None, workers: int = 2,
                 progress: bool = True, overwrite: bool = False):
    """Synthesise (or load from cache) ``n`` clips of ``task``.

    Args:
        task: ``"digits"``, ``"commands"``, ``"sentences"`` or ``"an4"`` (see :data:`TASKS`).
        n: total clips over all splits.
        seed: the plan's seed; the same arguments give the same corpus (texts, voices, audio).
        engines: speech engines to use (any of :data:`~echo_edu.data.engines.ENGINES`: espeak,
            piper, flite, festival); ones not installed here are skipped with a warning, and
            :class:`EngineUnavailableError` is raised when none is left.
        cache_dir: where corpora are cached (default :func:`default_cache_dir`).
        fractions: share of clips (and of the text space) for train / validation / test.
        test_voice_fraction: share of each engine's voices held out for the test split.
        augment: ``True`` or an :class:`CorpusAugmentConfig` to augment the *train* split (seeded per
            clip); ``None`` (default) for clean audio — training can augment on the fly instead.
        workers: synthesis processes (2 = both cores here; 1 = in this process).
        progress: show a tqdm progress bar.
        overwrite: rebuild even if cached.

    Returns:
        ``datasets.DatasetDict`` with splits train/validation/test and columns ``audio``
        (``{"array", "sampling_rate"}``, 16 kHz float32), ``text`` (normalised), ``voice``,
        ``engine``, ``duration`` (seconds).
    """
    from datasets import DatasetDict, load_from_disk
    import datasets as datasets_logging  # progress-bar switches

    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; choose from {sorted(TASKS)}")
    if not isinstance(n, int) or n < len(SPLITS):
        raise ConfigError(f"n must be an int >= {len(SPLITS)} (one clip per split), got {n!r}")
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ConfigError(f"fractions must be three positive shares summing to 1, got {fractions}")
    if isinstance(engines, str):
        engines = (engines,)
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise ConfigError(f"unknown engines {unknown or engines}; choose from {ENGINES}")
    have = available_engines()
    missing = [e for e in engines if e not in have]
    engines = tuple(e for e in engines if e in have)
    if not engines:
        for e in missing:
            check_engine(e)  # raises with the install hint
    if missing:
        warnings.warn(f"speech engines {missing} are not installed; building with {list(engines)} only",
                      stacklevel=2)
    if augment is True:
        augment = CorpusAugmentConfig()
    augment = augment or None

    config = dict(version=CORPUS_VERSION, task=task, n=n, seed=seed, engines=list(engines),
                  fractions=list(fractions), test_voice_fraction=test_voice_fraction,
                  augment=None if augment is None else vars(augment))
    key = hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()[:10]
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = root / f"{task}-n{n}-seed{seed}-{key}"
    if path.is_dir() and (path / "echo_corpus.json").is_file() and not overwrite:
        return _formatted(load_from_disk(str(path)))

    jobs = plan_corpus(task, n, seed, engines, fractions, test_voice_fraction, augment)
    waves = _synthesise(jobs, seed, augment, workers, progress, desc=f"synth {task}")
    splits = {}
    for split in SPLITS:
        rows = [(j, w) for j, w in zip(jobs, waves) if j["split"] == split]
        splits[split] = _split_dataset([j for j, _ in rows], [w for _, w in rows], f"{key}-{split}")
    corpus = DatasetDict(splits)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    quiet = not datasets_logging.are_progress_bars_disabled()
    if quiet:
        datasets_logging.disable_progress_bars()
    try:
        corpus.save_to_disk(str(tmp))
    finally:
        if quiet:
            datasets_logging.enable_progress_bars()
    meta = dict(config, test_voices={e: [v.name for v in held_out_voices(e, test_voice_fraction)]
                                     for e in engines})
    (tmp / "echo_corpus.json").write_text(json.dumps(meta, indent=1))
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    return _formatted(load_from_disk(str(path)))
