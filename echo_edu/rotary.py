"""Rotary position embeddings (RoPE): standard 2-D pairs, quaternion 3-D blocks, and a learned 3-D projection.

RoPE encodes the position ``p`` of a query or key by *rotating* it: ``q ↦ M(p) q`` with ``M`` orthogonal
and ``M(p) = exp(p A)`` for one fixed generator ``A`` (a one-parameter group). Then

    ⟨M(m) q, M(n) k⟩ = ⟨q, M(n - m) k⟩

so attention scores depend only on the *relative* position ``n - m``. This holds only if q and k are
rotated by the **same** module; one :class:`RotaryEmbedding` per attention layer, applied to both.

Conventions (as in rotary-embedding-torch's defaults): channels are paired *interleaved*
``(x0, x1), (x2, x3), …``; the sequence axis is ``-2`` (``t`` is ``(B, H, T, dim)`` or any ``(..., T, dim)``).
Each rotation unit (a 2-D pair or a 3-D block) starting at channel ``c`` turns at frequency
``ω = sign(θ) · |θ'|^(-c / dim)`` radians per position, the RoPE schedule ``θ^(-2k/dim)`` for pairs.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .errors import ConfigError, ShapeError
from .quaternion import rodrigues_matrix_cs

__all__ = ["RotaryEmbedding"]


def _turn_blocks(blocks: torch.Tensor, turn: torch.Tensor) -> torch.Tensor:
    """Apply per-(position, block) 3×3 rotations ``turn`` ``(T, n, 3, 3)`` to ``blocks`` ``(..., T, n, 3)``."""
    return torch.einsum("...tbi,tbji->...tbj", blocks, turn)


def _signed_sin(sin: torch.Tensor) -> torch.Tensor:
    """``(T, P)`` sines → ``(T, P, 2)`` holding ``(-sin, +sin)`` for each 2-D pair."""
    return torch.stack((-sin, sin), dim=-1)


def _turn_pairs(pairs: torch.Tensor, cos: torch.Tensor, sin_pm: torch.Tensor) -> torch.Tensor:
    """Givens-rotate ``pairs`` ``(..., T, P, 2)`` by ``cos`` ``(T, P)`` and ``sin_pm`` ``(T, P, 2)`` (``_signed_sin``).

    ``(x0, x1) ↦ (x0·c - x1·s, x1·c + x0·s)`` written as ``pairs·c + swap(pairs)·(-s, s)``: the same
    products and sums in the same order, so the result is bit-for-bit the textbook formula.
    """
    return pairs * cos[..., None] + pairs.flip(-1) * sin_pm


class RotaryEmbedding(nn.Module):
    """Rotary position embedding for queries and keys shaped ``(..., T, dim)``.

    Three modes, all orthogonal (norm-preserving), the identity at position 0, and relative
    (``⟨M(m)q, M(n)k⟩ = ⟨q, M(n-m)k⟩``):

    * **standard** (``use_quaternion=False``): RoPE. Pair ``k`` = channels ``(2k, 2k+1)`` rotates by
      ``p·ω_k`` with ``ω_k = θ^(-2k/dim)``. Numerically equal to ``rotary_embedding_torch.RotaryEmbedding(dim)``.
    * **quaternion** (``use_quaternion=True``): channels are cut into 3-D blocks ``(3b, 3b+1, 3b+2)``;
      block ``b`` rotates about its own learned unit axis ``u_b`` by ``p·ω_b`` (the unit quaternion
      ``(cos pω_b/2, sin pω_b/2 · u_b)``, applied in Rodrigues form). Where channels cannot form a
      whole 3-D block, 2-D Givens pairs take over: ``dim % 3 == 2`` ends with one pair, ``dim % 3 == 1``
      gives up one block and ends with two pairs, so every channel still rotates. Note: a rotation about
      one fixed axis is a 2-D rotation of the plane ⊥ ``u_b`` (the axis channel is left alone), so this is
      RoPE in a learned basis, not something more expressive. A position-*independent* rotation, or
      several axes composed per position, would not be a relative encoding; neither is offered.
    * **projection** (``use_quaternion=True, use_projection=True``, ``dim >= 4``): a learned orthonormal
      ``P`` (``(3n, dim)``, ``P Pᵀ = I``) maps into ``n`` 3-D subspaces (``n = 1`` unless ``rot_count``
      says otherwise); each is rotated by a quaternion as above and mapped back:
      ``y = x + Pᵀ (R(p) - I) P x``. ``Pᵀ`` is the exact pseudo-inverse of ``P`` because ``P`` is the
      orthonormal (QR) factor of a raw learnable matrix, so it stays orthonormal after every optimiser
      step; the orthogonal complement of ``P``'s row space passes through untouched.

    Args:
        dim: channels per head (the last axis of ``t``), ≥ 2.
        theta: frequency base. Negative ``theta`` flips every frequency (rotation the other way); scores
            with ``-θ`` at positions (m, n) equal scores with ``+θ`` at (n, m). Must not be 0.
        use_quaternion: rotate 3-D blocks about learned axes instead of 2-D pairs.
        use_projection: with ``use_quaternion``, rotate inside a learned orthonormal 3-D projection.
        rot_scale, rot_count: partial rotary. Only the first ``round(rot_scale · rot_count)`` rotation
            units turn (``rot_count`` defaults to all units, or to 1 subspace in projection mode);
            later channels pass through unchanged. E.g. ``rot_scale=0.5`` rotates half of the pairs.
        learned_freq: make the frequencies a trainable parameter (then nothing is cached).
        theta_rescale_factor: NTK-style context stretch, ``θ' = |θ| · factor^(dim / (dim - 2))`` (dim > 2).
        cache_max_seq_len: positions ``< cache_max_seq_len`` read cos/sin from a cached table.

    Shape:
        ``rotate_queries_or_keys(t, offset=0)``: ``t`` ``(..., T, dim)`` → same shape and dtype. Positions
        are ``offset, …, offset + T - 1``; pass the KV-cache length as ``offset`` when decoding.

    Attributes:
        freqs: ``(n_rot,)`` signed frequencies ω: a Parameter with ``learned_freq``, else a buffer rebuilt
            from ``theta`` (not saved, so a loaded checkpoint can never disagree with the cached cos/sin).
        axes: ``(n_blocks, 3)`` raw learnable block axes (see :attr:`unit_axes`); only with 3-D blocks.
        proj_raw: ``(3n, dim)`` raw learnable matrix whose QR factor is :attr:`projection`; projection mode only.
        n_blocks, n_pairs, rot_dim: how many 3-D blocks and 2-D pairs rotate, and how many channels they span.
        cos_cached, sin_cached: ``(cache_max_seq_len, n_rot)`` non-persistent buffers; they follow
            ``.to(device)`` and ``.to(dtype)`` and are never saved. ``sin_pm_cached``
            ``(cache_max_seq_len, n_pairs, 2)`` holds the 2-D pairs' ``(-sin, +sin)``, likewise.

    Numerics: the rotation is computed in at least float32 and cast back to ``t``'s dtype, so bfloat16
    inputs keep their norms to bfloat16 precision; the module's dtype (``module.to(dtype)``, ``.double()``)
    sets the precision of the cached cos/sin: they are recomputed in it, not cast.

    Example::

        rope = RotaryEmbedding(dim=64)
        q, k = torch.randn(2, 8, 100, 64), torch.randn(2, 8, 100, 64)   # (B, H, T, head_dim)
        q, k = rope.rotate_queries_or_keys(q), rope.rotate_queries_or_keys(k)
    """

    def __init__(self, dim: int, theta: float = 10000.0, use_quaternion: bool = False,
                 use_projection: bool = False, rot_scale: float = 1.0, rot_count: int | None = None,
                 learned_freq: bool = False, theta_rescale_factor: float = 1.0, cache_max_seq_len: int = 4096):
        super().__init__()
        if not isinstance(dim, int) or dim < 2:
            raise ConfigError(f"RotaryEmbedding dim must be an int >= 2, got {dim!r}")
        if theta == 0 or not math.isfinite(theta):
            raise ConfigError(f"RotaryEmbedding theta must be a non-zero finite number, got {theta!r}")
        if use_projection and not use_quaternion:
            raise ConfigError("RotaryEmbedding use_projection=True needs use_quaternion=True")
        if use_projection and dim < 4:
            raise ConfigError(f"RotaryEmbedding projection mode needs dim >= 4 (a 3-D subspace and a "
                              f"complement), got dim={dim}")
        if theta_rescale_factor != 1.0 and dim <= 2:
            raise ConfigError("RotaryEmbedding theta_rescale_factor needs dim > 2")
        self.dim, self.theta = dim, float(theta)
        self.use_quaternion, self.use_projection = bool(use_quaternion), bool(use_projection)
        self.learned_freq, self.cache_max_seq_len = bool(learned_freq), int(cache_max_seq_len)

        # Rotation units in channel order: (start channel, size 2 or 3).
        if use_projection:
            units = [(3 * b, 3) for b in range(dim // 3)]
            default_count = 1
        elif use_quaternion:
            blocks = dim // 3 - (1 if dim % 3 == 1 and dim >= 4 else 0)
            units = [(3 * b, 3) for b in range(blocks)]
            units += [(3 * blocks + 2 * k, 2) for k in range((dim - 3 * blocks) // 2)]
            default_count = len(units)
        else:
            units = [(2 * k, 2) for k in range(dim // 2)]
            default_count = len(units)
        count = default_count if rot_count is None else rot_count
        n_rot = min(len(units), int(round(rot_scale * count)))
        if n_rot < 1:
            raise ConfigError(f"RotaryEmbedding rotates nothing: round(rot_scale={rot_scale} * "
                              f"rot_count={count}) < 1; use at least one rotation unit")
        units = units[:n_rot]
        self.n_blocks = sum(size == 3 for _, size in units)        # 3-D blocks (quaternion rotations)
        self.n_pairs = n_rot - self.n_blocks                       # 2-D pairs (Givens rotations)
        self.rot_dim = 3 * self.n_blocks + 2 * self.n_pairs        # rotated channels (or subspace size)

        self._base = abs(theta) * theta_rescale_factor ** (dim / (dim - 2)) if dim > 2 else abs(theta)
        self._starts = [c for c, _ in units]
        freqs = self._fixed_freqs(torch.float32)
        if learned_freq:
            self.freqs = nn.Parameter(freqs)
        else:
            self.register_buffer("freqs", freqs, persistent=False)   # rebuilt from theta, like the cache
        if self.n_blocks:
            self.axes = nn.Parameter(torch.randn(self.n_blocks, 3))  # raw; normalised in forward
        if use_projection:
            self.proj_raw = nn.Parameter(torch.randn(self.rot_dim, dim))  # orthonormalised in forward

        # cos/sin of position × frequency, never saved (rebuilt from freqs), follow .to(device).
        self.register_buffer("cos_cached", torch.empty(0), persistent=False)      # (cache_len, n_rot)
        self.register_buffer("sin_cached", torch.empty(0), persistent=False)
        # The 2-D pairs' sines laid out as (-sin, +sin) per pair, so a pair turns with one flip, two
        # multiplies and one add (see _turn_pairs) instead of recombining unbound halves every call.
        self.register_buffer("sin_pm_cached", torch.empty(0), persistent=False)   # (cache_len, n_pairs, 2)
        self._build_tables(torch.float32, self.cos_cached.device)   # the CPU, or the device being built on

    def _fixed_freqs(self, dtype: torch.dtype) -> torch.Tensor:
        """``(n_rot,)`` frequencies ``±1 / θ^(2k/dim)`` computed in ``dtype`` on the CPU."""
        starts = torch.tensor(self._starts, dtype=dtype, device="cpu")
        return math.copysign(1.0, self.theta) / self._base ** (starts / self.dim)

    def _build_tables(self, dtype: torch.dtype, device: torch.device) -> None:
        """Fill the cos/sin tables (and fixed ``freqs``) with values computed in ``dtype``'s precision.

        Computed on the CPU in at least float32 and then moved, so a table is the same on every device
        and a float64 module has float64-accurate tables, not float32 values cast up.
        """
        work = torch.promote_types(dtype, torch.float32)
        cache_len = 0 if self.learned_freq else self.cache_max_seq_len
        if self.learned_freq:   # a meta module (built under torch.device("meta")) has shapes, not values
            freqs = torch.zeros(self.freqs.shape, dtype=work, device="cpu") if self.freqs.is_meta else \
                self.freqs.detach().cpu().to(work)
        else:
            freqs = self._fixed_freqs(work)
        angles = torch.arange(cache_len, dtype=work, device="cpu")[:, None] * freqs  # (cache_len, n_rot)
        if not self.learned_freq:
            self.freqs = freqs.to(device, self.freqs.dtype)
        self.cos_cached = angles.cos().to(device, dtype)
        self.sin_cached = angles.sin().to(device, dtype)
        self.sin_pm_cached = _signed_sin(angles.sin()[:, self.n_blocks:]).to(device, dtype)

    def _apply(self, fn, recurse: bool = True):
        """``.to()``, ``.double()``, ``.cuda()``, ...: move everything, then rebuild the tables in the new
        dtype (casting float32 tables up would keep float32's 1e-5 relative error at position ~100)."""
        super()._apply(fn, recurse)
        self._build_tables(self.cos_cached.dtype, self.cos_cached.device)
        return self

    # ---- views a lesson or a test can look at ----
    @property
    def unit_axes(self) -> torch.Tensor | None:
        """``(n_blocks, 3)`` unit rotation axes of the 3-D blocks, or ``None`` without blocks."""
        if not self.n_blocks:
            return None
        return self.axes / torch.linalg.vector_norm(self.axes, dim=-1, keepdim=True).clamp_min(1e-12)

    @property
    def projection(self) -> torch.Tensor | None:
        """``(3n, dim)`` orthonormal projection ``P`` (rows orthonormal) in projection mode, else ``None``."""
        if not self.use_projection:
            return None
        raw = self.proj_raw
        q, r = torch.linalg.qr(raw.to(torch.promote_types(raw.dtype, torch.float32)).mT)  # (dim, 3n)
        # QR's factor is unique once diag(r) > 0; fixing the signs keeps P a smooth function of raw.
        q = q * torch.where(torch.diagonal(r) < 0, -1.0, 1.0).to(q.dtype)
        return q.mT.to(raw.dtype)

    def angles(self, positions: torch.Tensor) -> torch.Tensor:
        """Rotation angles ``positions[:, None] · ω``: ``(T,)`` positions → ``(T, n_rot)`` radians."""
        dtype = torch.promote_types(self.freqs.dtype, torch.float32)
        return positions.to(dtype)[:, None] * self.freqs.to(dtype)

    def _cos_sin(self, offset: int, length: int,
                 device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``cos``, ``sin`` ``(length, n_rot)`` and the pairs' ``sin_pm`` ``(length, n_pairs, 2)`` or ``None``.

        Inside the cached table this is three slices (no arithmetic): a decoding step at ``offset``
        just reads row ``offset``. Beyond it the angles are computed (and ``sin_pm`` left to ``_rotate``).
        """
        if offset + length <= self.cos_cached.shape[0]:
            end = offset + length
            return self.cos_cached[offset:end], self.sin_cached[offset:end], self.sin_pm_cached[offset:end]
        a = self.angles(torch.arange(offset, offset + length, device=device))
        return a.cos(), a.sin(), None

    # ---- the rotation ----
    def rotate(self, t: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
               sin_pm: torch.Tensor | None = None) -> torch.Tensor:
        """Rotate ``t`` ``(..., T, dim)`` given per-position ``cos``/``sin`` ``(T, n_rot)``; same shape and dtype.

        Runs with autocast switched off, so under mixed precision the matmuls and einsums here stay in
        (at least) float32 and the rotation stays orthogonal; the result is cast back to ``t``'s dtype.
        ``sin_pm`` ``(T, n_pairs, 2)`` is the pairs' signed sine table when the caller has it cached;
        otherwise it is built here.
        """
        with torch.autocast(device_type=t.device.type, enabled=False):
            return self._rotate(t, cos, sin, sin_pm)

    def _rotate(self, t: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                sin_pm: torch.Tensor | None = None) -> torch.Tensor:
        dtype = torch.promote_types(torch.promote_types(t.dtype, cos.dtype), torch.float32)
        x = t.to(dtype)
        cos, sin = cos.to(dtype), sin.to(dtype)
        nb, npair = self.n_blocks, self.n_pairs
        if self.use_projection:
            p = self.projection.to(dtype)                                     # (3n, dim)
            z = (x @ p.mT).unflatten(-1, (nb, 3))                              # (..., T, n, 3)
            turned = _turn_blocks(z, rodrigues_matrix_cs(self.unit_axes.to(dtype), cos, sin))
            out = x + (turned - z).flatten(-2) @ p                             # (..., T, dim)
            return out.to(t.dtype)
        parts = []
        if nb:
            blocks = x[..., :3 * nb].unflatten(-1, (nb, 3))                    # (..., T, nb, 3)
            turn = rodrigues_matrix_cs(self.unit_axes.to(dtype), cos[:, :nb], sin[:, :nb])   # (T, nb, 3, 3)
            parts.append(_turn_blocks(blocks, turn).flatten(-2))
        if npair:
            pairs = x[..., 3 * nb:self.rot_dim].unflatten(-1, (npair, 2))      # (..., T, P, 2)
            sin_pm = _signed_sin(sin[:, nb:]) if sin_pm is None else sin_pm.to(dtype)   # (T, P, 2)
            parts.append(_turn_pairs(pairs, cos[:, nb:], sin_pm).flatten(-2))
        if self.rot_dim < self.dim:
            parts.append(x[..., self.rot_dim:])                                # pass-through channels
        out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)        # no copy when all rotate
        return out.to(t.dtype)

    def rotate_queries_or_keys(self, t: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """Rotate queries or keys ``t`` ``(..., T, dim)`` for positions ``offset … offset+T-1``.

        Apply the same module to q and to k. ``offset`` (a Python int) is the number of positions
        already processed, e.g. the KV-cache length during incremental decoding. Returns ``t``'s shape and dtype.
        """
        if not isinstance(t, torch.Tensor) or t.ndim < 2 or t.shape[-1] != self.dim:
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ShapeError(f"RotaryEmbedding(dim={self.dim}) expects a tensor shaped (..., seq, {self.dim}), "
                             f"got {shape}")
        if not t.is_floating_point():
            raise ShapeError(f"RotaryEmbedding expects a floating-point tensor, got dtype {t.dtype}")
        if isinstance(offset, bool) or not isinstance(offset, (int, torch.SymInt)) or offset < 0:
            raise ConfigError(f"RotaryEmbedding offset must be a Python int >= 0 (positions already cached), "
                              f"got {offset!r}")
        cos, sin, sin_pm = self._cos_sin(offset, t.shape[-2], t.device)
        return self.rotate(t, cos, sin, sin_pm)

    def forward(self, t: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """Same as :meth:`rotate_queries_or_keys`."""
        return self.rotate_queries_or_keys(t, offset)

    def rotate_at(self, t: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Rotate ``t`` ``(..., T, dim)`` for arbitrary ``positions`` ``(T,)`` (int or float); for tests and figures."""
        a = self.angles(positions.to(t.device))
        return self.rotate(t, a.cos(), a.sin())

    def rotation_matrix(self, positions: torch.Tensor) -> torch.Tensor:
        """The materialised rotations ``M(p)``: ``(T,)`` positions → ``(T, dim, dim)`` with ``y = M(p) x``."""
        ref = self.freqs
        eye = torch.eye(self.dim, dtype=torch.promote_types(ref.dtype, torch.float32), device=ref.device)
        cols = self.rotate_at(eye[:, None, :].expand(self.dim, len(positions), self.dim), positions)
        return cols.permute(1, 2, 0)                                           # (T, dim, dim): column i = M e_i

    def extra_repr(self) -> str:
        mode = "projection" if self.use_projection else "quaternion" if self.use_quaternion else "standard"
        return (f"dim={self.dim}, theta={self.theta:g}, mode={mode}, blocks={self.n_blocks}, "
                f"pairs={self.n_pairs}, rot_dim={self.rot_dim}, learned_freq={self.learned_freq}")
