"""Greedy and beam decoding: start token, EOS, length cut-off, cache == recompute, beam 1 == greedy."""

import pytest
import torch

from echo_edu import ConfigError
from echo_edu.attention import ATTENTION_TYPES
from echo_edu.decode import beam_search, decode, greedy_decode
from echo_edu.dimensions import Dimensions
from echo_edu.model import Echo

TYPES = sorted({"standard", "myelinated", "integrated", "adaptive", *ATTENTION_TYPES})   # every registered type


def tiny(**changes):
    return Echo(Dimensions.tiny(**changes)).eval()


def encoded_for(model, batch=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    mel = torch.randn(batch, model.dims.mels, 2 * model.dims.audio_ctx, generator=g)
    with torch.no_grad():
        return model.encoder(mel)


def force_eos_after(model, stops):
    """Hook the decoder so item b's logits put <|endoftext|> first from position stops[b] on."""
    eos = model.dims.eos_token_id
    seen = []

    def hook(module, args, output):
        ids, cache = args[0], args[2] if len(args) > 2 else None
        seen.append(ids[:, 0].clone() if (cache is None or cache.length == ids.shape[1]) else None)
        offset = (cache.length - ids.shape[1]) if cache is not None else 0
        pos = torch.arange(offset, offset + ids.shape[1])                       # absolute positions
        stop = torch.tensor(stops)[:, None]
        # beam search repeats each item beam_size times: map rows back to items
        rows = output.shape[0] // len(stops)
        stop = stop.repeat_interleave(rows, dim=0)
        output = output.clone()
        output[..., eos] = torch.where(pos[None, :] >= stop, 100.0, -100.0)
        return output

    handle = model.decoder.register_forward_hook(hook)
    return handle, seen


@pytest.mark.parametrize("use_cache", [True, False])
def test_starts_from_the_start_token_and_stops_at_eos(use_cache):
    model = tiny()
    handle, seen = force_eos_after(model, [3, 5, 1])
    try:
        result = greedy_decode(model, encoded_for(model), use_cache=use_cache)
    finally:
        handle.remove()
    assert seen[0].tolist() == [model.dims.decoder_start_token_id] * 3
    assert [len(t) for t in result.tokens] == [3, 5, 1]     # the output at position `stop` is EOS (not returned)
    assert result.finished == [True, True, True]
    assert all(model.dims.eos_token_id not in t for t in result.tokens)


def test_beam_search_stops_at_eos_too():
    model = tiny()
    handle, _ = force_eos_after(model, [3, 6])
    try:
        result = beam_search(model, encoded_for(model, batch=2), beam_size=3)
    finally:
        handle.remove()
    assert [len(t) for t in result.tokens] == [3, 6] and result.finished == [True, True]


def test_max_length_cutoff():
    model = tiny()
    handle, _ = force_eos_after(model, [1000, 1000])          # never end
    try:
        short = greedy_decode(model, encoded_for(model, batch=2), max_tokens=5)
        full = greedy_decode(model, encoded_for(model, batch=2))
        beam = beam_search(model, encoded_for(model, batch=2), beam_size=2, max_tokens=4)
    finally:
        handle.remove()
    assert [len(t) for t in short.tokens] == [5, 5] and short.finished == [False, False]
    assert [len(t) for t in full.tokens] == [model.dims.text_ctx - 1] * 2      # start + tokens fit text_ctx
    assert [len(t) for t in beam.tokens] == [4, 4] and beam.finished == [False, False]
    with pytest.raises(ConfigError):
        greedy_decode(model, encoded_for(model), max_tokens=0)


@pytest.mark.parametrize("kind", TYPES)
def test_cached_greedy_equals_recompute(kind):
    if kind not in ATTENTION_TYPES:
        pytest.skip(f"attention type {kind!r} not registered yet")
    model = tiny(self_attention_type=kind, cross_attention_type=kind, text_layerB=1)
    encoded = encoded_for(model)
    fast = greedy_decode(model, encoded, max_tokens=20, use_cache=True)
    slow = greedy_decode(model, encoded, max_tokens=20, use_cache=False)
    assert fast.tokens == slow.tokens
    assert torch.allclose(fast.scores, slow.scores, atol=1e-4)


def reference_greedy(model, encoded, steps):
    """Greedy decoding written the plain way: recompute the prefix, grow the tokens with cat."""
    dims = model.dims
    tokens = torch.full((encoded.shape[0], 1), dims.decoder_start_token_id)
    scores = torch.zeros(encoded.shape[0])
    with torch.no_grad():
        for _ in range(steps):
            logits = model.decoder(tokens, encoded)[:, -1]
            logits[:, [dims.pad_token_id, dims.decoder_start_token_id]] = float("-inf")
            logprobs = torch.log_softmax(logits, dim=-1)
            best = logprobs.argmax(-1)
            scores += logprobs.gather(1, best[:, None])[:, 0]
            tokens = torch.cat([tokens, best[:, None]], dim=1)
    return tokens[:, 1:].tolist(), scores


@pytest.mark.parametrize("use_cache", [True, False])
def test_greedy_equals_the_plain_reference_loop(use_cache):
    """The token buffer filled in place (and the cached steps) give the plain loop's tokens and scores."""
    model = tiny()
    handle, _ = force_eos_after(model, [1000, 1000, 1000])                # never end: all 12 steps count
    try:
        encoded = encoded_for(model)
        result = greedy_decode(model, encoded, max_tokens=12, use_cache=use_cache)
        want_tokens, want_scores = reference_greedy(model, encoded, 12)
    finally:
        handle.remove()
    assert result.tokens == want_tokens and result.finished == [False] * 3
    torch.testing.assert_close(result.scores, want_scores, atol=1e-5, rtol=1e-5)


def test_beam_width_one_is_greedy():
    model = tiny()
    encoded = encoded_for(model, batch=4)
    greedy = greedy_decode(model, encoded, max_tokens=25)
    beam = beam_search(model, encoded, beam_size=1, max_tokens=25)
    assert beam.tokens == greedy.tokens
    assert torch.allclose(beam.scores, greedy.scores, atol=1e-4)


def test_beam_is_batched_and_cache_exact():
    model = tiny()
    encoded = encoded_for(model, batch=3)
    together = beam_search(model, encoded, beam_size=3, max_tokens=12)
    alone = [beam_search(model, encoded[i:i + 1], beam_size=3, max_tokens=12).tokens[0] for i in range(3)]
    assert together.tokens == alone
    assert beam_search(model, encoded, beam_size=3, max_tokens=12, use_cache=False).tokens == together.tokens


def test_decode_front_door_and_errors():
    from echo_edu.tokenizer import build_tokenizer

    model = tiny()
    mel = torch.randn(2, model.dims.mels, 2 * model.dims.audio_ctx)
    result = decode(model, mel, max_tokens=4, tokenizer=build_tokenizer())
    assert len(result.texts) == 2 and all(isinstance(t, str) for t in result.texts)
    assert model.generate(mel, max_tokens=4) == result.tokens
    with pytest.raises(ConfigError, match="method"):
        decode(model, mel, method="sampling")
    with pytest.raises(ConfigError, match="beam_size"):
        decode(model, mel, method="beam", beam_size=0)


@pytest.mark.parametrize("kind", TYPES)
def test_training_still_works_after_decoding(kind):
    """Decoding runs under inference_mode: nothing it caches may leak into a later backward pass."""
    if kind not in ATTENTION_TYPES:
        pytest.skip(f"attention type {kind!r} not registered yet")
    model = tiny(self_attention_type=kind, cross_attention_type=kind, text_layerB=1, audio_layerB=1)
    mel = torch.randn(2, model.dims.mels, 2 * model.dims.audio_ctx)
    decode(model, mel, method="beam", beam_size=2, max_tokens=4)
    ids = torch.tensor([[1, 5, 6], [1, 7, 8]])
    loss = model.train()(mel, ids, labels=ids).loss
    loss.backward()
    assert torch.isfinite(loss)


def test_beam_early_stop_ranks_like_the_winner_with_a_length_penalty(monkeypatch):
    """A live beam whose raw log-probability is below a finished one can still win once the length
    penalty divides it: the search must not stop before it finishes."""
    import echo_edu.decode as decode_module

    model = tiny(text_ctx=12)
    eos, a, b = model.dims.eos_token_id, 5, 6
    script = {(): {eos: -0.9, a: -0.95}, (a,): {b: -0.1, eos: -3.0}, (a, b): {eos: -0.05}}

    def scripted(model, tokens, encoded, cache, banned, audio_mask=None):   # log-probs from the prefix alone
        out = torch.full((tokens.shape[0], model.dims.vocab), -20.0)
        for row, prefix in enumerate(tokens[:, 1:].tolist()):
            for tok, lp in script.get(tuple(prefix), {}).items():
                out[row, tok] = lp
        return out.index_fill(1, banned, float("-inf"))

    monkeypatch.setattr(decode_module, "_step_logprobs", scripted)
    encoded = torch.zeros(1, model.dims.audio_ctx, model.dims.audio_dims)
    best = beam_search(model, encoded, beam_size=1, length_penalty=1.0, use_cache=False)
    assert best.tokens == [[a, b]]            # rank -1.1/3 beats the empty transcript's -0.9/1
    plain = beam_search(model, encoded, beam_size=1, length_penalty=0.0, use_cache=False)
    assert plain.tokens == [[]]               # by total log-probability the empty one wins, and stopping is right
