"""Lesson 12's joint-decoding view: error kinds per CTC weight, the chosen weight, the utterances it changes."""

from types import SimpleNamespace

import matplotlib
from pytest import approx

matplotlib.use("Agg")

from echo_edu.metrics import error_rates                                      # noqa: E402
from echo_edu.viz.joint_decoding import (ctc_weight_figure, ctc_weight_static, ctc_weight_widget,  # noqa: E402
                                         weight_changed_utterances)

REFS = ["a b c", "d e", "f g h i", "j"]
HYPS = {0.0: ["a b", "d e", "f h i", "j k"],        # 2 deletions, 1 insertion
        0.3: ["a b c", "d e", "f g h i", "j"],      # all right
        0.7: ["a b x", "d e", "f g h i", "j"]}      # 1 substitution


def _reports():
    return {w: SimpleNamespace(overall=error_rates(REFS, h), references=REFS, hypotheses=h) for w, h in HYPS.items()}


def test_changed_utterances_come_most_varied_first_and_unchanged_ones_never():
    assert weight_changed_utterances(_reports()) == [0, 2, 3]     # 3 spellings, then 2 (2 errors > 1 error)
    assert weight_changed_utterances(_reports(), most=1) == [0]


def test_figure_stacks_error_kinds_per_weight_and_lists_what_the_weight_writes():
    fig = ctc_weight_figure(_reports(), weight=0.3)
    sub, dele, ins, table = fig.data
    assert list(sub.x) == ["0", "0.3", "0.7"]
    assert list(dele.y) == approx([20.0, 0.0, 0.0]) and list(ins.y) == approx([10.0, 0.0, 0.0])
    assert list(sub.y) == approx([0.0, 0.0, 10.0])
    assert list(sub.marker.line.width) == [0, 3, 0]                 # the chosen weight is outlined
    assert list(table.cells.values[1]) == ["a b c", "f g h i", "j"]
    assert "WER 0.0 %" in fig.layout.title.text
    assert len(ctc_weight_static(_reports(), 0.0).axes[0].patches) == 9


def test_widget_slider_redraws_at_the_chosen_weight():
    widget = ctc_weight_widget(_reports(), weight=0.3)
    assert [w for _, w in widget.controls["weight"].options] == [0.0, 0.3, 0.7]
    widget.controls["weight"].value = 0.0
    assert list(widget.figure.data[3].cells.values[1]) == ["a b", "f h i", "j k"]
    assert "WER 30.0 %" in widget.figure.layout.title.text

