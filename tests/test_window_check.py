"""One rule for "does a clip fit the encoder window": ``Dimensions.audio_ctx_for``, asked by ``train()``
(``train_loop.check_lengths``) and by ``echo-edu train`` before the corpus is trained on."""

import pytest
from datasets import Dataset

from echo_edu.audio import HOP_LENGTH, SAMPLE_RATE, encoder_positions, frame_lengths
from echo_edu.cli import train as train_cli
from echo_edu.dimensions import Dimensions
from echo_edu.errors import TrainingError
from echo_edu.train_loop import check_lengths

import torch


@pytest.mark.parametrize("stride", [2, 4])
def test_audio_ctx_for_is_the_smallest_window_that_trims_nothing(stride):
    dims = Dimensions.tiny(audio_stride=stride)
    for samples in (1, HOP_LENGTH, HOP_LENGTH + 1, 12345, 16000, 48017):
        needed = dims.audio_ctx_for(samples / SAMPLE_RATE)
        assert needed * stride * HOP_LENGTH >= samples                 # its window holds every sample
        assert (needed - 1) * stride * HOP_LENGTH < samples            # one position less trims some
        # and it is the encoder positions of the clip's frames, when the clip is whole hops
        whole = samples - samples % HOP_LENGTH or HOP_LENGTH
        assert dims.audio_ctx_for(whole / SAMPLE_RATE) == int(encoder_positions(frame_lengths(whole), stride))


def test_float32_durations_land_on_their_sample():
    dims = Dimensions.tiny()                                            # audio_stride 2: 320 samples a position
    exact = dims.n_audio_samples / SAMPLE_RATE
    as_float32 = float(torch.tensor(exact, dtype=torch.float32))
    assert dims.audio_ctx_for(as_float32) == dims.audio_ctx            # a clip exactly the window fits
    assert dims.audio_ctx_for(exact + 1 / SAMPLE_RATE) == dims.audio_ctx + 1   # one sample more does not


def _split(seconds):
    return Dataset.from_dict({"duration": [float(s) for s in seconds]})


def test_train_and_the_command_refuse_the_same_clips():
    dims = Dimensions.tiny()
    window = dims.n_audio_samples / SAMPLE_RATE
    fits, over = _split([0.5, window]), _split([0.5, window + 1 / SAMPLE_RATE])   # one sample too long
    check_lengths(fits, dims)
    with pytest.raises(TrainingError, match=f"at least {dims.audio_ctx + 1}"):
        check_lengths(over, dims)
    with pytest.raises(TrainingError, match=f"--dims audio_ctx={dims.audio_ctx + 1}"):
        check_lengths(over, dims, advice="pass --dims audio_ctx={needed} (or more)")
    assert not hasattr(train_cli, "check_window")                     # the command asks the same function
    assert train_cli.check_lengths is check_lengths


def test_splits_without_durations_are_not_checked():
    check_lengths(Dataset.from_dict({"text": ["a"]}), Dimensions.tiny())
    check_lengths([], Dimensions.tiny())
