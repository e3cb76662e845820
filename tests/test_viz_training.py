"""Lesson 09 views build headlessly from a training history."""

import json

import plotly.graph_objects as go

from echo_edu.train import TrainConfig, TrainHistory
from echo_edu.viz.training import (LiveTrainingPlot, ablation_markdown, lr_schedule_figure, mechanism_figure,
                                   mechanism_series, mechanism_static, mechanism_widget, training_figure,
                                   training_static)

HISTORY = TrainHistory(
    train=[{"step": s, "loss": 3.0 / s, "aux_loss": 0.01, "lr": 1e-3, "grad_norm": 1.0, "seconds": s,
            "decoder.1.self.window": 8.0 + s, "encoder.1.self.memory_gate": 0.5} for s in range(1, 6)],
    eval=[{"step": 5, "wer": 0.5, "cer": 0.25, "n": 4, "examples": []}], step=5)


def test_training_figure_has_loss_and_error_traces():
    fig = training_figure(HISTORY)
    names = [t.name for t in fig.data]
    assert names == ["loss", "aux loss", "WER %", "CER %"]
    assert list(fig.data[2].y) == [50.0] and list(fig.data[0].x) == [1, 2, 3, 4, 5]
    assert training_static(HISTORY.to_dict()).axes[0].get_yscale() == "log"


def test_mechanism_views_follow_recorded_summaries():
    series = mechanism_series(HISTORY)
    assert series["decoder.1.self.window"] == [(s, 8.0 + s) for s in range(1, 6)]
    assert [t.name for t in mechanism_figure(HISTORY, "window").data] == ["decoder.1.self.window"]
    assert len(mechanism_figure(HISTORY).data) == 2
    assert mechanism_figure(TrainHistory()).layout.annotations           # says why it is empty
    mechanism_static(HISTORY)
    widget = mechanism_widget(HISTORY)
    widget.controls["pattern"].value = "memory_gate"
    assert [t.name for t in widget.figure.data] == ["encoder.1.self.memory_gate"]


def test_live_plot_collects_records_and_redraws():
    live = LiveTrainingPlot(every=2)
    for r in HISTORY.train:
        live("train", r)
    live("eval", HISTORY.eval[0])
    assert len(live.history["train"]) == 5 and live.redraws == 3


def test_lr_schedule_and_ablation_table(tmp_path):
    fig = lr_schedule_figure(TrainConfig(steps=50, warmup_steps=5))
    assert isinstance(fig, go.Figure) and max(fig.data[0].y) == 1e-3
    path = tmp_path / "ablation.json"
    path.write_text(json.dumps({"budget": "tiny", "summary": [
        {"variant": "standard", "seeds": 2, "parameters": 1000, "wer_mean": 10.0, "wer_sd": 1.0, "cer_mean": 5.0,
         "cer_sd": 0.5, "train_seconds": 12.0}]}))
    table = ablation_markdown(path)
    assert "| standard | 2 | 1,000 | 10.0 ± 1.0 | 5.0 ± 0.5 | – | 12 |" in table and "tiny" in table
