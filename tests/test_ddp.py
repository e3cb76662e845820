"""Data parallelism: 2 CPU processes (gloo) give the same update as 1 process on the combined batch, and
a checkpointed 2-process run resumes exactly (each rank gets its own random state back)."""

import os

import pytest
import torch
import torch.multiprocessing as mp

from echo_edu.train import TrainConfig, train
from training_support import tiny_model, tone_rows

STEPS = 2
CTC_RUN = dict(steps=1, batch_size=2, device="cpu", progress=False, log_every=1)


def _worker(rank: int, world: int, init_file: str, out_dir: str) -> None:
    import torch.distributed as dist
    from safetensors.torch import save_file

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        model = tiny_model()
        # the rows have transcripts of different lengths, so the ranks see different token counts
        train(model, {"train": tone_rows(8, 0)}, TrainConfig(steps=STEPS, batch_size=2, device="cpu", progress=False))
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(out_dir, f"rank{rank}.st"))
        # with dropout every rank draws its own masks: a resumed data-parallel run must restore each rank's RNG
        resume = dict(steps=4, batch_size=2, device="cpu", progress=False)
        straight = tiny_model(dropout=0.2)
        train(straight, {"train": tone_rows(8, 0)}, TrainConfig(**resume))
        ckpt = os.path.join(out_dir, "ckpt")
        train(tiny_model(dropout=0.2), {"train": tone_rows(8, 0)}, TrainConfig(**resume, output_dir=ckpt, stop_at=2))
        resumed = tiny_model(seed=7, dropout=0.2)
        train(resumed, {"train": tone_rows(8, 0)}, TrainConfig(**resume, output_dir=ckpt))
        same = all(torch.equal(a, b) for a, b in zip(straight.parameters(), resumed.parameters()))
        open(os.path.join(out_dir, f"resume{rank}.txt"), "w").write(str(same))
        joint = train(tiny_model(ctc_weight=0.3), {"train": tone_rows(8, 0)}, TrainConfig(**CTC_RUN))
        open(os.path.join(out_dir, f"ctc{rank}.txt"), "w").write(repr(joint.train[0]["ctc_loss"]))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_processes_match_one_process_on_the_combined_batch(tmp_path):
    from safetensors.torch import load_file

    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    single = tiny_model()
    train(single, {"train": tone_rows(8, 0)}, TrainConfig(steps=STEPS, batch_size=4, device="cpu", progress=False))
    expected = single.state_dict()
    ranks = [load_file(str(tmp_path / f"rank{r}.st")) for r in range(2)]
    for name, value in expected.items():
        assert torch.equal(ranks[0][name], ranks[1][name]), f"ranks disagree on {name}"
        assert torch.allclose(ranks[0][name], value, atol=1e-6, rtol=1e-5), name
    assert not torch.equal(ranks[0]["decoder.token_embedding.weight"], tiny_model().decoder.token_embedding.weight)
    assert [(tmp_path / f"resume{r}.txt").read_text() for r in range(2)] == ["True", "True"], \
        "a resumed 2-process run differs from the uninterrupted one"
    # the logged CTC loss covers both ranks' examples, as one process on the combined batch logs it
    one = train(tiny_model(ctc_weight=0.3), {"train": tone_rows(8, 0)}, TrainConfig(**{**CTC_RUN, "batch_size": 4}))
    for r in range(2):
        assert float((tmp_path / f"ctc{r}.txt").read_text()) == pytest.approx(one.train[0]["ctc_loss"], rel=1e-5)
