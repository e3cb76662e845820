"""WER/CER: normalised on both sides, pooled over utterances, broken down per group."""

import pytest

from echo_edu.errors import ShapeError
from echo_edu.metrics import breakdown, cer, error_rates, format_table, wer


def test_both_sides_are_normalised_before_scoring():
    assert wer(["Call 911!"], ["call nine one one"]) == 0.0
    assert cer(["It's DONE."], ["it's done"]) == 0.0


def test_rates_pool_counts_over_utterances():
    r = error_rates(["hello world", "a b c"], ["hello word", "a b c d"])
    assert r.wer == pytest.approx(2 / 5)           # 1 substitution + 1 insertion over 5 reference words
    assert (r.substitutions, r.deletions, r.insertions, r.words, r.n) == (1, 0, 1, 5, 2)
    assert r.cer == pytest.approx(3 / 16)          # characters, spaces included
    # pooled, not averaged: a long perfect utterance outweighs a short wrong one
    assert wer(["one two three four", "five"], ["one two three four", "six"]) == pytest.approx(1 / 5)


def test_insertions_can_push_wer_above_one_and_empty_cases_are_defined():
    assert wer(["one"], ["one two three"]) == pytest.approx(2.0)
    assert wer([""], [""]) == 0.0 and wer([""], ["one"]) == float("inf")
    assert error_rates([], []).n == 0


def test_breakdown_per_group_and_table():
    refs = ["one two", "three", "four five"]
    hyps = ["one two", "tree", "four five"]
    rows = breakdown(refs, hyps, ["espeak", "piper", "espeak"])
    assert list(rows) == ["espeak", "piper"]
    assert rows["espeak"].wer == 0.0 and rows["piper"].wer == 1.0 and rows["espeak"].n == 2
    table = format_table(rows, "engine")
    assert "| engine |" in table and "| piper | 1 | 1 | 100.00 |" in table


def test_mismatched_lengths_raise_a_shape_error():
    with pytest.raises(ShapeError, match="2 references but 1 hypotheses"):
        wer(["a", "b"], ["a"])
    with pytest.raises(ShapeError, match="group labels"):
        breakdown(["a"], ["a"], ["x", "y"])


def test_evaluate_model_reports_per_engine_and_per_voice():
    from echo_edu.evaluate import evaluate_model, evaluation_subset
    from training_support import tiny_model, tone_rows

    rows = tone_rows(4, 0, voices=("v0", "v1")) + tone_rows(2, 1, voices=("p0",), engine="other")
    report = evaluate_model(tiny_model(), rows, batch_size=3)
    assert report.overall.n == 6 and set(report.per_engine) == {"tone", "other"}
    assert set(report.per_voice) == {"v0", "v1", "p0"} and report.per_voice["p0"].n == 2
    assert "| engine |" in report.to_markdown() and "| voice |" in report.to_markdown()
    assert evaluation_subset(10, 3) == [0, 4, 9] and evaluation_subset(3, 10) == [0, 1, 2]


def test_teacher_forced_texts_read_the_reference_while_decoding_does_not():
    from echo_edu.evaluate import teacher_forced_texts, transcribe_rows
    from training_support import tiny_model, tone_rows

    model = tiny_model()
    rows = tone_rows(3, 0)
    forced = teacher_forced_texts(model, rows)
    # an untrained model's teacher-forced guesses have the reference's length; free decoding does not
    assert [len(t) <= len(r["text"]) + 1 for t, r in zip(forced, rows)] == [True] * 3   # + the <eot> slot
    swapped = [dict(r, text="four four four four") for r in rows]
    assert teacher_forced_texts(model, swapped) != forced           # it depends on the reference
    assert transcribe_rows(model, swapped) == transcribe_rows(model, rows)   # real decoding does not


# ---------------------------------------------------------------------------- sclite-style summary
from echo_edu.metrics import format_sclite, sclite_point, sclite_report  # noqa: E402


def test_sclite_point_counts_like_sclite():
    refs = ["one two three", "yes", "go left"]
    hyps = ["one too three four", "yes", "left"]   # 1 sub + 1 ins; exact; 1 del
    p = sclite_point(refs, hyps)
    assert (p.snt, p.units) == (3, 6)
    assert p.corr == pytest.approx(100 * 4 / 6) and p.sub == pytest.approx(100 / 6)
    assert p.dele == pytest.approx(100 / 6) and p.ins == pytest.approx(100 / 6)
    assert p.err == pytest.approx(50.0) and p.s_err == pytest.approx(200 / 3)
    chars = sclite_point(["ab"], ["ac"], unit="char")
    assert (chars.units, chars.sub, chars.err) == (2, 50.0, 50.0)


def test_sclite_report_has_the_pooled_line_first_then_each_speaker():
    report = sclite_report(["a b", "c", "d"], ["a b", "x", "d"], speakers=["s2", "s1", "s2"])
    assert list(report) == ["Sum/Avg", "s1", "s2"]
    assert report["s1"].err == 100.0 and report["s2"].err == 0.0
    assert report["Sum/Avg"].err == pytest.approx(25.0)
    table = format_sclite(report)
    assert table.splitlines()[0] == "|SPKR|Snt|Wrd|Corr|Sub|Del|Ins|Err|S.Err|"
    assert "|Sum/Avg|3|4|75.0|25.0|0.0|0.0|25.0|33.3|" in table
    assert "|Chr|" in format_sclite(sclite_report(["a"], ["a"], unit="char"), unit="char")


def test_sclite_refuses_unpaired_or_unknown_input():
    with pytest.raises(ShapeError):
        sclite_report(["a"], ["a"], speakers=["x", "y"])
    with pytest.raises(ValueError, match="unit"):
        sclite_point(["a"], ["a"], unit="phone")


def test_word_confusions_count_every_substitution_deletion_and_insertion():
    from echo_edu.metrics import DELETED, word_confusions

    refs = ["b c d e", "m n", "b", "Two"]
    hyps = ["d c e", "m n n", "d", "two"]            # b→d twice, d deleted, n inserted; case is normalised away
    pairs = word_confusions(refs, hyps)
    assert pairs == {("b", "d"): 2, ("d", DELETED): 1, (DELETED, "n"): 1}
    assert pairs.most_common(1) == [(("b", "d"), 2)]
    r = error_rates(refs, hyps)
    assert sum(pairs.values()) == r.substitutions + r.deletions + r.insertions
    assert word_confusions([], []) == {}


def test_word_error_counts_give_each_reference_words_own_miss_rate():
    from echo_edu.metrics import word_error_counts

    counts = word_error_counts(["b c b", "c e", "b"], ["d c b", "c", "p"])
    assert counts == {"b": (3, 2), "e": (1, 1), "c": (2, 0)}    # most missed first, then most said
    assert list(counts)[0] == "b"
    assert word_error_counts([], []) == {}


def test_utterance_errors_count_word_edits_per_utterance():
    from echo_edu.metrics import utterance_errors

    refs, hyps = ["one two three", "four", "five six", "seven"], ["one too three", "four", "", "seven eight nine"]
    assert utterance_errors(refs, hyps) == [1, 0, 2, 2]
    assert sum(utterance_errors(refs, hyps)) == round(error_rates(refs, hyps).wer * 7)
