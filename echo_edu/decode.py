"""Turning encoded audio into tokens: greedy search and beam search (alone or joint with the CTC head), with a KV cache.

Decoding starts from ``decoder_start_token_id`` (``<|startoftranscript|>``; the original fed the
end-of-text token and so asked the model to begin after a finished sentence), appends one token per
step and stops at ``eos_token_id`` or after ``max_tokens`` new tokens (at most ``text_ctx - 1``).

With ``use_cache=True`` (the default) each step feeds only the newest token: self-attention appends
its key/value to the :class:`~echo_edu.model.DecoderCache` and cross-attention reuses the audio's keys
and values computed on the first step, so a step costs O(T) instead of recomputing the whole O(T²)
prefix. ``use_cache=False`` recomputes everything (the reference the tests compare against).

The Python loop runs over *steps* only; every step is one batched forward for all utterances (and
all beams). Reading ``finished.all()`` once per step is the only host sync, outside the model.
Decoding runs under ``torch.inference_mode`` (no autograd bookkeeping at all: ~10 % faster per step).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .ctc import ctc_greedy, encoded_lengths
from .ctc_prefix import CTCPrefixScorer
from .errors import ConfigError, ShapeError

__all__ = ["METHODS", "JOINT_CTC_WEIGHT", "SPEED_SEARCH", "JOINT_DECODING", "default_decoding", "decoding_options", "DecodingResult", "decode", "greedy_decode",
           "beam_search"]


@dataclass
class DecodingResult:
    """Output of :func:`decode` for a batch of B utterances.

    Attributes:
        tokens: B lists of token ids, without the start token and without ``<|endoftext|>``.
        scores: ``(B,)`` float32 sum of the chosen tokens' log-probabilities (``joint``: the joint score).
        finished: B booleans, False where decoding hit ``max_tokens`` before ``<|endoftext|>``.
        texts: the decoded strings, when a tokenizer was given.
        speeds: with speed search (:func:`echo_edu.speed_search.decode_at_speeds`), the playback speed
            each utterance's hypothesis was decoded at; else None.
    """

    tokens: list[list[int]]
    scores: torch.Tensor
    finished: list[bool]
    texts: list[str] | None = field(default=None)
    speeds: list[float] | None = field(default=None)


def _limit(model, max_tokens: int | None) -> int:
    ceiling = model.dims.text_ctx - 1  # the start token plus every fed-back token must fit in text_ctx
    if max_tokens is None:
        return ceiling
    if max_tokens < 1:
        raise ConfigError(f"max_tokens must be >= 1, got {max_tokens}")
    return min(int(max_tokens), ceiling)


def _banned(model, device: torch.device) -> torch.Tensor:
    """``(2,)`` ids decoding never proposes (pad and start), built once per decode, not once per step."""
    dims = model.dims
    return torch.tensor([dims.pad_token_id, dims.decoder_start_token_id], device=device)


def _step_logprobs(model, tokens: torch.Tensor, encoded: torch.Tensor, cache, banned: torch.Tensor,
                   audio_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Log-probabilities ``(N, vocab)`` of the next token; never proposes the ``banned`` ids (:func:`_banned`).
    ``audio_mask`` ``(N, audio_ctx)`` bool (True = real audio) hides padded audio from cross-attention."""
    fed = tokens[:, -1:] if cache is not None else tokens   # (N, 1) with a cache, else (N, t)
    logits = model.decoder(fed, encoded, cache, audio_mask=audio_mask)[:, -1].float()   # (N, vocab)
    logits = logits.index_fill(1, banned, float("-inf"))
    return F.log_softmax(logits, dim=-1)


def _strip(row: list[int], eos: int) -> tuple[list[int], bool]:
    if eos in row:
        return row[:row.index(eos)], True
    return row, False


@torch.inference_mode()
def greedy_decode(model, encoded: torch.Tensor, *, max_tokens: int | None = None, use_cache: bool = True,
                  audio_mask: torch.Tensor | None = None):
    """Pick the most likely token at every step, for the whole batch at once.

    Args:
        encoded: ``(B, audio_ctx, audio_dims)`` from ``model.encoder``.
        audio_mask: ``(B, audio_ctx)`` bool, True = real audio position, or ``None`` (attend to all).
    Returns:
        :class:`DecodingResult` (no texts).
    """
    dims = model.dims
    B, device = encoded.shape[0], encoded.device
    limit = _limit(model, max_tokens)
    cache = model.new_cache() if use_cache else None
    banned = _banned(model, device)
    # One buffer for the start token and every token to come, filled a column per step (no regrowth).
    buffer = torch.full((B, limit + 1), dims.decoder_start_token_id, dtype=torch.long, device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    scores = torch.zeros(B, dtype=torch.float32, device=device)
    length = 1                                                             # tokens in the buffer so far
    for _ in range(limit):
        logprobs = _step_logprobs(model, buffer[:, :length], encoded, cache, banned, audio_mask)   # (B, vocab)
        best = logprobs.argmax(-1)                                         # (B,)
        scores = scores + torch.where(done, 0.0, logprobs.gather(1, best[:, None])[:, 0])
        best = best.masked_fill(done, dims.eos_token_id)                   # finished rows keep saying eos
        buffer[:, length] = best
        length += 1
        done = done | (best == dims.eos_token_id)
        if bool(done.all()):   # one host sync per step, outside the model
            break
    rows = [_strip(r[1:], dims.eos_token_id) for r in buffer[:, :length].tolist()]
    return DecodingResult([r for r, _ in rows], scores, [f for _, f in rows])


@torch.inference_mode()
def beam_search(model, encoded: torch.Tensor, *, beam_size: int = 4, max_tokens: int | None = None,
                length_penalty: float = 0.0, use_cache: bool = True, audio_mask: torch.Tensor | None = None,
                ctc_weight: float = 0.0, ctc_lengths: torch.Tensor | None = None):
    """Keep the ``beam_size`` best partial transcripts per utterance (whisper's scheme).

    Each step scores ``beam_size × vocab`` continuations per utterance and keeps the best
    ``2·beam_size``: those ending in ``<|endoftext|>`` become finished hypotheses (the ``beam_size``
    best are kept), the best ``beam_size`` others live on. The winner maximises
    ``rank = sum logprob / length**length_penalty``; an utterance is done when it has ``beam_size``
    finished hypotheses and its best live beam can no longer reach the rank of any of them. With
    ``beam_size=1`` and no length penalty this is greedy.

    ``length_penalty`` defaults to 0 (rank by total log-probability). Dividing by the length (1.0, as
    whisper does) favours long hypotheses; on short character-level transcripts it turned a confident
    "seven" into "seven nine" on the bundled samples, so it is opt-in here.

    With ``ctc_weight = w > 0`` the search is joint CTC/attention (ESPnet's decoding): a hypothesis ``h``
    scores ``(1 - w)·log p_attention(h) + w·log p_ctc(h)``, the second term the CTC head's prefix
    probability (:class:`~echo_edu.ctc_prefix.CTCPrefixScorer`), which is low for transcripts that skip
    or repeat what the audio says, or end before it does. Both terms only fall as ``h`` grows, so the
    stopping rule below still holds.

    Args:
        encoded: ``(B, audio_ctx, audio_dims)``.
        audio_mask: ``(B, audio_ctx)`` bool, True = real audio position, or ``None`` (attend to all).
        ctc_weight: ``w`` in ``[0, 1)``; above 0 the model needs a CTC head.
        ctc_lengths: ``(B,)`` real encoder positions for the CTC head (default: ``audio_mask``'s counts).
    Returns:
        :class:`DecodingResult` (no texts); ``scores`` are the joint scores when ``ctc_weight > 0``.
    """
    if beam_size < 1:
        raise ConfigError(f"beam_size must be >= 1, got {beam_size}")
    if not 0.0 <= ctc_weight < 1.0:
        raise ConfigError(f"ctc_weight must be in [0, 1), got {ctc_weight}")
    if ctc_weight > 0 and model.ctc is None:
        raise ConfigError("ctc_weight > 0 needs a model with a CTC head (trained with Dimensions.ctc_weight > 0)")
    dims = model.dims
    B, K, eos = encoded.shape[0], beam_size, dims.eos_token_id
    limit = _limit(model, max_tokens)
    device = encoded.device
    scorer = None
    if ctc_weight > 0:
        lengths = encoded_lengths(None, audio_mask, encoded) if ctc_lengths is None else ctc_lengths
        scorer = CTCPrefixScorer(model.ctc(encoded), lengths, K, blank=dims.pad_token_id)
    encoded = encoded.repeat_interleave(K, dim=0)                          # (B*K, S, D)
    if audio_mask is not None:   # beams of one utterance share its mask, so reordering never touches it
        audio_mask = audio_mask.repeat_interleave(K, dim=0)                # (B*K, S)
    cache = model.new_cache() if use_cache else None
    banned = _banned(model, device)
    tokens = torch.full((B * K, 1), dims.decoder_start_token_id, dtype=torch.long, device=device)
    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0                                                     # all beams start identical
    attention_scores = scores.clone()                                      # (B, K) log p_att alone
    eos_index = torch.tensor([eos], device=device)
    hypotheses: list[list[tuple[float, list[int], float]]] = [[] for _ in range(B)]
    done = [False] * B

    def rank(score: float, length: int) -> float:
        return score / max(length, 1) ** length_penalty

    for step in range(limit):
        logprobs = _step_logprobs(model, tokens, encoded, cache, banned, audio_mask).view(B, K, -1)   # (B, K, V)
        V = logprobs.shape[-1]
        attention = (attention_scores[:, :, None] + logprobs).view(B, K * V)     # (B, K*V) log p_att
        candidates = attention
        if scorer is not None:
            prefix, whole = scorer.extend()                                       # (B*K, V), (B*K,)
            prefix = prefix.index_copy(1, eos_index, whole[:, None])              # eos: the clip ends here
            candidates = (1 - ctc_weight) * attention + ctc_weight * prefix.view(B, K * V).to(attention.dtype)
        top_scores, top_index = candidates.topk(2 * K, dim=-1)                    # (B, 2K)
        top_scores, top_index = top_scores.tolist(), top_index.tolist()           # host: step loop only
        source, next_tokens, new_scores, chosen = [], [], [], []
        for b in range(B):
            kept = []
            for s, idx in zip(top_scores[b], top_index[b]):
                beam, tok = divmod(idx, V)
                if s == float("-inf"):
                    continue
                if tok == eos:
                    if not done[b]:
                        prefix = tokens[b * K + beam, 1:].tolist()
                        hypotheses[b].append((rank(s, len(prefix) + 1), prefix, s))
                        hypotheses[b] = sorted(hypotheses[b], key=lambda h: -h[0])[:K]   # keep the K best
                    continue
                kept.append((b * K + beam, tok, s, idx))
                if len(kept) == K:
                    break
            # Done when K hypotheses are finished and the best live beam cannot outrank any of them, by
            # rank() as the winner is chosen: its log-probability can only fall, its length can grow up to
            # `limit`, so its best reachable rank is the larger of rank(s, now) and rank(s, limit).
            # (Comparing raw log-probabilities stopped too early with length_penalty > 0.) K = 1 is greedy.
            if not kept:                           # every continuation impossible: nothing more to find
                done[b] = True
            elif len(hypotheses[b]) >= K:
                s, length = kept[0][2], tokens.shape[1]                     # length after one more token
                if max(rank(s, length), rank(s, limit)) < min(h[0] for h in hypotheses[b]):
                    done[b] = True
            while len(kept) < K:                   # pad (only possible for finished utterances)
                kept.append((b * K, eos, float("-inf"), eos))
            for src, tok, s, idx in kept:
                source.append(src)
                next_tokens.append(tok)
                new_scores.append(s)
                chosen.append(idx)
        if all(done):
            break
        index = torch.tensor(source, device=device)
        next_column = torch.tensor(next_tokens, device=device)
        tokens = torch.cat([tokens.index_select(0, index), next_column[:, None]], dim=1)   # (B*K, t+1)
        scores = torch.tensor(new_scores, device=device, dtype=torch.float32).view(B, K)
        attention_scores = attention.gather(1, torch.tensor(chosen, device=device).view(B, K))
        attention_scores = attention_scores.masked_fill(scores == float("-inf"), float("-inf"))
        if scorer is not None:
            scorer.select(index, next_column)
        if cache is not None:
            cache.reorder(index)

    out_tokens, out_scores, out_finished = [], [], []
    for b in range(B):
        finished = bool(hypotheses[b])
        pool = hypotheses[b]
        if not pool:    # max length reached with nothing finished: rank the live beams
            pool = [(rank(s, tokens.shape[1] - 1), tokens[b * K + k, 1:].tolist(), s)
                    for k, s in enumerate(scores[b].tolist()) if s != float("-inf")]
        _, best, score = max(pool, key=lambda h: h[0])
        out_tokens.append(best)
        out_scores.append(score)
        out_finished.append(finished)
    return DecodingResult(out_tokens, torch.tensor(out_scores, dtype=torch.float32), out_finished)


@torch.inference_mode()
def _ctc_decode(model, encoded: torch.Tensor, frames, audio_mask) -> DecodingResult:
    """Best-path decoding of ``model.ctc`` on ``encoded`` ``(B, S, audio_dims)``; scores are the path's
    summed log-probabilities over the real positions."""
    if model.ctc is None:
        raise ConfigError("method='ctc' needs a model with a CTC head (trained with Dimensions.ctc_weight > 0)")
    log_probs = model.ctc(encoded)                                                    # (B, S, vocab)
    lengths = encoded_lengths(frames, audio_mask, encoded, model.dims.audio_stride)   # (B,)
    inside = torch.arange(log_probs.shape[1], device=log_probs.device) < lengths[:, None]
    scores = (log_probs.amax(dim=-1) * inside).sum(dim=1)                             # (B,)
    tokens = ctc_greedy(log_probs, lengths, blank=model.dims.pad_token_id)
    return DecodingResult(tokens=tokens, scores=scores, finished=[True] * len(tokens))


#: The decoding methods of :func:`decode` (and of the CLI's ``--method``).
METHODS = ("greedy", "beam", "joint", "ctc")
#: The CTC head's share of a joint hypothesis score by default: best of 0.1-0.7 on AN4 dev for echo-an4
#: (9.9 % WER at beam 4, against 14.9 % for beam search alone: the README's echo-an4 section).
JOINT_CTC_WEIGHT = 0.3


#: Playback speeds a clip is decoded at by default (:mod:`echo_edu.speed_search`): the ends and middle of
#: training's speed perturbation; on AN4 dev better than 1.0 alone (9.2 against 9.9 % WER, joint decoding).
SPEED_SEARCH = (0.9, 1.0, 1.1)

#: How echo-an4 is scored and what a model with a CTC head decodes with by default (:func:`default_decoding`).
JOINT_DECODING = {"method": "joint", "beam_size": 4, "ctc_weight": JOINT_CTC_WEIGHT, "speeds": SPEED_SEARCH}


def default_decoding(model) -> dict:
    """Decoding options a user meets by default (the CLI, the upload and microphone widgets):
    :data:`JOINT_DECODING` for a model with a CTC head (echo-an4: AN4 dev 9.2 % WER against 17.0 %
    greedy), greedy for a model without one. A new dict each call. ``speeds`` is an option of the
    waveform-level entry points (``transcribe``, ``evaluate_model``), not of :func:`decode`, which
    takes features."""
    if model.ctc is not None:
        return dict(JOINT_DECODING)
    return {"method": "greedy", "beam_size": 1}


def decoding_options(model, *, method: str | None = None, beam_size: int | None = None,
                     ctc_weight: float | None = None, speeds=None) -> dict:
    """The one rule from what a caller chose to full decoding options (``transcribe``, the CLI's flags).

    Nothing chosen: :func:`default_decoding`. Otherwise ``method`` when given, else joint for a model with a
    CTC head (``beam_size=1``: greedy), beam search for ``beam_size`` > 1, greedy otherwise; beam and joint
    keep 4 hypotheses unless ``beam_size``. ``ctc_weight`` (default :data:`JOINT_CTC_WEIGHT`) goes with joint.
    ``speeds`` is always set: as given, else the default decoding's when nothing else was chosen (speed search
    for a model with a CTC head), else as recorded, ``(1.0,)``.
    """
    if method is None and beam_size is None:
        options = default_decoding(model)
    else:
        method = method or ("joint" if model.ctc is not None and beam_size != 1 else
                            "beam" if beam_size is not None and beam_size > 1 else "greedy")
        options = {"method": method,
                   "beam_size": beam_size if beam_size is not None else 4 if method in ("beam", "joint") else 1}
    if options["method"] == "joint":
        options["ctc_weight"] = ctc_weight if ctc_weight is not None else options.get("ctc_weight", JOINT_CTC_WEIGHT)
    options["speeds"] = speeds if speeds is not None else options.get("speeds", (1.0,))   # checked where decoded
    return options


def decode(model, mel: torch.Tensor | None = None, *, encoded: torch.Tensor | None = None, method: str = "greedy",
           beam_size: int = 4, max_tokens: int | None = None, length_penalty: float = 0.0,
           use_cache: bool = True, tokenizer=None, lengths: torch.Tensor | None = None,
           audio_mask: torch.Tensor | None = None, ctc_weight: float = JOINT_CTC_WEIGHT,
           speeds: tuple[float, ...] = (1.0,)) -> DecodingResult:
    """Encode ``mel`` (or take ``encoded``) and decode it with ``method`` = ``"greedy"``, ``"beam"``,
    ``"joint"`` (beam search scored by the attention decoder and the encoder's CTC head together, with
    ``ctc_weight``: :func:`beam_search`) or ``"ctc"`` (best path of the CTC head, no decoder). ``joint``
    and ``ctc`` need a model with a CTC head (trained with ``Dimensions.ctc_weight > 0``).

    Args:
        mel: ``(B, mels, F)`` log-mel features (``F`` even, at most ``2*audio_ctx``), or
        encoded: ``(B, S, audio_dims)`` already-encoded audio.
        lengths: with ``mel``, ``(B,)`` real frames per clip (``frame_lengths``); ``None`` reads them
            from the padding. The encoder's padding mask then also hides padding from cross-attention.
        audio_mask: with ``encoded``, its ``(B, audio_ctx)`` bool padding mask (True = real), if any.
        tokenizer: when given, ``texts`` is filled with the decoded strings.
        speeds: accepted so that :func:`default_decoding`'s options can be passed whole, but only as
            ``(1.0,)``: features cannot be replayed at another speed (speed search needs the waveform).
    """
    if tuple(float(v) for v in speeds) != (1.0,):
        raise ConfigError(f"decode takes features, which cannot be replayed at speeds {list(speeds)}: speed search "
                          "needs the waveform (transcribe, evaluate_model or speed_search.decode_at_speeds)")
    if (mel is None) == (encoded is None):
        raise ShapeError("decode needs exactly one of mel= or encoded=")
    if (mel is None and lengths is not None) or (encoded is None and audio_mask is not None):
        raise ShapeError("decode: lengths= goes with mel=, audio_mask= with encoded=")
    was_training = model.training
    model.eval()
    frames = None
    try:
        if encoded is None:
            mel = model.encoder.check_input(mel.to(model.device))
            frames = model.encoder.real_frames(mel, lengths) if model.encoder.needs_frames else None
            encoded = model.encoder(mel, lengths=frames)
            audio_mask = model.encoder.audio_mask(frames, encoded.shape[1])   # (B, S) or None
        if method == "ctc":
            result = _ctc_decode(model, encoded, frames, audio_mask)
        elif method == "greedy":
            result = greedy_decode(model, encoded, max_tokens=max_tokens, use_cache=use_cache,
                                   audio_mask=audio_mask)
        elif method in ("beam", "joint"):
            joint = dict(ctc_weight=ctc_weight, ctc_lengths=encoded_lengths(
                frames, audio_mask, encoded, model.dims.audio_stride)) if method == "joint" else {}
            result = beam_search(model, encoded, beam_size=beam_size, max_tokens=max_tokens,
                                 length_penalty=length_penalty, use_cache=use_cache, audio_mask=audio_mask, **joint)
        else:
            raise ConfigError(f"decoding method {method!r} is unknown; choose one of {', '.join(METHODS)}")
    finally:
        model.train(was_training)
    if tokenizer is not None:
        result.texts = [tokenizer.decode(t, skip_special_tokens=True) for t in result.tokens]
    return result
