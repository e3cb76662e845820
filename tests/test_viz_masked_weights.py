"""Lesson 02's widget: the mask decides which weights are 0, the scale how peaked the rows are."""

from __future__ import annotations

import math

import pytest
import torch

from echo_edu import ConfigError
from echo_edu.viz.masked_weights import (MASK_KINDS, SCALES, masked_weights, masked_weights_figure,
                                         masked_weights_static, masked_weights_widget)


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_blocked_keys_get_zero_and_rows_sum_to_one(kind):
    r = masked_weights(kind, window=3, real=5)
    assert (r["weights"][~r["mask"]] == 0).all()
    torch.testing.assert_close(r["weights"].sum(-1), torch.ones(8, dtype=torch.float64))
    assert (r["entropy"] <= r["max_entropy"] + 1e-9).all()


def test_each_control_changes_the_mask_it_names():
    assert masked_weights("band", window=2)["mask"].sum() < masked_weights("band", window=5)["mask"].sum()
    assert masked_weights("padding", real=3)["mask"].sum() == 8 * 3
    assert masked_weights("none")["mask"].all()
    assert not masked_weights("causal")["mask"].triu(1).any()


def test_without_the_scale_a_wide_head_collapses_onto_one_key():
    scaled, unscaled = (masked_weights("none", scale=s, d=512) for s in SCALES)
    assert scaled["weights"].amax(-1).mean() < 0.6 < 0.95 < unscaled["weights"].amax(-1).mean()
    assert unscaled["entropy"].mean() < 0.2 < scaled["entropy"].mean() <= math.log(8)


def test_bad_choices_are_config_errors_naming_them():
    with pytest.raises(ConfigError, match="mask kind"):
        masked_weights("diagonal")
    with pytest.raises(ConfigError, match="scale"):
        masked_weights(scale="2")
    with pytest.raises(ConfigError, match="window"):
        masked_weights("band", window=0)


def test_widget_redraws_on_its_controls_and_carries_a_static_png():
    widget = masked_weights_widget(kind="causal band")
    before = widget.figure.data[1].z.copy()
    widget.controls["window"].value = 5
    assert (widget.figure.data[1].z != before).any()
    assert "image/png" in widget._repr_mimebundle_()
    assert masked_weights_figure().data and masked_weights_static().axes
