"""Synthetic speech data: engines, tasks, the corpus builder and bundled samples.

``build_corpus(task, n, seed)`` makes a ``datasets.DatasetDict`` of locally synthesised speech
(espeak-ng and piper, no downloads); ``load_samples()`` returns the few clips bundled in
``assets/samples/`` for lessons and tests that must not synthesise.
"""

from __future__ import annotations

from .corpus import SPLITS, build_corpus, default_cache_dir, held_out_voices, plan_corpus
from .samples import SAMPLES_DIR, load_samples, write_samples
from .engines import ENGINES, Voice, available_engines, check_engine, list_voices, synthesize
from .tasks import COMMAND_WORDS, TASKS, generate_text, task_vocabulary

__all__ = [
    "SPLITS", "build_corpus", "default_cache_dir", "held_out_voices", "plan_corpus",
    "ENGINES", "Voice", "available_engines", "check_engine", "list_voices", "synthesize",
    "SAMPLES_DIR", "load_samples", "write_samples",
    "COMMAND_WORDS", "TASKS", "generate_text", "task_vocabulary",
]
