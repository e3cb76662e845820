"""Checkers for lesson 09 (training). Each prints a verdict and returns a bool.

The checkers build their own tiny cases (a seeded Echo, a few short clips of noise with real digit
transcripts), so each one runs in a second or two and needs no corpus.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import verdict
from .. import Dimensions, Echo
from ..data.collate import SpeechCollator
from ..tokenizer import build_tokenizer
from ..train import parameter_groups

__all__ = ["check_accumulation", "check_clip", "check_decay_rule"]

# One short transcript in the first micro-batch, three long ones in the second: their token counts
# differ, which is exactly where a mean of micro-batch means goes wrong.
_TEXTS = ("four", "seven three nine two", "eight eight one oh", "five six zero two one")


def _accumulation_case():
    """A seeded tiny Echo (no dropout), its four-clip batch and the same clips as micro-batches of 1 and 3."""

    torch.manual_seed(0)
    model = Echo(Dimensions.tiny(audio_ctx=25, text_ctx=32))
    noise = torch.Generator().manual_seed(0)
    rows = [{"audio": {"array": (0.1 * torch.randn(8000, generator=noise)).numpy(), "sampling_rate": 16000},
             "text": text} for text in _TEXTS]
    collate = SpeechCollator.for_model(model, build_tokenizer())
    return model, collate(rows), [collate(rows[:1]), collate(rows[1:])]


def _summed_ce(model, batch) -> torch.Tensor:
    """Cross-entropy summed over the batch's label tokens (``-100`` skipped), a 0-d tensor."""
    out = model(batch.mel, batch.input_ids, lengths=batch.lengths)                 # logits (B, T, vocab)
    return F.cross_entropy(out.logits.flatten(0, 1), batch.labels.flatten(), ignore_index=-100, reduction="sum")


def check_accumulation(accumulate) -> bool:
    """Exercise 1: ``accumulate(model, micro_batches) -> float`` runs forward and backward on each micro-batch
    so that the summed ``.grad`` is the gradient of the token-mean loss of all of them together, and returns
    that loss."""
    model, whole, micro = _accumulation_case()
    n_tokens = whole.n_label_tokens
    model.zero_grad(set_to_none=True)
    reference = _summed_ce(model, whole) / n_tokens                                 # one big batch
    reference.backward()
    reference = reference.item()
    want = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    got_loss = float(accumulate(model, micro))
    grads = dict(model.named_parameters())
    missing = [n for n in want if grads[n].grad is None]
    worst = max((float((grads[n].grad - g).abs().max() / g.abs().max().clamp_min(1e-12))
                 for n, g in want.items() if n not in missing), default=math.inf)
    with torch.no_grad():   # what averaging the micro-batches' own means would give, for the verdict
        mean_of_means = sum(float(_summed_ce(model, b)) / b.n_label_tokens for b in micro) / len(micro)
    ok = not missing and worst < 1e-4 and abs(got_loss - reference) < 1e-5
    counts = [b.n_label_tokens for b in micro]
    return verdict(ok, f"each micro-batch's summed cross-entropy divided by the step's {n_tokens} label tokens: the "
                       f"gradients add up to the whole batch's (largest relative difference {worst:.0e}) and the loss is "
                       f"{got_loss:.4f}. Averaging the micro-batches' own means ({mean_of_means:.4f}) would weigh the "
                       f"{counts[0]} tokens of the first like the {counts[1]} of the second.",
                   f"the whole batch gives loss {reference:.4f} (you returned {got_loss:.4f}"
                   + (f", and {len(missing)} parameters got no gradient" if missing else
                      f", gradients off by up to {worst:.0%}") + "). Count the label tokens of all micro-batches "
                   "first (Batch.n_label_tokens), then backward each micro-batch's summed cross-entropy divided by "
                   "that total; do not zero the gradients in between.")


def _gradients(scale: float) -> list[torch.Tensor]:
    """Three parameters with seeded gradients of very different sizes, ``scale`` times their base size."""
    gen = torch.Generator().manual_seed(0)
    params = []
    for shape, size in (((8, 4), 1.0), ((16,), 0.05), ((3, 3, 2), 3.0)):
        p = torch.nn.Parameter(torch.zeros(shape))
        p.grad = scale * size * torch.randn(shape, generator=gen)
        params.append(p)
    return params


def check_clip(clip) -> bool:
    """Exercise 2: ``clip(parameters, max_norm)`` clips the gradients in place by their *global* norm, like
    ``torch.nn.utils.clip_grad_norm_``, and returns the norm measured before clipping."""
    problems, shown = [], {}
    for scale, label in ((1.0, "a long gradient"), (0.01, "a short gradient")):
        mine, torch_own = _gradients(scale), _gradients(scale)
        returned = float(clip(mine, 1.0))
        expected = float(torch.nn.utils.clip_grad_norm_(torch_own, 1.0))
        if abs(returned - expected) > 1e-4 * max(1.0, expected):
            problems.append(f"for {label} you returned {returned:.4g}, the norm before clipping is {expected:.4g}")
        elif any(not torch.allclose(a.grad, b.grad, rtol=1e-5, atol=1e-7) for a, b in zip(mine, torch_own)):
            problems.append(f"for {label} (norm {expected:.3g}) the clipped gradients differ from torch's")
        shown[label] = expected
    flat = torch.cat([p.grad.flatten() for p in _gradients(1.0)])
    each = torch.cat([(p.grad * (1.0 / p.grad.norm()).clamp(max=1.0)).flatten() for p in _gradients(1.0)])
    turned = math.degrees(math.acos(min(1.0, float(F.cosine_similarity(flat, each, dim=0)))))
    return verdict(not problems, f"one factor for all tensors: the gradient of norm {shown['a long gradient']:.2f} is "
                                 f"scaled down to 1, the one of norm {shown['a short gradient']:.3f} is left alone, and "
                                 f"the direction is kept. Clipping each tensor on its own would also have turned "
                                 f"the update by {turned:.0f}°.",
                   (problems[0] if problems else "") + ". Take the norm of all gradients together "
                   "(sqrt of the sum of every tensor's squared norm); multiply every .grad by max_norm / norm only "
                   "when that norm is larger than max_norm.")


def check_decay_rule(decays) -> bool:
    """Exercise 3: ``decays(name, parameter) -> bool``, True for the tensors AdamW should shrink with weight
    decay, on an Echo with every kind of block; compared with ``echo_edu.train.parameter_groups``."""

    model = Echo(Dimensions.tiny(audio_layerB=1, text_layerB=1, self_attention_type="myelinated", rotary=False))
    truth = set(parameter_groups(model, 0.05)[0]["names"])
    mine = {name for name, p in model.named_parameters() if decays(name, p)}
    params = dict(model.named_parameters())
    extra, missed = sorted(mine - truth), sorted(truth - mine)
    share = sum(params[n].numel() for n in truth) / sum(p.numel() for p in params.values())
    first = f"{extra[0]} should not decay" if extra else f"{missed[0]} should decay" if missed else ""
    return verdict(not extra and not missed,
                   f"{len(truth)} weight matrices decay ({share:.0%} of the parameters); the {len(params) - len(truth)} "
                   "others (norm gains, biases, the token and position tables) do not: decay on a norm's gain or an "
                   "embedding only pulls it towards zero without regularising anything.",
                   f"{first} ({len(extra)} wrongly decayed, {len(missed)} missed); decay tensors of 2 or more "
                   "dimensions unless they are an embedding or a positional table.")
