"""Lesson 08's widget: the parameter table is the model's, and each control moves the rows it names."""

from __future__ import annotations

from echo_edu import Echo
from echo_edu.attention import ATTENTION_TYPES
from echo_edu.viz.parameters import parameter_table, parameters_dims, parameters_figure, parameters_widget


def total(rows) -> int:
    return sum(r["parameters"] for r in rows)


def test_the_table_sums_to_the_models_count_for_every_layer_b_type():
    for kind in ATTENTION_TYPES:
        dims = parameters_dims(kind, audio_layerB=1, text_layerB=2)
        assert total(parameter_table(dims)) == Echo(dims).num_parameters(), kind


def test_the_attention_type_changes_only_the_layer_b_rows():
    standard, myelinated = (parameter_table(parameters_dims(kind)) for kind in ("standard", "myelinated"))
    changed = {a["part"] for a, b in zip(standard, myelinated) if a["parameters"] != b["parameters"]}
    assert changed and all("(B, " in part for part in changed)
    assert {r["part"] for r in parameter_table(parameters_dims(ctc=False))} == \
        {r["part"] for r in parameter_table(parameters_dims())} - {"CTC head"}
    rows = parameter_table(parameters_dims(audio_layerB=3))
    assert sum(r["part"].startswith("encoder block") and r["piece"] == "MLP" for r in rows) == 4  # 1 A + 3 B


def test_widget_redraws_on_its_controls_and_carries_a_static_png():
    widget = parameters_widget()
    before = sum(sum(trace.x) for trace in widget.figure.data)
    widget.controls["width"].value = 128
    assert sum(sum(trace.x) for trace in widget.figure.data) > before
    assert "image/png" in widget._repr_mimebundle_()
    assert parameters_figure("focus").layout.title.text.startswith("Echo(")
