"""SpecAugment (Park et al., 2019): hide random bands of the log-mel so no single cue is relied on.

Two kinds of mask, applied to features ``(B, mels, frames)``:

* **frequency masks** — ``freq_masks`` horizontal stripes, each ``f ~ U{freq_width}`` mel bins tall,
  starting anywhere that fits: the model must recognise a word with part of the spectrum missing (a
  formant it learnt from one voice, a band a telephone removed);
* **time masks** — ``time_masks`` vertical stripes, each ``t ~ U{time_width}`` frames wide but at most
  ``time_max_fraction`` of the clip's *real* length (``lengths``), placed inside the real frames: it
  must fill in a short dropout from context.

Everything is drawn in one go for the whole batch, so every example gets its own masks (``shared=True``
gives the batch one set, for illustration). Masked cells take ``mask_value`` — by default each
example's own mean, which after :func:`echo_edu.audio.normalize_features` is 0.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError, ShapeError
from ._checks import check_features

__all__ = ["spec_augment", "band_masks"]


def _draw(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Uniform [0, 1) numbers shaped ``shape`` from ``generator`` (on the generator's device)."""
    return torch.rand(shape, generator=generator, device=generator.device)


def band_masks(size: int, count: int, width: tuple[int, int], batch: int, generator: torch.Generator,
               limit: torch.Tensor | None = None, max_width: torch.Tensor | None = None) -> torch.Tensor:
    """``count`` random bands per row over an axis of ``size`` cells. Returns a ``(batch, size)`` bool mask.

    Args:
        width: ``(low, high)`` inclusive range of band widths.
        limit: ``(batch,)`` how many leading cells are real (bands start and end inside them); default all.
        max_width: ``(batch,)`` an extra per-row cap on the width (time masks: a fraction of the length).
    """
    device = generator.device
    limit = torch.full((batch,), float(size), device=device) if limit is None else limit.to(device).float().clamp(0, size)
    cap = torch.full((batch,), float(width[1]), device=device)
    if max_width is not None:
        cap = torch.minimum(cap, max_width.to(device).float())
    cap = torch.minimum(cap, limit)[:, None]                                     # (B, 1)
    low = torch.clamp(torch.full_like(cap, width[0]), max=cap)
    widths = (low + (_draw((batch, count), generator) * (cap - low + 1)).floor()).clamp(max=cap)  # (B, n)
    starts = (_draw((batch, count), generator) * (limit[:, None] - widths + 1)).floor()           # (B, n)
    cells = torch.arange(size, device=device)                                    # (size,)
    inside = (cells >= starts[..., None]) & (cells < (starts + widths)[..., None])  # (B, n, size)
    return inside.any(dim=1)                                                     # (B, size)


def spec_augment(mel: torch.Tensor, generator: torch.Generator, *, freq_masks: int = 2,
                 freq_width: tuple[int, int] = (0, 15), time_masks: int = 2, time_width: tuple[int, int] = (0, 40),
                 time_max_fraction: float = 0.2, lengths: torch.Tensor | None = None, p: float = 1.0,
                 mask_value: float | None = None, shared: bool = False,
                 return_masks: bool = False):
    """Mask random frequency and time bands of ``mel``, independently per example.

    Args:
        mel: ``(B, mels, frames)`` or ``(mels, frames)`` log-mel features (any float dtype, any device).
        generator: the ``torch.Generator`` all positions and widths are drawn from.
        freq_masks, freq_width: number of frequency masks and their ``(low, high)`` width in mel bins.
        time_masks, time_width: number of time masks and their ``(low, high)`` width in frames.
        time_max_fraction: a time mask covers at most this fraction of the example's real frames.
        lengths: ``(B,)`` real (unpadded) frames per example; time masks stay inside them.
        p: probability that an example is masked at all (drawn per example).
        mask_value: the value written into masked cells; ``None`` uses each example's mean.
        shared: draw one set of masks for the whole batch instead of one per example.
        return_masks: also return the ``(B, mels)`` and ``(B, frames)`` boolean masks.

    Returns:
        The masked features, same shape, dtype and device as ``mel`` (and the masks when asked).
    """
    check_features(mel)
    for name, count, (low, high) in (("freq", freq_masks, freq_width), ("time", time_masks, time_width)):
        if count < 0 or low < 0 or low > high:
            raise ConfigError(f"spec_augment {name}_masks must be >= 0 and {name}_width a (low, high) pair "
                              f"with 0 <= low <= high, got {count} and {(low, high)}")
    if not 0.0 <= p <= 1.0 or not 0.0 <= time_max_fraction <= 1.0:
        raise ConfigError(f"spec_augment p and time_max_fraction must lie in [0, 1], got {p}, {time_max_fraction}")
    squeeze = mel.ndim == 2
    x = mel[None] if squeeze else mel                                        # (B, mels, frames)
    batch, n_mels, n_frames = x.shape
    if lengths is None:
        lengths = torch.full((batch,), n_frames, device=generator.device)
    elif lengths.shape != (batch,):
        raise ShapeError(f"lengths must be shaped ({batch},) to match mel {tuple(x.shape)}, got {tuple(lengths.shape)}")
    rows = 1 if shared else batch
    lengths = lengths.to(generator.device)[:rows]
    f_mask = band_masks(n_mels, freq_masks, freq_width, rows, generator)                      # (rows, mels)
    t_mask = band_masks(n_frames, time_masks, time_width, rows, generator, limit=lengths,
                        max_width=(lengths * time_max_fraction).floor())                      # (rows, frames)
    chosen = _draw((rows,), generator) < p                                                    # (rows,)
    f_mask = (f_mask & chosen[:, None]).expand(batch, -1).to(x.device)
    t_mask = (t_mask & chosen[:, None]).expand(batch, -1).to(x.device)
    cells = f_mask[:, :, None] | t_mask[:, None, :]                                           # (B, mels, frames)
    if mask_value is None:
        fill = x.float().mean(dim=(-2, -1), keepdim=True).to(x.dtype)                         # (B, 1, 1)
    else:
        fill = torch.full((), mask_value, dtype=x.dtype, device=x.device)
    out = torch.where(cells, fill, x)
    out = out[0] if squeeze else out
    if return_masks:
        return out, f_mask, t_mask
    return out
