"""echo_edu.audio: loading, Whisper-exact log-mel features, padding, and clear errors."""

import math

import numpy as np
import pytest
import soundfile as sf
import torch

from echo_edu.audio import (HOP_LENGTH, N_FFT, SAMPLE_RATE, load_audio, log_mel_spectrogram,
                            mel_filters, pad_or_trim, process_audio)
from echo_edu.errors import AudioError, AudioFileNotFoundError, EchoError, ShapeError


def tones(rate: int, seconds: float = 1.0, freqs=(220.0, 700.0, 1800.0, 3100.0)) -> np.ndarray:
    """A band-limited test signal (< 4 kHz, so even 8 kHz files carry all of it)."""
    t = np.arange(int(rate * seconds)) / rate
    wave = sum(0.15 * np.sin(2 * np.pi * f * t + k) for k, f in enumerate(freqs))
    return wave.astype(np.float32)


def slaney_mel(f):
    f = np.asarray(f, dtype=np.float64)
    lin = f / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log, lin)


def test_constants_and_shapes():
    assert (SAMPLE_RATE, HOP_LENGTH, N_FFT) == (16000, 160, 400)
    feats = process_audio(torch.zeros(8000), audio_ctx=50, mels=80)
    assert feats.shape == (1, 80, 100) and feats.dtype == torch.float32
    assert mel_filters(80).shape == (80, N_FFT // 2 + 1)
    assert log_mel_spectrogram(torch.zeros(2, 3, 1600), 40).shape == (2, 3, 40, 10)


def test_one_khz_tone_peaks_in_its_mel_bin():
    t = torch.arange(SAMPLE_RATE) / SAMPLE_RATE
    feats = log_mel_spectrogram(0.5 * torch.sin(2 * math.pi * 1000.0 * t), 80)   # (80, 100)
    # Slaney mel centres: 82 points evenly spaced on the mel axis from 0 Hz to 8 kHz.
    centres = np.linspace(0.0, slaney_mel(8000.0), 82)[1:-1]
    expected = int(np.argmin(np.abs(centres - slaney_mel(1000.0))))
    assert expected == 26
    assert torch.all(feats[:, 10:-10].argmax(dim=0) == expected)


def test_matches_whisper_feature_extractor():
    from transformers import WhisperFeatureExtractor

    g = torch.Generator().manual_seed(0)
    wave = (0.3 * torch.sin(torch.arange(48000) * 0.07) + 0.05 * torch.randn(48000, generator=g)).float()
    ref = WhisperFeatureExtractor(feature_size=80)(wave.numpy(), sampling_rate=16000,
                                                     return_tensors="np").input_features[0]
    ours = process_audio(wave, audio_ctx=1500, mels=80)[0].numpy()
    assert ref.shape == ours.shape == (80, 3000)
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_int16_and_float_files_give_the_same_features(tmp_path):
    wave = tones(SAMPLE_RATE)
    sf.write(tmp_path / "f.wav", wave, SAMPLE_RATE, subtype="FLOAT")
    sf.write(tmp_path / "i.wav", wave, SAMPLE_RATE, subtype="PCM_16")
    sf.write(tmp_path / "i.flac", wave, SAMPLE_RATE, subtype="PCM_24")
    a = process_audio(tmp_path / "f.wav", 50, 80)
    for name in ("i.wav", "i.flac"):
        b = process_audio(str(tmp_path / name), 50, 80)
        assert (a - b).abs().max() < 0.01, name
    # raw int16 arrays are scaled like int16 files
    pcm = np.round(wave * 32767).astype(np.int16)
    assert torch.allclose(load_audio(pcm), torch.from_numpy(wave), atol=1e-4)


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 32000, 44100, 48000])
@pytest.mark.parametrize("layout", ["mono", "stereo_file", "channels_first", "channels_last"])
def test_rates_and_layouts_match_16k_mono(tmp_path, rate, layout):
    reference = process_audio(tones(SAMPLE_RATE), 50, 80)
    wave = tones(rate)
    if layout == "mono":
        source = {"array": wave, "sampling_rate": rate}
    elif layout == "stereo_file":
        sf.write(tmp_path / "s.wav", np.stack([wave, wave], 1), rate, subtype="FLOAT")
        source = tmp_path / "s.wav"
    elif layout == "channels_first":
        source = {"array": torch.from_numpy(np.stack([wave, wave])), "sampling_rate": rate}
    else:
        source = {"array": np.stack([wave, wave], 1), "sampling_rate": rate}
    loaded = load_audio(source)
    assert loaded.dtype == torch.float32 and loaded.ndim == 1
    assert abs(loaded.numel() - SAMPLE_RATE) <= 1
    feats = process_audio(source, 50, 80)
    # Compare the mel bands the file can carry (below its Nyquist frequency), away from the edges
    # where the resampler's filter tails differ.
    nonzero = (mel_filters(80) > 0).float()                               # (mels, freqs)
    top_hz = (nonzero.shape[1] - 1 - nonzero.flip(1).argmax(dim=1)) * SAMPLE_RATE / N_FFT
    carried = top_hz < 0.45 * min(rate, SAMPLE_RATE)
    diff = (feats - reference).abs()[0, carried, 2:-2]
    assert carried.sum() >= 55
    assert diff.mean() < 0.005 and diff.max() < 0.02


def test_input_is_not_modified():
    wave = torch.full((100,), 1.2)
    out = load_audio(wave)
    assert torch.equal(wave, torch.full((100,), 1.2)) and float(out.max()) == 1.0


def test_stereo_is_averaged_not_concatenated():
    left, right = torch.full((1000,), 0.5), torch.full((1000,), -0.1)
    mono = load_audio(torch.stack([left, right]))
    assert mono.shape == (1000,) and torch.allclose(mono, torch.full((1000,), 0.2))


def test_padding_and_trimming_are_exact():
    g = torch.Generator().manual_seed(1)
    clip = 0.1 * torch.randn(5000, generator=g)
    feats = process_audio(clip, audio_ctx=30, mels=80)                   # 9600 samples
    padded = torch.cat([clip, torch.zeros(9600 - 5000)])
    assert torch.equal(feats[0], log_mel_spectrogram(padded, 80))
    long_clip = 0.1 * torch.randn(20000, generator=g)
    feats = process_audio(long_clip, audio_ctx=30, mels=80)
    assert torch.equal(feats[0], log_mel_spectrogram(long_clip[:9600], 80))
    assert pad_or_trim(torch.ones(3, 7), 5).shape == (3, 5)
    assert torch.equal(pad_or_trim(torch.ones(7), 9)[7:], torch.zeros(2))


def test_batched_equals_one_by_one():
    g = torch.Generator().manual_seed(2)
    clips = [0.2 * torch.randn(n, generator=g) for n in (3000, 8000, 12000)]
    batch = process_audio(clips, 25, 64)
    assert batch.shape == (3, 64, 50)
    for i, clip in enumerate(clips):
        assert torch.allclose(batch[i], process_audio(clip, 25, 64)[0], atol=1e-6)
    rows = torch.stack([pad_or_trim(c, 8000) for c in clips])
    assert process_audio(rows, 25, 64).shape == (3, 64, 50)


def test_value_range_and_silence():
    g = torch.Generator().manual_seed(3)
    loud = process_audio((torch.rand(32000, generator=g) * 2 - 1), 100, 80)
    speechy = process_audio(torch.from_numpy(tones(SAMPLE_RATE, 2.0)), 100, 80)
    for feats in (loud, speechy):
        assert -1.5 - 1e-6 <= feats.min() and feats.max() <= 2.5
        assert feats.max() - feats.min() <= 2.0 + 1e-5        # the max - 8 floor, / 4
    silence = process_audio(torch.zeros(16000), 100, 80)
    assert torch.allclose(silence, torch.full_like(silence, -1.5))


def test_device_follows_input(device):
    wave = torch.from_numpy(tones(SAMPLE_RATE)).to(device)
    feats = process_audio(wave, 50, 80)
    assert feats.device.type == device.type
    assert torch.allclose(feats.cpu(), process_audio(wave.cpu(), 50, 80), atol=1e-4)


def test_datasets_style_inputs(tmp_path):
    wave = tones(22050)
    sf.write(tmp_path / "x.flac", wave, 22050)
    blob = (tmp_path / "x.flac").read_bytes()
    a = load_audio({"bytes": blob, "path": None})
    b = load_audio({"bytes": None, "path": str(tmp_path / "x.flac")})
    c = load_audio({"array": wave, "sampling_rate": 22050})
    assert torch.allclose(a, b) and torch.allclose(a, c, atol=1e-4)


def test_bad_files_name_the_file(tmp_path):
    missing = tmp_path / "nope.wav"
    with pytest.raises(AudioFileNotFoundError, match="nope.wav"):
        load_audio(missing)
    with pytest.raises(FileNotFoundError):          # also a built-in FileNotFoundError
        process_audio(str(missing), 10, 80)
    with pytest.raises(AudioFileNotFoundError, match="not a file"):
        load_audio(tmp_path)
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty.wav.*empty"):
        load_audio(tmp_path / "empty.wav")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage" + bytes(64))
    with pytest.raises(AudioError, match="corrupt.wav"):
        load_audio(tmp_path / "corrupt.wav")
    (tmp_path / "notes.txt").write_text("this is not audio\n" * 20)
    with pytest.raises(AudioError, match="notes.txt"):
        load_audio(tmp_path / "notes.txt")
    sf.write(tmp_path / "zero.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match="zero.wav"):
        load_audio(tmp_path / "zero.wav")
    bad = np.zeros(100, np.float32)
    bad[5] = np.nan
    sf.write(tmp_path / "nan.wav", bad, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="nan.wav.*NaN"):
        load_audio(tmp_path / "nan.wav")


@pytest.mark.parametrize("bad, match", [
    (np.zeros(0, np.float32), "no samples"),
    (torch.tensor([0.0, float("inf")]), "NaN or Inf"),
    (np.zeros((2, 3, 4), np.float32), "shape"),
    (np.full(100, 1000.0, np.float32), "divide by 32768"),
    ({"array": np.zeros(10)}, "sampling_rate"),
    ({"foo": 1}, "keys"),
    (np.array(["a", "b"]), "dtype"),
    (12.5, "float"),
])
def test_bad_arrays(bad, match):
    with pytest.raises(AudioError, match=match) as info:
        load_audio(bad)
    assert isinstance(info.value, EchoError) and isinstance(info.value, ValueError)


def test_bad_feature_arguments():
    with pytest.raises(ShapeError, match="too short"):
        log_mel_spectrogram(torch.zeros(100), 80)
    with pytest.raises(ShapeError, match="integer"):
        log_mel_spectrogram(torch.zeros(1000, dtype=torch.int16), 80)
    with pytest.raises(ShapeError, match="audio_ctx"):
        process_audio(torch.zeros(1000), 0, 80)
    with pytest.raises(AudioError, match="empty batch"):
        process_audio([], 10, 80)
