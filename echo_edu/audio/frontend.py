"""Audio in, Whisper-style log-mel features out.

Echo hears speech the way Whisper does. Every clip becomes

1. a mono float32 waveform in [-1, 1] at 16 kHz (:func:`load_audio`: soundfile reads the file,
   integer PCM is scaled by its full range, channels are averaged, torchaudio resamples);
2. a power spectrogram: Hann-windowed STFT, ``n_fft = 400`` (25 ms), hop 160 (10 ms), centred;
3. 80 (or 128, ...) Slaney-normalised mel filters on the Slaney mel scale, the last frame dropped;
4. ``log10`` clamped at 1e-10, floored at (per-clip maximum - 8), then ``(x + 4) / 4``, which puts
   speech roughly in [-1.5, 2.5].

:func:`process_audio` also pads (with silence) or trims each clip to ``2 * audio_ctx * hop``
samples so a batch has exactly ``2 * audio_ctx`` frames — the encoder's two stride-1/stride-2
convolutions turn them into ``audio_ctx`` positions. (The original Echo read WAV files as raw int16,
32768x too loud, and used HTK filters; see ``docs`` for that history.)
"""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
import torchaudio

from ..errors import AudioError, AudioFileNotFoundError, ShapeError

__all__ = ["SAMPLE_RATE", "HOP_LENGTH", "N_FFT", "FRAMES_PER_SECOND", "load_audio", "process_audio", "log_mel_spectrogram", "pad_or_trim",
           "mel_filters", "save_audio"]

SAMPLE_RATE = 16000   # samples per second everywhere inside echo_edu
N_FFT = 400           # 25 ms analysis window
HOP_LENGTH = 160      # 10 ms between frames
# Derived once, here: the log-mel has 100 frames per second. How many frames one encoder position covers
# is the model's ``Dimensions.audio_stride`` (2 or 4), so positions per second live there, not here.
FRAMES_PER_SECOND = SAMPLE_RATE // HOP_LENGTH

_INT_SCALE = {np.dtype("int16"): 32768.0, np.dtype("int32"): 2147483648.0, np.dtype("int8"): 128.0}
_MAX_FLOAT_PEAK = 1.5  # a float signal louder than this is almost surely unscaled integer PCM
_MAX_CHANNELS = 16


# --------------------------------------------------------------------------- loading

def _describe(source: Any) -> str:
    return f"file {str(source)!r}" if isinstance(source, (str, os.PathLike)) else "array"


def _read_file(path: Path, name: str) -> tuple[np.ndarray, int]:
    """Read a file with soundfile -> ((frames,) mono float32, rate); typed errors for bad files."""
    if not path.exists():
        raise AudioFileNotFoundError(f"audio file {name!r} does not exist")
    if not path.is_file():
        raise AudioFileNotFoundError(f"audio path {name!r} is not a file (it is a directory or special file)")
    if path.stat().st_size == 0:
        raise AudioError(f"audio file {name!r} is empty (0 bytes)")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile.LibsndfileError, RuntimeError, ...
        raise AudioError(f"cannot decode audio file {name!r}: not a readable audio file "
                         f"(soundfile says: {exc})") from exc
    return data.mean(axis=1), int(rate)  # (frames, channels) -> (frames,)


def _read_bytes(blob: bytes) -> tuple[np.ndarray, int]:
    if len(blob) == 0:
        raise AudioError("audio bytes are empty")
    try:
        data, rate = sf.read(io.BytesIO(blob), dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioError(f"cannot decode audio bytes ({len(blob)} bytes): {exc}") from exc
    return data.mean(axis=1), int(rate)


def _to_float(array: np.ndarray, what: str) -> np.ndarray:
    """Integer PCM -> float32 in [-1, 1]; float arrays are only checked."""
    if array.dtype == np.uint8:  # 8-bit WAV convention: unsigned, centred on 128
        return (array.astype(np.float32) - 128.0) / 128.0
    if array.dtype in _INT_SCALE:
        return array.astype(np.float32) / np.float32(_INT_SCALE[array.dtype])
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number) \
            or np.issubdtype(array.dtype, np.complexfloating):
        raise AudioError(f"{what} has dtype {array.dtype}; expected float or integer PCM samples")
    if np.issubdtype(array.dtype, np.integer):
        raise AudioError(f"{what} has integer dtype {array.dtype}; use int16, int32, int8 or uint8 PCM")
    return array.astype(np.float32, copy=False)


def _to_mono(wave: torch.Tensor, what: str) -> torch.Tensor:
    """(samples,), (channels, samples) or (samples, channels) -> (samples,) by averaging channels."""
    if wave.ndim == 1:
        return wave
    if wave.ndim != 2:
        raise AudioError(f"{what} has shape {tuple(wave.shape)}; expected (samples,), "
                         "(channels, samples) or (samples, channels)")
    rows, cols = wave.shape
    if rows <= _MAX_CHANNELS and rows < cols:      # (channels, samples), the torch convention
        return wave.mean(dim=0)
    if cols <= _MAX_CHANNELS and cols < rows:      # (samples, channels), the soundfile convention
        return wave.mean(dim=1)
    if rows == 1 or cols == 1:
        return wave.reshape(-1)
    raise AudioError(f"{what} has shape {tuple(wave.shape)}: cannot tell channels from samples "
                     f"(at most {_MAX_CHANNELS} channels)")


def load_audio(path_or_array: Any, sr: int = SAMPLE_RATE, *, orig_sr: int | None = None) -> torch.Tensor:
    """Load any audio into a mono float32 waveform in [-1, 1] at ``sr`` Hz.

    Args:
        path_or_array: a path (anything libsndfile reads: WAV, FLAC, OGG, ...); a numpy array or
            torch tensor shaped ``(samples,)``, ``(channels, samples)`` or ``(samples, channels)``
            (float in [-1, 1] or int8/int16/int32/uint8 PCM); a dict ``{"array", "sampling_rate"}``
            (a datasets row) or ``{"bytes", "path"}`` (a datasets ``Audio(decode=False)`` row).
        sr: the rate to return (16 kHz by default).
        orig_sr: the rate of a bare array or tensor (default: already ``sr``).

    Returns:
        ``(samples,)`` float32 tensor (on the input tensor's device, else CPU).

    Raises:
        AudioFileNotFoundError: a path that does not exist or is not a file.
        AudioError: an empty, corrupt or non-audio file; zero samples; NaN/Inf samples; a wrong
            number of dimensions; unscaled float PCM; a non-positive rate.
    """
    device = path_or_array.device if isinstance(path_or_array, torch.Tensor) else torch.device("cpu")
    source_rate = orig_sr
    what = _describe(path_or_array)
    if isinstance(path_or_array, (str, os.PathLike)):
        data, source_rate = _read_file(Path(path_or_array), str(path_or_array))
    elif isinstance(path_or_array, dict):
        if path_or_array.get("array") is not None:
            data = path_or_array["array"]
            if "sampling_rate" not in path_or_array:
                raise AudioError("audio dict has 'array' but no 'sampling_rate'")
            source_rate = int(path_or_array["sampling_rate"])
            what = "audio dict"
        elif path_or_array.get("bytes"):
            data, source_rate = _read_bytes(path_or_array["bytes"])
        elif path_or_array.get("path"):
            what = _describe(path_or_array["path"])
            data, source_rate = _read_file(Path(path_or_array["path"]), str(path_or_array["path"]))
        else:
            raise AudioError(f"audio dict needs 'array' + 'sampling_rate', 'bytes' or 'path'; "
                             f"got keys {sorted(path_or_array)}")
    elif isinstance(path_or_array, torch.Tensor):
        data = path_or_array.detach()
    elif isinstance(path_or_array, (np.ndarray, list, tuple)):
        data = path_or_array
    else:
        raise AudioError(f"cannot load audio from a {type(path_or_array).__name__}; pass a path, "
                         "an array/tensor or a {'array', 'sampling_rate'} dict")

    if isinstance(data, torch.Tensor):
        wave = data.float() if data.is_floating_point() \
            else torch.from_numpy(_to_float(data.cpu().numpy(), what)).to(device)
    else:
        array = np.ascontiguousarray(_to_float(np.asarray(data), what))
        wave = torch.from_numpy(array if array.flags.writeable else array.copy())  # datasets arrays are read-only
    wave = _to_mono(wave, what).to(device)

    source_rate = sr if source_rate is None else int(source_rate)
    if source_rate <= 0 or sr <= 0:
        raise AudioError(f"{what}: sample rates must be positive (got {source_rate} -> {sr})")
    if wave.numel() == 0:
        raise AudioError(f"{what} contains no samples (zero length)")
    if not bool(torch.isfinite(wave).all()):
        raise AudioError(f"{what} contains NaN or Inf samples")
    peak = float(wave.abs().max())
    if peak > _MAX_FLOAT_PEAK:
        raise AudioError(f"{what} has float samples up to {peak:.4g}; expected [-1, 1] "
                         "(integer PCM stored as float? divide by 32768)")
    if source_rate != sr:
        wave = _resampler(source_rate, sr, str(wave.device))(wave)
    return wave.clamp(-1.0, 1.0).contiguous()   # a new tensor: the caller's is never changed


@functools.lru_cache(maxsize=16)
def _resampler(source_rate: int, target_rate: int, device: str):
    """A torchaudio ``Resample`` (windowed-sinc, its kernel computed once and cached)."""
    return torchaudio.transforms.Resample(source_rate, target_rate).to(device)


def save_audio(path, wave, sr: int = SAMPLE_RATE) -> Path:
    """Write a mono waveform (``(samples,)`` float in [-1, 1]) to WAV/FLAC by the file's suffix."""
    array = wave.detach().cpu().numpy() if isinstance(wave, torch.Tensor) else np.asarray(wave)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    subtype = "PCM_16" if path.suffix.lower() in {".wav", ".flac"} else None
    sf.write(str(path), np.clip(array, -1, 1).astype(np.float32), sr, subtype=subtype)
    return path


# --------------------------------------------------------------------------- features

@functools.lru_cache(maxsize=16)
def _mel_transform(mels: int, n_fft: int, hop_length: int, sr: int, device: str):
    transform = torchaudio.transforms.MelSpectrogram(
        sample_rate=sr, n_fft=n_fft, win_length=n_fft, hop_length=hop_length, f_min=0.0,
        f_max=sr / 2, n_mels=mels, window_fn=torch.hann_window, power=2.0, center=True,
        pad_mode="reflect", norm="slaney", mel_scale="slaney")
    return transform.to(device)


def mel_filters(mels: int = 80, n_fft: int = N_FFT, sr: int = SAMPLE_RATE) -> torch.Tensor:
    """The Slaney mel filterbank Whisper uses, ``(mels, n_fft // 2 + 1)`` (rows are filters)."""
    return _mel_transform(mels, n_fft, HOP_LENGTH, sr, "cpu").mel_scale.fb.T.clone()


def log_mel_spectrogram(audio: torch.Tensor, mels: int = 80, hop_length: int = HOP_LENGTH,
                        n_fft: int = N_FFT, sr: int = SAMPLE_RATE) -> torch.Tensor:
    """Whisper-style log-mel of waveforms, unpadded.

    Args:
        audio: ``(..., samples)`` float waveform(s) at ``sr`` Hz (any device).
        mels: number of mel bands.

    Returns:
        ``(..., mels, samples // hop_length)`` float32; the per-clip maximum is taken over each
        clip's own mels and frames.
    """
    if not isinstance(audio, torch.Tensor):
        raise ShapeError(f"log_mel_spectrogram expects a torch.Tensor, got {type(audio).__name__}; "
                         "use load_audio first")
    if audio.ndim == 0 or audio.shape[-1] <= n_fft // 2:
        raise ShapeError(f"audio of shape {tuple(audio.shape)} is too short for the STFT: need more "
                         f"than {n_fft // 2} samples along the last dimension")
    if not audio.is_floating_point():
        raise ShapeError(f"audio has dtype {audio.dtype}; convert integer PCM with load_audio")
    wave = audio.float()
    lead = wave.shape[:-1]
    wave = wave.reshape(-1, wave.shape[-1])                          # (N, samples)
    transform = _mel_transform(mels, n_fft, hop_length, sr, str(wave.device))
    spec = transform(wave)[..., :-1]                                 # (N, mels, frames)
    log_spec = spec.clamp(min=1e-10).log10()
    peak = log_spec.amax(dim=(-2, -1), keepdim=True)                 # (N, 1, 1) per clip
    log_spec = torch.maximum(log_spec, peak - 8.0)
    log_spec = (log_spec + 4.0) / 4.0
    return log_spec.reshape(*lead, mels, log_spec.shape[-1])


def pad_or_trim(audio: torch.Tensor, length: int) -> torch.Tensor:
    """Zero-pad (silence at the end) or trim the last dimension of ``audio`` to ``length`` samples."""
    n = audio.shape[-1]
    if n > length:
        return audio[..., :length]
    if n < length:
        return torch.nn.functional.pad(audio, (0, length - n))
    return audio


def process_audio(audio: Any, audio_ctx: int, mels: int, hop_length: int = HOP_LENGTH,
                  n_fft: int = N_FFT, sr: int = SAMPLE_RATE, *,
                  device: torch.device | str | None = None, stride: int = 2) -> torch.Tensor:
    """Turn one clip or a batch of clips into Echo's encoder input.

    Args:
        audio: one clip (a path, a ``(samples,)`` array/tensor, an ``{"array", "sampling_rate"}``
            dict) or a batch: a list of such clips, or a ``(B, samples)`` tensor/array of mono
            clips at ``sr`` Hz.
        audio_ctx: encoder positions; the output has ``stride * audio_ctx`` frames
            (``stride * audio_ctx * hop_length`` samples after padding/trimming).
        mels: number of mel bands.
        device: where to compute (default: the input tensor's device, else CPU).
        stride: frames per encoder position (``Dimensions.audio_stride``: 2 or 4).

    Returns:
        ``(B, mels, stride * audio_ctx)`` float32 (``B = 1`` for a single clip).
    """
    if audio_ctx <= 0 or mels <= 0 or stride <= 0:
        raise ShapeError(f"audio_ctx, mels and stride must be positive (got audio_ctx={audio_ctx}, mels={mels}, "
                         f"stride={stride})")
    length = stride * audio_ctx * hop_length
    if isinstance(audio, (list, tuple)) and len(audio) and not np.isscalar(audio[0]):
        clips = [load_audio(a, sr) for a in audio]
    elif isinstance(audio, (torch.Tensor, np.ndarray)) and audio.ndim == 2:
        tensor = torch.as_tensor(audio)
        clips = [load_audio(row, sr) for row in tensor]
    elif isinstance(audio, (list, tuple)) and len(audio) == 0:
        raise AudioError("process_audio got an empty batch (no clips)")
    else:
        clips = [load_audio(audio, sr)]
    target = torch.device(device) if device is not None else clips[0].device
    batch = torch.stack([pad_or_trim(c.to(target), length) for c in clips])   # (B, samples)
    return log_mel_spectrogram(batch, mels, hop_length, n_fft, sr)            # (B, mels, stride*ctx)
