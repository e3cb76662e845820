"""Checkers for lesson 12 (real speech). Each prints a verdict and returns a bool; none needs the recordings."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from ..bundled import bundled_model_dir
from ..experiments.mixtures import compare_mixtures
from ..metrics import DELETED, word_confusions
from . import verdict

__all__ = ["LEAD_CASES", "check_lead_holds", "CONFUSION_REFS", "CONFUSION_HYPS", "check_symmetric_confusions",
           "check_test_counts"]

#: ``(winner's per-seed WER %, runner-up's)``: the cases ``lead_holds`` is tried on (exercise 1).
LEAD_CASES = (([20.0, 21.0], [30.0, 31.0]),       # far apart, tight seeds: holds
              ([29.0, 33.0], [30.0, 36.0]),       # means differ, seeds overlap: not a result
              ([10.0, 20.0], [20.5, 21.5]),       # no overlap, but the gap (6) is below the winner's sd (7.1)
              ([35.0, 36.0, 35.5], [37.0, 38.0, 37.5]),
              ([12.0, 12.0], [12.5, 12.5]),       # both sd 0: any clean gap holds
              ([40.0], [60.0]))                   # one seed each: no spread, never a result


def _expected(a, b) -> bool:
    table = {"steps": 0, "table": {name: {"dev": {"wer": sum(v) / len(v), "wer_sd": None, "cer": 0.0,
                                                 "seeds": list(range(len(v))), "wer_each": list(v)}}
                                   for name, v in (("a", a), ("b", b))}}
    return compare_mixtures(table, "dev").is_result


def check_lead_holds(lead_holds) -> bool:
    """Exercise 1: ``lead_holds(winner_seeds, runner_up_seeds) -> bool``, the lesson's rule for "a result"."""
    for a, b in LEAD_CASES:
        want = _expected(a, b)
        try:
            got = lead_holds(list(a), list(b))
        except Exception as error:                      # a crash on a case is a wrong answer, with the case
            got = f"an error ({type(error).__name__}: {error})"
        if got is not want:
            return verdict(False, "", f"for winner seeds {list(a)} and runner-up seeds {list(b)} the answer is {want}, "
                                      f"yours gave {got!r}. The lead holds only with ≥ 2 seeds per arm, when "
                                      "max(winner) < min(runner-up) (no overlap) and the gap of the means exceeds "
                                      "the larger sample sd (statistics.stdev).")
    return verdict(True, "your rule agrees with compare_mixtures on every case, including the one where the seeds do "
                         "not overlap but a wide seed spread still makes the ranking fragile.", "")


#: Fixed transcripts for exercise 2 (spelled letters: the AN4 kind of error).
CONFUSION_REFS = ("b e d", "p t", "d", "m n", "e", "t v", "b")
CONFUSION_HYPS = ("d e b", "t t", "b", "m", "e e", "d v", "b")


def _symmetric(references, hypotheses) -> Counter:
    out: Counter = Counter()
    for (ref, hyp), n in word_confusions(references, hypotheses).items():
        if DELETED not in (ref, hyp):
            out[frozenset((ref, hyp))] += n
    return out


def check_symmetric_confusions(confusions) -> bool:
    """Exercise 2: ``confusions(refs, hyps) -> Counter`` of substitutions keyed ``frozenset({a, b})`` (either way)."""
    want = _symmetric(CONFUSION_REFS, CONFUSION_HYPS)
    got = confusions(list(CONFUSION_REFS), list(CONFUSION_HYPS))
    got = Counter(dict(got)) if got is not None else Counter()
    if got != want:
        return verdict(False, "", f"on CONFUSION_REFS / CONFUSION_HYPS the substitutions are {dict(want)}, yours "
                                  f"{dict(got)}. Walk jiwer.process_words(refs, hyps).alignments: each 'substitute' "
                                  "chunk pairs ref words [ref_start_idx:ref_end_idx] with hyp words "
                                  "[hyp_start_idx:hyp_end_idx]; key them frozenset((r, h)); skip deletions and insertions.")
    top, n = want.most_common(1)[0]
    return verdict(True, f"'{' / '.join(sorted(top))}' is confused {n} times counting both directions; one direction "
                         "alone would have shown it as two smaller rows.", "")


def _test_log() -> dict:
    return json.loads((Path(bundled_model_dir()) / "training_log.json").read_text())["test"]["overall"]


def check_test_counts(wer_percent: float, corr_percent: float) -> bool:
    """Exercise 3: AN4 test WER % and sclite's Corr % recomputed from the counts in echo-an4's training log."""
    o = _test_log()
    wer = 100 * (o["substitutions"] + o["deletions"] + o["insertions"]) / o["words"]
    corr = 100 * (o["words"] - o["substitutions"] - o["deletions"]) / o["words"]
    ok = abs(wer_percent - wer) < 0.05 and abs(corr_percent - corr) < 0.05
    return verdict(ok, f"WER {wer:.1f} %, Corr {corr:.1f} %: Err is not 100 − Corr ({100 - corr:.1f}) because the "
                       f"{o['insertions']} inserted words count as errors but take no reference word away.",
                   f"use the training log's test counts: WER = (S + D + I) / N and Corr = (N − S − D) / N, in percent "
                   f"(you gave {wer_percent:.2f} and {corr_percent:.2f}).")
