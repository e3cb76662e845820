"""``Dimensions.audio_stride``: 4 frames per encoder position (a second stride-2 conv) beside the default 2."""

from __future__ import annotations

import pytest
import torch

from echo_edu import Dimensions, Echo, process_audio
from echo_edu.audio import encoder_positions, frame_lengths
from echo_edu.data.collate import SpeechCollator
from echo_edu.errors import ConfigError, ShapeError
from echo_edu.tokenizer import build_tokenizer


def model(stride: int, **overrides) -> Echo:
    torch.manual_seed(0)
    return Echo(Dimensions.tiny(audio_stride=stride, mask_padding=True, ctc_weight=0.3, **overrides)).eval()


@pytest.mark.parametrize("bad", [3, 1, 8, 2.0, True, "4"])
def test_unsupported_stride_is_a_config_error_naming_the_field(bad):
    with pytest.raises(ConfigError, match="audio_stride"):
        Dimensions.tiny(audio_stride=bad).validate()


def test_old_configs_load_with_stride_two():
    data = Dimensions.tiny().to_dict()
    data.pop("audio_stride")
    assert Dimensions.from_dict(data).audio_stride == 2


def test_stride_four_covers_the_same_window_with_half_the_positions():
    two, four = Dimensions.tiny(audio_ctx=100), Dimensions.tiny(audio_ctx=50, audio_stride=4)
    assert two.n_frames == four.n_frames == 200 and two.audio_seconds == four.audio_seconds == 2.0
    mel = process_audio(torch.randn(32000) * 0.1, 50, 80, stride=4)            # (1, 80, 200)
    assert mel.shape == (1, 80, 200)
    encoded = model(4, audio_ctx=50).encoder(mel)
    assert encoded.shape == (1, 50, 64)                                         # 200 frames / 4
    assert model(2, audio_ctx=100).encoder(mel).shape == (1, 100, 64)


def test_stride_four_encoder_ignores_padding():
    m = model(4)
    mel = process_audio(torch.randn(8000) * 0.1, m.dims.audio_ctx, 80, stride=4)   # 0.5 s in a 4 s window
    frames = frame_lengths([8000])                                                # 50 real frames
    real = int(encoder_positions(frames, 4))                                      # ceil(50 / 4) = 13
    assert real == 13
    full = m.encoder(mel, lengths=frames)[:, :real]
    cut = m.encoder(mel[..., :64], lengths=frames)[:, :real]
    torch.testing.assert_close(full, cut, atol=1e-5, rtol=1e-5)
    assert int(m.encoder.audio_mask(frames, 100).sum()) == real


def test_frame_counts_must_be_a_multiple_of_the_stride():
    m = model(4)
    with pytest.raises(ShapeError, match="audio_stride=4"):
        m.encoder(torch.zeros(1, 80, 62))


def test_conv3_is_learned_state_that_saves_and_loads(tmp_path):
    m = model(4)
    assert "encoder.conv3.weight" in m.state_dict() and "encoder.conv3.weight" not in model(2).state_dict()
    m.save_pretrained(tmp_path / "m")
    loaded = Echo.from_pretrained(tmp_path / "m").eval()
    mel = process_audio(torch.randn(16000) * 0.1, 100, 80, stride=4)
    torch.testing.assert_close(loaded.encoder(mel), m.encoder(mel))


def test_collator_pads_to_whole_stride_four_positions():
    m = model(4)
    collate = SpeechCollator.for_model(m, build_tokenizer(), pad_to="longest")
    rows = [{"audio": {"array": torch.randn(n).numpy() * 0.1, "sampling_rate": 16000}, "text": "one"}
            for n in (8000, 12000)]
    batch = collate(rows)
    assert batch.mel.shape[-1] % 32 == 0 and batch.mel.shape[-1] >= 75        # 8 positions of 4 frames
    assert batch.lengths.tolist() == [50, 75]
    out = m(batch.mel, batch.input_ids, batch.labels, lengths=batch.lengths)
    assert out.encoded_lengths.tolist() == [13, 19]                            # ceil(frames / 4)
    assert torch.isfinite(out.loss)
