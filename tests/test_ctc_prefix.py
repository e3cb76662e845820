"""CTC prefix scores and joint CTC/attention beam search.

* :class:`CTCPrefixScorer` equals brute force: the summed probability of every frame path whose collapsed
  output begins with (prefix) or equals (whole) the hypothesis, including repeated characters and a clip
  shorter than the batch; ``whole`` also equals ``F.ctc_loss``.
* ``decode(method="joint")`` follows the CTC head where it is sure and the decoder is not, equals plain
  beam search at ``ctc_weight=0``, and refuses models without a CTC head.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from echo_edu import ConfigError, Dimensions, Echo
from echo_edu.ctc import ctc_sequence_log_likelihood
from echo_edu.ctc_prefix import CTCPrefixScorer
from echo_edu.decode import beam_search, decode

T, V = 5, 3   # frames, vocabulary (0 = blank)


def _collapse(path):
    out, previous = [], 0
    for s in path:
        if s != 0 and s != previous:
            out.append(s)
        previous = s
    return out


def _brute(log_probs, length, hypothesis):
    """(log P(output begins with hypothesis), log P(output == hypothesis)) over all V**length paths."""
    prefix = whole = 0.0
    for path in itertools.product(range(V), repeat=length):
        p = math.exp(sum(log_probs[t, s].item() for t, s in enumerate(path)))
        out = _collapse(path)
        prefix += p if out[:len(hypothesis)] == hypothesis else 0.0
        whole += p if out == hypothesis else 0.0
    return tuple(math.log(x) if x > 0 else -math.inf for x in (prefix, whole))


def _close(a, b):
    return a == b == -math.inf or abs(a - b) < 1e-10


def test_prefix_and_whole_scores_equal_brute_force_over_every_path():
    torch.manual_seed(0)
    log_probs = torch.randn(2, T, V, dtype=torch.float64).log_softmax(-1)
    lengths = torch.tensor([5, 3])                       # clip 1 is shorter than the batch
    scorer = CTCPrefixScorer(log_probs, lengths, beams=2)
    steps = [[1, 2, 2, 1], [2, 1, 1, 1], [2, 2, 1, 2]]   # rows 0-1 belong to clip 0, rows 2-3 to clip 1
    history = [[] for _ in range(4)]
    for tokens in steps:
        prefix, whole = scorer.extend()
        for row in range(4):
            clip = row // 2
            assert _close(whole[row].item(), _brute(log_probs[clip], int(lengths[clip]), history[row])[1])
            for c in (1, 2):
                expected = _brute(log_probs[clip], int(lengths[clip]), history[row] + [c])[0]
                assert _close(prefix[row, c].item(), expected), (history[row], c)
        scorer.select(torch.arange(4), torch.tensor(tokens))
        history = [h + [t] for h, t in zip(history, tokens)]
    # after three tokens the 3-frame clip can hold "2 1" + "1" only with a blank between: impossible
    assert scorer.extend()[1][3].item() == -math.inf


def test_whole_score_is_ctc_loss_and_select_reorders_beams():
    torch.manual_seed(1)
    log_probs = torch.randn(1, 12, 6).log_softmax(-1)
    scorer = CTCPrefixScorer(log_probs, torch.tensor([12]), beams=2)
    for tokens, source in (([3, 4], [0, 0]), ([3, 3], [1, 0]), ([5, 4], [0, 1])):
        scorer.extend()
        scorer.select(torch.tensor(source), torch.tensor(tokens))
    # rows after each step: [3] [4]; [4, 3] [3, 3]; [4, 3, 5] [3, 3, 4]
    whole = scorer.extend()[1]
    reference = ctc_sequence_log_likelihood(log_probs, torch.tensor([12]), [[4, 3, 5], [3, 3, 4]],
                                            torch.tensor([0, 0]))
    assert torch.allclose(whole.float(), reference, atol=1e-4)


def _model_with_sure_ctc(text_ids, frames_per_token=3):
    """A tiny untrained model whose CTC head is hooked to emit ``text_ids`` (blank between tokens)."""
    torch.manual_seed(0)
    model = Echo(Dimensions.tiny(ctc_weight=0.3)).eval()

    def hook(module, args, output):
        logits = torch.full_like(output, -8.0)
        logits[..., 0] = 8.0                                             # blank everywhere ...
        for i, token in enumerate(text_ids):                             # ... but the tokens, in order
            logits[:, 1 + i * frames_per_token, 0] = -8.0
            logits[:, 1 + i * frames_per_token, token] = 8.0
        return logits.log_softmax(-1)

    model.ctc.register_forward_hook(hook)
    return model


def test_joint_decoding_follows_a_sure_ctc_head_where_attention_alone_does_not():
    tokenizer = Echo(Dimensions.tiny()).tokenizer
    target = tokenizer.encode("go on", add_special_tokens=False)
    model = _model_with_sure_ctc(target)
    mel = torch.randn(2, model.dims.mels, 2 * model.dims.audio_ctx)
    joint = decode(model, mel, method="joint", beam_size=4, ctc_weight=0.7, tokenizer=tokenizer)
    beam = decode(model, mel, method="beam", beam_size=4, tokenizer=tokenizer)
    assert joint.texts == ["go on", "go on"]
    assert beam.texts != joint.texts                                    # the untrained decoder alone babbles
    assert decode(model, mel, method="ctc", tokenizer=tokenizer).texts == ["go on", "go on"]


def test_joint_with_zero_ctc_weight_is_plain_beam_search_and_bad_settings_are_refused():
    model = _model_with_sure_ctc([5, 6])
    with torch.no_grad():
        encoded = model.encoder(torch.randn(3, model.dims.mels, 2 * model.dims.audio_ctx))
    plain = beam_search(model, encoded, beam_size=3, max_tokens=6)
    zero = beam_search(model, encoded, beam_size=3, max_tokens=6, ctc_weight=0.0)
    assert plain.tokens == zero.tokens and torch.equal(plain.scores, zero.scores)
    with pytest.raises(ConfigError, match="ctc_weight must be in"):
        beam_search(model, encoded, ctc_weight=1.0)
    no_head = Echo(Dimensions.tiny()).eval()
    with pytest.raises(ConfigError, match="CTC head"):
        decode(no_head, torch.randn(1, 80, 200), method="joint")


def test_ctc_weight_sweep_scores_each_weight_and_weight_zero_is_beam_search():
    from echo_edu.evaluate import ctc_weight_sweep, evaluate_model

    model = _model_with_sure_ctc([5, 6])
    g = torch.Generator().manual_seed(0)
    rows = [{"audio": {"array": (0.1 * torch.randn(8000, generator=g)).numpy(), "sampling_rate": 16000},
             "text": text} for text in ("go", "no", "yes")]
    reports = ctc_weight_sweep(model, rows, [0, 0.8], beam_size=2)
    assert list(reports) == [0.0, 0.8]
    assert reports[0.0].hypotheses == evaluate_model(model, rows, method="beam", beam_size=2).hypotheses
    ctc_text = model.tokenizer.decode([5, 6], skip_special_tokens=True)
    assert reports[0.8].hypotheses == [ctc_text] * 3 != reports[0.0].hypotheses


def test_users_meet_joint_decoding_by_default_on_a_model_with_a_ctc_head():
    """default_decoding: joint with 4 beams for a CTC model, greedy without; the microphone follows it."""
    from echo_edu.decode import JOINT_CTC_WEIGHT, SPEED_SEARCH, default_decoding
    from echo_edu.viz.microphone import analyse_recording

    assert default_decoding(Echo(Dimensions.tiny())) == {"method": "greedy", "beam_size": 1}
    model = _model_with_sure_ctc(Echo(Dimensions.tiny()).tokenizer.encode("no", add_special_tokens=False))
    assert default_decoding(model) == {"method": "joint", "beam_size": 4, "ctc_weight": JOINT_CTC_WEIGHT,
                                       "speeds": SPEED_SEARCH}
    g = torch.Generator().manual_seed(0)
    recording = analyse_recording(model, (0.2 * torch.randn(24000, generator=g)).numpy(), 48000)
    assert recording.text == "no" == recording.alignment.text   # the sure CTC head steers the untrained decoder
