"""Per-utterance feature normalisation: make the log-mel independent of loudness and of the channel.

**The choice: per-utterance mean and variance over time, per mel bin ("CMVN", mode ``"cmvn"``).**
For every clip and every mel bin ``m`` we subtract that bin's mean over the clip's real frames and
divide by its standard deviation there (floored, so a nearly constant bin is not blown up)::

    y[m, t] = (x[m, t] - mean_t x[m, :]) / max(std_t x[m, :], std_floor)

Why this one:

* **Loudness.** Turning a clip down by ``g`` multiplies its power by ``g²`` — in a log-mel that *adds*
  the same constant ``2·log10(g)`` to every cell (Whisper's ``max − 8`` floor moves with it). Any mean
  subtraction removes it exactly: a clip and a 10×-quieter copy give the same features.
* **Channel.** A microphone, a telephone line or a TTS engine's own spectral tilt is (close to) a fixed
  filter ``H(f)``: it adds ``log|H(f)|²`` to each bin, a different constant per bin. Only a *per-bin*
  mean removes it — one global mean (mode ``"utterance"``) would keep piper's and espeak-ng's different
  tilts, which is exactly what a model trained on one engine must not latch on to.
* **Variance.** Dividing by each bin's spread equalises clean and noisy (compressed) dynamic ranges.

What it does *not* do: remove pitch. Pitch is the spacing of harmonics, which the mel filters partly
smear and partly keep; robustness to pitch comes from pitch/VTLP augmentation, not normalisation.
The cost: on very short clips the per-bin mean also removes the average spectrum of the word itself,
which is why streaming recognisers use a sliding window; our clips are 1–5 s, long enough.

Whisper-style features are padded with silence to ``2 * audio_ctx`` frames; statistics are taken over
the real frames only (``lengths``), so the padding length changes nothing. What the padded frames become
is the ``padding`` option: ``"zero"`` (the default of this function) sets them to 0, the mean; the model
normalises with ``padding="scale"``, which scales them with the clip's statistics like every other frame,
so digital silence stays the quietest thing in the clip and the encoder can tell where the words end.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError, ShapeError
from .frontend import HOP_LENGTH

__all__ = ["NORMALIZATION_MODES", "normalize_features", "frame_lengths", "encoder_positions", "signal_frames",
           "check_features"]

#: ``"cmvn"`` per-bin mean and std (the default), ``"cmn"`` per-bin mean only, ``"utterance"`` one mean
#: and std over all bins and frames, ``"none"`` the identity.
NORMALIZATION_MODES = ("cmvn", "cmn", "utterance", "none")


def check_features(mel, name: str = "mel") -> torch.Tensor:
    """Return ``mel`` if it is a floating ``(mels, frames)`` or ``(B, mels, frames)`` tensor."""
    if not isinstance(mel, torch.Tensor) or not mel.is_floating_point():
        raise ShapeError(f"{name} must be a floating-point torch.Tensor shaped (B, mels, frames)")
    if mel.ndim not in (2, 3) or mel.shape[-1] == 0 or mel.shape[-2] == 0:
        raise ShapeError(f"{name} must be shaped (mels, frames) or (B, mels, frames) with no empty axis, "
                         f"got {tuple(mel.shape)}")
    return mel


def frame_lengths(num_samples, hop_length: int = HOP_LENGTH, max_frames: int | None = None) -> torch.Tensor:
    """How many log-mel frames are real for clips of ``num_samples`` samples: ``samples // hop``.

    Matches ``echo_edu.audio.log_mel_spectrogram`` (centred STFT, last frame dropped). ``max_frames``
    caps it at the padded length (``2 * audio_ctx``). Returns ``(B,)`` long, at least 1.
    """
    n = torch.as_tensor(num_samples).reshape(-1).long()
    frames = torch.div(n, hop_length, rounding_mode="floor").clamp_min(1)
    return frames if max_frames is None else frames.clamp_max(max_frames)


def encoder_positions(frames: torch.Tensor, stride: int = 2) -> torch.Tensor:
    """``(B,)`` encoder positions computed from real frames ``frames`` ``(B,)``: ``ceil(frames / stride)``.

    Each stride-2 conv of the stem (kernel 3, padding 1) centres output ``i`` on input ``2i``, so
    ``ceil(n / 2)`` outputs of ``n`` real inputs are real; two of them (``stride`` 4) give ``ceil(n / 4)``.
    """
    return torch.div(frames + stride - 1, stride, rounding_mode="floor")


def signal_frames(mel: torch.Tensor) -> torch.Tensor:
    """How many frames of each padded log-mel carry signal, read from the features alone.

    ``process_audio`` pads a clip with digital silence, and Whisper's ``max - 8`` floor makes every
    padded cell exactly the clip's minimum value. So the real frames end at the last frame with any bin
    above that minimum (pauses inside the clip count as real). This lets the model normalise its own
    input without being handed lengths, identically in training, evaluation and transcription.

    Args:
        mel: ``(B, mels, frames)`` log-mel.
    Returns:
        ``(B,)`` long, at least 1.
    """
    floor = mel.amin(dim=(-2, -1), keepdim=True)                         # (B, 1, 1)
    real = (mel > floor).any(dim=-2)                                      # (B, frames)
    position = torch.arange(1, mel.shape[-1] + 1, device=mel.device)      # (frames,)
    return (real * position).amax(dim=-1).clamp_min(1)


def normalize_features(mel: torch.Tensor, lengths: torch.Tensor | None = None, *, mode: str = "cmvn",
                       std_floor: float = 0.05, padding: str = "zero") -> torch.Tensor:
    """Normalise each utterance's log-mel by its own statistics over its real frames.

    Args:
        mel: ``(B, mels, frames)`` or ``(mels, frames)`` log-mel features, any float dtype and device.
        lengths: ``(B,)`` number of real frames per example (the rest is padding); default all frames.
        mode: one of :data:`NORMALIZATION_MODES` (see the module docstring for why ``"cmvn"``).
        std_floor: smallest standard deviation divided by (in feature units; Whisper's scale has
            40 dB per unit, so 0.05 = 2 dB), so silent or constant bins are not amplified.
        padding: what padded frames become: ``"zero"`` (the mean, so they carry nothing) or
            ``"scale"`` (normalised with the clip's statistics like every other frame, so digital
            silence stays the quietest thing in the clip). A model needs ``"scale"``: with ``"zero"``
            its padding looks like an average speech frame and it cannot tell where the words end.

    Returns:
        Same shape, dtype and device: real frames normalised, padded frames as ``padding`` says.
    """
    check_features(mel)
    if mode not in NORMALIZATION_MODES:
        raise ConfigError(f"unknown normalisation mode {mode!r}; choose one of {NORMALIZATION_MODES}")
    if padding not in ("zero", "scale"):
        raise ConfigError(f"unknown padding {padding!r}; choose 'zero' or 'scale'")
    if mode == "none":
        return mel
    squeeze = mel.ndim == 2
    x = (mel[None] if squeeze else mel).float()                          # (B, mels, frames), stats in fp32
    batch, _, n_frames = x.shape
    if lengths is None:
        lengths = torch.full((batch,), n_frames, device=x.device)
    if lengths.shape != (batch,):
        raise ShapeError(f"lengths must be shaped ({batch},) to match mel {tuple(x.shape)}, got {tuple(lengths.shape)}")
    lengths = lengths.to(x.device).clamp(1, n_frames)
    real = (torch.arange(n_frames, device=x.device) < lengths[:, None])[:, None, :]   # (B, 1, frames)
    dims = (-1,) if mode in ("cmvn", "cmn") else (-2, -1)
    count = real.sum(dim=dims, keepdim=True) * (1 if dims == (-1,) else x.shape[1])  # real cells per group
    mean = (x * real).sum(dim=dims, keepdim=True) / count                 # (B, mels|1, 1)
    centred = x - mean
    y = centred * real                                                   # padded cells 0
    if mode != "cmn":
        std = (y.pow(2).sum(dim=dims, keepdim=True) / count).sqrt()      # (B, mels|1, 1)
        y = y / std.clamp_min(std_floor)
    if padding == "scale":                                               # every cell with the same statistics
        y = centred if mode == "cmn" else centred / std.clamp_min(std_floor)
    y = y.to(mel.dtype)
    return y[0] if squeeze else y
