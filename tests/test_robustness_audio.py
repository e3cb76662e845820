"""Audio robustness, end to end: every file a person might hand to ``transcribe`` gives either a
transcription (the whole path runs: load, resample, mix down, window, log-mel, encode, decode) or a
typed :class:`echo_edu.errors.AudioError` whose message names the file — never a bare error from
inside torch, numpy or libsndfile.

Covered: missing file, a directory, empty, truncated and corrupt files, non-audio bytes; 8/16/24/32-bit
and float WAV, FLAC, OGG (Vorbis and Opus); stereo and 6-channel; 8 k / 22.05 k / 44.1 k / 48 k;
silence, clipping, NaN/Inf; tiny clips; a bad file in a batch; and a 10-minute recording through chunked
transcription with bounded memory. The model is a tiny randomly initialised Echo: the point is the
path, not the words.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

sf = pytest.importorskip("soundfile")
audio = pytest.importorskip("echo_edu.audio")
transcribe_mod = pytest.importorskip("echo_edu.transcribe")
from echo_edu.dimensions import Dimensions  # noqa: E402
from echo_edu.errors import AudioError, AudioFileNotFoundError, EchoError  # noqa: E402
from echo_edu.model import Echo  # noqa: E402

SR = 16000


def tone(seconds: float, rate: int, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float64)


def peak_hz(wave: torch.Tensor, rate: int = SR) -> float:
    spectrum = torch.fft.rfft(wave.double() * torch.hann_window(wave.shape[-1], dtype=torch.float64)).abs()
    return float(spectrum.argmax()) * rate / wave.shape[-1]


@pytest.fixture(scope="module")
def model():
    """A tiny random Echo (2 s window, 16-token decoder): fast, and its text is noise by design."""
    torch.manual_seed(0)
    return Echo(Dimensions.tiny(text_ctx=16)).eval()


def run_transcribe(model, source, **options):
    """``transcribe_detailed`` with the random model's "max_tokens reached" warning silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*max_tokens.*", category=UserWarning)
        return transcribe_mod.transcribe_detailed(model, source, **options)


def assert_transcribed(model, path: Path, seconds: float | None = None):
    results = run_transcribe(model, path)
    assert len(results) == 1 and isinstance(results[0].text, str)
    assert results[0].file == str(path)
    if seconds is not None:
        assert results[0].seconds == pytest.approx(seconds, abs=0.01)
    return results[0]


def assert_refused(model, path: Path, *, match: str | None = None, kind=AudioError):
    """Both the loader and the whole transcription path refuse with a typed error naming the file."""
    for call in (lambda: audio.load_audio(path), lambda: run_transcribe(model, path)):
        with pytest.raises(EchoError) as info:
            call()
        assert isinstance(info.value, kind), f"{type(info.value).__name__}: {info.value}"
        assert path.name in str(info.value), f"the message does not name the file: {info.value}"
        if match:
            assert match.lower() in str(info.value).lower(), str(info.value)


# ----------------------------------------------------------------------------- files that are not audio

def test_missing_file(model, tmp_path):
    assert_refused(model, tmp_path / "no_such_clip.wav", kind=AudioFileNotFoundError)
    with pytest.raises(FileNotFoundError):      # also the built-in a Python programmer expects
        audio.load_audio(tmp_path / "no_such_clip.wav")


def test_directory(model, tmp_path):
    folder = tmp_path / "clips.wav"              # a folder with an audio-like name
    folder.mkdir()
    assert_refused(model, folder, kind=AudioFileNotFoundError)


def test_empty_file(model, tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert_refused(model, path, match="empty")


def test_header_only_wav_has_no_samples(model, tmp_path):
    path = tmp_path / "header_only.wav"
    sf.write(path, np.zeros(0, np.float32), SR, subtype="PCM_16")
    assert_refused(model, path)


@pytest.mark.parametrize("keep", [0.5, 0.1])
def test_truncated_wav_is_read_as_far_as_it_goes_or_refused(model, tmp_path, keep):
    """A download cut short: libsndfile reads the frames that are there; anything else must be typed."""
    path = tmp_path / f"truncated_{int(keep * 100)}.wav"
    sf.write(path, tone(1.0, SR), SR, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    try:
        wave = audio.load_audio(path)
    except AudioError as exc:
        assert path.name in str(exc)
        assert_refused(model, path)
        return
    assert 0 < wave.shape[0] <= SR and bool(torch.isfinite(wave).all())
    assert_transcribed(model, path)


@pytest.mark.parametrize("suffix", [".flac", ".ogg"])
def test_truncated_compressed_file(model, tmp_path, suffix):
    path = tmp_path / f"cut{suffix}"
    sf.write(path, tone(2.0, SR), SR, format="OGG" if suffix == ".ogg" else "FLAC",
             subtype="VORBIS" if suffix == ".ogg" else "PCM_16")
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 3])
    try:
        wave = audio.load_audio(path)
    except AudioError as exc:
        assert path.name in str(exc)
        return
    assert bool(torch.isfinite(wave).all())
    assert_transcribed(model, path)


@pytest.mark.parametrize("name, payload", [
    ("corrupt_header.wav", b"RIFF\xff\xff\xff\xffWAVEfmt " + bytes(range(256)) * 4),
    ("random_bytes.wav", np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()),
    ("notes.wav", b"These are my lecture notes, not a recording.\n" * 50),
    ("picture.flac", b"\x89PNG\r\n\x1a\n" + bytes(2000)),
    ("archive.ogg", b"PK\x03\x04" + bytes(3000)),
    ("script.mp3.wav", b"#!/bin/sh\necho hello\n"),
])
def test_non_audio_bytes(model, tmp_path, name, payload):
    path = tmp_path / name
    path.write_bytes(payload)
    assert_refused(model, path)


def test_a_bad_file_in_a_batch_is_named(model, tmp_path):
    good, bad = tmp_path / "good.wav", tmp_path / "bad.wav"
    sf.write(good, tone(0.5, SR), SR)
    bad.write_bytes(b"not audio" * 100)
    with pytest.raises(AudioError, match="bad.wav"):
        run_transcribe(model, [good, bad])


# ----------------------------------------------------------------------------- encodings and containers

ENCODINGS = [  # (file name, format, subtype, how close the decoded wave must be to the original)
    ("pcm_u8.wav", "WAV", "PCM_U8", 1.5 / 128),
    ("pcm_16.wav", "WAV", "PCM_16", 1e-4),
    ("pcm_24.wav", "WAV", "PCM_24", 1e-6),
    ("pcm_32.wav", "WAV", "PCM_32", 1e-7),
    ("float.wav", "WAV", "FLOAT", 1e-7),
    ("double.wav", "WAV", "DOUBLE", 1e-7),
    ("flac_16.flac", "FLAC", "PCM_16", 1e-4),
    ("flac_24.flac", "FLAC", "PCM_24", 1e-6),
    ("vorbis.ogg", "OGG", "VORBIS", None),   # lossy: compared by pitch and loudness
    ("opus.ogg", "OGG", "OPUS", None),
]


@pytest.mark.parametrize("name, fmt, subtype, tol", ENCODINGS, ids=[e[0] for e in ENCODINGS])
def test_every_encoding_loads_to_the_same_signal_and_transcribes(model, tmp_path, name, fmt, subtype, tol):
    rate = 48000 if subtype == "OPUS" else SR   # Opus only runs at 8/12/16/24/48 kHz; 48 k is its native rate
    original = tone(1.0, rate)
    path = tmp_path / name
    try:
        sf.write(path, original, rate, format=fmt, subtype=subtype)
    except (sf.LibsndfileError, ValueError, TypeError) as exc:   # this libsndfile cannot write it: nothing to test
        pytest.skip(f"libsndfile cannot write {fmt}/{subtype} here: {exc}")
    wave = audio.load_audio(path)
    assert wave.dtype == torch.float32 and wave.ndim == 1
    assert float(wave.abs().max()) <= 1.0
    if tol is not None:
        assert wave.shape[0] == SR
        torch.testing.assert_close(wave.double(), torch.from_numpy(original), atol=tol, rtol=0)
    else:
        assert abs(wave.shape[0] - SR) < SR // 10        # codecs may pad or trim a few ms
        assert peak_hz(wave) == pytest.approx(440, abs=3)
        rms = float(wave.pow(2).mean().sqrt())
        assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.15)
    assert_transcribed(model, path)


@pytest.mark.parametrize("channels", [2, 6])
def test_multichannel_files_are_mixed_down(model, tmp_path, channels):
    voices = [tone(1.0, SR, freq=300 + 100 * c, amp=0.1 + 0.05 * c) for c in range(channels)]
    data = np.stack(voices, axis=1)                    # (frames, channels)
    path = tmp_path / f"{channels}ch.wav"
    sf.write(path, data, SR, subtype="FLOAT")
    wave = audio.load_audio(path)
    assert wave.shape == (SR,)
    torch.testing.assert_close(wave.double(), torch.from_numpy(data.mean(axis=1)), atol=1e-6, rtol=0)
    assert_transcribed(model, path, seconds=1.0)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_sample_rates_are_resampled_to_16k(model, tmp_path, rate):
    path = tmp_path / f"tone_{rate}.wav"
    sf.write(path, tone(1.0, rate, freq=440.0), rate, subtype="PCM_16")
    wave = audio.load_audio(path)
    assert abs(wave.shape[0] - SR) <= 1                 # one second stays one second
    assert peak_hz(wave) == pytest.approx(440, abs=2)    # pitch kept
    rms = float(wave[400:-400].pow(2).mean().sqrt())
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.05)   # loudness kept (no int16 scaling slip)
    assert_transcribed(model, path, seconds=1.0)


def test_stereo_44k_flac_in_one_go(model, tmp_path):
    data = np.stack([tone(1.5, 44100, 440), tone(1.5, 44100, 440)], axis=1)
    path = tmp_path / "stereo_44k.flac"
    sf.write(path, data, 44100, subtype="PCM_24")
    wave = audio.load_audio(path)
    assert abs(wave.shape[0] - 24000) <= 1 and peak_hz(wave) == pytest.approx(440, abs=2)
    assert_transcribed(model, path, seconds=1.5)


# ----------------------------------------------------------------------------- content

def test_silence_gives_finite_features_and_a_transcription(model, tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(SR, np.int16), SR, subtype="PCM_16")
    mel = audio.process_audio(str(path), model.dims.audio_ctx, model.dims.mels)
    assert bool(torch.isfinite(mel).all())
    assert_transcribed(model, path, seconds=1.0)


def test_clipped_integer_audio_stays_in_range(model, tmp_path):
    square = np.where(np.sin(2 * np.pi * 100 * np.arange(SR) / SR) >= 0, 32767, -32768).astype(np.int16)
    path = tmp_path / "clipped.wav"
    sf.write(path, square, SR, subtype="PCM_16")
    wave = audio.load_audio(path)
    assert float(wave.max()) == pytest.approx(1.0, abs=1e-4) and float(wave.min()) == -1.0
    assert bool(torch.isfinite(audio.process_audio(str(path), model.dims.audio_ctx, model.dims.mels)).all())
    assert_transcribed(model, path)


def test_float_audio_slightly_over_full_scale_is_clamped(model, tmp_path):
    path = tmp_path / "hot.wav"
    sf.write(path, tone(1.0, SR, amp=1.2), SR, subtype="FLOAT")
    wave = audio.load_audio(path)
    assert float(wave.abs().max()) <= 1.0
    assert_transcribed(model, path)


def test_unscaled_pcm_stored_as_float_is_refused(model, tmp_path):
    path = tmp_path / "unscaled.wav"
    sf.write(path, tone(1.0, SR, amp=16000.0), SR, subtype="FLOAT")
    assert_refused(model, path, match="32768")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_samples_are_refused(model, tmp_path, bad):
    data = tone(1.0, SR).astype(np.float32)
    data[1234] = bad
    path = tmp_path / f"broken_{str(bad).replace('-', 'minus_')}.wav"
    sf.write(path, data, SR, subtype="FLOAT")
    assert_refused(model, path, match="NaN or Inf")


@pytest.mark.parametrize("n", [1, 10, 200, 401])
def test_very_short_clips_are_padded_not_crashed(model, tmp_path, n):
    path = tmp_path / f"short_{n}.wav"
    sf.write(path, tone(1.0, SR)[:n], SR, subtype="PCM_16")
    assert_transcribed(model, path, seconds=n / SR)


# ----------------------------------------------------------------------------- a 10-minute recording

LONG_SCRIPT = textwrap.dedent("""
    import json, sys, warnings
    import numpy as np, soundfile as sf, torch

    def rss_mb(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    from echo_edu.dimensions import Dimensions
    from echo_edu.model import Echo
    from echo_edu.transcribe import transcribe_detailed, split_windows
    from echo_edu.audio import HOP_LENGTH

    path, minutes = sys.argv[1], float(sys.argv[2])
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = Echo(Dimensions.tiny(text_ctx=8)).eval()
    # warm up every code path once (allocator pools, mel filters, resampler) before measuring
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        transcribe_detailed(model, np.zeros(16000 * 5, np.float32), max_tokens=2)
    base = rss_mb("VmRSS")
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        result = transcribe_detailed(model, path, max_tokens=2)[0]
    window = model.dims.audio_ctx * 2 * HOP_LENGTH
    print(json.dumps({"base_mb": base, "peak_mb": rss_mb("VmHWM"), "seconds": result.seconds,
                      "windows": len(result.windows),
                      "expected_windows": len(split_windows(int(result.seconds * 16000), window, min(16000, window // 4))),
                      "file": result.file}))
""")


@pytest.mark.slow
def test_ten_minute_file_is_transcribed_in_windows_with_bounded_memory(tmp_path):
    """10 minutes at 16 kHz (19 MB of int16): every window is decoded, and the process grows by a bounded
    amount — the features of all windows are never held at once (they would be 10 min x 100 frames x 80
    mels x 4 bytes = 19 MB per copy for this tiny model, and far more for a real one)."""
    minutes = 10
    path = tmp_path / "lecture.wav"
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", SR, 1, subtype="PCM_16") as f:
        for _ in range(minutes * 6):                       # written 10 s at a time
            t = np.arange(10 * SR) / SR
            chunk = 0.3 * np.sin(2 * np.pi * rng.uniform(150, 900) * t) + 0.01 * rng.standard_normal(t.shape)
            f.write(chunk.astype(np.float32))
    run = subprocess.run([sys.executable, "-c", LONG_SCRIPT, str(path), str(minutes)], capture_output=True,
                         text=True, timeout=900, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    facts = json.loads(run.stdout.strip().splitlines()[-1])
    assert facts["file"] == str(path)
    assert facts["seconds"] == pytest.approx(minutes * 60, abs=0.01)
    assert facts["windows"] == facts["expected_windows"] > 100     # chunked, and nothing dropped
    # the whole waveform as float32 is 38 MB; allow it twice over plus working room, not a copy per window
    grown = facts["peak_mb"] - facts["base_mb"]
    assert grown < 4 * (minutes * 60 * SR * 4) / 2**20 + 150, facts
