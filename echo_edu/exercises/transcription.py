"""Checkers for lesson 10 (transcription). Each prints a verdict and returns a bool."""

from __future__ import annotations

import torch

from . import verdict

__all__ = ["check_digit_errors", "check_alignment_peaks", "check_no_overlap", "check_decode_work"]

# (reference, hypothesis, reference words that were not transcribed right)
_DIGIT_CASES = [("one two three", "one two three", {}), ("one two three", "one five three", {"two": 1}),
                ("one two three", "one three", {"two": 1}), ("one two three", "one two two three", {}),
                ("four four four", "four six four", {"four": 1}), ("seven", "", {"seven": 1}),
                ("two nine", "nine two", {"two": 1, "nine": 1})]


def check_digit_errors(digit_errors) -> bool:
    """Exercise 1: ``digit_errors(reference, hypothesis) -> {word: count}`` of reference words not transcribed right
    (substituted or deleted, after a minimum-edit alignment; inserted words count for no reference word)."""
    wrong = []
    for ref, hyp, expected in _DIGIT_CASES:
        got = {word: count for word, count in dict(digit_errors(ref, hyp)).items() if count}
        if got != expected:
            wrong.append((ref, hyp, got))
    return verdict(not wrong, "your counter aligns words like WER does: a substituted or deleted reference digit is an "
                              "error of that digit, an inserted word belongs to none.",
                   f"wrong for {wrong[0][:2]} (gave {wrong[0][2]}); align with the edit-distance table of the two word "
                   "lists and walk back from the corner, counting the reference word of every substitution and "
                   "deletion." if wrong else "")


def _forward_share_reference(alignment) -> float:
    peaks = alignment.weights.float().mean((0, 1)).argmax(-1)  # (tokens,) frame each character listens to most
    return (peaks[1:] >= peaks[:-1]).float().mean().item() if len(peaks) > 1 else 1.0


def check_alignment_peaks(forward_share, clean, noisy) -> bool:
    """Exercise 2: ``forward_share(alignment)`` — share of characters whose peak frame (blocks and heads averaged)
    is not before the previous one's — and the alignments of clips transcribed right (``clean``) and wrong."""
    from types import SimpleNamespace

    diagonal = SimpleNamespace(weights=torch.eye(6)[None, None].expand(2, 2, 6, 6))
    reversed_ = SimpleNamespace(weights=torch.eye(6).flip(-1)[None, None].expand(2, 2, 6, 6))
    right = (abs(forward_share(diagonal) - 1) < 1e-6 and abs(forward_share(reversed_)) < 1e-6
             and all(abs(forward_share(a) - _forward_share_reference(a)) < 1e-6 for a in [*clean, *noisy]))
    ok = right and len(clean) >= 3 and len(noisy) >= 3
    if not ok:
        return verdict(False, "", "take the argmax over frames of alignment.weights averaged over blocks and heads, "
                                  "and the share of steps where it does not move back; at least three clips of each.")
    good = [forward_share(a) for a in clean]
    bad = [forward_share(a) for a in noisy]
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    verdict_text = ("the wrong clips' peaks go back more often" if mean(bad) < mean(good) - 0.1 else
                    "the wrong clips' peaks are about as orderly as the right ones'")
    return verdict(True, f"forward share {mean(good):.2f} on clips transcribed right, {mean(bad):.2f} on wrong ones: "
                         f"{verdict_text}. Even right clips are far from a clean diagonal (lowest {min(good):.2f}), so a "
                         "broken diagonal alone does not point at the error on this small model.", "")


def check_no_overlap(wer_default: float, wer_zero: float, windows_default: int, windows_zero: int,
                     deletions_default: int, deletions_zero: int) -> bool:
    """Exercise 3: stitched WER, window count and deletions of the long file with the default overlap and with 0."""
    ok = windows_zero < windows_default and wer_zero > wer_default and deletions_zero > deletions_default
    return verdict(ok, f"without overlap the file needs {windows_zero} windows instead of {windows_default}, but WER rises "
                       f"from {wer_default:.0%} to {wer_zero:.0%} with {deletions_zero} deleted words ({deletions_default} "
                       "before): a word cut by an edge is whole in neither window, and no neighbour can vouch for it.",
                   "run transcribe_detailed(model, long, overlap=0.0)[0] next to the default and score both .text with "
                   "error_rates([reference], [text]) (wer, deletions); len(result.windows) counts the windows.")


def check_decode_work(cached_lengths, uncached_lengths) -> bool:
    """Exercise 4: the number of positions the decoder was given at each step, with and without the KV cache."""
    n = len(uncached_lengths)
    ok = (n >= 10 and len(cached_lengths) == n and all(length == 1 for length in cached_lengths)
          and list(uncached_lengths) == list(range(1, n + 1)))
    total = sum(uncached_lengths)
    return verdict(ok, f"with the cache every one of the {n} steps feeds one position; without it step t feeds all t, "
                       f"{total} positions in all against {n} (×{total / max(n, 1):.0f}). The work grows as T²/2 "
                       "without the cache and as T with it, so the time gap widens with the output's length.",
                   "register a forward pre-hook on model.decoder that appends args[0].shape[1] (the ids it is given) "
                   "and run greedy_decode(model, encoded, use_cache=True) and use_cache=False on a long clip.")
