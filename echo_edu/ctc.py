"""Connectionist temporal classification (CTC) on the encoder: a second, alignment-free view of the audio.

An attention decoder must *learn* where in the audio each character lies; early in training, and with
little data, it drifts, repeats or stops early. A CTC head reads characters straight off the encoder —
one distribution over ``vocab`` per encoder position, with a *blank* for "no new character here" — and
its loss sums over every monotonic alignment of the transcript to the audio. Trained jointly
(``loss = (1 - w)·attention CE + w·CTC``, ESPnet's hybrid CTC/attention), it forces the encoder into
left-to-right, time-aligned features, which makes the attention decoder converge faster and err less.

Here the blank is the pad token (id 0): pad never appears inside a transcript, so no id is spent.

Shapes: encoder output ``(B, T, audio_dims)``; CTC log-probabilities ``(B, T, vocab)``; encoder lengths
``(B,)`` (real positions per clip); targets are the label rows of the collator ``(B, L)`` with ``-100``
padding, whose end-of-text token is dropped (CTC has no "stop" symbol: it ends where the audio ends).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .audio import encoder_positions
from .errors import ShapeError

__all__ = ["CTCHead", "encoded_lengths", "joint_loss", "ctc_targets", "ctc_loss_sum", "ctc_greedy",
           "ctc_sequence_log_likelihood"]


class CTCHead(nn.Module):
    """``(B, T, audio_dims)`` encoder output → ``(B, T, vocab)`` float32 log-probabilities."""

    def __init__(self, audio_dims: int, vocab: int):
        super().__init__()
        self.proj = nn.Linear(audio_dims, vocab)
        nn.init.normal_(self.proj.weight, std=0.02)
        nn.init.zeros_(self.proj.bias)

    def forward(self, encoded: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.proj(encoded).float(), dim=-1)


def joint_loss(ce: torch.Tensor, ctc: torch.Tensor, ctc_weight: float) -> torch.Tensor:
    """``(1 - w)·CE + w·CTC``, ESPnet's hybrid CTC/attention objective (both per token, or both summed
    over the same tokens: it is linear). ``w = 0`` is the plain cross-entropy."""
    return ce if ctc_weight == 0 else (1 - ctc_weight) * ce + ctc_weight * ctc


def encoded_lengths(frames: torch.Tensor | None, audio_mask: torch.Tensor | None,
                    encoded: torch.Tensor, stride: int = 2) -> torch.Tensor:
    """``(B,)`` real encoder positions: the mask's count, else ``ceil(frames / stride)``, else all ``S``."""
    B, S = encoded.shape[:2]
    if audio_mask is not None:
        return audio_mask.sum(dim=1)
    if frames is not None:
        return encoder_positions(frames, stride).clamp(max=S)
    return torch.full((B,), S, dtype=torch.long, device=encoded.device)


def ctc_targets(labels: torch.Tensor, eos_id: int, ignore_index: int = -100) -> tuple[torch.Tensor, torch.Tensor]:
    """Label rows ``(B, L)`` → padded CTC targets ``(B, L)`` (pad 0) and their lengths ``(B,)``.

    Drops ``ignore_index`` and ``eos_id``; a row's kept tokens stay in order at the front.
    """
    if labels.dim() != 2:
        raise ShapeError(f"labels must be (batch, tokens), got {tuple(labels.shape)}")
    keep = (labels != ignore_index) & (labels != eos_id)
    lengths = keep.sum(dim=1)
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)   # kept positions first, in order
    targets = torch.where(keep, labels, torch.zeros_like(labels)).gather(1, order)
    return targets, lengths


def ctc_loss_sum(log_probs: torch.Tensor, lengths: torch.Tensor, targets: torch.Tensor,
                 target_lengths: torch.Tensor, blank: int = 0) -> torch.Tensor:
    """Summed CTC negative log-likelihood of a batch (divide by tokens or clips outside).

    Args:
        log_probs: ``(B, T, vocab)`` from :class:`CTCHead`; lengths: ``(B,)`` real encoder positions.
        targets: ``(B, L)``; target_lengths: ``(B,)``.
    Impossible alignments (a transcript longer than its audio allows) count zero instead of infinity.
    """
    return F.ctc_loss(log_probs.transpose(0, 1), targets, lengths, target_lengths, blank=blank,
                      reduction="sum", zero_infinity=True)


def ctc_greedy(log_probs: torch.Tensor, lengths: torch.Tensor, blank: int = 0) -> list[list[int]]:
    """Best path decoding: argmax per position, merge repeats, drop blanks. B lists of token ids.

    Vectorised over the batch and time; the only host transfer is the final list conversion.
    """
    best = log_probs.argmax(dim=-1)                                            # (B, T)
    previous = F.pad(best[:, :-1], (1, 0), value=blank)
    inside = torch.arange(best.shape[1], device=best.device) < lengths.to(best.device)[:, None]
    emit = (best != blank) & (best != previous) & inside
    rows = best.masked_fill(~emit, -1).tolist()
    return [[t for t in row if t >= 0] for row in rows]


def ctc_sequence_log_likelihood(log_probs: torch.Tensor, lengths: torch.Tensor,
                                hypotheses: list[list[int]], owners: torch.Tensor, blank: int = 0) -> torch.Tensor:
    """``log p_ctc(hypothesis | audio)`` of N candidate transcripts, in one batched CTC forward pass.

    Args:
        log_probs: ``(B, T, vocab)``; lengths: ``(B,)``.
        hypotheses: N token lists (no start or end token); owners: ``(N,)`` the utterance of each.
    Returns:
        ``(N,)`` float32 log-likelihoods (``-inf`` where the audio is too short for the candidate).
    """
    if len(hypotheses) != owners.numel():
        raise ShapeError(f"{len(hypotheses)} hypotheses but {owners.numel()} owners")
    device = log_probs.device
    target_lengths = torch.tensor([len(h) for h in hypotheses], device=device, dtype=torch.long)
    rows = [torch.tensor(h, dtype=torch.long) for h in hypotheses] + [torch.zeros(1, dtype=torch.long)]
    targets = nn.utils.rnn.pad_sequence(rows, batch_first=True)[:-1].to(device)   # (N, L), padded with 0
    owners = owners.to(device)
    nll = F.ctc_loss(log_probs[owners].transpose(0, 1), targets, lengths.to(device)[owners], target_lengths,
                     blank=blank, reduction="none", zero_infinity=False)
    return -nll
