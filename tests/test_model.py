"""Echo's encoder and decoder: shapes, errors, audio sensitivity, init, causality, cache, widths."""

import math
import warnings

import pytest
import torch

from echo_edu import ShapeError
from echo_edu.attention import ATTENTION_TYPES
from echo_edu.dimensions import Dimensions
from echo_edu.model import Echo

TYPES = sorted({"standard", "myelinated", "integrated", "adaptive", *ATTENTION_TYPES})   # every registered type


def _needs(*kinds):
    missing = [k for k in kinds if k not in ATTENTION_TYPES]
    if missing:
        pytest.skip(f"attention type(s) {missing} not registered yet")


def tiny(**changes):
    return Echo(Dimensions.tiny(**changes)).eval()


def mel_for(model, batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, model.dims.mels, 2 * model.dims.audio_ctx, generator=g)


def test_encoder_shape_and_shape_errors():
    model = tiny()
    dims = model.dims
    out = model.encoder(mel_for(model, batch=3))
    assert out.shape == (3, dims.audio_ctx, dims.audio_dims)
    assert model.encoder(mel_for(model, batch=1)[0]).shape == (1, dims.audio_ctx, dims.audio_dims)
    with pytest.raises(ShapeError, match="audio_stride\\*audio_ctx"):
        model.encoder(torch.randn(1, dims.mels, 2 * dims.audio_ctx + 2))
    with pytest.raises(ShapeError, match="mels"):
        model.encoder(torch.randn(1, dims.mels - 1, 2 * dims.audio_ctx))


def test_decoder_shape_and_text_ctx_error():
    model = tiny()
    encoded = model.encoder(mel_for(model))
    ids = torch.randint(3, 31, (2, 7))
    assert model.decoder(ids, encoded).shape == (2, 7, model.dims.vocab)
    with pytest.raises(ShapeError, match="text_ctx"):
        model.decoder(torch.randint(3, 31, (2, model.dims.text_ctx + 1)), encoded)
    with pytest.raises(ShapeError, match="batch"):
        model.decoder(ids[:1], encoded)
    with pytest.raises(ShapeError, match="vocab"):
        model.decoder(torch.tensor([[1, 31], [1, 2]]), encoded)


@pytest.mark.parametrize("self_type", TYPES)
@pytest.mark.parametrize("cross_type", TYPES)
def test_decoder_hears_the_audio_in_every_configuration(self_type, cross_type):
    _needs(self_type, cross_type)
    model = tiny(self_attention_type=self_type, cross_attention_type=cross_type, text_layerA=0, text_layerB=1,
                 audio_layerB=1)
    ids = torch.tensor([[1, 10, 11, 12]])
    with torch.no_grad():
        a = model.decoder(ids, model.encoder(mel_for(model, 1, seed=1)))
        b = model.decoder(ids, model.encoder(mel_for(model, 1, seed=2)))
    assert torch.isfinite(a).all() and torch.isfinite(b).all()
    assert (a - b).abs().max() > 1e-4


def test_seed_configuration_is_not_audio_blind():
    """The seed's cross_attention=False + text_layerB=0 made the original decoder deaf; not here."""
    with pytest.warns(UserWarning, match="cross_attention=False"):
        model = tiny(cross_attention=False, text_layerB=0)
    assert all(block.cross is not None for block in model.decoder.blocks)
    ids = torch.tensor([[1, 5]])
    with torch.no_grad():
        a = model.decoder(ids, model.encoder(mel_for(model, 1, seed=1)))
        b = model.decoder(ids, model.encoder(mel_for(model, 1, seed=2)))
    assert (a - b).abs().max() > 1e-4


@pytest.mark.parametrize("kind", TYPES)
def test_initial_loss_is_about_ln_vocab_and_finite(kind):
    _needs(kind)
    model = tiny(self_attention_type=kind, cross_attention_type=kind, audio_layerB=1, text_layerB=1).train()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, 31, (4, 12), generator=g)
    labels = torch.randint(3, 31, (4, 12), generator=g)
    out = model(mel_for(model, 4), ids, labels=labels)
    assert torch.isfinite(out.logits).all() and torch.isfinite(out.loss)
    assert abs(out.loss.item() - math.log(model.dims.vocab)) < 0.3
    out.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_labels_minus_100_are_ignored():
    model = tiny()
    mel, ids = mel_for(model, 1), torch.tensor([[1, 8, 9, 10]])
    full = model(mel, ids, labels=torch.tensor([[8, 9, 10, 2]])).loss
    part = model(mel, ids, labels=torch.tensor([[8, -100, -100, -100]])).loss
    logp = torch.log_softmax(model(mel, ids).logits[0, 0].float(), -1)
    assert torch.allclose(part, -logp[8], atol=1e-5) and not torch.allclose(full, part)


@pytest.mark.parametrize("kind", TYPES)
def test_decoder_is_causal(kind):
    _needs(kind)
    model = tiny(self_attention_type=kind, text_layerB=1)
    encoded = model.encoder(mel_for(model, 1))
    ids = torch.tensor([[1, 5, 6, 7, 8, 9]])
    changed = ids.clone()
    changed[0, 4:] = torch.tensor([20, 21])
    with torch.no_grad():
        a, b = model.decoder(ids, encoded), model.decoder(changed, encoded)
    assert torch.allclose(a[:, :4], b[:, :4], atol=1e-5)
    assert not torch.allclose(a[:, 4:], b[:, 4:], atol=1e-5)


@pytest.mark.parametrize("kind", TYPES)
def test_cached_step_by_step_logits_equal_full_pass(kind):
    _needs(kind)
    model = tiny(self_attention_type=kind, cross_attention_type=kind, text_layerB=1)
    encoded = model.encoder(mel_for(model, 2))
    ids = torch.randint(3, 31, (2, 9))
    ids[:, 0] = 1
    with torch.no_grad():
        full = model.decoder(ids, encoded)
        cache = model.new_cache()
        steps = [model.decoder(ids[:, t:t + 1], encoded, cache) for t in range(ids.shape[1])]
    assert cache.length == ids.shape[1]
    assert torch.allclose(torch.cat(steps, dim=1), full, atol=1e-4)


def test_audio_and_text_widths_may_differ():
    model = tiny(audio_dims=96, audio_head=3, text_dims=64, text_head=2)
    encoded = model.encoder(mel_for(model, 2))
    assert encoded.shape[-1] == 96
    out = model(mel_for(model, 2), torch.tensor([[1, 5], [1, 6]]), labels=torch.tensor([[5, 2], [6, 2]]))
    assert out.logits.shape == (2, 2, 31) and torch.isfinite(out.loss)


def test_tied_embeddings_and_no_learned_positions_with_rotary():
    model = tiny()
    assert model.decoder.positional is None
    names = [n for n, _ in model.named_parameters()]
    assert not any("lm_head" in n for n in names)
    no_rotary = tiny(rotary=False)
    assert no_rotary.decoder.positional is not None   # absolute positions when rotary is off


def test_seed_usage_runs_as_written():
    """The seed README's snippet with our tokenizer (shorter audio so the test stays fast)."""
    from echo_edu import Dimensions as D, Echo as E, process_audio
    from echo_edu.tokenizer import build_tokenizer

    tokenizer = build_tokenizer()
    kind = "myelinated" if "myelinated" in ATTENTION_TYPES else "standard"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        param = D(mels=80, audio_ctx=100, audio_dims=64, audio_head=2, audio_layerA=2, audio_layerB=1,
                  audio_act="gelu", vocab=len(tokenizer), text_ctx=48, text_dims=64, text_head=2, text_layerA=2,
                  text_layerB=0, text_act="gelu", self_attention_type=kind, cross_attention_type=kind,
                  cross_attention=False, decoder_start_token_id=tokenizer.bos_token_id,
                  pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        model = E(param=param).eval()
    audio = torch.sin(torch.arange(16000) / 16000 * 2 * math.pi * 440) * 0.3
    mel = process_audio(audio, audio_ctx=param.audio_ctx, mels=param.mels, hop_length=160, n_fft=400, sr=16000)
    encoded_audio = model.encoder(mel)
    input_ids = torch.tensor([[param.decoder_start_token_id]])
    logits = model.decoder(input_ids, encoded_audio)
    assert logits.shape == (1, 1, len(tokenizer))
    assert isinstance(tokenizer.decode(torch.argmax(logits, dim=-1)[0]), str)


def test_follows_the_input_dtype_and_device(device):
    model = tiny().to(device=device, dtype=torch.bfloat16)
    mel = mel_for(model, 1).to(device)
    logits = model.decoder(torch.tensor([[1, 4]], device=device), model.encoder(mel))
    assert logits.dtype == torch.bfloat16 and logits.device.type == device.type


def _speechlike_wave(seconds: float, seed: int = 0) -> torch.Tensor:
    """A decaying chirp with noise: enough spectral structure for per-bin statistics."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(int(16000 * seconds)) / 16000
    tone = torch.sin(2 * math.pi * (200 + 600 * t) * t) * torch.exp(-t)
    return 0.3 * tone + 0.02 * torch.randn(t.shape, generator=g)


def test_feature_norm_makes_the_encoder_deaf_to_loudness_and_channel_tilt():
    from echo_edu.audio import process_audio

    torch.manual_seed(0)
    model = tiny(feature_norm="cmvn")
    wave = _speechlike_wave(1.2)
    loud = process_audio(wave, model.dims.audio_ctx, model.dims.mels)             # (1, mels, 2*audio_ctx)
    quiet = process_audio(wave / 8, model.dims.audio_ctx, model.dims.mels)
    assert (loud - quiet).abs().max() > 0.2                                         # the inputs differ
    assert torch.allclose(model.encoder(loud), model.encoder(quiet), atol=1e-4)
    plain = tiny()                                                                  # feature_norm="none"
    plain.load_state_dict(model.state_dict())
    assert not torch.allclose(plain.encoder(loud), plain.encoder(quiet), atol=1e-2)  # the mechanism matters


def test_feature_norm_ignores_the_padding_and_old_configs_load_without_it():
    from echo_edu.audio import frame_lengths, normalize_features, signal_frames
    from echo_edu.audio import process_audio

    dims = Dimensions.tiny()
    waves = [_speechlike_wave(0.7, 1), _speechlike_wave(1.5, 2)]
    mel = torch.cat([process_audio(w, dims.audio_ctx, dims.mels) for w in waves])     # (2, mels, 200)
    extra = signal_frames(mel) - frame_lengths(torch.tensor([w.numel() for w in waves]))
    assert ((extra >= 0) & (extra <= 2)).all()        # the 25 ms STFT window reaches 2 frames past the end
    out = normalize_features(mel, signal_frames(mel))
    assert (out[0, :, 73:] == 0).all() and out[0, :, :70].abs().sum() > 0
    old = {k: v for k, v in dims.to_dict().items() if k != "feature_norm"}
    assert Dimensions.from_dict(old).feature_norm == "none"
    with pytest.raises(Exception, match="feature_norm"):
        Dimensions.tiny(feature_norm="loudness").validate()


def test_encoder_feature_norm_is_cmvn_over_the_signal_with_scaled_padding():
    from echo_edu.audio import process_audio
    from echo_edu.audio import normalize_features, signal_frames

    torch.manual_seed(0)
    model = tiny(feature_norm="cmvn")
    plain = tiny()
    plain.load_state_dict(model.state_dict())
    mel = process_audio(_speechlike_wave(0.8), model.dims.audio_ctx, model.dims.mels)   # 120 of 200 frames padded
    frames = signal_frames(mel)           # normalised features no longer show their padding: pass the frames
    by_hand = normalize_features(mel, frames, padding="scale")
    assert torch.allclose(model.encoder(mel), plain.encoder(by_hand, lengths=frames), atol=1e-5)
    zeroed = normalize_features(mel, frames)                                            # padding 0: not what we use
    assert not torch.allclose(model.encoder(mel), plain.encoder(zeroed, lengths=frames), atol=1e-3)


@pytest.mark.parametrize("kind", TYPES)
def test_every_residual_branch_is_scaled_by_the_depth(kind):
    """GPT-2 init: each branch that writes into the residual stream (self-attention, cross-attention and
    MLP outputs) starts at std 0.02/sqrt(branches in the stack), so the stream does not grow with depth."""
    torch.manual_seed(0)
    cross = kind if kind != "integrated" else "standard"
    dims = Dimensions.small(audio_layerA=1, audio_layerB=2, text_layerA=1, text_layerB=2,
                            self_attention_type=kind, cross_attention_type=cross)
    model = Echo(dims)
    for stack, per_block in ((model.encoder.blocks, 2), (model.decoder.blocks, 3)):
        expected = 0.02 / math.sqrt(per_block * len(stack))
        for block in stack:
            branches = block.attn.residual_outputs() + block.mlp.residual_outputs()
            if block.cross is not None:
                branches += block.cross.residual_outputs()
            assert len(branches) >= per_block
            for linear in branches:
                assert abs(float(linear.weight.std()) - expected) < 0.15 * expected, (kind, linear)
                assert linear.bias is None or bool((linear.bias == 0).all())


def test_attention_output_projections_do_not_keep_the_pytorch_default_init():
    torch.manual_seed(0)
    model = Echo(Dimensions.small())
    expected = 0.02 / math.sqrt(3 * len(model.decoder.blocks))          # 0.0058 here; PyTorch's default: 0.042
    block = model.decoder.blocks[0]
    for linear in (block.attn.out, block.cross.out, block.mlp.proj):
        assert float(linear.weight.std()) < 1.2 * expected


def test_the_normalisation_docstring_describes_the_padding_the_model_uses():
    """The encoder normalises with padding="scale"; the module's own explanation must say what happens then."""
    import inspect

    import echo_edu.audio.normalize as normalize
    from echo_edu.model import AudioEncoder

    assert 'padding="scale"' in inspect.getsource(AudioEncoder.forward)
    assert '``padding="scale"``' in normalize.__doc__ and "the model" in normalize.__doc__


@pytest.mark.parametrize("kind", sorted(ATTENTION_TYPES))
def test_every_attention_type_builds_on_the_meta_device_and_loads_into_empty_memory(kind):
    """``with torch.device("meta")`` builds an Echo of shapes only (no memory, no values); ``to_empty`` then
    ``load_state_dict`` give the model itself: the rotary tables are rebuilt on the new device, not copied."""
    dims = Dimensions.tiny(self_attention_type=kind, use_quaternion=True, use_projection=True)
    torch.manual_seed(0)
    real = Echo(dims).eval()
    with torch.device("meta"):
        shell = Echo(dims)
    assert all(t.is_meta for t in [*shell.parameters(), *shell.buffers()])
    shell = shell.to_empty(device="cpu").eval()
    shell.load_state_dict(real.state_dict())
    mel, ids = mel_for(real), torch.tensor([[dims.decoder_start_token_id, 5, 6]] * 2)
    with torch.no_grad():
        torch.testing.assert_close(shell(mel, ids).logits, real(mel, ids).logits)
