"""Speed search: decode a clip at several playback speeds and keep the best-scoring transcript.

* One speed (1.0) is plain decoding, token for token and score for score.
* Several speeds keep, per clip, exactly the hypothesis of the speed whose separate decoding scored
  highest, and say which speed that was; on random clips more than one speed wins.
* ``transcribe`` cuts long audio into windows short enough to still fit the encoder when slowed.
* The CLI decodes with speed search by default for a model with a CTC head, not for other models or
  for an explicitly chosen ``--method``; bad speeds are refused with a ConfigError naming them.
"""

from __future__ import annotations

import pytest
import torch

from echo_edu import ConfigError, Dimensions, Echo, transcribe
from echo_edu.audio.speed import change_speed
from echo_edu.cli import build_parser
from echo_edu.cli.common import decoding, describe_decoding
from echo_edu.data.collate import SpeechCollator
from echo_edu.decode import JOINT_DECODING, SPEED_SEARCH, decode, decoding_options, default_decoding
from echo_edu.evaluate import evaluate_model
from echo_edu.speed_search import check_speeds, decode_at_speeds, parse_speeds
from echo_edu.text import normalize_text
from echo_edu.transcribe import split_windows, transcribe_detailed
from echo_edu.viz.transcription import cross_attention_alignment

SPEEDS = (0.9, 1.0, 1.1)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return Echo(Dimensions.tiny(ctc_weight=0.3)).eval()


@pytest.fixture(scope="module")
def waves():
    g = torch.Generator().manual_seed(1)
    return [0.2 * torch.randn(n, generator=g) for n in (12000, 16000, 9000, 14000, 15000, 11000)]


def _features(model):
    return SpeechCollator.for_model(model, model.tokenizer).wave_features


def test_one_speed_is_plain_decoding(model, waves):
    features = _features(model)
    mel, frames = features(waves)
    plain = decode(model, mel, method="joint", beam_size=2, lengths=frames, max_tokens=6)
    searched = decode_at_speeds(model, waves, features, speeds=(1.0,), method="joint", beam_size=2, max_tokens=6)
    assert searched.tokens == plain.tokens and torch.equal(searched.scores, plain.scores.float().cpu())
    assert searched.speeds == [1.0] * len(waves)


@pytest.mark.parametrize("method", ["greedy", "joint"])
def test_each_clip_keeps_the_hypothesis_of_its_best_scoring_speed(model, waves, method):
    features = _features(model)
    apart = []
    for factor in SPEEDS:
        mel, frames = features([change_speed(w, factor) for w in waves])
        apart.append(decode(model, mel, method=method, beam_size=2, lengths=frames, max_tokens=6))
    searched = decode_at_speeds(model, waves, features, speeds=SPEEDS, method=method, beam_size=2, max_tokens=6)
    for b in range(len(waves)):
        best = max(range(len(SPEEDS)), key=lambda k: apart[k].scores[b].item())
        assert searched.speeds[b] == SPEEDS[best]
        assert searched.tokens[b] == apart[best].tokens[b]
        assert searched.scores[b].item() == pytest.approx(max(r.scores[b].item() for r in apart))
    assert len(set(searched.speeds)) > 1            # the search chose, it did not fall back to one speed


def test_evaluation_and_transcription_search_speeds(model, waves):
    rows = [{"audio": {"array": w.numpy(), "sampling_rate": 16000}, "text": "a"} for w in waves]
    kept = decode_at_speeds(model, waves, _features(model), speeds=SPEEDS, method="greedy",
                            tokenizer=model.tokenizer)
    assert evaluate_model(model, rows, method="greedy", speeds=SPEEDS).hypotheses == \
        [normalize_text(t) for t in kept.texts]
    plain = evaluate_model(model, rows, method="greedy").hypotheses
    assert plain != evaluate_model(model, rows, method="greedy", speeds=SPEEDS).hypotheses


@pytest.mark.filterwarnings("ignore:input .*decoding reached max_tokens")
def test_transcribe_decodes_as_the_cli_does_by_default(model, waves):
    """``transcribe(model, audio)`` with no decoding option is the model's default decoding (echo-an4: joint, speed
    search), the one its scores are reported with; greedy only for a model without a CTC head."""
    rows = [{"array": w.numpy(), "sampling_rate": 16000} for w in waves[:3]]
    searched = decode_at_speeds(model, waves[:3], _features(model), speeds=SPEED_SEARCH, method="joint",
                                beam_size=4, tokenizer=model.tokenizer, max_tokens=6)
    default = transcribe(model, rows, max_tokens=6)
    assert default == [" ".join(t.split()) for t in searched.texts] == transcribe(model, rows, max_tokens=6,
                                                                                   **JOINT_DECODING)
    assert default != transcribe(model, rows, max_tokens=6, method="greedy")
    plain = Echo(Dimensions.tiny()).eval()
    assert transcribe(plain, rows, max_tokens=6) == transcribe(plain, rows, max_tokens=6, method="greedy",
                                                                speeds=(1.0,))


@pytest.mark.filterwarnings("ignore:input .*decoding reached max_tokens")
def test_the_alignment_view_draws_the_transcript_transcribe_gives(model, waves):
    assert cross_attention_alignment(model, waves[2]).text == transcribe(model, waves[2])
    assert cross_attention_alignment(model, waves[2], method="greedy").text == transcribe(model, waves[2],
                                                                                          method="greedy")


def test_decoding_options_follow_one_rule(model):
    no_ctc = Echo(Dimensions.tiny())
    assert decoding_options(model) == default_decoding(model) == JOINT_DECODING
    assert decoding_options(model, beam_size=1) == {"method": "greedy", "beam_size": 1, "speeds": (1.0,)}
    assert decoding_options(model, beam_size=8) == {"method": "joint", "beam_size": 8, "ctc_weight": 0.3,
                                                    "speeds": (1.0,)}
    assert decoding_options(model, method="beam", speeds=(0.9, 1.0)) == {"method": "beam", "beam_size": 4,
                                                                         "speeds": (0.9, 1.0)}
    assert decoding_options(model, ctc_weight=0.5)["ctc_weight"] == 0.5
    assert decoding_options(no_ctc) == {"method": "greedy", "beam_size": 1, "speeds": (1.0,)}
    assert decoding_options(no_ctc, beam_size=3) == {"method": "beam", "beam_size": 3, "speeds": (1.0,)}


@pytest.mark.filterwarnings("ignore:input 0. decoding reached max_tokens")
def test_long_audio_windows_still_fit_when_slowed(model):
    wave = 0.1 * torch.randn(5 * model.dims.n_audio_samples // 2, generator=torch.Generator().manual_seed(2))
    plain = transcribe_detailed(model, wave, method="greedy", max_tokens=4)[0]
    slowed = transcribe_detailed(model, wave, method="greedy", max_tokens=4, speeds=(0.8, 1.0))[0]
    window = int(model.dims.n_audio_samples * 0.8)
    hop = min(16000, window // 4)
    assert len(slowed.windows) == len(split_windows(wave.numel(), window, hop)) > len(plain.windows)
    assert change_speed(wave[:window], 0.8).numel() <= model.dims.n_audio_samples


def test_the_alignment_is_drawn_at_the_kept_speed(model, waves):
    alignment = cross_attention_alignment(model, waves[1], method="greedy", speeds=SPEEDS)
    kept = decode_at_speeds(model, [waves[1]], _features(model), speeds=SPEEDS, method="greedy",
                            tokenizer=model.tokenizer)
    assert alignment.text == kept.texts[0]
    assert alignment.seconds == pytest.approx(change_speed(waves[1], kept.speeds[0]).numel() / 16000)


def test_the_cli_searches_speeds_by_default_only_for_a_ctc_model(model):
    parse = build_parser().parse_args
    assert decoding(parse(["evaluate"]), model)["speeds"] == SPEED_SEARCH == default_decoding(model)["speeds"]
    assert decoding(parse(["evaluate"]), Echo(Dimensions.tiny()))["speeds"] == (1.0,)
    assert decoding(parse(["evaluate", "--method", "joint"]), model)["speeds"] == (1.0,)
    chosen = decoding(parse(["evaluate", "--method", "beam", "--speeds", "0.95,1"]), model)
    assert chosen["speeds"] == (0.95, 1.0)
    assert describe_decoding(decoding(parse(["evaluate"]), model)).endswith("at speeds 0.9/1/1.1")


@pytest.mark.parametrize("bad, match", [([], "empty"), ([0.0], "outside"), ([1.0, 3], "outside"),
                                        ([1.0, 1.0], "twice"), (["fast"], "numbers"),
                                        ([float("nan")], "outside")])
def test_bad_speeds_are_refused_by_name(model, bad, match):
    with pytest.raises(ConfigError, match=match):
        check_speeds(bad)
    with pytest.raises(ConfigError, match=match):
        transcribe(model, torch.zeros(8000), speeds=bad)


def test_the_cli_parses_speed_lists():
    assert parse_speeds("0.9, 1,1.1") == SPEEDS
    with pytest.raises(ConfigError, match="comma-separated"):
        parse_speeds("0.9;1")


def test_a_speed_sweep_scores_each_speed_and_the_search_from_one_decoding_each(model, waves):
    from echo_edu.evaluate import speed_sweep

    rows = [{"audio": {"array": w.numpy(), "sampling_rate": 16000}, "text": "a b"} for w in waves]
    sweep = speed_sweep(model, rows, SPEEDS, method="greedy", batch_size=4)
    assert list(sweep.reports) == list(SPEEDS) and sweep.scores.shape == (3, len(rows))
    assert sweep.searched.hypotheses == evaluate_model(model, rows, method="greedy", speeds=SPEEDS).hypotheses
    assert sweep.reports[1.0].hypotheses == evaluate_model(model, rows, method="greedy").hypotheses
    assert sweep.kept == [SPEEDS[k] for k in sweep.scores.argmax(0).tolist()]
    for i, v in enumerate(sweep.kept):
        assert sweep.searched.hypotheses[i] == sweep.reports[v].hypotheses[i]


def test_a_bad_speeds_option_is_one_error_line_naming_it(capsys):
    from echo_edu import cli

    with pytest.raises(SystemExit) as exit_:
        cli.main(["transcribe", "--speeds", "0.9,3", "clip.wav"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "argument --speeds: speeds [3.0] lie outside 0.5–2.0" in err
    assert "Traceback" not in err


def test_a_speed_that_cuts_a_clip_short_never_wins():
    """Slowed past the window, a clip loses its tail, and the shorter transcript would score higher."""
    from echo_edu.decode import DecodingResult
    from echo_edu.speed_search import cut_short, keep_best

    waves = [torch.zeros(950), torch.zeros(500), torch.zeros(1200)]          # window: 1000 samples
    cut = cut_short(waves, SPEEDS, window=1000)
    assert cut.tolist() == [[True, False, True], [False, False, False], [False, False, False]]
    results = [DecodingResult([[k]] * 3, torch.tensor([0.0, 0.0, 0.0]) - k, [True] * 3) for k in range(3)]
    assert keep_best(results, SPEEDS).speeds == [0.9, 0.9, 0.9]             # 0.9 scores highest everywhere
    assert keep_best(results, SPEEDS, cut).speeds == [1.0, 0.9, 1.0]
    assert keep_best(results[:1], (0.9,), cut[:1]).speeds == [0.9] * 3     # never rule out every speed


def test_decode_takes_the_default_options_whole_but_refuses_speeds_it_cannot_replay(model):
    mel = torch.zeros(1, model.dims.mels, 2 * model.dims.audio_ctx)
    options = {**default_decoding(model), "speeds": (1.0,)}
    assert isinstance(decode(model, mel, max_tokens=3, **options).tokens[0], list)
    with pytest.raises(ConfigError, match="needs the waveform"):
        decode(model, mel, max_tokens=3, **default_decoding(model))
