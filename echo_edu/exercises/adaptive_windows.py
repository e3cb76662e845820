"""Checkers for lesson 07 (adaptive spans and focus windows). Each prints a verdict and returns a bool."""

from __future__ import annotations

import torch

from . import verdict

__all__ = ["check_span_penalty", "check_energy_after_norm", "check_fast_warble", "check_focus_work"]


def check_span_penalty(spans_low, spans_high, mse_low, mse_high, init_span: float = 12.0) -> bool:
    """Exercise 1: per seed, final mean span and MSE (mean of the last steps, without the penalty) of the
    long-context task with ``span_penalty=0.05`` (``_low``) and ``0.5`` (``_high``)."""
    ok = (len(spans_low) == len(spans_high) == len(mse_low) == len(mse_high) >= 3
          and all(h < init_span <= low for h, low in zip(spans_high, spans_low))
          and all(mh > ml + 0.2 for mh, ml in zip(mse_high, mse_low)))
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    return verdict(ok, f"at λ = 0.5 the span shrinks below its start ({mean(spans_high):.1f} against {init_span:.0f}; "
                       f"{mean(spans_low):.1f} at λ = 0.05) and the error stays high ({mean(mse_high):.2f} against "
                       f"{mean(mse_low):.2f}): the first token lies up to 47 steps back, so only a wide span helps, "
                       "and the price of width now outweighs what the few keys on the ramp can show the loss.",
                   "copy train_span with a span_penalty argument; for at least three seeds record info['span'].mean() "
                   "and the MSE part of the loss (without info['aux_loss']), averaged over the last 10 steps.")


def check_energy_after_norm(raw_full, raw_quiet, normed_full, normed_quiet, flat_share) -> bool:
    """Exercise 2: per clip, mean frame energy ``x.pow(2).mean(-1)`` of the log-mel frames at full and 1/10 volume,
    the same after a ``LayerNorm`` over the mel bands, and the share of flat frames (equal in every band)."""
    raw_full, raw_quiet, normed_full, normed_quiet, flat_share = (
        torch.as_tensor(v, dtype=torch.float32) for v in (raw_full, raw_quiet, normed_full, normed_quiet, flat_share))
    ok = (bool(((raw_quiet - raw_full).abs() > 0.1).all()) and torch.allclose(normed_quiet, normed_full, atol=1e-4)
          and torch.allclose(normed_full, 1 - flat_share, atol=1e-3) and bool((flat_share < 1).all()))
    return verdict(ok, "after the norm every frame that is not flat has energy exactly 1 (mean 0, variance 1 over the "
                       "bands) and a flat frame 0, so the clip's energy is just its share of non-silent frames "
                       f"({', '.join(f'{v:.2f}' for v in normed_full.tolist())}) and the same at any volume. The "
                       "steady chirp and the busy warble both read 1.00: energy can no longer tell calm from busy, "
                       "and every clip without silences lands in the same bucket.",
                   "use torch.nn.functional.layer_norm(frames, (40,)) for the norm; a frame is flat where "
                   "frames.std(-1) < 1e-3; compare with log_mel_spectrogram(0.1 * waves, mels=40).")


def check_fast_warble(activity_slow: float, activity_fast: float, window_slow: int, window_fast: int) -> bool:
    """Exercise 3: activity and calibrated window of the warble hopping every 40 ms (``slow``) and every 10 ms."""
    ok = activity_fast < 0.5 * activity_slow and window_fast > window_slow
    return verdict(ok, f"the faster warble looks *calmer*: activity {activity_fast:.3f} against {activity_slow:.3f}, "
                       f"window {window_fast} against {window_slow}. Each 25 ms analysis frame (n_fft = 400) now holds "
                       "two or three pitches and frames overlap by 15 ms, so the spectrogram smears into a steady blend "
                       "and neighbouring frames look alike. Activity measures change between frames, not in the sound.",
                   "build the warble like demo_signals does (pitches[(t / hop).long() % 8], phase by cumsum) with hop "
                   "0.04 and 0.01 s, and run both through one focus layer calibrated on other clips (activity and "
                   "window in info).")


def check_focus_work(length: int, max_window: int, used_blocked: bool, flops_focus: int,
                     flops_standard: int) -> bool:
    """Exercise 4: input length, the focus layer's widest window, whether ``blocked_local_attention`` ran, and the
    matrix-product FLOPs (``echo_edu.utils.matmul_flops``) of one focus and one standard forward pass."""
    ratio = flops_standard / flops_focus
    ok = used_blocked and length > 2 * max_window and ratio > 2
    return verdict(ok, f"at T = {length} the focus layer takes the blocked path (T > 2·{max_window}, no weights asked): "
                       f"scores are (n, C, 3C) blocks of C = {max_window}, {length}·{3 * max_window} per head instead of "
                       f"{length}², so it does ×{ratio:.1f} less work, and the gap grows with T. Seconds fall less "
                       "(the blocking, masks and softmax are not matrix products) and a busy machine blurs them, "
                       "so the work is what is checked.",
                   "wrap echo_edu.attention.windows.blocked_local_attention to record that it was called, use an input "
                   "longer than 2 × the widest window (e.g. torch.randn(1, 2048, 40)), and count each layer's "
                   "forward with matmul_flops(lambda: layer(x)) under torch.no_grad().")
