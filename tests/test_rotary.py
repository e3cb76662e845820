"""RotaryEmbedding: every mode is a norm-preserving, relative position encoding."""

import pytest
import torch

from echo_edu.rotary import RotaryEmbedding

MODES = {
    "standard": {},
    "quaternion": {"use_quaternion": True},
    "projection": {"use_quaternion": True, "use_projection": True},
}


@pytest.mark.parametrize("mode", MODES)
def test_smoke_shape_norm_identity_at_zero(mode):
    rope = RotaryEmbedding(16, **MODES[mode])
    x = torch.randn(2, 3, 9, 16)
    y = rope.rotate_queries_or_keys(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1))
    torch.testing.assert_close(y[..., 0, :], x[..., 0, :])
    assert not torch.allclose(y[..., 1:, :], x[..., 1:, :])
