"""Synthetic speech data: engines, tasks, the corpus builder and bundled samples.

``build_corpus(task, n, seed)`` makes a ``datasets.DatasetDict`` of locally synthesised speech
(espeak-ng and piper, no downloads); ``load_samples()`` returns the few clips bundled in
``assets/samples/`` for lessons and tests that must not synthesise.

Real speech: ``load_speech("an4:PATH")`` (or a list of such specs, mixed with per-source weights)
returns the same rows from recordings of people; see :mod:`echo_edu.data.spec` for the syntax and
:mod:`echo_edu.data.rows` for the columns.
"""

from __future__ import annotations

from .corpus import SPLITS, build_corpus, default_cache_dir, held_out_voices, plan_corpus
from .samples import SAMPLES_DIR, load_samples, write_samples
from .engines import DEFAULT_ENGINES, ENGINES, Voice, available_engines, check_engine, list_voices, synthesize
from .tasks import COMMAND_WORDS, TASKS, generate_text, task_vocabulary
from .an4 import load_an4
from .audiofolder import load_audiofolder
from .fsdd import load_fsdd
from .hf import load_hf
from .locate import DATA_ENV, find_data_root
from .manifest import load_manifest, load_speech_commands
from .mixture import WeightedStepSampler, mix, sample_weights, source_shares
from .rows import REAL_COLUMNS, Clip
from .spec import KINDS, DataSpec, load_source, load_speech, parse_data_spec
from .splits import hold_out_speakers, speaker_splits
from .transcripts import normalize_transcript, unspellable_characters

__all__ = [
    "SPLITS", "build_corpus", "default_cache_dir", "held_out_voices", "plan_corpus",
    "DEFAULT_ENGINES", "ENGINES", "Voice", "available_engines", "check_engine", "list_voices", "synthesize",
    "SAMPLES_DIR", "load_samples", "write_samples",
    "COMMAND_WORDS", "TASKS", "generate_text", "task_vocabulary",
    "DATA_ENV", "find_data_root", "load_an4", "load_audiofolder", "load_fsdd", "load_hf", "load_manifest", "load_speech_commands",
    "WeightedStepSampler", "mix", "sample_weights", "source_shares", "REAL_COLUMNS", "Clip",
    "KINDS", "DataSpec", "load_source", "load_speech", "parse_data_spec",
    "hold_out_speakers", "speaker_splits", "normalize_transcript", "unspellable_characters",
]
