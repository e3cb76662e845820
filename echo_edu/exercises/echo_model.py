"""Checkers for lesson 08 (the Echo model). Each prints a verdict and returns a bool."""

from __future__ import annotations

import math

from . import verdict

__all__ = ["check_width_mismatch", "check_no_rotary_positions", "check_embedding_scale", "check_cache_work"]


def check_width_mismatch(model, names) -> bool:
    """Exercise 1: names of the decoder parameters that read the encoder's width (``audio_dims ≠ text_dims``)."""
    dims = model.dims
    truth = {n for n, p in model.decoder.named_parameters() if p.ndim == 2 and p.shape[1] == dims.audio_dims}
    ok = dims.audio_dims != dims.text_dims and set(names) == truth and truth
    return verdict(ok, f"only the cross-attention's key and value projections ({len(truth)} matrices of shape "
                       f"{dims.text_dims}×{dims.audio_dims}) read the audio: they map the encoder's {dims.audio_dims} "
                       f"channels into the decoder's {dims.text_dims}; queries, outputs and the rest never see the encoder.",
                   "build Echo(Dimensions.tiny(audio_dims=96, audio_head=3)) and list the decoder parameters whose "
                   "input side (shape[1]) is audio_dims." if dims.audio_dims != dims.text_dims
                   else "the model must have audio_dims ≠ text_dims.")


def check_no_rotary_positions(model, change_with_positions: float, change_without: float) -> bool:
    """Exercise 2: a ``rotary=False`` model; last-position logit change when two earlier tokens are swapped,
    with its position table as trained/initialised and with it zeroed."""
    table = dict(model.decoder.named_parameters()).get("positional")
    has_table = (model.dims.rotary is False and table is not None
                 and tuple(table.shape) == (model.dims.text_ctx, model.dims.text_dims))
    ok = has_table and change_with_positions > 1e-3 and change_without < 1e-5
    return verdict(ok, f"the decoder adds a learned table of absolute positions ({model.dims.text_ctx}×{model.dims.text_dims}). "
                       f"Zero it and swapping two earlier characters changes the last logits by {change_without:.0e} "
                       f"(with it: {change_with_positions:.3f}): attention alone sees a bag of characters, "
                       "so 'ab' and 'ba' would look the same.",
                   "use Echo(Dimensions.tiny(rotary=False)) (one decoder block), swap two tokens before the last one, "
                   "compare model.decoder(ids, encoded)[:, -1] before and after, once as built and once after "
                   "model.decoder.positional.zero_()." if has_table else "build the model with rotary=False.")


def check_embedding_scale(loss_small: float, loss_big: float, vocab: int = 31) -> bool:
    """Exercise 3: first loss with the default embeddings (σ = 0.02) and with σ = 1."""
    ln_v = math.log(vocab)
    ok = abs(loss_small - ln_v) < 0.3 and loss_big > ln_v + 2
    return verdict(ok, f"σ = 1 starts at {loss_big:.1f}, {loss_big - ln_v:.1f} nats above ln {vocab} = {ln_v:.2f}: "
                       "tied embeddings make the logits dot products of σ = 1 vectors, so the untrained model is "
                       "confidently wrong instead of evenly unsure.",
                   "compute model(mel, ids, labels=labels).loss once as built and once after "
                   "torch.nn.init.normal_(model.decoder.token_embedding.weight), same inputs.")


def check_cache_work(lengths, cached_flops, uncached_flops) -> bool:
    """Exercise 4: matrix-product FLOPs (``echo_edu.utils.matmul_flops``) of the decoder step that adds token
    ``lengths[i]``, with a cache and recomputing the prefix."""
    ratios = [u / c for c, u in zip(cached_flops, uncached_flops)]
    ok = (len(lengths) >= 3 and list(lengths) == sorted(lengths) and lengths[-1] >= 50
          and ratios == sorted(ratios) and ratios[-1] >= lengths[-1] / 2)
    shown = ", ".join(f"{n}: ×{r:.0f}" for n, r in zip(lengths, ratios))
    return verdict(ok, f"the gap grows with length ({shown}): without a cache the step to token T recomputes all T "
                       "positions (T²/2 over a whole output), with it only the new one, which still reads the T "
                       "cached keys. Seconds grow far less than the work: each call of a model this small pays a "
                       "fixed cost (Python, dispatch) that no cache removes, and a busy machine blurs them, so the "
                       "work is what is checked.",
                   "count at least three increasing lengths up to ≥ 50 (text_ctx large enough) with "
                   "matmul_flops(lambda: ...); with the cache decode ids[:, -1:] after filling it with the prefix, "
                   "without it decode all of ids.")
