"""echo_edu.augmentation: every effect measurably does what it claims, seeded, shape- and dtype-safe."""

import math

import pytest
import torch
import torchaudio.functional as AF

from echo_edu.audio import frame_lengths, log_mel_spectrogram, normalize_features
from echo_edu.augmentation import (AugmentConfig, Augmenter, CorpusAugmentConfig, add_noise, add_noise_at_snr,
                                   apply_augmentation, apply_gain, band_limit, change_speed, coloured_noise, compose,
                                   pitch_shift, random_augment, reverberate, spec_augment, synthetic_rir, vtlp)
from echo_edu.errors import AudioError, ConfigError, ShapeError

SR = 16000


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def tone(freq, seconds=1.0, amp=0.3, sr=SR):
    t = torch.arange(int(seconds * sr)) / sr
    return amp * torch.sin(2 * math.pi * freq * t)


def speechlike(seconds=1.0, seed=0):
    """Noise through two formant-like resonances (800 and 2000 Hz), syllable-modulated."""
    n = int(seconds * SR)
    x = torch.randn(n, generator=gen(seed))
    x = AF.bandpass_biquad(x, SR, 800.0, Q=6.0) + AF.bandpass_biquad(x, SR, 2000.0, Q=6.0)
    envelope = 0.5 + 0.5 * torch.sin(2 * math.pi * 4 * torch.arange(n) / SR)
    return 0.3 * x / x.abs().max() * envelope


def peak_hz(x, sr=SR, lo=0.0, hi=None):
    """Frequency of the largest peak of the average (Welch-style) power spectrum in [lo, hi]."""
    spec = torch.stft(x, 1024, 256, window=torch.hann_window(1024), return_complex=True).abs().pow(2).mean(-1)
    spec = torch.nn.functional.avg_pool1d(spec[None, None], 9, 1, 4)[0, 0]     # smooth over harmonics/noise
    freqs = torch.linspace(0, sr / 2, spec.shape[0])
    band = (freqs >= lo) & (freqs <= (hi or sr / 2))
    return float(freqs[band][spec[band].argmax()])


def tone_hz(x, sr=SR):
    """Frequency of the strongest component, at the whole clip's resolution (1 Hz for 1 s)."""
    spec = torch.fft.rfft(x * torch.hann_window(x.shape[-1])).abs()
    return float(spec.argmax()) * sr / x.shape[-1]


def band_energy(x, lo, hi, sr=SR):
    spec = torch.fft.rfft(x).abs().pow(2)
    freqs = torch.fft.rfftfreq(x.shape[-1], 1 / sr)
    return float(spec[..., (freqs >= lo) & (freqs <= hi)].sum())


ALL_ON = AugmentConfig(p_speed=1, p_pitch=1, p_vtlp=1, p_reverb=1, p_noise=1, p_telephone=1, p_gain=1,
                       p_specaugment=1)


# --------------------------------------------------------------------------- seeding and identity

def test_same_seed_same_output_different_seed_different():
    wave, aug = speechlike(), Augmenter(ALL_ON)
    a, b = aug.augment_waveform(wave, SR, gen(1)), aug.augment_waveform(wave, SR, gen(1))
    c = aug.augment_waveform(wave, SR, gen(2))
    assert torch.equal(a, b)
    assert a.shape != c.shape or not torch.allclose(a, c)
    mel = torch.randn(3, 80, 200)
    assert torch.equal(aug.augment_features(mel, gen(5)), aug.augment_features(mel, gen(5)))
    assert not torch.equal(aug.augment_features(mel, gen(5)), aug.augment_features(mel, gen(6)))


def test_each_call_uses_a_fixed_number_of_draws():
    """Whichever effects fire on one clip, the generator ends in the same state (stable streams)."""
    wave = speechlike(0.5)
    g1, g2 = gen(3), gen(3)
    Augmenter(ALL_ON).augment_waveform(wave, SR, g1)
    Augmenter(AugmentConfig.off()).augment_waveform(wave, SR, g2)
    assert torch.equal(torch.rand(4, generator=g1), torch.rand(4, generator=g2))


def test_probabilities_zero_give_the_identity():
    wave, mel = speechlike(), torch.randn(2, 80, 100)
    aug = Augmenter(AugmentConfig.off())
    assert torch.equal(aug.augment_waveform(wave, SR, gen()), wave)
    assert torch.equal(aug.augment_features(mel, gen()), mel)


# --------------------------------------------------------------------------- each effect, measured

def test_speed_changes_duration_by_the_factor():
    wave = speechlike()
    out = Augmenter(AugmentConfig.off(p_speed=1.0, speed=(1.25, 1.25))).augment_waveform(wave, SR, gen())
    assert abs(out.shape[-1] - wave.shape[-1] / 1.25) <= 2


@pytest.mark.parametrize("semitones", [-4.0, 3.0])
def test_pitch_shift_moves_the_peak_by_the_ratio_and_keeps_duration(semitones):
    wave = tone(440.0)
    out = pitch_shift(wave, SR, semitones)
    assert out.shape == wave.shape
    ratio = tone_hz(out) / tone_hz(wave)
    assert ratio == pytest.approx(2 ** (semitones / 12), rel=0.01)   # ratios are rounded to 1/100
    via_pipeline = Augmenter(AugmentConfig.off(p_pitch=1.0, pitch_semitones=(semitones, semitones)))
    assert torch.allclose(via_pipeline.augment_waveform(wave, SR, gen()), out)


@pytest.mark.parametrize("alpha", [0.88, 1.15])
def test_vtlp_moves_formant_like_peaks_by_alpha(alpha):
    wave = speechlike(1.5)
    out = vtlp(wave, SR, alpha)
    assert out.shape == wave.shape
    for formant, (lo, hi) in ((800.0, (500, 1200)), (2000.0, (1500, 2700))):
        assert peak_hz(wave, lo=lo, hi=hi) == pytest.approx(formant, rel=0.05)
        assert peak_hz(out, lo=lo, hi=hi) == pytest.approx(alpha * formant, rel=0.05)


@pytest.mark.parametrize("kind", ["white", "pink", "brown", "babble"])
def test_noise_hits_the_requested_snr(kind):
    wave = speechlike()
    config = AugmentConfig.off(p_noise=1.0, snr_db=(12.0, 12.0), noise_types=(kind,))
    out = Augmenter(config).augment_waveform(wave, SR, gen())
    noise = out - wave
    snr = 10 * math.log10(float(wave.pow(2).mean() / noise.pow(2).mean()))
    assert snr == pytest.approx(12.0, abs=0.1)


def test_babble_comes_from_the_other_clips_of_a_batch():
    low, high = tone(300.0), tone(2000.0)
    config = AugmentConfig.off(p_noise=1.0, snr_db=(0.0, 0.0), noise_types=("babble",))
    out = Augmenter(config).augment_batch([low, high], SR, gen())
    babble_on_low, babble_on_high = out[0] - low, out[1] - high
    assert band_energy(babble_on_low, 1990, 2010) > 100 * band_energy(babble_on_low, 290, 310)
    assert band_energy(babble_on_high, 290, 310) > 100 * band_energy(babble_on_high, 1990, 2010)
    banked = Augmenter(config, babble_bank=[high]).augment_waveform(low, SR, gen()) - low
    assert band_energy(banked, 1990, 2010) > 100 * band_energy(banked, 290, 310)


def test_noise_colours_have_their_spectral_slopes():
    lows, highs = [], []
    for colour in ("white", "pink", "brown"):
        n = coloured_noise((4, SR), colour, gen())
        lows.append(band_energy(n, 50, 200))
        highs.append(band_energy(n, 4000, 6000))
    tilt = [lo / 150 / (hi / 2000) for lo, hi in zip(lows, highs)]   # power density ratio low/high
    assert tilt[0] == pytest.approx(1.0, rel=0.3) and tilt[1] > 10 and tilt[2] > 20 * tilt[1]


def test_reverb_lengthens_the_decay_tail():
    burst = tone(500.0, 1.0)
    burst[SR // 2:] = 0.0                                  # a tone, then silence
    tail = slice(SR // 2 + 160, None)                      # 10 ms after the burst ends
    dry_tail = float(burst[tail].pow(2).sum())
    tails = []
    for rt60 in (0.2, 0.6):
        wet = reverberate(burst, synthetic_rir(SR, rt60, gen(), drr_db=0.0))
        assert wet.shape == burst.shape
        tails.append(float(wet[tail].pow(2).sum()))
    assert dry_tail == 0.0 and tails[0] > 0.1 and tails[1] > 2 * tails[0]
    out = Augmenter(AugmentConfig.off(p_reverb=1.0)).augment_waveform(burst, SR, gen())
    assert float(out[tail].pow(2).sum()) > 0.05


def test_band_limiting_removes_energy_outside_300_to_3400_hz():
    mix = tone(100.0) + tone(1000.0) + tone(3800.0) + tone(5000.0)
    out = band_limit(mix, SR)
    assert out.shape == mix.shape
    kept = band_energy(out, 990, 1010) / band_energy(mix, 990, 1010)
    assert kept > 0.9
    for lo, hi in ((90, 110), (3790, 3810), (4990, 5010), (3450, 8000), (0, 280)):
        assert band_energy(out, lo, hi) < 1e-4 * band_energy(mix, 990, 1010)
    via_pipeline = Augmenter(AugmentConfig.off(p_telephone=1.0, telephone_mulaw=False))
    assert torch.allclose(via_pipeline.augment_waveform(mix / 4, SR, gen()), band_limit(mix / 4, SR))
    assert not torch.allclose(band_limit(mix / 4, SR, mulaw=True), band_limit(mix / 4, SR), atol=1e-4)


def test_add_noise_at_snr_rejects_mismatched_lengths():
    with pytest.raises(AudioError):
        add_noise_at_snr(tone(300.0), torch.randn(100), 10.0)


# --------------------------------------------------------------------------- SpecAugment

def test_specaugment_masks_the_stated_number_and_width_of_bands():
    mel = torch.randn(16, 80, 300)
    out, f_mask, t_mask = spec_augment(mel, gen(), freq_masks=1, freq_width=(7, 7), time_masks=1,
                                       time_width=(20, 20), time_max_fraction=1.0, return_masks=True)
    assert (f_mask.sum(1) == 7).all() and (t_mask.sum(1) == 20).all()
    fill = mel.mean(dim=(1, 2))
    for b in range(2):  # masked cells hold the example's mean, the rest is untouched
        cells = f_mask[b][:, None] | t_mask[b][None, :]
        assert torch.allclose(out[b][cells], fill[b].expand(int(cells.sum())))
        assert torch.equal(out[b][~cells], mel[b][~cells])
    _, f2, t2 = spec_augment(mel, gen(), freq_masks=3, freq_width=(5, 5), time_masks=2, time_width=(0, 30),
                             time_max_fraction=1.0, return_masks=True)
    assert ((f2.sum(1) >= 5) & (f2.sum(1) <= 15)).all() and (t2.sum(1) <= 60).all()


def test_specaugment_is_per_example_unless_shared_and_stays_inside_lengths():
    mel = torch.randn(8, 80, 200)
    lengths = torch.tensor([200, 150, 100, 60, 200, 150, 100, 60])
    _, f_mask, t_mask = spec_augment(mel, gen(), freq_width=(5, 10), lengths=lengths, return_masks=True)
    assert len({tuple(row.tolist()) for row in f_mask}) > 1
    assert not (t_mask & (torch.arange(200) >= lengths[:, None])).any()
    assert (t_mask.sum(1) <= 2 * (0.2 * lengths).floor()).all()
    _, fs, ts = spec_augment(mel, gen(), freq_width=(5, 10), shared=True, return_masks=True)
    assert (fs == fs[0]).all() and (ts == ts[0]).all()
    assert torch.equal(spec_augment(mel, gen(), p=0.0), mel)


# --------------------------------------------------------------------------- normalisation

def test_normalisation_makes_a_clip_and_its_quieter_copy_equal():
    wave = speechlike(1.0) * 3                                    # peak 0.9
    loud, quiet = log_mel_spectrogram(wave), log_mel_spectrogram(wave / 10)
    assert (loud - quiet).abs().min() > 0.4                       # the raw features differ everywhere
    assert torch.allclose(normalize_features(loud), normalize_features(quiet), atol=1e-4)
    # Quieter still (peak 0.03): Whisper's fixed 1e-10 power clamp now flattens the quietest cells, so
    # "nearly equal" is the honest claim: a few cells move a little, the rest match.
    loud, quiet = log_mel_spectrogram(wave / 3), log_mel_spectrogram(wave / 30)
    diff = (normalize_features(loud) - normalize_features(quiet)).abs()
    assert diff.mean() < 0.01 and diff.max() < 0.25                # vs. 0.5 everywhere before


def test_cmvn_removes_a_fixed_channel_filter_and_ignores_padding():
    mel = torch.randn(2, 80, 120)
    channel = torch.linspace(-1, 1, 80)[None, :, None]            # a per-bin offset: a filter's log gain
    assert torch.allclose(normalize_features(mel + channel), normalize_features(mel), atol=1e-5)
    assert not torch.allclose(normalize_features(mel + channel, mode="utterance"),
                              normalize_features(mel, mode="utterance"), atol=1e-2)
    padded = torch.cat([mel, torch.full((2, 80, 80), -1.5)], dim=-1)
    lengths = frame_lengths(torch.tensor([120 * 160, 120 * 160]), max_frames=200)
    out = normalize_features(padded, lengths)
    assert torch.allclose(out[..., :120], normalize_features(mel), atol=1e-5)
    assert (out[..., 120:] == 0).all()
    real = out[..., :120]
    assert real.mean(-1).abs().max() < 1e-5 and torch.allclose(real.std(-1, unbiased=False), torch.ones(2, 80), atol=1e-4)


# --------------------------------------------------------------------------- shapes, dtypes, errors

@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_shapes_dtypes_and_devices_are_kept(dtype, device):
    wave = speechlike(0.5).to(device, dtype)
    aug = Augmenter(ALL_ON)
    for name in ("pitch", "vtlp", "white noise", "babble", "reverb", "telephone", "gain"):
        out = apply_augmentation(name, wave, SR, 0.6, gen())
        assert out.shape == wave.shape and out.dtype == dtype and out.device == wave.device, name
    out = aug.augment_waveform(wave[None].expand(2, -1), SR, gen())
    assert out.ndim == 2 and out.dtype == dtype and out.device == wave.device and torch.isfinite(out.float()).all()
    mel = torch.randn(3, 80, 50, device=device, dtype=dtype)
    for result in (aug.augment_features(mel, gen()), normalize_features(mel)):
        assert result.shape == mel.shape and result.dtype == dtype and result.device == mel.device


def test_bad_inputs_and_configs_raise_typed_errors():
    aug = Augmenter()
    with pytest.raises(AudioError, match="NaN"):
        aug.augment_waveform(torch.tensor([0.0, float("nan")]), SR, gen())
    with pytest.raises(AudioError, match="floating"):
        aug.augment_waveform(torch.zeros(100, dtype=torch.int16), SR, gen())
    with pytest.raises(AudioError, match="at least one sample"):
        aug.augment_waveform(torch.zeros(0), SR, gen())
    with pytest.raises(ShapeError):
        aug.augment_features(torch.zeros(80), gen())
    with pytest.raises(ShapeError):
        normalize_features(torch.zeros(2, 80, 10), torch.tensor([10]))
    for bad in ({"p_noise": 1.5}, {"speed": (1.2, 1.1)}, {"noise_types": ("purple",)}, {"freq_masks": -1},
                {"snr_db": (float("nan"), 3)}):
        with pytest.raises(ConfigError):
            AugmentConfig(**bad)
    with pytest.raises(ConfigError, match="no field"):
        AugmentConfig.from_dict({"p_wobble": 0.1})
    with pytest.raises(ConfigError):
        apply_augmentation("wobble", tone(100.0), SR, 0.5, gen())
    with pytest.raises(ConfigError):
        normalize_features(torch.zeros(80, 10), mode="loud")


def test_config_round_trips_through_a_dict():
    config = AugmentConfig(p_noise=0.7, snr_db=(0.0, 20.0), noise_types=("pink", "babble"))
    assert AugmentConfig.from_dict(config.to_dict()) == config


# --------------------------------------------------------------------------- lesson-11 views

def test_views_show_the_effect_and_the_widget_redraws():
    import plotly.graph_objects as go

    from echo_edu.viz.augmentation import augmentation_example, augmentation_figure, augmentation_widget, synthetic_vowels

    wave = synthetic_vowels(0.6)
    ex = augmentation_example("telephone", 0.2, wave)
    top = ex["mel_before"].shape[0] * 3 // 4                      # mel bins well above 3.4 kHz
    assert ex["mel_after"][top:].mean() < ex["mel_before"][top:].mean() - 0.3
    fig = augmentation_figure("gain", 1.0, wave)
    assert isinstance(fig, go.Figure) and len(fig.data) == 2
    assert fig.data[1].z.mean() < fig.data[0].z.mean() - 0.5    # 30 dB quieter is darker on a shared scale
    widget = augmentation_widget(wave, augmentation="reverb", strength=0.3)
    widget.controls["augmentation"].value = "vtlp"
    assert "vtlp" in widget.figure.layout.annotations[1].text
    assert widget._repr_mimebundle_()["image/png"][:4] == b"\x89PNG"


def test_scaled_padding_keeps_silence_the_quietest_thing_in_the_clip():
    wave = speechlike(1.0)
    mel = log_mel_spectrogram(torch.cat([wave, torch.zeros(8000)]))[None]     # (1, 80, 150): 50 padded frames
    lengths = torch.tensor([100])
    zero, scaled = normalize_features(mel, lengths), normalize_features(mel, lengths, padding="scale")
    assert torch.equal(zero[..., :100], scaled[..., :100]) and (zero[..., 102:] == 0).all()
    pad = scaled[..., 102:]                                        # past the STFT window's reach
    assert torch.allclose(pad, pad[..., :1].expand_as(pad))          # one constant per bin
    assert (pad[..., 0] <= scaled[..., :100].amin(-1) + 1e-5).all()  # at or below every real frame
    assert pad.mean() < -0.5                                          # clearly not the mean (0)
    with pytest.raises(ConfigError, match="padding"):
        normalize_features(mel, lengths, padding="mean")


# --------------------------------------------------------------------------- corpus augmentation (offline)

def test_noise_hits_the_snr_and_is_seeded():
    t = torch.arange(SR) / SR
    wave = 0.3 * torch.sin(2 * torch.pi * 440 * t)
    noisy = add_noise(wave, 10.0, torch.Generator().manual_seed(0))
    snr = 10 * torch.log10(wave.pow(2).mean() / (noisy - wave).pow(2).mean())
    assert abs(float(snr) - 10.0) < 0.2
    assert torch.equal(noisy, add_noise(wave, 10.0, torch.Generator().manual_seed(0)))
    assert torch.equal(add_noise(torch.zeros(100), 5.0), torch.zeros(100))


def test_gain_speed_and_compose():
    wave = 0.1 * torch.ones(16000)
    assert torch.allclose(apply_gain(wave, 6.0206), 0.2 * torch.ones(16000), atol=1e-4)
    assert apply_gain(wave, 40.0).max() <= 1.0
    assert abs(change_speed(wave, 1.25).numel() - 12800) <= 2
    assert abs(change_speed(wave, 0.8).numel() - 20000) <= 2
    chain = compose(lambda w: apply_gain(w, 6.0206), lambda w: change_speed(w, 2.0))
    out = chain(wave)
    assert abs(out.numel() - 8000) <= 2 and abs(float(out[4000]) - 0.2) < 1e-3


def test_random_augment_is_seeded_and_configurable():
    wave = 0.2 * torch.sin(torch.arange(16000) * 0.05)
    config = CorpusAugmentConfig(p=1.0)
    a, info_a = random_augment(wave, config, torch.Generator().manual_seed(1))
    b, info_b = random_augment(wave, config, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and info_a == info_b and set(info_a) == {"speed", "gain_db", "snr_db"}
    untouched, info = random_augment(wave, CorpusAugmentConfig(p=0.0), torch.Generator().manual_seed(1))
    assert torch.equal(untouched, wave) and info == {}
    with pytest.raises(ConfigError, match="snr_db"):
        CorpusAugmentConfig(snr_db=(30.0, 10.0))


def test_engine_separation_tells_two_families_from_overlapping_curves():
    from echo_edu.viz.augmentation import engine_separation

    gen = torch.Generator().manual_seed(0)
    spread = 0.1 * torch.randn(8, 20, generator=gen)                                  # (N, mels)
    labels = ["a"] * 4 + ["b"] * 4
    apart = spread + torch.tensor([0.0] * 4 + [1.0] * 4)[:, None]                     # b lifted by 1 in every bin
    between, within = engine_separation(apart, labels)
    assert between == pytest.approx(float((apart[4:].mean(0) - apart[:4].mean(0)).norm()))
    assert between / within > 5
    between, within = engine_separation(spread, labels)                                # same family
    assert between / within < 1.5
    with pytest.raises(ShapeError):
        engine_separation(spread, ["a"] * 8)                                           # one kind only
    with pytest.raises(ShapeError):
        engine_separation(spread[0], labels)                                           # not (N, mels)
