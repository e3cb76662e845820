"""Shared test setup: offline, deterministic, CPU-friendly."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ECHO_EDU_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import atexit
import shutil
import tempfile

import pytest
import torch

import notebook_rerun
import xdist_order

# A fresh echo_edu cache per test session, one folder per xdist worker: lessons start from a cold cache,
# as on a new machine, and a lesson's rerun (notebook_rerun) sees only what runs in its own worker left.
# A cache shared by both workers made lessons rerun over files the other worker's lessons were writing
# at the same time (2 of 6 reruns in one measured run), which tests nothing about the lesson itself.
if "ECHO_EDU_CACHE" not in os.environ:
    os.environ["ECHO_EDU_CACHE"] = os.environ["ECHO_EDU_TEST_CACHE"] = tempfile.mkdtemp(prefix="echo-edu-test-cache-")
    atexit.register(shutil.rmtree, os.environ["ECHO_EDU_CACHE"], ignore_errors=True)
if os.environ.get("PYTEST_XDIST_WORKER") and os.environ["ECHO_EDU_CACHE"] == os.environ.get("ECHO_EDU_TEST_CACHE"):
    os.environ["ECHO_EDU_CACHE"] = os.path.join(os.environ["ECHO_EDU_TEST_CACHE"], os.environ["PYTEST_XDIST_WORKER"])

# One thread per process: the test command runs one pytest worker per core (pytest -n 2), and on a
# loaded 2-core machine two threads per worker were measured up to 30x slower than one.
torch.set_num_threads(1)



def pytest_configure(config):
    # a plugin, not hooks of this conftest: per-item hooks here would only see items under tests/
    config.pluginmanager.register(notebook_rerun, "echo-edu-notebook-rerun")
    config.pluginmanager.register(xdist_order, "echo-edu-xdist-order")


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    """Run a test on every available device (CPU always, CUDA when present)."""
    return torch.device(request.param)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """A tiny untrained Echo saved with ``save_pretrained`` (what ``echo-edu ... --model DIR`` reads)."""
    from echo_edu import Dimensions, Echo

    folder = tmp_path_factory.mktemp("model")
    torch.manual_seed(0)
    Echo(Dimensions.tiny(text_ctx=12)).save_pretrained(folder)
    return folder
