"""Lesson 12's speed-search view: error kinds per speed and for the search, the clips the speed changes."""

import matplotlib
import torch
from pytest import approx

matplotlib.use("Agg")

from echo_edu.evaluate import SpeedSweep, _report                              # noqa: E402
from echo_edu.viz.speed_search import (speed_changed_clips, speed_search_figure, speed_search_static,  # noqa: E402
                                       speed_search_widget)

REFS = ["a b c", "d e", "f g", "h"]
HYPS = {0.9: ["a b c", "d e", "f x", "h i"],        # 1 substitution, 1 insertion
        1.0: ["a b", "d e", "f g", "h i"],          # 1 deletion, 1 insertion
        1.1: ["a b c", "d e", "f g", "h"]}          # all right
SCORES = torch.tensor([[-1.0, -2.0, -3.0, -4.0],
                       [-2.0, -1.0, -1.0, -1.0],
                       [-3.0, -3.0, -2.0, -5.0]])   # the search keeps 0.9, 1, 1, 1


def _sweep():
    rows = [{"text": t} for t in REFS]
    kept = [0.9, 1.0, 1.0, 1.0]
    searched = [HYPS[v][i] for i, v in enumerate(kept)]
    return SpeedSweep((0.9, 1.0, 1.1), {v: _report(rows, range(4), h, 0.0) for v, h in HYPS.items()},
                      _report(rows, range(4), searched, 0.0), kept, SCORES)


def test_changed_clips_list_what_the_search_fixed_first_and_unchanged_clips_never():
    assert speed_changed_clips(_sweep()) == [0, 2, 3]        # clip 0 fixed (-1 error), then unchanged counts
    assert speed_changed_clips(_sweep(), most=1) == [0]


def test_figure_stacks_error_kinds_per_speed_and_search_and_outlines_the_choice():
    fig = speed_search_figure(_sweep(), "search")
    sub, dele, ins, table = fig.data
    assert list(sub.x) == ["0.9", "1", "1.1", "search"]
    assert list(dele.y) == approx([0.0, 12.5, 0.0, 0.0]) and list(ins.y) == approx([12.5, 12.5, 0.0, 12.5])
    assert list(sub.marker.line.width) == [0, 0, 0, 3]
    assert list(table.cells.values[1]) == ["a b c", "f g", "h i"] and list(table.cells.values[2]) == ["0.9", "1", "1"]
    assert "the search kept 0.9 for 1, 1 for 3, 1.1 for 0" in fig.layout.title.text
    assert len(speed_search_static(_sweep(), 1.1).axes[0].patches) == 12


def test_widget_dropdown_redraws_at_the_chosen_speed():
    widget = speed_search_widget(_sweep())
    assert list(widget.controls["choice"].options) == ["0.9", "1", "1.1", "search"]
    widget.controls["choice"].value = "1.1"
    assert list(widget.figure.data[3].cells.values[1]) == ["a b c", "f g", "h"]
    assert "speed 1.1 alone: WER 0.0 %" in widget.figure.layout.title.text
