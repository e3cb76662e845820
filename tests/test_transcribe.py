"""End to end: a tiny Echo overfit on three synthetic utterances transcribes them exactly, long audio
is cut into overlapping windows and stitched, nothing is truncated silently."""

import math

import pytest
import torch

from echo_edu import Dimensions, Echo, process_audio, transcribe
from echo_edu.audio import save_audio
from echo_edu.tokenizer import build_tokenizer
from echo_edu.transcribe import merge_texts, split_windows, transcribe_detailed

TEXTS = ["one two", "three", "nine four"]
SR = 16000


def tone_bursts(freqs, seconds=1.0):
    """A synthetic 'utterance': one tone burst per frequency, filling ``seconds``."""
    n = int(SR * seconds) // len(freqs)
    t = torch.arange(n) / SR
    return torch.cat([0.3 * torch.sin(2 * math.pi * f * t) * torch.hann_window(n) for f in freqs])


@pytest.fixture(scope="module")
def overfit():
    """Train a tiny model on 3 one-second utterances until it knows them by heart (~2 s on CPU)."""
    torch.manual_seed(0)
    tok = build_tokenizer()
    waves = [tone_bursts([300, 600]), tone_bursts([900]), tone_bursts([1200, 450])]
    model = Echo(Dimensions.tiny(audio_ctx=50))            # one window = 1 s
    mel = process_audio(waves, model.dims.audio_ctx, model.dims.mels)
    ids = [tok(x, add_special_tokens=False).input_ids for x in TEXTS]
    width = max(map(len, ids)) + 1
    inputs = torch.tensor([[1] + i + [0] * (width - 1 - len(i)) for i in ids])
    labels = torch.tensor([i + [2] + [-100] * (width - 1 - len(i)) for i in ids])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)        # a model this small trains fastest on one thread (and on a busy machine)
    try:
        for _ in range(200):
            loss = model(mel, inputs, labels=labels).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    assert loss.item() < 0.05
    model.tokenizer = tok
    return model.eval(), waves


def test_overfit_model_transcribes_its_utterances_exactly(overfit):
    model, waves = overfit
    assert transcribe(model, waves) == TEXTS
    assert transcribe(model, waves, method="beam", beam_size=3) == TEXTS
    assert transcribe(model, waves[0]) == TEXTS[0]                          # one clip -> one string


def test_accepts_paths_dicts_and_other_rates(overfit, tmp_path):
    model, waves = overfit
    path = save_audio(tmp_path / "clip.wav", waves[2])
    assert transcribe(model, path) == TEXTS[2]
    assert transcribe(model, [str(path), {"array": waves[1].numpy(), "sampling_rate": SR}]) == TEXTS[2:0:-1]
    import torchaudio.functional as AF
    at_8k = AF.resample(waves[0], SR, 8000)
    assert transcribe(model, at_8k, sr=8000) == TEXTS[0]


def test_long_audio_is_chunked_not_truncated(overfit):
    model, waves = overfit
    long = torch.cat(waves)                                                 # 3 s, window 1 s
    result = transcribe_detailed(model, long, overlap=0.0)[0]
    assert len(result.windows) == 3 and result.seconds == pytest.approx(3.0)
    assert result.text == "one two three nine four"
    # with overlap the windows overlap and there are more of them; all audio is still covered
    assert len(transcribe_detailed(model, long, overlap=0.25)[0].windows) == 4


def test_split_windows_cover_everything_with_overlap():
    spans = split_windows(10_000, 3_000, 500)
    assert spans[0][0] == 0 and spans[-1][1] == 10_000
    assert all(b[0] == a[1] - 500 for a, b in zip(spans, spans[1:]))
    assert all(e - s <= 3_000 for s, e in spans)
    assert split_windows(2_000, 3_000, 500) == [(0, 2_000)]


def test_merge_texts_keeps_shared_words_once():
    assert merge_texts(["one two three", "three four five"]) == "one two three four five"
    # the left window cut "four" short and the right one began inside "two": both edges garbled
    assert merge_texts(["one two three fo", "tw three four five"]) == "one two three four five"
    assert merge_texts(["one two", "five six"]) == "one two five six"      # no overlap found: keep both
    assert merge_texts(["", "one"]) == "one"


def test_max_tokens_cut_is_not_silent(overfit):
    model, waves = overfit
    with pytest.warns(UserWarning, match="max_tokens"):
        text = transcribe(model, waves[0], max_tokens=3)
    assert text == TEXTS[0][:3]


def test_alignment_and_decoding_views(overfit):
    from echo_edu.viz.transcription import (alignment_figure, alignment_static, compare_decoding,
                                            cross_attention_alignment, decoding_comparison_figure,
                                            decoding_comparison_static)

    model, waves = overfit
    alignment = cross_attention_alignment(model, waves[0])
    blocks, heads = len(model.decoder.blocks), model.dims.text_head
    assert alignment.text == TEXTS[0]
    assert alignment.tokens == list(TEXTS[0].replace(" ", "␣")) + ["⏎"]
    assert alignment.weights.shape == (blocks, heads, len(TEXTS[0]) + 1, model.dims.audio_ctx)
    assert torch.allclose(alignment.weights.sum(-1), torch.ones(blocks, heads, len(TEXTS[0]) + 1), atol=1e-4)
    assert len(alignment_figure(alignment).data) == 1 and alignment_static(alignment, block=0, head=1) is not None
    rows = compare_decoding(model, waves, TEXTS, beam_sizes=(1, 2))
    assert [r["wer"] for r in rows] == [0.0, 0.0] and rows[0]["texts"] == TEXTS
    assert len(decoding_comparison_figure(rows).data) == 2 and decoding_comparison_static(rows) is not None


@pytest.mark.parametrize("stride", [2, 4])
def test_the_alignment_time_axis_follows_the_encoder_stride(stride):
    """One column per encoder position: 20 ms at stride 2, 40 ms at stride 4 (echo-an4); the figure spans
    the clip (plus five positions), not twice it."""
    from echo_edu.viz.transcription import alignment_figure, cross_attention_alignment

    torch.manual_seed(0)
    model = Echo(Dimensions.tiny(audio_stride=stride)).eval()
    wave = 0.1 * torch.randn(16000, generator=torch.Generator().manual_seed(3))     # 1 s
    alignment = cross_attention_alignment(model, wave, method="greedy")
    assert alignment.position_seconds == pytest.approx(0.01 * stride)
    times = alignment_figure(alignment).data[0].x
    assert times[-1] == pytest.approx(1.0 + 4 * 0.01 * stride, abs=0.01 * stride)
