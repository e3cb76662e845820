"""Evaluate a model on a corpus split: real transcription, then WER/CER overall, per engine, per voice.

Every clip is transcribed the way a user's file would be — the encoder once, then autoregressive
decoding from ``<|startoftranscript|>`` (greedy, or beam search) where each token is the model's own
previous guess. Teacher forcing (feeding the true previous token) would hide how errors compound, which
is how the original Echo reported flattering numbers.

The per-engine and per-voice tables show *where* a model fails: the test split's voices are held out of
training, so a low WER there means the model generalises beyond the voices it heard (issue 7's question).
The report also holds the sclite-style counts ESPnet prints (Snt, Wrd, Corr, Sub, Del, Ins, Err, S.Err)
over words and characters, pooled and per speaker (the rows' ``speaker`` column, else ``voice``), so a
score on AN4 test reads the way the published recipes report theirs.
The shell command is ``echo-edu evaluate`` (:mod:`echo_edu.cli.evaluate`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .data.collate import SpeechCollator, example_audio, select_rows
from .decode import JOINT_CTC_WEIGHT
from .metrics import ErrorRates, SclitePoint, breakdown, error_rates, format_table, sclite_report
from .speed_search import check_speeds, cut_short, decode_at_speeds, decode_each_speed, keep_best
from .text import normalize_text

__all__ = ["EvalReport", "transcribe_rows", "teacher_forced_texts", "evaluate_model", "evaluation_subset",
           "ctc_weight_sweep", "SpeedSweep", "speed_sweep"]


@dataclass
class EvalReport:
    """Scores of one evaluation.

    Attributes:
        overall: pooled :class:`~echo_edu.metrics.ErrorRates` of every clip.
        per_engine, per_voice: the same per speech engine and per voice (empty when the column is absent).
        references, hypotheses, engines, voices: one entry per clip, in evaluation order.
        speakers, ids: one entry per clip too: the ``speaker`` column (else ``voice``) and the ``id``
            column (else the row's index in the evaluated split).
        sclite: ``{"word": {...}, "char": {...}}``, each :func:`~echo_edu.metrics.sclite_report` of the
            clips: the pooled ``"Sum/Avg"`` line first, then one line per speaker.
        seconds: wall-clock time of the transcription.
    """

    overall: ErrorRates
    per_engine: dict[str, ErrorRates]
    per_voice: dict[str, ErrorRates]
    references: list[str]
    hypotheses: list[str]
    engines: list[str] = field(default_factory=list)
    voices: list[str] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    sclite: dict[str, dict[str, SclitePoint]] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self, with_transcripts: bool = False) -> dict[str, Any]:
        """Plain JSON-ready data; ``with_transcripts`` adds ``transcripts``: one ``{reference, hypothesis,
        speaker, id}`` per clip (``speaker``/``id`` only when the report has them)."""
        out = {"overall": self.overall.to_dict(), "seconds": self.seconds,
               "per_engine": {k: v.to_dict() for k, v in self.per_engine.items()},
               "per_voice": {k: v.to_dict() for k, v in self.per_voice.items()},
               "sclite": {unit: {k: v.to_dict() for k, v in table.items()} for unit, table in self.sclite.items()}}
        if with_transcripts:
            extra = {"speaker": self.speakers, "id": self.ids}
            out["transcripts"] = [{"reference": r, "hypothesis": h,
                                   **{k: v[i] for k, v in extra.items() if len(v) == len(self.references)}}
                                  for i, (r, h) in enumerate(zip(self.references, self.hypotheses))]
        return out

    def to_markdown(self) -> str:
        """Overall, per-engine and per-voice markdown tables."""
        parts = [format_table({"all": self.overall}, "split")]
        if self.per_engine:
            parts.append(format_table(self.per_engine, "engine"))
        if self.per_voice:
            parts.append(format_table(self.per_voice, "voice"))
        return "\n\n".join(parts)


def evaluation_subset(n: int, limit: int | None) -> list[int]:
    """``limit`` indices spread evenly over ``n`` rows (all of them when ``limit`` is None or ≥ n).

    Spreading (rather than taking the first rows) keeps every voice of a voice-sorted split represented.
    """
    if limit is None or limit >= n:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, num=limit).round().astype(int).tolist()))


@torch.no_grad()
def transcribe_rows(model, rows: Sequence[dict], tokenizer=None, *, batch_size: int = 32, method: str = "greedy",
                    beam_size: int = 4, ctc_weight: float = JOINT_CTC_WEIGHT, speeds: Sequence[float] = (1.0,),
                    progress: bool = False) -> list[str]:
    """Transcribe corpus rows (``audio`` column) autoregressively; one string per row (``model.tokenizer``
    unless ``tokenizer`` is given). ``method``, ``beam_size``, ``ctc_weight``: as in :func:`~echo_edu.decode.decode`;
    ``speeds``: playback speeds of :func:`~echo_edu.speed_search.decode_at_speeds` (default: as recorded)."""
    tokenizer = model.tokenizer if tokenizer is None else tokenizer
    speeds = check_speeds(speeds)
    collate = SpeechCollator.for_model(model, tokenizer)
    starts = range(0, len(rows), batch_size)
    if progress:
        starts = tqdm(starts, desc="transcribe", unit="batch")
    texts: list[str] = []
    for s in starts:
        waves = [example_audio(row) for row in rows[s:s + batch_size]]                # each (samples,)
        result = decode_at_speeds(model, waves, collate.wave_features, speeds=speeds, method=method,
                                  beam_size=beam_size, ctc_weight=ctc_weight, tokenizer=tokenizer)
        texts.extend(normalize_text(t) for t in result.texts)
    return texts


@torch.no_grad()
def teacher_forced_texts(model, rows: Sequence[dict], tokenizer=None, *, batch_size: int = 32) -> list[str]:
    """What the original Echo scored: the argmax at every position *given the true previous tokens*.

    Each prediction may lean on the reference itself, so one mistake never derails what follows; the
    resulting "WER" flatters the model. Shown in lesson 09 next to real decoding (:func:`transcribe_rows`).
    """
    tokenizer = model.tokenizer if tokenizer is None else tokenizer
    collate = SpeechCollator.for_model(model, tokenizer)
    eos = model.dims.eos_token_id
    was_training = model.training
    model.eval()
    texts: list[str] = []
    for s in range(0, len(rows), batch_size):
        batch = collate(rows[s:s + batch_size]).to(model.device)
        guess = model(batch.mel, batch.input_ids, lengths=batch.lengths).logits.argmax(-1)   # (b, T)
        guess = guess.masked_fill(batch.labels == -100, eos).tolist()        # cut at the reference's length
        texts.extend(normalize_text(tokenizer.decode(row[:row.index(eos)] if eos in row else row,
                                                     skip_special_tokens=True)) for row in guess)
    model.train(was_training)
    return texts


def evaluate_model(model, dataset, tokenizer=None, *, limit: int | None = None, batch_size: int = 32,
                   method: str = "greedy", beam_size: int = 4, ctc_weight: float = JOINT_CTC_WEIGHT,
                   speeds: Sequence[float] = (1.0,), progress: bool = False) -> EvalReport:
    """Transcribe ``dataset`` (a corpus split or a list of rows) and score it.

    Args:
        limit: evaluate only this many clips, spread over the split (:func:`evaluation_subset`).
    """
    idx = evaluation_subset(len(dataset), limit)
    rows = select_rows(dataset, idx)
    t0 = time.perf_counter()
    hyps = transcribe_rows(model, rows, tokenizer, batch_size=batch_size, method=method, beam_size=beam_size,
                           ctc_weight=ctc_weight, speeds=speeds, progress=progress)
    return _report(rows, idx, hyps, time.perf_counter() - t0)


def _report(rows: Sequence[dict], idx: Sequence[int], hyps: list[str], seconds: float) -> EvalReport:
    """The :class:`EvalReport` of ``hyps`` for the evaluated ``rows`` (the split's rows ``idx``)."""
    refs = [str(r["text"]) for r in rows]
    engines = [str(r["engine"]) for r in rows] if rows and "engine" in rows[0] else []
    voices = [str(r["voice"]) for r in rows] if rows and "voice" in rows[0] else []
    who = "speaker" if rows and "speaker" in rows[0] else "voice"
    speakers = [str(r[who]) for r in rows] if rows and who in rows[0] else []
    ids = [str(r["id"]) if "id" in r else str(i) for i, r in zip(idx, rows)]
    sclite = {unit: sclite_report(refs, hyps, speakers or None, unit=unit) for unit in ("word", "char")}
    return EvalReport(overall=error_rates(refs, hyps),
                      per_engine=breakdown(refs, hyps, engines) if engines else {},
                      per_voice=breakdown(refs, hyps, voices) if voices else {},
                      references=refs, hypotheses=hyps, engines=engines, voices=voices, speakers=speakers,
                      ids=ids, sclite=sclite, seconds=seconds)


def ctc_weight_sweep(model, dataset, weights: Sequence[float], *, beam_size: int = 4, limit: int | None = None,
                     batch_size: int = 32, progress: bool = False) -> dict[float, EvalReport]:
    """Score ``dataset`` with joint CTC/attention beam search at each CTC weight of ``weights`` (0 = the
    attention decoder alone, plain beam search); ``{weight: report}`` in the order given. Select a weight
    on a dev split, never on the test split."""
    return {float(w): evaluate_model(model, dataset, limit=limit, batch_size=batch_size, method="joint",
                                     beam_size=beam_size, ctc_weight=float(w), progress=progress)
            for w in weights}


@dataclass
class SpeedSweep:
    """One clip set decoded at several playback speeds (:func:`speed_sweep`).

    Attributes:
        speeds: the speeds, in order.
        reports: ``{speed: EvalReport}`` of every clip decoded at that one speed.
        searched: the :class:`EvalReport` of speed search: per clip, the hypothesis of the best-scoring speed.
        kept: ``(clips,)`` the speed speed search kept for each clip.
        scores: ``(speeds, clips)`` float32 decoding score of each speed's hypothesis.
    """

    speeds: tuple[float, ...]
    reports: dict[float, EvalReport]
    searched: EvalReport
    kept: list[float]
    scores: torch.Tensor


@torch.no_grad()
def speed_sweep(model, dataset, speeds: Sequence[float], *, limit: int | None = None, batch_size: int = 32,
                progress: bool = False, **options) -> SpeedSweep:
    """Decode ``dataset`` at each of ``speeds`` and score every speed alone and speed search over them, from
    one decoding per speed (``options``: :func:`~echo_edu.decode.decode`'s, e.g. ``method="joint"``). Choose
    speeds on a dev split, never on the test split."""
    speeds = check_speeds(speeds)
    idx = evaluation_subset(len(dataset), limit)
    rows = select_rows(dataset, idx)
    collate = SpeechCollator.for_model(model, model.tokenizer)
    starts = tqdm(range(0, len(rows), batch_size), desc="speeds", unit="batch", disable=not progress)
    texts, kept, scores = [[] for _ in speeds], [], []
    t0 = time.perf_counter()
    for s in starts:
        waves = [example_audio(row) for row in rows[s:s + batch_size]]                # each (samples,)
        results = decode_each_speed(model, waves, collate.wave_features, speeds=speeds, tokenizer=model.tokenizer,
                                    **options)
        for k, r in enumerate(results):
            texts[k] += [normalize_text(t) for t in r.texts]
        kept += keep_best(results, speeds, cut_short(waves, speeds, model.dims.n_audio_samples)).speeds
        scores.append(torch.stack([r.scores.float().cpu() for r in results]))   # (speeds, b)
    seconds = time.perf_counter() - t0
    searched = [texts[speeds.index(v)][i] for i, v in enumerate(kept)]
    return SpeedSweep(speeds, {v: _report(rows, idx, texts[k], seconds) for k, v in enumerate(speeds)},
                      _report(rows, idx, searched, seconds), kept, torch.cat(scores, dim=1))
