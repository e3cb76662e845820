"""CTC head, targets, greedy decoding and sequence scoring (echo_edu.ctc)."""

import math

import pytest
import torch

from echo_edu.ctc import CTCHead, ctc_greedy, ctc_loss_sum, ctc_sequence_log_likelihood, ctc_targets
from echo_edu.errors import ShapeError


def test_targets_drop_padding_and_end_token():
    labels = torch.tensor([[5, 6, 2, -100], [7, 2, -100, -100]])
    targets, lengths = ctc_targets(labels, eos_id=2)
    assert lengths.tolist() == [2, 1]
    assert targets[0, :2].tolist() == [5, 6] and targets[1, :1].tolist() == [7]


def test_greedy_merges_repeats_drops_blanks_and_respects_lengths():
    path = torch.tensor([[3, 3, 0, 3, 4, 4, 0, 5]])
    log_probs = torch.nn.functional.one_hot(path, 8).float().log()
    assert ctc_greedy(log_probs, torch.tensor([8])) == [[3, 3, 4, 5]]
    assert ctc_greedy(log_probs, torch.tensor([5])) == [[3, 3, 4]]


def test_sequence_likelihood_matches_the_loss_and_prefers_the_true_path():
    torch.manual_seed(0)
    path = torch.tensor([[0, 3, 3, 0, 4, 0]])
    logits = torch.nn.functional.one_hot(path, 6).float() * 6.0 + 0.1 * torch.randn(1, 6, 6)
    log_probs = logits.log_softmax(-1)
    lengths = torch.tensor([6])
    scores = ctc_sequence_log_likelihood(log_probs, lengths, [[3, 4], [4, 3], [3]], torch.tensor([0, 0, 0]))
    assert scores[0] > scores[1] and scores[0] > scores[2]
    loss = ctc_loss_sum(log_probs, lengths, torch.tensor([[3, 4]]), torch.tensor([2]))
    assert float(loss) == pytest.approx(-float(scores[0]), rel=1e-5)
    with pytest.raises(ShapeError):
        ctc_sequence_log_likelihood(log_probs, lengths, [[3]], torch.tensor([0, 0]))


def test_head_gives_log_probabilities_and_learns():
    torch.manual_seed(0)
    head = CTCHead(16, 8)
    x = torch.randn(2, 10, 16)
    out = head(x)
    assert out.shape == (2, 10, 8) and out.dtype == torch.float32
    assert torch.allclose(out.exp().sum(-1), torch.ones(2, 10), atol=1e-5)
    opt = torch.optim.Adam(head.parameters(), lr=0.05)
    targets, lengths = torch.tensor([[3, 4], [5, 0]]), torch.tensor([2, 1])
    first = None
    for _ in range(30):
        loss = ctc_loss_sum(head(x), torch.tensor([10, 10]), targets, lengths)
        first = first if first is not None else loss.detach().item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.detach().item() < 0.5 * first
    assert ctc_greedy(head(x), torch.tensor([10, 10])) == [[3, 4], [5]]


def test_too_short_audio_scores_minus_infinity_in_scoring_and_zero_in_the_loss():
    log_probs = torch.full((1, 2, 5), math.log(1 / 5))
    assert ctc_sequence_log_likelihood(log_probs, torch.tensor([2]), [[1, 1, 1]], torch.tensor([0]))[0] == -math.inf
    assert float(ctc_loss_sum(log_probs, torch.tensor([2]), torch.tensor([[1, 1, 1]]), torch.tensor([3]))) == 0.0
