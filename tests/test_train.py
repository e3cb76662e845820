"""Training: it learns, it refuses bad runs early, it validates by real decoding."""

import math

import pytest
import torch
from torch import nn

from echo_edu.data.collate import IGNORE_INDEX, SpeechCollator, encode_targets
from echo_edu.errors import ConfigError, TrainingError
from echo_edu.text import normalize_text
from echo_edu.tokenizer import build_tokenizer
from echo_edu.train import (StepSampler, TrainConfig, build_optimizer, lr_at, parameter_groups, summarize_info,
                            train)
from training_support import tiny_model, tone_corpus, tone_rows

QUIET = dict(progress=False, log_every=1)


def test_loss_decreases_on_a_tiny_overfit_batch():
    model = tiny_model()
    history = train(model, {"train": tone_rows(4, 0)},
                    TrainConfig(steps=30, batch_size=4, lr=3e-3, warmup_steps=3, **QUIET))
    losses = [r["loss"] for r in history.train]
    assert len(losses) == 30 and all(math.isfinite(x) for x in losses)
    assert losses[0] == pytest.approx(math.log(31), rel=0.25)   # starts near ln(vocab)
    assert losses[-1] < 0.3 * losses[0]


def test_collator_shifts_targets_and_pads_labels_with_ignore_index():
    tok = build_tokenizer()
    collate = SpeechCollator(tok, audio_ctx=25, mels=80, text_ctx=24)
    batch = collate(tone_rows(3, 0))
    assert batch.mel.shape == (3, 80, 50)
    for row in range(3):
        ids = tok.encode(batch.texts[row], add_special_tokens=False)
        n = len(ids)
        assert batch.input_ids[row, :n + 1].tolist() == [1] + ids          # [sot] + tokens
        assert batch.labels[row, :n + 1].tolist() == ids + [2]              # tokens + [eot]
        assert (batch.labels[row, n + 1:] == IGNORE_INDEX).all()
        assert (batch.input_ids[row, n + 1:] == 0).all()
    # truncation keeps inputs and labels aligned (no misplaced <eot>)
    inp, lab = encode_targets(tok, "three four", text_ctx=5, sot_id=1, eot_id=2)
    assert len(inp) == len(lab) == 5 and inp[1:] == lab[:-1] and 2 not in lab


def test_no_weight_decay_on_norms_biases_and_embeddings():
    model = tiny_model()
    decay, no_decay = parameter_groups(model, 0.1)
    assert "decoder.token_embedding.weight" in no_decay["names"]
    params = dict(model.named_parameters())
    assert all(params[n].ndim >= 2 for n in decay["names"])
    assert any("norm" in n for n in no_decay["names"]) and any(n.endswith("bias") for n in no_decay["names"])
    assert any("conv1.weight" in n for n in decay["names"])
    # behaviour: with zero gradients, only the decayed matrices shrink
    config = TrainConfig(lr=0.1, weight_decay=0.5, warmup_steps=0)
    optimizer, _ = build_optimizer(model, config)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    for n, p in model.named_parameters():
        if n in no_decay["names"]:
            assert torch.equal(p, before[n]), n
        elif before[n].abs().sum() > 0:
            assert p.abs().sum() < before[n].abs().sum(), n


def test_learning_rate_warms_up_then_follows_a_cosine():
    config = TrainConfig(steps=110, lr=1e-3, min_lr=1e-5, warmup_steps=10)
    assert lr_at(0, config) == pytest.approx(1e-4)
    assert lr_at(9, config) == pytest.approx(1e-3)
    assert lr_at(60, config) == pytest.approx((1e-3 + 1e-5) / 2)
    assert lr_at(110, config) == pytest.approx(1e-5)
    assert all(lr_at(s, config) >= lr_at(s + 1, config) for s in range(10, 110))


def test_nan_loss_stops_the_run_at_its_step_before_the_weights_change():
    model = tiny_model()
    calls = {"n": 0}

    def poison(module, inputs, output):
        calls["n"] += 1
        if calls["n"] != 3:
            return output
        logits, infos = output if isinstance(output, tuple) else (output, None)
        return (logits * float("nan"), infos) if infos is not None else logits * float("nan")

    model.decoder.register_forward_hook(poison)
    with pytest.raises(TrainingError, match=r"loss became nan at step 3"):
        train(model, {"train": tone_rows(8, 0)}, TrainConfig(steps=5, batch_size=4, **QUIET))
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_unwritable_checkpoint_dir_fails_before_any_training(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    model = tiny_model()
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(TrainingError, match="a_file"):
        train(model, {"train": tone_rows(4, 0)}, TrainConfig(steps=2, batch_size=2, output_dir=str(blocker / "ckpt"),
                                                             **QUIET))
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_clip_longer_than_the_encoder_window_is_refused():
    rows = tone_rows(4, 0)
    import datasets
    ds = datasets.Dataset.from_list([{"text": r["text"], "duration": 2.0, "audio": r["audio"]} for r in rows])
    with pytest.raises(TrainingError, match="audio_ctx"):
        train(tiny_model(), {"train": ds}, TrainConfig(steps=1, batch_size=2, **QUIET))


def test_validation_transcribes_autoregressively_not_teacher_forced():
    from echo_edu.decode import decode

    model = tiny_model()
    corpus = tone_corpus(8, 4)
    seen = []

    def spy(module, args, kwargs):
        if not module.training:
            seen.append(args[0].detach().clone())

    model.decoder.register_forward_pre_hook(spy, with_kwargs=True)
    history = train(model, corpus, TrainConfig(steps=3, batch_size=4, eval_every=3, eval_samples=4, **QUIET))
    assert len(history.eval) == 1 and {"wer", "cer"} <= set(history.eval[0])
    assert seen, "validation never ran the decoder"
    assert seen[0].shape[1] == 1 and (seen[0] == model.dims.decoder_start_token_id).all()  # starts from <sot> alone
    assert all(ids.shape[1] == 1 for ids in seen)                # then one fed-back token per step (KV cache)
    # the reported hypotheses are exactly what greedy decoding produces, normalised as every score is
    collate = SpeechCollator.for_model(model, build_tokenizer())
    mel = collate.features(corpus["validation"][:4])
    texts = decode(model, mel, tokenizer=build_tokenizer()).texts
    assert [h for _, h in history.eval[0]["examples"]] == [normalize_text(t) for t in texts[:3]]


def test_aux_losses_from_the_model_are_trained():
    model = tiny_model()
    model.extra = nn.Parameter(torch.ones(4))
    original = model.forward

    def forward(*args, **kwargs):
        out = original(*args, **kwargs)
        out.aux_loss = out.aux_loss + model.extra.pow(2).sum()   # a regulariser only the aux loss sees
        return out

    model.forward = forward
    train(model, {"train": tone_rows(4, 0)}, TrainConfig(steps=5, batch_size=2, lr=0.05, warmup_steps=0, **QUIET))
    assert model.extra.abs().max() < 0.9


def test_gradient_accumulation_matches_one_big_batch_and_feature_cache_changes_nothing():
    corpus = {"train": tone_rows(8, 0)}
    big, acc, cached = tiny_model(), tiny_model(), tiny_model()
    train(big, corpus, TrainConfig(steps=2, batch_size=4, grad_accum=1, **QUIET))
    train(acc, corpus, TrainConfig(steps=2, batch_size=2, grad_accum=2, **QUIET))
    train(cached, corpus, TrainConfig(steps=2, batch_size=4, cache_features=True, **QUIET))
    for (n, a), b, c in zip(big.named_parameters(), acc.parameters(), cached.parameters()):
        assert torch.allclose(a, b, atol=1e-6), n
        assert torch.equal(a, c), n


def test_step_sampler_is_a_pure_function_of_seed_and_step():
    a, b = StepSampler(10, 4, seed=3), StepSampler(10, 4, seed=3)
    assert [a.indices(s) for s in range(5)] == [b.indices(s) for s in reversed(range(5))][::-1]
    first_epoch = a.indices(0) + a.indices(1) + a.indices(2)[:2]
    assert sorted(first_epoch) == list(range(10))                 # each epoch is a permutation
    assert StepSampler(10, 4, seed=4).indices(0) != a.indices(0)


def test_summarize_info_follows_watched_entries():
    info = {"decoder": [{"self": {"span": torch.tensor([2.0, 4.0]), "weights": torch.ones(3)}}]}
    assert {k: float(v) for k, v in summarize_info(info).items()} == {"decoder.0.self.span": 3.0}


def test_bad_config_is_refused():
    with pytest.raises(ConfigError, match="precision"):
        TrainConfig(precision="fp8").validate()
    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig(batch_size=0).validate()


def test_on_the_fly_augmentation_is_seeded_per_step():
    from echo_edu.augmentation import AugmentConfig, Augmenter
    from echo_edu.data.collate import augment_generator

    tok = build_tokenizer()
    augmenter = Augmenter(AugmentConfig.off(p_gain=1.0, p_specaugment=1.0))
    collate = SpeechCollator(tok, audio_ctx=25, mels=80, text_ctx=24, augmenter=augmenter)
    rows = tone_rows(3, 0)
    config = TrainConfig(augment=AugmentConfig.off(p_gain=1.0, p_specaugment=1.0))
    clean = collate(rows).mel
    a = collate(rows, augment_generator(config.augment, 0, 5, 0, 0)).mel
    b = collate(rows, augment_generator(config.augment, 0, 5, 0, 0)).mel
    c = collate(rows, augment_generator(config.augment, 0, 6, 0, 0)).mel
    assert torch.equal(a, b) and not torch.equal(a, clean) and not torch.equal(a, c)
    history = train(tiny_model(), {"train": rows}, TrainConfig(steps=2, batch_size=3, augment=config.augment, **QUIET))
    assert history.step == 2
