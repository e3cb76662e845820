"""Every lesson exercise has a worked solution, hidden in a collapsed cell, that passes its checker;
and the checkers reject wrong answers.

A solution cell is tagged ``solution`` and collapsed (``jupyter.source_hidden``). Each one is
self-contained (its own imports), so it runs here on its own, in quick mode, and must end with its
checker saying right (``assert check_…(...)``).
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py"))


def exercise_count(notebook) -> int:
    """Numbered items of the lesson's "## Exercises" section."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and "## Exercises" in cell.source:
            section = cell.source.split("## Exercises", 1)[1].split("\n## ", 1)[0]
            return len(re.findall(r"^\d+\. ", section, flags=re.M))
    return 0


def solutions(notebook) -> list:
    return [c for c in notebook.cells if "solution" in c.metadata.get("tags", [])]


def solution_params():
    for source in SOURCES:
        for index, cell in enumerate(solutions(jupytext.read(source))):
            yield pytest.param(cell.source, id=f"{source.stem}-solution-{index + 1}")


def topic(source: Path) -> str:
    """``notebooks/src/03_rotary_embeddings.py`` → ``rotary_embeddings``: the name of its checkers' module."""
    return source.stem.split("_", 1)[1]


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.stem)
def test_checkers_are_named_by_topic_so_a_reorder_renames_no_module(source):
    """Every solution imports its checkers from ``echo_edu.exercises.<topic>``, the lesson's name without its
    number, and that module exists; numbered modules (``lesson03``) would have to move with every reorder."""
    imported = {m for cell in solutions(jupytext.read(source))
                for m in re.findall(r"echo_edu\.exercises\.(\w+)", cell.source)}
    assert imported == {topic(source)}, imported
    assert (ROOT / "echo_edu" / "exercises" / f"{topic(source)}.py").is_file()


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.stem)
def test_every_exercise_has_one_collapsed_solution_that_calls_a_checker(source):
    notebook = jupytext.read(source)
    cells = solutions(notebook)
    assert len(cells) == exercise_count(notebook) > 0
    assert all(re.search(r"^assert check_\w+\(", c.source, flags=re.M) for c in cells)
    stored = nbformat.read(source.parent.parent / f"{source.stem}.ipynb", as_version=4)
    hidden = [c for c in solutions(stored) if c.metadata.get("jupyter", {}).get("source_hidden") is True]
    assert len(hidden) == len(cells)


@pytest.mark.parametrize("code", list(solution_params()))
def test_solution_passes_its_checker(code, capsys):
    torch.manual_seed(0)
    exec(compile(code, "<solution>", "exec"), {"__name__": "__solution__"})
    assert "✓" in capsys.readouterr().out


# --- wrong answers are rejected (with a hint) -------------------------------------------------------

def rejected(ok: bool, capsys) -> bool:
    return ok is False and "Hint:" in capsys.readouterr().out


def test_attention_basics_checkers_reject_wrong_answers(capsys):
    from echo_edu.attention import KVCache
    from echo_edu.exercises import attention_basics as ex

    assert rejected(ex.check_scale(0.9, 0.16), capsys)                  # swapped
    assert rejected(ex.check_layers_needed(lambda lag, w: -(-lag // w)), capsys)   # forgets the own position

    def uncached(attn, x, context):                                     # no cache: keys never stored
        return attn(x, context)[0], KVCache()
    assert rejected(ex.check_cross_cache(uncached), capsys)


def test_quaternions_checkers_reject_wrong_answers(capsys):
    import math

    from echo_edu import quat_from_axis_angle, quat_from_matrix, quat_norm, quat_normalize, quat_slerp
    from echo_edu.exercises import quaternions as ex

    gen = torch.Generator().manual_seed(0)
    q, r = torch.randn(2, 50, 4, generator=gen) * 2
    assert rejected(ex.check_norm_product(q, r, quat_norm(q) + quat_norm(r)), capsys)        # |q| + |r|
    unit_q, unit_r = quat_normalize(q), quat_normalize(r)
    assert rejected(ex.check_norm_product(unit_q, unit_r, torch.ones(50)), capsys)          # trivially 1 = 1
    q0, q1 = quat_from_axis_angle(torch.tensor([0.0, 0.0, 1.0]), torch.tensor([0.2, 0.8])).unbind(0)
    ts = torch.tensor([-0.5, 0.5, 1.5])
    clamped = torch.stack([quat_slerp(q0, q1, float(t.clamp(0, 1))) for t in ts])
    assert rejected(ex.check_slerp_outside(q0, q1, ts, clamped), capsys)                   # clamps t
    assert rejected(ex.check_x_to_y(quat_from_axis_angle(torch.tensor([1.0, 1.0, 0.0]) / 2 ** 0.5, math.pi)), capsys)
    assert rejected(ex.check_x_to_y(quat_from_axis_angle(torch.tensor([0.0, 0.0, 1.0]), -math.pi / 2)), capsys)
    assert rejected(ex.check_lock_pitches([math.pi / 2]), capsys)                            # one of two
    assert rejected(ex.check_lock_pitches([0.0, math.pi]), capsys)                           # roll/yaw locks
    assert rejected(ex.check_naive_from_matrix(quat_from_matrix), capsys)                   # not naive
    assert rejected(ex.check_naive_from_matrix(lambda m: torch.tensor([1.0, 0.0, 0.0, 0.0])), capsys)


def test_rotary_embeddings_checkers_reject_wrong_answers(capsys):
    from echo_edu import RotaryEmbedding, rodrigues_matrix
    from echo_edu.exercises import rotary_embeddings as ex
    from echo_edu.viz.rotary import similarity_map

    eye = torch.eye(3, dtype=torch.float64)
    assert rejected(ex.check_relative_rotation(lambda p: torch.eye(8)), capsys)                 # never turns
    absolute = lambda p: rodrigues_matrix(eye[2], torch.tensor(0.4 * p * p))      # noqa: E731  angle ∝ p²
    assert rejected(ex.check_relative_rotation(absolute), capsys)
    slow, fast = (similarity_map(theta=t, length=48)["mean"][47:] for t in (10000.0, 10.0))
    assert rejected(ex.check_theta(slow, fast), capsys)                                         # swapped
    assert rejected(ex.check_rotated_channels(64, range(48, 64)), capsys)                         # the last ones
    assert rejected(ex.check_rotated_channels(64, range(8)), capsys)                             # pairs, not channels
    turn_x = lambda a: rodrigues_matrix(eye[0], torch.tensor(a))                                 # noqa: E731
    same_axis = lambda p: turn_x(0.3 * p) @ turn_x(0.7 * p)                                      # noqa: E731
    assert rejected(ex.check_two_axes(same_axis), capsys)                                       # commutes: relative
    R = RotaryEmbedding(8).rotation_matrix(torch.tensor([3.0]))[0]
    assert rejected(ex.check_fixed_rotation(torch.eye(8), 0.0), capsys)                          # no rotation at all
    assert rejected(ex.check_fixed_rotation(R, 0.7), capsys)                                     # q, k turned differently
    assert rejected(ex.check_no_rotary(0.10, 1.0), capsys)              # "it stays at chance"
    assert rejected(ex.check_no_rotary(0.95, 1.0), capsys)              # "it solves it anyway"


def test_echo_model_checkers_reject_wrong_answers(capsys):
    from echo_edu import Dimensions, Echo
    from echo_edu.exercises import echo_model as ex

    wide = Echo(Dimensions.tiny(audio_dims=96, audio_head=3))
    cross = [n for n, _ in wide.decoder.named_parameters() if ".cross." in n and n.endswith("weight")]
    assert rejected(ex.check_width_mismatch(wide, cross), capsys)                        # query and out too
    assert rejected(ex.check_width_mismatch(Echo(Dimensions.tiny()), []), capsys)          # no mismatch at all
    plain = Echo(Dimensions.tiny(rotary=False))
    assert rejected(ex.check_no_rotary_positions(plain, 0.05, 0.05), capsys)               # still order-aware
    assert rejected(ex.check_no_rotary_positions(Echo(Dimensions.tiny()), 0.05, 0.0), capsys)  # rotary left on
    assert rejected(ex.check_embedding_scale(62.0, 3.47), capsys)                          # swapped
    assert rejected(ex.check_embedding_scale(3.47, 3.9), capsys)                           # "barely moves"
    work = [1.5e5, 1.7e5, 2.1e5], [3.1e6, 1.9e7, 5.4e7]                                  # cached, recomputed
    assert not rejected(ex.check_cache_work([10, 100, 250], *work), capsys)
    assert rejected(ex.check_cache_work([10, 100, 250], work[0], work[0]), capsys)         # no gap
    assert rejected(ex.check_cache_work([10, 100, 250], work[1], work[0]), capsys)         # swapped
    assert rejected(ex.check_cache_work([10, 100, 250], work[0], [3e6, 3.4e6, 4.2e6]), capsys)  # gap not growing
    assert rejected(ex.check_cache_work([10, 20, 30], *work), capsys)                      # too short


def test_audio_and_data_checkers_reject_wrong_answers(capsys):
    from echo_edu.data import load_samples, plan_corpus
    from echo_edu.exercises import audio_and_data as ex
    from echo_edu.text import normalize_text
    from echo_edu.viz.audio import feature_pipeline

    wave = torch.tensor(load_samples()[0]["audio"]["array"])
    full = feature_pipeline(wave)
    assert rejected(ex.check_half_volume(full, full), capsys)                              # the same clip twice
    assert rejected(ex.check_half_volume(full, feature_pipeline(0.25 * wave)), capsys)     # a quarter, not half
    assert rejected(ex.check_long_fft(9, 2), capsys)                                       # swapped
    assert rejected(ex.check_dark_bands(range(0, 12)), capsys)                             # the low bands
    assert rejected(ex.check_dark_bands(range(40, 80)), capsys)                            # half the bands
    jobs = plan_corpus("commands", 60, 0, ("espeak",))
    assert rejected(ex.check_corpus_voices([j["voice"] for j in jobs]), capsys)            # all splits
    assert rejected(ex.check_corpus_voices(sorted({j["voice"] for j in jobs if j["split"] == "train"})[:10]), capsys)
    digits = {normalize_text(str(d)): str(d) for d in range(10)}
    no_zeros = lambda words: str(int("".join(digits[w] for w in words.split())))          # noqa: E731
    assert rejected(ex.check_digit_inverse(no_zeros), capsys)                              # drops leading zeros


def test_myelinated_attention_checkers_reject_wrong_answers(capsys):
    from echo_edu.exercises import myelinated_attention as ex

    assert rejected(ex.check_no_cost([0.1, 0.12, 0.1], [0.99, 0.99, 0.8], [0.0] * 3), capsys)    # "nothing skipped"
    assert rejected(ex.check_no_cost([0.99, 0.99, 0.8], [0.99, 0.99, 0.8], [0.0] * 3), capsys)   # "cost changes nothing"
    assert rejected(ex.check_no_cost([0.7, 0.8, 0.6], [0.99, 0.99, 0.8], [0.5] * 3), capsys)     # hard skipped too
    assert rejected(ex.check_death_spiral([0.1] * 5, [0.1] * 5, 0.0, 1e-2), capsys)              # no spiral seen
    assert rejected(ex.check_death_spiral([0.99, 0.1], [0.1, 0.1], 0.0, 1e-2), capsys)           # two seeds
    assert rejected(ex.check_death_spiral([0.99] + [0.1] * 4, [0.1] * 5, 0.3, 1e-2), capsys)     # queries still learn
    assert rejected(ex.check_death_spiral([0.99] + [0.1] * 4, [0.1] * 5, 0.0, 0.0), capsys)      # "nothing comes back"
    assert rejected(ex.check_future_leak(0.0, 0.0), capsys)                                      # patch not applied
    assert rejected(ex.check_future_leak(0.5, 0.5), capsys)                                      # both leak
    assert rejected(ex.check_importance(0.86, 0.65, 0.5, 0.5, 0.0), capsys)                      # untrained routing
    assert rejected(ex.check_importance(0.95, 0.05, 0.0, 1.0, 0.0), capsys)                      # "importance routes"
    assert rejected(ex.check_importance(0.86, 0.65, 0.0, 1.0, 0.2), capsys)                      # gradient not zero


def test_q_learning_refiner_checkers_reject_wrong_answers(capsys):
    from echo_edu.attention.refiner import ToySpanTask
    from echo_edu.exercises import q_learning_refiner as ex

    assert rejected(ex.check_cheap_width([0, 0, 0, 3], 0.00625, 10, 6, 8), capsys)     # "everything picks w = 4"
    assert rejected(ex.check_cheap_width([0, 1, 2, 3], 0.0625, 10, 6, 8), capsys)      # the gap at cost 0.5
    assert rejected(ex.check_cheap_width([0, 1, 2, 3], 0.00625, 10, 10, 10), capsys)   # "it just learns"
    assert rejected(ex.check_no_exploration(10, 10, 10), capsys)                       # "greedy is enough"
    assert rejected(ex.check_no_exploration(1, 2, 10), capsys)                         # optimism ignored
    assert rejected(ex.check_no_exploration(0, 2, 2), capsys)                          # two seeds
    task = ToySpanTask()
    every = torch.arange(4)
    bandit = task.expected_reward(every[:, None], every[None, :])
    best = task.best_actions().tolist()
    assert rejected(ex.check_gamma(bandit, bandit, 0.9, [1, 1, 2, 3], best, best), capsys)           # no shift
    assert rejected(ex.check_gamma(bandit, bandit / 0.1, 0.9, [1, 1, 2, 3], best, best), capsys)     # scaled, not shifted
    assert rejected(ex.check_gamma(bandit, bandit + 6.85, 0.9, [1, 1, 2, 3], [3] * 4, best), capsys)  # "policy changes"
    assert rejected(ex.check_gamma(bandit, bandit + 6.85, 0.9, best, best, best), capsys)            # no slowdown seen
    eights, twos = torch.full((100,), 8), torch.full((100,), 2)
    assert rejected(ex.check_width_cost(eights, twos, 0.15, 0.15), capsys)            # "narrowest windows"
    assert rejected(ex.check_width_cost(eights, eights, 0.15, 1.5), capsys)           # "the loss suffers"


def test_adaptive_windows_checkers_reject_wrong_answers(capsys):
    from echo_edu.exercises import adaptive_windows as ex

    low, high = [35.0, 32.0, 33.0], [10.0, 6.5, 9.7]
    assert rejected(ex.check_span_penalty(low, [20.0] * 3, [0.2] * 3, [0.7] * 3), capsys)   # "it still grows"
    assert rejected(ex.check_span_penalty(low, high, [0.2] * 3, [0.25] * 3), capsys)        # "the loss is fine"
    assert rejected(ex.check_span_penalty(low[:2], high[:2], [0.2] * 2, [0.7] * 2), capsys)  # two seeds
    raw, flat = torch.tensor([0.39, 0.39, 0.35, 0.67]), torch.tensor([0.47, 0.0, 0.0, 0.41])
    assert rejected(ex.check_energy_after_norm(raw, raw, 1 - flat, 1 - flat, flat), capsys)   # gain not applied
    assert rejected(ex.check_energy_after_norm(raw, raw + 0.5, raw, raw + 0.5, flat), capsys)  # no norm
    assert rejected(ex.check_energy_after_norm(raw, raw + 0.5, torch.ones(4), torch.ones(4), flat), capsys)  # "all 1"
    assert rejected(ex.check_fast_warble(0.35, 0.6, 8, 8), capsys)                  # "faster hops, busier"
    assert rejected(ex.check_fast_warble(0.35, 0.05, 8, 8), capsys)                 # window not recomputed
    assert not rejected(ex.check_focus_work(2048, 64, True, 89_000_000, 697_000_000), capsys)
    assert rejected(ex.check_focus_work(4096, 64, False, 89_000_000, 697_000_000), capsys)  # path not found
    assert rejected(ex.check_focus_work(100, 64, True, 89_000_000, 697_000_000), capsys)    # too short for blocks
    assert rejected(ex.check_focus_work(2048, 64, True, 600_000_000, 697_000_000), capsys)  # no saving


def test_transcription_checkers_reject_wrong_answers(capsys):
    from collections import Counter
    from types import SimpleNamespace

    from echo_edu.exercises import transcription as ex

    by_position = lambda ref, hyp: Counter(r for r, h in zip(ref.split(), hyp.split()) if r != h)  # noqa: E731
    assert rejected(ex.check_digit_errors(by_position), capsys)                      # no alignment
    with_inserts = lambda ref, hyp: Counter(set(hyp.split()) ^ set(ref.split()))  # noqa: E731
    assert rejected(ex.check_digit_errors(with_inserts), capsys)                     # counts inserted words
    gen = torch.Generator().manual_seed(0)
    clips = [SimpleNamespace(weights=torch.rand(2, 2, 5, 30, generator=gen)) for _ in range(4)]
    assert rejected(ex.check_alignment_peaks(lambda a: 1.0, clips, clips), capsys)   # not measured
    last_head = lambda a: float((a.weights[-1, -1].argmax(-1).diff() >= 0).float().mean())  # noqa: E731
    assert rejected(ex.check_alignment_peaks(last_head, clips, clips), capsys)       # one head only
    assert rejected(ex.check_no_overlap(0.46, 0.46, 5, 4, 11, 11), capsys)           # "no difference"
    assert rejected(ex.check_no_overlap(0.46, 0.57, 5, 5, 11, 16), capsys)           # overlap not changed
    n = 35
    assert rejected(ex.check_decode_work([1] * n, [1] * n), capsys)                  # cache left on
    assert rejected(ex.check_decode_work(list(range(1, n + 1)), list(range(1, n + 1))), capsys)  # swapped
    assert rejected(ex.check_decode_work([1] * 3, [1, 2, 3]), capsys)                # too short to see


def test_training_checkers_reject_wrong_answers(capsys):
    from echo_edu.exercises import training as ex

    def mean_of_means(model, batches):                                          # each micro-batch's own mean
        total = 0.0
        for b in batches:
            loss = model(b.mel, b.input_ids, b.labels, lengths=b.lengths).loss / len(batches)
            loss.backward()
            total += loss.item()
        return total
    assert rejected(ex.check_accumulation(mean_of_means), capsys)

    def last_only(model, batches):                                              # gradients cleared in between
        for b in batches:
            model.zero_grad()
            loss = model(b.mel, b.input_ids, b.labels, lengths=b.lengths).loss
            loss.backward()
        return loss.item()
    assert rejected(ex.check_accumulation(last_only), capsys)

    def per_tensor(parameters, max_norm):                                       # one factor per tensor
        for p in parameters:
            p.grad.mul_((max_norm / p.grad.norm()).clamp(max=1.0))
        return torch.sqrt(sum(p.grad.pow(2).sum() for p in parameters))
    assert rejected(ex.check_clip(per_tensor), capsys)

    def always(parameters, max_norm):                                           # scales short gradients up too
        norm = torch.sqrt(sum(p.grad.pow(2).sum() for p in parameters))
        for p in parameters:
            p.grad.mul_(max_norm / norm)
        return norm
    assert rejected(ex.check_clip(always), capsys)
    assert rejected(ex.check_decay_rule(lambda name, p: p.ndim >= 2), capsys)              # embeddings decay
    assert rejected(ex.check_decay_rule(lambda name, p: True), capsys)                      # everything decays
    assert rejected(ex.check_decay_rule(lambda name, p: "weight" in name and "embed" not in name), capsys)  # norms


def test_generalisation_checkers_reject_wrong_answers(capsys):
    from echo_edu.audio import log_mel_spectrogram, normalize_features
    from echo_edu.exercises import generalisation as ex
    from echo_edu.viz.augmentation import demo_clip

    before, after = ex._separation_ratios()
    assert rejected(ex.check_band_limited_separation(after, before), capsys)                # swapped
    assert rejected(ex.check_band_limited_separation(before, 3.0), capsys)                  # "now they separate"
    assert rejected(ex.check_hard_clip(lambda w: w * 0.3 / w.abs().max()), capsys)          # turned down, not cut
    assert rejected(ex.check_hard_clip(lambda w: w.clamp(-0.6, 0.6)), capsys)               # wrong limit
    assert rejected(ex.check_hard_clip(lambda w: w.clamp(-0.3, 0.3).flatten()), capsys)     # batch flattened
    mel = log_mel_spectrogram(demo_clip()[0])
    gain = torch.full((mel.shape[0], 1), 0.25)                                              # a loudness change
    assert rejected(ex.check_channel_offset(mel, gain, 0.0, 0.0), capsys)
    drift = torch.linspace(0, 0.5, mel.shape[1])[None, :].expand_as(mel)                     # changes over time
    assert rejected(ex.check_channel_offset(mel, drift, 0.1, 0.0), capsys)
    tilt = torch.linspace(-0.25, 0.25, mel.shape[0])[:, None]
    gaps = [float((normalize_features(mel + tilt, mode=m) - normalize_features(mel, mode=m)).abs().mean())
            for m in ("utterance", "cmvn")]
    assert rejected(ex.check_channel_offset(mel, tilt, gaps[1], gaps[0]), capsys)            # swapped



def test_real_speech_checkers_reject_wrong_answers(capsys):
    import statistics

    from echo_edu.exercises import real_speech as ex

    def means_only(a, b):                                                                   # ignores the seeds
        return statistics.fmean(a) < statistics.fmean(b)

    def no_overlap_only(a, b):                                                              # forgets the spread
        return len(a) > 1 and max(a) < min(b)

    def crashes_on_one_seed(a, b):
        return max(a) < min(b) and statistics.fmean(b) - statistics.fmean(a) > max(statistics.stdev(a),
                                                                                  statistics.stdev(b))
    for wrong in (means_only, no_overlap_only, crashes_on_one_seed):
        assert rejected(ex.check_lead_holds(wrong), capsys)

    from collections import Counter

    from echo_edu.metrics import word_confusions
    one_way = lambda refs, hyps: Counter({k: n for k, n in word_confusions(refs, hyps).items() if "∅" not in k})
    assert rejected(ex.check_symmetric_confusions(one_way), capsys)                        # direction kept
    every_error = lambda refs, hyps: Counter(frozenset(k) for k, n in word_confusions(refs, hyps).items()
                                             for _ in range(n))
    assert rejected(ex.check_symmetric_confusions(every_error), capsys)                    # deletions kept
    o = ex._test_log()
    wer = 100 * (o["substitutions"] + o["deletions"] + o["insertions"]) / o["words"]
    assert rejected(ex.check_test_counts(wer, 100 - wer), capsys)                           # Corr = 100 − Err
    assert rejected(ex.check_test_counts(100 * (o["substitutions"] + o["deletions"]) / o["words"], 100 - wer), capsys)
