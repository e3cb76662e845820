"""Padding must not change what the model computes: real lengths in, padding masked out.

Two bugs of issue 13, each with a test that fails without its fix:

* SpecAugment's frequency masks paint whole rows, padding included, so ``signal_frames`` read augmented
  clips as full length and training normalised with padding statistics. The collator now hands the
  real frame counts (``Batch.lengths``) to the model.
* The encoder built no key padding mask, so attention (and focus's activity pooling) ran over padding
  and the same clip gave different outputs at different ``audio_ctx``. Now padded positions are masked
  in encoder self-attention and decoder cross-attention (``Dimensions.mask_padding``).
"""

from __future__ import annotations

import math

import pytest
import torch

from echo_edu import Dimensions, Echo
from echo_edu.audio import process_audio
from echo_edu.audio import frame_lengths, normalize_features, signal_frames
from echo_edu.augmentation import AugmentConfig, Augmenter
from echo_edu.data.collate import SpeechCollator
from echo_edu.errors import ShapeError
from echo_edu.tokenizer import build_tokenizer

SELF_TYPES = ("standard", "focus", "adaptive", "myelinated", "integrated")


def _wave(seconds: float, seed: int = 0) -> torch.Tensor:
    """A chirp with noise: every frame differs from its neighbours, like speech."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(int(16000 * seconds)) / 16000
    return 0.3 * torch.sin(2 * math.pi * (200 + 600 * t) * t) + 0.02 * torch.randn(t.shape, generator=g)


def _rows(seconds=(0.9, 1.3, 0.6, 1.1)):
    return [{"audio": {"array": _wave(s, i).numpy(), "sampling_rate": 16000}, "text": "one two"}
            for i, s in enumerate(seconds)]


def _model(audio_ctx: int, kind: str = "standard", seed: int = 0, **changes) -> Echo:
    torch.manual_seed(seed)
    return Echo(Dimensions.tiny(audio_ctx=audio_ctx, audio_layerB=1, text_layerB=0, self_attention_type=kind,
                                **changes)).eval()


def test_collator_passes_real_lengths_that_specaugment_hides_from_the_padding():
    config = AugmentConfig.off(p_specaugment=1.0, freq_masks=2, freq_width=(8, 12), time_masks=0)
    collate = SpeechCollator(build_tokenizer(), audio_ctx=100, mels=80, text_ctx=16, augmenter=Augmenter(config))
    rows = _rows()
    batch = collate(rows, torch.Generator().manual_seed(3))
    samples = [len(r["audio"]["array"]) for r in rows]
    assert torch.equal(batch.lengths, frame_lengths(samples, max_frames=200))          # (B,) real frames
    assert (signal_frames(batch.mel) == 200).all()     # the masks' fill reaches the padding: reads as speech
    clean = collate(rows)                              # no augmentation: the same lengths
    assert torch.equal(clean.lengths, batch.lengths) and torch.equal(clean.to("cpu").lengths, batch.lengths)


def test_augmented_batch_is_normalised_with_real_frame_statistics_only():
    """The encoder's CMVN of an augmented batch equals CMVN over the real frames, not over the padding."""
    config = AugmentConfig.off(p_specaugment=1.0, freq_masks=2, freq_width=(8, 12), time_masks=0)
    collate = SpeechCollator(build_tokenizer(), audio_ctx=100, mels=80, text_ctx=16, augmenter=Augmenter(config))
    batch = collate(_rows(), torch.Generator().manual_seed(3))
    model = _model(100, feature_norm="cmvn", mask_padding=False)
    plain = _model(100, mask_padding=False)                       # feature_norm "none", same weights
    plain.load_state_dict(model.state_dict())
    by_hand = normalize_features(batch.mel, batch.lengths, padding="scale")
    wrong = normalize_features(batch.mel, signal_frames(batch.mel), padding="scale")
    assert (by_hand - wrong).abs().max() > 0.1                       # padding statistics really differ
    with torch.no_grad():
        expected = plain(by_hand, batch.input_ids).logits
        got = model(batch.mel, batch.input_ids, lengths=batch.lengths).logits
        assert torch.allclose(got, expected, atol=1e-5)
        assert not torch.allclose(plain(wrong, batch.input_ids).logits, expected, atol=1e-3)
        assert torch.allclose(model.encoder(batch.mel, lengths=batch.lengths), plain.encoder(by_hand), atol=1e-5)


def test_lengths_are_checked():
    model = _model(100)
    mel = process_audio(_wave(0.5), 100, 80)
    with pytest.raises(ShapeError, match="lengths"):
        model.encoder(mel, lengths=torch.tensor([10, 20]))
    with pytest.raises(ShapeError, match="lengths"):
        model.encoder(mel, lengths=torch.tensor([10.0]))


def test_audio_mask_follows_the_conv_stride():
    model = _model(100)
    mask = model.encoder.audio_mask(torch.tensor([1, 2, 3, 200, 57]))
    assert mask.shape == (5, 100) and mask.dtype == torch.bool
    assert mask.sum(-1).tolist() == [1, 1, 2, 100, 29]               # ceil(frames / 2)
    assert _model(100, mask_padding=False).encoder.audio_mask(torch.tensor([5])) is None


@pytest.mark.parametrize("kind", SELF_TYPES)
def test_same_clip_gives_the_same_outputs_at_any_padding(kind):
    """The clip padded to audio_ctx 200 / 400 / 800: identical encoder outputs at its real positions,
    identical focus activity, identical decoder logits — and not so without the mask."""
    wave, ids = _wave(1.5), torch.tensor([[1, 5, 6, 7]])
    frames = frame_lengths(wave.shape[-1])                               # (1,) = 150 frames, 75 positions
    real = int((frames + 1) // 2)
    results = {}
    for mask_padding in (True, False):
        base = _model(200, kind, mask_padding=mask_padding)
        outs = []
        for ctx in (200, 400, 800):
            model = _model(ctx, kind, mask_padding=mask_padding)
            model.load_state_dict(base.state_dict())
            mel = process_audio(wave, ctx, 80)
            with torch.no_grad():
                encoded, infos = model.encoder(mel, lengths=frames, return_info=True)
                out = model(mel, ids, lengths=frames)
            assert torch.isfinite(encoded).all() and torch.isfinite(out.logits).all()
            activity = infos[-1]["self"].get("activity")
            outs.append((encoded[:, :real], out.logits, None if activity is None else activity[:, 0]))
        results[mask_padding] = outs
    for enc, logits, activity in results[True][1:]:
        assert torch.allclose(enc, results[True][0][0], atol=2e-4)
        assert torch.allclose(logits, results[True][0][1], atol=2e-4)
        if activity is not None:
            assert torch.allclose(activity, results[True][0][2], atol=1e-5)
    unmasked = results[False]
    assert not torch.allclose(unmasked[2][0], unmasked[0][0], atol=1e-2)      # padding leaks without the mask
    if kind == "focus":
        assert unmasked[2][2] < 0.9 * results[True][0][2]                      # activity diluted by silence


def test_decoding_without_lengths_reads_the_padding_and_masks_cross_attention():
    """``decode(mel)`` with no lengths masks by ``signal_frames``; greedy and beam agree across paddings."""
    from echo_edu.decode import decode

    wave = _wave(1.2)
    base = _model(200, "focus")
    tokens = []
    for ctx in (200, 400):
        model = _model(ctx, "focus")
        model.load_state_dict(base.state_dict())
        mel = process_audio(wave, ctx, 80)
        greedy = decode(model, mel, max_tokens=8)
        beam = decode(model, mel, method="beam", beam_size=2, max_tokens=8)
        known = decode(model, mel, max_tokens=8, lengths=signal_frames(mel))
        assert greedy.tokens == known.tokens
        tokens.append((greedy.tokens, beam.tokens, greedy.scores))
    assert tokens[0][:2] == tokens[1][:2] and torch.allclose(tokens[0][2], tokens[1][2], atol=1e-4)


def test_configs_saved_before_mask_padding_load_unmasked():
    old = {k: v for k, v in Dimensions.tiny().to_dict().items() if k != "mask_padding"}
    assert Dimensions.from_dict(old).mask_padding is False
    assert Dimensions.tiny().mask_padding is True
    assert Dimensions.from_dict(Dimensions.tiny().to_dict()).mask_padding is True
    with pytest.raises(Exception, match="mask_padding"):
        Dimensions.tiny(mask_padding="yes").validate()
