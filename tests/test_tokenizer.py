"""echo_edu.tokenizer: fixed character ids, round trips, save and load."""

import random

import pytest
import torch

from echo_edu.errors import CheckpointError
from echo_edu.text import ALPHABET, normalize_text
from echo_edu.tokenizer import EOT_ID, PAD_ID, SOT_ID, build_tokenizer, load_tokenizer


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


def test_ids_match_the_interface(tok):
    assert len(tok) == 31
    assert (tok.pad_token_id, tok.bos_token_id, tok.eos_token_id) == (PAD_ID, SOT_ID, EOT_ID) == (0, 1, 2)
    assert tok.convert_ids_to_tokens([0, 1, 2]) == ["<|pad|>", "<|startoftranscript|>", "<|endoftext|>"]
    assert tok.convert_ids_to_tokens(list(range(3, 31))) == list(ALPHABET)


def test_encoding_wraps_with_start_and_end(tok):
    assert tok("ab c").input_ids == [1, 5, 6, 3, 7, 2]
    assert tok("ab c", add_special_tokens=False).input_ids == [5, 6, 3, 7]
    assert tok("Don't!", add_special_tokens=False).input_ids == tok("don't", add_special_tokens=False).input_ids


def test_round_trip(tok):
    rng = random.Random(0)
    for _ in range(200):
        text = normalize_text("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40))))
        ids = tok(text).input_ids
        assert len(ids) == len(text) + 2
        assert tok.decode(ids, skip_special_tokens=True) == text


def test_batch_padding(tok):
    batch = tok(["one", "three two"], padding=True, return_tensors="pt")
    assert batch.input_ids.shape == (2, 11)
    assert torch.equal(batch.input_ids[0, 5:], torch.zeros(6, dtype=torch.long))
    assert tok.batch_decode(batch.input_ids, skip_special_tokens=True) == ["one", "three two"]


def test_save_and_load(tok, tmp_path):
    tok.save_pretrained(tmp_path)
    again = load_tokenizer(tmp_path)
    assert len(again) == len(tok)
    text = "seven oh four it's"
    assert again(text).input_ids == tok(text).input_ids
    assert again.decode(again(text).input_ids, skip_special_tokens=True) == text
    assert (again.pad_token_id, again.bos_token_id, again.eos_token_id) == (0, 1, 2)


def test_load_errors(tmp_path):
    with pytest.raises(CheckpointError, match="tokenizer.json"):
        load_tokenizer(tmp_path / "missing")
    (tmp_path / "tokenizer.json").write_text("{ not json")
    with pytest.raises(CheckpointError, match="cannot load"):
        load_tokenizer(tmp_path)
