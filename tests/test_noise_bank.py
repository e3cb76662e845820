"""Recorded noise in augmentation: NoiseBank from a folder, AugmentConfig.noise_dir, the Augmenter's "real" noise."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from echo_edu.augmentation import AugmentConfig, Augmenter, NoiseBank
from echo_edu.errors import AudioError, AudioFileNotFoundError, ConfigError

FREQS = {"hum.wav": (8000, 250.0), "fan.flac": (22050, 1000.0), "sub/tap.wav": (16000, 3000.0)}


def _tone(freq: float, sr: int, seconds: float) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.1 * np.sin(2 * math.pi * freq * t)).astype(np.float32)


@pytest.fixture
def noise_dir(tmp_path):
    """Three one-second tones at 8 / 22.05 / 16 kHz (one stereo, one in a sub-folder) and a stray text file."""
    for name, (sr, freq) in FREQS.items():
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        data = _tone(freq, sr, 1.0 if name != "fan.flac" else 0.5)
        sf.write(path, np.stack([data, data], 1) if name == "hum.wav" else data, sr)
    (tmp_path / "README.txt").write_text("not audio")
    return tmp_path


def _peak_hz(x: torch.Tensor, sr: int = 16000) -> float:
    spectrum = torch.fft.rfft(x.double()).abs()
    return float(spectrum.argmax()) * sr / x.numel()


def test_folder_loads_every_clip_once_resampled_to_16k(noise_dir):
    bank = NoiseBank.from_folder(noise_dir)
    assert bank.names == ["fan.flac", "hum.wav", "sub/tap.wav"] and bank.sr == 16000
    assert [c.numel() for c in bank.clips] == [8000, 16000, 16000]     # 0.5 s at 22.05 kHz -> 8000 samples
    for clip, name in zip(bank.clips, bank.names):
        assert clip.dtype == torch.float32 and clip.ndim == 1
        assert abs(_peak_hz(clip) - FREQS[name][1]) < 5                 # resampled, not reinterpreted
    assert bank.seconds == pytest.approx(2.5)


def test_sample_tiles_long_and_crops_short_from_a_random_offset():
    g = torch.Generator().manual_seed(0)
    bank = NoiseBank([torch.randn(1000, generator=g), torch.randn(1700, generator=g)])   # unique sample values
    seen_offsets = set()
    for _ in range(12):
        long, index = bank.sample(4000, g)
        clip = bank.clips[index]
        n = clip.numel()
        assert long.shape == (4000,)
        assert torch.equal(long[:4000 - n], long[n:])                   # wraps around: period = the clip
        start = int(torch.nonzero(clip == long[0])[0])
        assert torch.equal(long[:n], clip.roll(-start))
        seen_offsets.add(start)
    assert len(seen_offsets) > 6                                         # offsets really vary
    short, index = bank.sample(100, torch.Generator().manual_seed(1))
    clip = bank.clips[index]
    windows = clip.unfold(0, 100, 1)                                     # every contiguous crop of the clip
    assert short.shape == (100,) and (windows == short).all(-1).any()
    a, b = bank.sample(500, torch.Generator().manual_seed(7)), bank.sample(500, torch.Generator().manual_seed(7))
    assert torch.equal(a[0], b[0]) and a[1] == b[1]


def test_missing_or_empty_folder_is_a_typed_error(tmp_path):
    with pytest.raises(AudioFileNotFoundError, match="does not exist"):
        NoiseBank.from_folder(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError):
        Augmenter(AugmentConfig(noise_dir=str(tmp_path / "nowhere")))
    (tmp_path / "notes.txt").write_text("no audio here")
    with pytest.raises(AudioError, match="no audio files"):
        NoiseBank.from_folder(tmp_path)
    (tmp_path / "broken.wav").write_bytes(b"not a wav file")
    with pytest.raises(AudioError, match="broken.wav"):
        NoiseBank.from_folder(tmp_path)
    with pytest.raises(AudioError):
        NoiseBank([])


def test_config_serialises_the_folder_and_checks_its_fields(noise_dir):
    config = AugmentConfig(noise_dir=noise_dir, real_noise_fraction=0.25)        # a Path is kept as its str
    data = json.loads(json.dumps(config.to_dict()))
    assert data["noise_dir"] == str(noise_dir) and data["real_noise_fraction"] == 0.25
    assert AugmentConfig.from_dict(data) == config
    assert AugmentConfig().noise_dir is None
    with pytest.raises(ConfigError, match="real_noise_fraction"):
        AugmentConfig(real_noise_fraction=1.5)
    with pytest.raises(ConfigError, match="noise_dir"):
        AugmentConfig(noise_dir=3)


def test_augmenter_mixes_recorded_noise_at_the_drawn_snr(noise_dir):
    bank = NoiseBank.from_folder(noise_dir)
    config = AugmentConfig.off(p_noise=1.0, snr_db=(10.0, 10.0), noise_dir=str(noise_dir), real_noise_fraction=1.0)
    augmenter = Augmenter(config)
    wave = torch.from_numpy(_tone(440.0, 16000, 1.3)) * 3
    kinds = set()
    for seed in range(6):
        out = augmenter.augment_waveform(wave, 16000, torch.Generator().manual_seed(seed))
        applied = augmenter.last_applied["noise"]
        assert applied["type"] == "real" and applied["clip"] in bank.names
        kinds.add(applied["clip"])
        residual = out - wave
        snr = 10 * math.log10(float(wave.pow(2).mean() / residual.pow(2).mean()))
        assert snr == pytest.approx(10.0, abs=0.1)
        assert abs(_peak_hz(residual) - FREQS[applied["clip"]][1]) < 5   # the named clip is what was added
    assert len(kinds) >= 2
    again = Augmenter(config).augment_waveform(wave, 16000, torch.Generator().manual_seed(5))
    assert torch.equal(again, out)                                         # same seed, same mix


def test_real_noise_fraction_sets_how_often_recorded_noise_is_chosen(noise_dir):
    bank = NoiseBank.from_folder(noise_dir)
    wave = torch.from_numpy(_tone(440.0, 16000, 0.3))

    def share(fraction: float) -> float:
        config = AugmentConfig.off(p_noise=1.0, noise_types=("white", "pink"), real_noise_fraction=fraction)
        augmenter = Augmenter(config, noise_bank=bank)
        g = torch.Generator().manual_seed(0)
        kinds = []
        for _ in range(200):
            augmenter.augment_waveform(wave, 16000, g)
            kinds.append(augmenter.last_applied["noise"]["type"])
        return kinds.count("real") / len(kinds)

    assert share(0.0) == 0.0 and share(1.0) == 1.0
    assert 0.35 < share(0.5) < 0.65
    plain = Augmenter(AugmentConfig.off(p_noise=1.0))                  # no bank: the synthetic kinds only
    for seed in range(20):
        plain.augment_waveform(wave, 16000, torch.Generator().manual_seed(seed))
        assert plain.last_applied["noise"]["type"] != "real"


def _data_root() -> Path | None:
    env = os.environ.get("ECHO_EDU_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return root if root.is_dir() else None


def test_speech_commands_noise_folder_loads_and_mixes():
    root = _data_root()
    folder = None if root is None else root / "speech-commands-dev" / "noise"
    if folder is None or not folder.is_dir():
        pytest.skip("real noise clips not found: set ECHO_EDU_DATA to the folder holding speech-commands-dev/ "
                    "(default <repo>/../shared/data)")
    bank = NoiseBank.from_folder(folder)
    assert len(bank) == len([p for p in folder.iterdir() if p.suffix.lower() in (".wav", ".flac")]) > 100
    assert all(c.numel() > 0 and torch.isfinite(c).all() for c in bank.clips)
    assert sum(float(c.abs().max()) > 1e-3 for c in bank.clips) > 0.9 * len(bank)   # real sound, not silence
    config = AugmentConfig.off(p_noise=1.0, snr_db=(5.0, 5.0), noise_dir=str(folder), real_noise_fraction=1.0)
    wave = torch.from_numpy(_tone(440.0, 16000, 2.5))
    augmenter = Augmenter(config, noise_bank=bank)
    out = augmenter.augment_waveform(wave, 16000, torch.Generator().manual_seed(0))
    assert out.shape == wave.shape and augmenter.last_applied["noise"]["type"] == "real"
    snr = 10 * math.log10(float(wave.pow(2).mean() / (out - wave).pow(2).mean()))
    assert snr == pytest.approx(5.0, abs=0.2)
