"""The real / synthetic / both table (tools/an4_experiment.py): loading it and computing what it says."""

import json

import pytest

from echo_edu.errors import DataError
from echo_edu.experiments import mixtures
from echo_edu.experiments.mixtures import compare_mixtures, find_mixture_table, load_mixture_table, seed_scores


def cell(*wers, seeds=None):
    seeds = list(range(len(wers))) if seeds is None else seeds
    mean = sum(wers) / len(wers)
    sd = (sum((w - mean) ** 2 for w in wers) / (len(wers) - 1)) ** 0.5 if len(wers) > 1 else None
    return {"wer": mean, "wer_sd": sd, "cer": mean / 2, "seeds": seeds, "wer_each": list(wers)}


def table(**mixes):
    return {"steps": 400, "table": {mix: {"dev": c} for mix, c in mixes.items()}, "arms": []}


def test_separated_seeds_make_a_result_and_the_winner_is_the_lowest_mean():
    verdict = compare_mixtures(table(real=cell(30.0, 31.0), synthetic=cell(80.0, 82.0), both=cell(20.0, 21.0)))
    assert [row[0] for row in verdict.ranking] == ["both", "real", "synthetic"]
    assert (verdict.winner, verdict.runner_up) == ("both", "real")
    assert verdict.gap == pytest.approx(10.0) and verdict.spread == pytest.approx(0.5 ** 0.5)
    assert not verdict.overlap and verdict.is_result
    assert "'both' has the lowest mean WER (20.5 %)" in verdict.text() and "Not a result" not in verdict.text()
    assert verdict.paired.seeds == (0, 1) and verdict.paired.differences == (-10.0, -10.0)


def test_overlapping_seeds_are_not_a_result_even_when_the_means_differ():
    verdict = compare_mixtures(table(real=cell(30.0, 36.0), both=cell(29.0, 33.0)))
    assert verdict.winner == "both" and verdict.gap == pytest.approx(2.0)
    assert verdict.overlap and not verdict.is_result
    assert "Not a result: the two arms' seeds overlap" in verdict.text()


def test_a_gap_within_the_seed_spread_is_not_a_result():
    # ranges [10, 20] and [20.5, 21.5] do not overlap, but the gap (6) is below the winner's sd (7.1)
    verdict = compare_mixtures(table(a=cell(10.0, 20.0), b=cell(20.5, 21.5)))
    assert not verdict.overlap and verdict.gap < verdict.spread and not verdict.is_result
    assert "the gap is not larger than the seed sd" in verdict.text()


def test_one_seed_has_no_spread_and_no_paired_interval():
    verdict = compare_mixtures(table(a=cell(10.0), b=cell(50.0)))
    assert verdict.spread is None and verdict.paired is None and not verdict.is_result
    assert "single seed" in verdict.text()


def test_seed_scores_pair_seeds_with_their_wer_and_bad_columns_raise():
    t = table(a=cell(1.0, 2.0, seeds=[3, 5]), b=cell(4.0, 6.0))
    assert seed_scores(t) == {"a": {3: 1.0, 5: 2.0}, "b": {0: 4.0, 1: 6.0}}
    assert seed_scores(t["table"]) == seed_scores(t)
    with pytest.raises(DataError, match="column 'fsdd'.*columns: \\['dev'\\]"):
        seed_scores(t, "fsdd")
    with pytest.raises(DataError, match="needs two"):
        compare_mixtures(table(a=cell(1.0, 2.0)))


def test_load_checks_the_schema_and_names_the_field(tmp_path):
    good = tmp_path / "table.json"
    good.write_text(json.dumps(table(a=cell(1.0, 2.0), b=cell(3.0, 4.0))))
    assert load_mixture_table(good)["table"]["a"]["dev"]["wer_each"] == [1.0, 2.0]
    broken = table(a=cell(1.0, 2.0))
    del broken["table"]["a"]["dev"]["wer_each"]
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    with pytest.raises(DataError, match=r"table\['a'\]\['dev'\] lacks \['wer_each'\]"):
        load_mixture_table(tmp_path / "broken.json")
    mismatched = table(a=cell(1.0, 2.0, seeds=[0]))
    (tmp_path / "mismatched.json").write_text(json.dumps(mismatched))
    with pytest.raises(DataError, match="1 seeds but 2 per-seed WERs"):
        load_mixture_table(tmp_path / "mismatched.json")
    (tmp_path / "other.json").write_text(json.dumps({"runs": []}))
    with pytest.raises(DataError, match="not an experiment table"):
        load_mixture_table(tmp_path / "other.json")
    with pytest.raises(DataError, match="cannot read"):
        load_mixture_table(tmp_path / "absent.json")


def test_find_prefers_the_shipped_table_then_a_local_run(tmp_path, monkeypatch):
    shipped, local = tmp_path / "experiments.json", tmp_path / "runs" / "table.json"
    monkeypatch.setattr(mixtures, "SHIPPED_TABLE", shipped)
    monkeypatch.setattr(mixtures, "LOCAL_TABLE", local)
    assert find_mixture_table() is None
    local.parent.mkdir()
    local.write_text("{}")
    assert find_mixture_table() == local
    shipped.write_text("{}")
    assert find_mixture_table() == shipped
