"""Training under faults: killed processes resume exactly, NaNs stop the run at their step, and a
checkpoint folder that cannot be written is reported before any training time is spent.

The kill tests really kill: a child process trains and sends itself ``SIGKILL`` (no ``finally``, no
flush), once between steps and once in the middle of writing a checkpoint; a second child resumes from
whatever is on disk. Both runs' final weights must equal an uninterrupted run's, bit for bit. All runs
are child processes with the same thread settings, so floating-point reductions match.
"""

from __future__ import annotations

import errno
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from echo_edu.errors import EchoError, TrainingError

train_mod = pytest.importorskip("echo_edu.train")
train_state = pytest.importorskip("echo_edu.train_state")
from echo_edu.train import TrainConfig, train  # noqa: E402
from training_support import tiny_model, tone_corpus, tone_rows  # noqa: E402

TESTS = Path(__file__).resolve().parent
QUIET = dict(progress=False, log_every=1)
STEPS, SAVE_EVERY = 8, 2

CHILD = textwrap.dedent("""
    import json, os, signal, sys
    import torch
    torch.set_num_threads(1)
    from safetensors.torch import save_file
    import echo_edu.train_state as train_state
    from echo_edu.train import TrainConfig, train
    from training_support import tiny_model, tone_corpus

    out_dir, result, kill_at_step, kill_in_save = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    events = []

    def on_record(event, record, model):
        if event == "train":
            events.append(record["step"])
            if record["step"] == kill_at_step:
                os.kill(os.getpid(), signal.SIGKILL)      # no cleanup, no flush: like a power cut

    if kill_in_save:
        real_save, saves = train_state.save_file, []
        def dying_save(tensors, filename, *args, **kwargs):
            saves.append(filename)
            if len(saves) == kill_in_save:           # the Nth checkpoint: half a file, then death
                real_save(tensors, filename, *args, **kwargs)
                with open(filename, "r+b") as f:
                    f.truncate(os.path.getsize(filename) // 2)
                os.kill(os.getpid(), signal.SIGKILL)
            return real_save(tensors, filename, *args, **kwargs)
        train_state.save_file = dying_save

    model = tiny_model(dropout=0.1)                  # dropout: the run depends on the RNG state too
    config = TrainConfig(steps=%(steps)d, batch_size=4, lr=3e-3, warmup_steps=2, save_every=%(save_every)d,
                         output_dir=out_dir if out_dir != "-" else None, progress=False, log_every=1)
    history = train(model, tone_corpus(10, 4), config, callbacks=[on_record])
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, result)
    print(json.dumps({"first_new_step": events[0] if events else None, "steps": history.step,
                      "losses": [r["loss"] for r in history.train]}))
""") % {"steps": STEPS, "save_every": SAVE_EVERY}


def run_child(out_dir: str, result: Path, kill_at_step: int = 0, kill_in_save: int = 0):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    return subprocess.run([sys.executable, "-c", CHILD, out_dir, str(result), str(kill_at_step), str(kill_in_save)],
                          capture_output=True, text=True, timeout=600, env=env)


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file
    return load_file(str(path))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The reference: the same run, never interrupted, no checkpoints."""
    folder = tmp_path_factory.mktemp("reference")
    run = run_child("-", folder / "final.safetensors")
    assert run.returncode == 0, run.stderr[-3000:]
    return load_weights(folder / "final.safetensors"), json.loads(run.stdout.strip().splitlines()[-1])


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]):
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"weights differ from the uninterrupted run: {different[:5]}"


@pytest.mark.slow
def test_killed_between_steps_resumes_to_the_uninterrupted_result(tmp_path, uninterrupted):
    ref_weights, ref = uninterrupted
    killed = run_child(str(tmp_path / "run"), tmp_path / "never.safetensors", kill_at_step=5)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    ckpt = train_state.find_checkpoint(tmp_path / "run")
    assert ckpt is not None and json.loads((ckpt / "training_state.json").read_text())["step"] == 4
    resumed = run_child(str(tmp_path / "run"), tmp_path / "final.safetensors")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    facts = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert facts["first_new_step"] == 5 and facts["steps"] == STEPS       # it resumed, it did not start over
    assert facts["losses"] == ref["losses"]
    assert_same_weights(load_weights(tmp_path / "final.safetensors"), ref_weights)


@pytest.mark.slow
def test_killed_while_writing_a_checkpoint_resumes_from_the_previous_one(tmp_path, uninterrupted):
    ref_weights, ref = uninterrupted
    killed = run_child(str(tmp_path / "run"), tmp_path / "never.safetensors", kill_in_save=2)   # the step-4 save
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    ckpt = train_state.find_checkpoint(tmp_path / "run")
    assert ckpt is not None, sorted(p.name for p in (tmp_path / "run").iterdir())
    assert json.loads((ckpt / "training_state.json").read_text())["step"] == 2   # the half-written one is not used
    resumed = run_child(str(tmp_path / "run"), tmp_path / "final.safetensors")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    facts = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert facts["first_new_step"] == 3
    assert facts["losses"] == ref["losses"]
    assert_same_weights(load_weights(tmp_path / "final.safetensors"), ref_weights)


CONFIG = dict(steps=6, batch_size=4, lr=3e-3, warmup_steps=2, **QUIET)


def test_crash_between_the_two_renames_keeps_the_last_checkpoint(tmp_path):
    """``save_training_state`` moves the old checkpoint aside, then renames the new one into place. A
    crash between the two leaves only ``checkpoint.old-*`` (complete) and ``checkpoint.tmp-*``: the
    next run must resume from one of them, not silently start from step 0."""
    corpus = tone_corpus(10, 4)
    out = tmp_path / "run"
    train(tiny_model(), corpus, TrainConfig(**CONFIG, output_dir=str(out), save_every=2, stop_at=4))
    ckpt = out / train_state.CHECKPOINT_NAME
    ckpt.rename(out / f"{train_state.CHECKPOINT_NAME}.old-deadbeef")     # the state right after the first rename
    seen = []
    train(tiny_model(seed=5), corpus, TrainConfig(**CONFIG, output_dir=str(out), save_every=2),
          callbacks=[lambda event, record, model: seen.append(record["step"]) if event == "train" else None])
    assert seen and seen[0] == 5, f"the run started again at step {seen[0] if seen else None} instead of resuming at 5"


# ----------------------------------------------------------------------------- NaN and Inf

def test_nan_weights_mid_run_stop_at_the_next_step_without_touching_the_weights():
    model = tiny_model()

    def poison(event, record, module):
        if event == "train" and record["step"] == 2:
            with torch.no_grad():
                module.decoder.token_embedding.weight[5, 0] = float("nan")

    with pytest.raises(TrainingError) as info:
        train(model, {"train": tone_rows(8, 0)}, TrainConfig(steps=6, batch_size=4, **QUIET), callbacks=[poison])
    message = str(info.value)
    assert "step 3" in message and "nan" in message.lower(), message
    finite = [n for n, p in model.named_parameters() if n != "decoder.token_embedding.weight"]
    assert all(torch.isfinite(dict(model.named_parameters())[n]).all() for n in finite)


def test_infinite_gradient_is_reported_with_its_step():
    model = tiny_model()
    calls = {"n": 0}
    weight = model.encoder.conv1.weight

    def blow_up(grad):
        calls["n"] += 1
        return grad * float("inf") if calls["n"] == 4 else grad

    weight.register_hook(blow_up)
    before = {}

    def remember(event, record, module):
        if event == "train" and record["step"] == 3:
            before.update({n: p.detach().clone() for n, p in module.named_parameters()})

    with pytest.raises(TrainingError, match=r"step 4") as info:
        train(model, {"train": tone_rows(8, 0)}, TrainConfig(steps=6, batch_size=4, **QUIET), callbacks=[remember])
    assert "gradient" in str(info.value) or "inf" in str(info.value) or "nan" in str(info.value)
    for name, p in model.named_parameters():
        assert torch.equal(p, before[name]), f"{name} changed on the step that failed"


def test_diverging_learning_rate_is_caught_not_propagated():
    model = tiny_model()
    try:
        history = train(model, {"train": tone_rows(8, 0)},
                        TrainConfig(steps=15, batch_size=4, lr=1e6, warmup_steps=0, grad_clip=0.0, **QUIET))
    except TrainingError as exc:
        assert "step" in str(exc)
    else:
        assert all(math.isfinite(r["loss"]) for r in history.train)
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())


def test_nan_audio_in_the_corpus_is_a_typed_error():
    rows = tone_rows(8, 0)
    rows[3]["audio"]["array"] = rows[3]["audio"]["array"].copy()
    rows[3]["audio"]["array"][100] = float("nan")
    with pytest.raises(EchoError) as info:
        train(tiny_model(), {"train": rows}, TrainConfig(steps=4, batch_size=8, **QUIET))
    assert "NaN" in str(info.value)


# ----------------------------------------------------------------------------- checkpoint folders

def _assert_refused_before_training(output_dir: str, match: str):
    model = tiny_model()
    before = [p.detach().clone() for p in model.parameters()]
    events = []
    with pytest.raises(TrainingError, match=match):
        train(model, {"train": tone_rows(4, 0)}, TrainConfig(steps=3, batch_size=2, output_dir=output_dir, **QUIET),
              callbacks=[lambda *a: events.append(a)])
    assert events == [], "training ran before the checkpoint folder was checked"
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_checkpoint_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        _assert_refused_before_training(str(folder / "run"), "locked")
    finally:
        folder.chmod(0o700)


def test_checkpoint_folder_nobody_can_create():
    _assert_refused_before_training("/proc/echo_edu_cannot_be_here/run", "echo_edu_cannot_be_here")


def test_disk_full_is_reported_before_training(tmp_path, monkeypatch):
    real = Path.write_bytes

    def full(self, data):
        if ".write-test" in self.name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    _assert_refused_before_training(str(tmp_path / "full"), "full")


def test_disk_full_while_saving_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    out = tmp_path / "run"
    corpus = tone_corpus(10, 4)
    calls = {"n": 0}
    real = train_state.save_file

    def fill_up(tensors, filename, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:       # the second checkpoint (step 4) hits a full disk
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), filename)
        return real(tensors, filename, *args, **kwargs)

    monkeypatch.setattr(train_state, "save_file", fill_up)
    with pytest.raises(TrainingError, match=r"step 4") as info:
        train(tiny_model(), corpus, TrainConfig(**CONFIG, output_dir=str(out), save_every=2))
    assert "checkpoint" in str(info.value)
    ckpt = train_state.find_checkpoint(out)
    assert ckpt is not None and json.loads((ckpt / "training_state.json").read_text())["step"] == 2
    assert [p.name for p in out.iterdir() if ".tmp-" in p.name] == [], "a half-written checkpoint was left behind"
