"""Lesson 04's speech task: train a small myelinated layer whose gates have something to learn on real features.

A clip's log-mel is cut into consecutive **windows** of ``window`` frames, each window one example
(``(N, window, 80)``). The input of a frame is its log-mel above the clip's floor (``mel − min``: 0 is
digital silence, the loudest cell is 2). A frame is **speech** when its mean over the mel bands exceeds
``threshold``. The target of the layer is::

    y_t = 1[t is speech] · mean of the window's speech frames          (0 on silence; 0 if no speech)

so a trained layer has a reason for each gate: the **skip policy** should jump over whole windows
without speech (their target is 0, and ``compute_cost`` charges every sub-layer that runs), the **node
importance** should be high on speech frames and low on silent ones (the update must vanish there), and
attention must average the speech frames. :func:`gate_report` runs a layer over a clip's windows and
measures what its gates do: skip rates of speech and silent windows, mean importance on speech and
silent frames. Training takes a couple of seconds on a CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..attention import MyelinatedAttention
from ..audio import SAMPLE_RATE, load_audio, log_mel_spectrogram
from ..data.samples import SAMPLES_DIR
from ..errors import ConfigError, ShapeError
from ..utils import set_seed

__all__ = ["SAMPLES", "TRAIN_CLIPS", "clip_features", "speech_mask", "windows_of", "speech_gate_batch",
           "train_speech_gates", "gate_report"]

SAMPLES = SAMPLES_DIR
#: the bundled synthetic training clips (digits, commands, sentences; espeak and piper voices)
TRAIN_CLIPS = tuple(sorted(SAMPLES.glob("*_train_*.flac")))
PAD_S = 0.3  # digital silence added on each side of a clip, so it has windows without speech


def clip_features(audio, noise_snr_db: float | None = None, seed: int = 0) -> torch.Tensor:
    """A clip (path or waveform at 16 kHz) → ``(frames, 80)`` log-mel above its floor, silence-padded.

    ``noise_snr_db`` adds white noise at that signal-to-noise ratio (seeded) before the features.
    """
    wave = load_audio(audio).float()                                           # (samples,)
    power = wave.pow(2).mean().clamp_min(1e-12)
    pad = int(PAD_S * SAMPLE_RATE)
    wave = F.pad(wave, (pad, pad))
    if noise_snr_db is not None:  # over the padding too: the silence becomes a noise floor
        scale = (power / 10 ** (noise_snr_db / 10)).sqrt()
        wave = wave + scale * torch.randn(wave.shape, generator=torch.Generator().manual_seed(seed))
    mel = log_mel_spectrogram(wave)                                            # (80, frames)
    return (mel - mel.min()).T.contiguous()                                    # (frames, 80), in [0, 2]


def speech_mask(x: torch.Tensor, threshold: float = 0.6) -> torch.Tensor:
    """``(..., T, 80)`` features → ``(..., T)`` bool: frames whose mean over the bands exceeds ``threshold``."""
    return x.mean(dim=-1) > threshold


def windows_of(x: torch.Tensor, window: int) -> torch.Tensor:
    """``(frames, 80)`` → ``(N, window, 80)`` consecutive windows (the last one zero-padded: silence)."""
    if x.ndim != 2:
        raise ShapeError(f"windows_of expects (frames, mels) features, got shape {tuple(x.shape)}")
    n = -(-x.shape[0] // window)
    return F.pad(x, (0, 0, 0, n * window - x.shape[0])).view(n, window, x.shape[1])


def _targets(x: torch.Tensor, threshold: float) -> torch.Tensor:
    """``(B, T, D)`` windows → ``(B, T, D)`` targets: the mean of the speech frames on speech frames, else 0."""
    speech = speech_mask(x, threshold).unsqueeze(-1).float()                   # (B, T, 1)
    mean = (x * speech).sum(1, keepdim=True) / speech.sum(1, keepdim=True).clamp_min(1)  # (B, 1, D)
    return speech * mean


def speech_gate_batch(features: list[torch.Tensor], generator: torch.Generator, batch: int = 32,
                      window: int = 24, threshold: float = 0.6) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows of random clips, half of them from a clip's leading silence: inputs and targets,
    both ``(batch, window, 80)``. ``window`` must fit in the padding (``PAD_S`` = 30 frames)."""
    clip = torch.randint(len(features), (batch,), generator=generator)
    silent = torch.rand(batch, generator=generator) < 0.5
    crops = []
    for i, quiet in zip(clip.tolist(), silent.tolist()):  # a data loader's loop over examples, not a forward pass
        x = features[i]
        start = 0 if quiet else int(torch.randint(x.shape[0] - window + 1, (1,), generator=generator))
        crops.append(x[start:start + window])
    x = torch.stack(crops)                                                     # (B, window, 80)
    return x, _targets(x, threshold)


def train_speech_gates(clips=TRAIN_CLIPS, steps: int = 150, seed: int = 0, window: int = 24,
                       threshold: float = 0.6, compute_cost: float = 0.1, memory: bool = False,
                       policy_lr: float = 1e-2, run_bias: float = 0.5):
    """Train ``MyelinatedAttention(80, 4, layers=2)`` on :func:`speech_gate_batch` windows of ``clips``.

    Returns:
        ``(layer, untrained, history)``: the trained layer (in eval mode), a copy of the same layer as it was
        before training (same seed, same initial weights) and the training loss per step.
    """
    if not clips:
        raise ConfigError("train_speech_gates needs at least one clip (assets/samples/*_train_*.flac)")
    generator = set_seed(seed)
    layer = MyelinatedAttention(80, 4, layers=2, compute_cost=compute_cost, seed=seed, memory=memory,
                                run_bias=run_bias)
    untrained = MyelinatedAttention(80, 4, layers=2, compute_cost=compute_cost, seed=seed, memory=memory,
                                run_bias=run_bias)
    untrained.load_state_dict(layer.state_dict())
    features = [clip_features(c, snr, seed=k) for k, c in enumerate(clips) for snr in (None, 30.0, 15.0)]
    policy = list(layer.policy.parameters())
    rest = [p for name, p in layer.named_parameters() if not name.startswith("policy.")]
    opt = torch.optim.Adam([{"params": rest, "lr": 3e-3}, {"params": policy, "lr": policy_lr}])
    history = []
    for _ in range(steps):  # a training loop
        x, target = speech_gate_batch(features, generator, window=window, threshold=threshold)
        out, info = layer(x)
        loss = F.mse_loss(out, target) + info["aux_loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    return layer.eval(), untrained.eval(), history


@torch.no_grad()
def gate_report(layer: MyelinatedAttention, x: torch.Tensor, window: int = 24, threshold: float = 0.6) -> dict:
    """Run ``layer`` (eval) over the windows of one clip's features ``(frames, 80)`` and measure its gates.

    Returns a dict: ``features`` ``(frames, 80)``, ``speech`` ``(frames,)`` bool, ``importance`` and ``skip``
    ``(L, frames)`` (the windows laid end to end), the output's MSE against the target, and the scalars
    ``skip_speech`` / ``skip_silence`` (share of sub-layer decisions skipped on windows with / without speech)
    and ``importance_speech`` / ``importance_silence`` (mean importance on speech / silent frames).
    """
    layer.eval()
    frames = x.shape[0]
    w = windows_of(x, window)                                                  # (N, window, 80)
    out, info = layer(w)
    speech_w = speech_mask(w, threshold)                                       # (N, window)
    has_speech = speech_w.any(dim=1)                                           # (N,)
    L = info["importance"].shape[1]

    def lay_out(v):  # (N, L, window) → (L, frames)
        return v.transpose(0, 1).reshape(L, -1)[:, :frames].float()

    importance, skip = lay_out(info["importance"]), lay_out(info["skip"])
    speech = speech_mask(x, threshold)
    window_skip = info["skip"][:, :, 0].float()                                # (N, L)

    def share(mask_rows, values):
        return values[mask_rows].mean().item() if mask_rows.any() else float("nan")

    return {"features": x, "speech": speech, "importance": importance, "skip": skip,
            "mse": F.mse_loss(out, _targets(w, threshold)).item(),
            "skip_speech": share(has_speech, window_skip), "skip_silence": share(~has_speech, window_skip),
            "importance_speech": share(speech, importance.mean(0)),
            "importance_silence": share(~speech, importance.mean(0)), "threshold": threshold}
