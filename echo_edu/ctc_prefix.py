"""CTC prefix scores: how likely the CTC head finds a *partial* transcript (joint CTC/attention decoding).

The attention decoder proposes the next character; the encoder's CTC head judges it. Attention alone
may stop early, skip a word or repeat one, because nothing ties its characters to the audio's time
axis; the CTC head is monotonic by construction. Joint decoding (Watanabe et al., 2017, "Hybrid
CTC/Attention Architecture for End-to-End Speech Recognition") ranks each beam hypothesis ``h`` by

    (1 - w) · log p_attention(h) + w · log p_ctc(h)

where ``log p_ctc`` of an unfinished ``h`` is its *prefix* probability: the probability that the CTC
output, collapsed, begins with ``h``. It is kept per hypothesis ``g`` as two forward variables over
the encoder frames, ``r_n[t]`` / ``r_b[t]`` = log P(frames 0..t collapse to ``g``, frame t emitting
``g``'s last character / a blank). Extending ``g`` by a character ``c`` (in probabilities):

    phi[t]  = r_b[t] + r_n[t]              (only r_b[t] when c repeats g's last character)
    r_n'[t] = (r_n'[t-1] + phi[t-1]) · y[t, c]
    r_b'[t] = (r_b'[t-1] + r_n'[t-1]) · y[t, blank]
    psi(g + c)   = sum over t of phi[t-1] · y[t, c]          (prefix probability of g + c)
    psi(g + eos) = r_n[T-1] + r_b[T-1]                       (the whole clip collapses to g)

Both recursions are linear, so they unroll into cumulative sums instead of a loop over frames: with
``C[t] = sum_{u<=t} log y[u, c]``, ``r_n'[t] = C[t] + logcumsumexp_s(phi[s-1] - C[s-1])`` (likewise
``r_b'`` with the blank's sums). One ``logcumsumexp`` along time scores every hypothesis, candidate
character and frame at once. Differences of cumulative log-probability sums lose float32 precision over
hundreds of frames, so the scorer computes in float64. Frames past a clip's length are never read:
``psi`` sums only real frames, the end reads frame ``length - 1``, and the recursions are causal.

Shapes: CTC log-probabilities ``(B, T, vocab)``; hypotheses ``N = B · beams`` (beams of an utterance
adjacent, as in :func:`echo_edu.decode.beam_search`); states ``(N, T)``; scores ``(N, vocab)``.
"""

from __future__ import annotations

import torch

from .errors import ShapeError

__all__ = ["CTCPrefixScorer"]

_NEG_INF = float("-inf")


class CTCPrefixScorer:
    """CTC prefix log-probabilities of one-token extensions of ``N`` beam hypotheses, kept in step with a beam.

    Usage per decoding step: ``prefix, whole = scorer.extend()`` gives ``(N, vocab)`` log p_ctc of every
    hypothesis extended by every token and ``(N,)`` log p_ctc of each hypothesis as a finished transcript;
    then ``scorer.select(source, tokens)`` keeps hypothesis ``source[i]`` extended by ``tokens[i]`` as the
    new row ``i``. All hypotheses start empty.

    Args:
        log_probs: ``(B, T, vocab)`` CTC log-probabilities (``model.ctc(encoded)``).
        lengths: ``(B,)`` real encoder positions per clip.
        beams: hypotheses per clip (rows ``b·beams … b·beams + beams - 1`` belong to clip ``b``).
        blank: the CTC blank id (the pad token).
    """

    def __init__(self, log_probs: torch.Tensor, lengths: torch.Tensor, beams: int, blank: int = 0):
        if log_probs.ndim != 3 or lengths.shape != log_probs.shape[:1]:
            raise ShapeError(f"CTCPrefixScorer needs log_probs (B, T, vocab) and lengths (B,), got "
                             f"{tuple(log_probs.shape)} and {tuple(lengths.shape)}")
        self.log_probs = log_probs.to(torch.float64).repeat_interleave(beams, dim=0)   # (N, T, V)
        N, T, V = self.log_probs.shape
        self.blank = blank
        self.lengths = lengths.to(log_probs.device).repeat_interleave(beams).clamp(1, T)   # (N,)
        self.inside = torch.arange(T, device=log_probs.device) < self.lengths[:, None]      # (N, T)
        self.cumulative = self.log_probs.cumsum(dim=1)                                    # (N, T, V)
        self.r_n = torch.full((N, T), _NEG_INF, dtype=torch.float64, device=log_probs.device)
        self.r_b = self.cumulative[..., blank].clone()          # the empty prefix: blanks only
        self.last = torch.full((N,), -1, dtype=torch.long, device=log_probs.device)   # -1: no character yet
        self._extended: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def extend(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, vocab)`` prefix log-probabilities of every hypothesis + every token, and ``(N,)`` each
        hypothesis's log-probability as a whole transcript (float64)."""
        y, C = self.log_probs, self.cumulative                                 # (N, T, V)
        N, T, V = y.shape
        either = torch.logaddexp(self.r_n, self.r_b)                           # (N, T)
        repeats = torch.arange(V, device=y.device) == self.last[:, None]       # (N, V)
        phi = torch.where(repeats[:, None, :], self.r_b[:, :, None], either[:, :, None])   # (N, T, V)
        empty = (self.last < 0)[:, None, None]                                 # (N, 1, 1)
        start = torch.where(empty, 0.0, _NEG_INF).expand(N, 1, V)              # the path may begin at frame 0
        r_n = C + torch.logcumsumexp(torch.cat([start, phi[:, :-1] - C[:, :-1]], dim=1), dim=1)   # (N, T, V)
        C_blank = C[..., self.blank, None]                                     # (N, T, 1)
        never = torch.full((N, 1, V), _NEG_INF, dtype=y.dtype, device=y.device)
        r_b = C_blank + torch.logcumsumexp(torch.cat([never, r_n[:, :-1] - C_blank[:, :-1]], dim=1), dim=1)
        first = torch.where(empty, y[:, :1], _NEG_INF)                         # (N, 1, V) c emitted at frame 0
        emitted = torch.cat([first, phi[:, :-1] + y[:, 1:]], dim=1)            # (N, T, V) c first emitted at t
        prefix = emitted.masked_fill(~self.inside[:, :, None], _NEG_INF).logsumexp(dim=1)   # (N, V)
        whole = either.gather(1, (self.lengths - 1)[:, None])[:, 0]            # (N,)
        self._extended = (r_n, r_b, prefix)
        return prefix, whole

    def select(self, source: torch.Tensor, tokens: torch.Tensor) -> None:
        """Row ``i`` becomes hypothesis ``source[i]`` extended by ``tokens[i]`` (both ``(N,)`` long)."""
        if self._extended is None:
            raise RuntimeError("CTCPrefixScorer.select() needs extend() first")
        r_n, r_b, _ = self._extended
        self.r_n, self.r_b = r_n[source, :, tokens], r_b[source, :, tokens]    # (N, T) each
        self.last = tokens.clone()
        self._extended = None
