"""A run killed with SIGKILL and resumed ends bit-identical to a run that never stopped."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from test_training_helpers import REPO_ROOT, make_clips, run_vidsr, subprocess_env, tiny_overrides

from vidsr.training.checkpoint import load_checkpoint
from vidsr.training.logbook import read_metrics

STEPS = 60  # long enough that the kill lands mid-run even on a loaded machine


def _overrides(data: Path, run_dir: Path, workers: int) -> list[str]:
    return tiny_overrides(data, run_dir, steps=STEPS, **{
        "data.num_workers": workers, "train.checkpoint_interval": 4, "train.log_interval": 2,
        "train.val_interval": 30, "val.max_frames": 3})


def _train_rows(run_dir: Path) -> list[tuple]:
    return [(r["step"], r["loss"], r["lr"]) for r in read_metrics(run_dir / "metrics.jsonl")
            if r["kind"] == "train"]


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
def test_sigkill_then_resume_equals_uninterrupted_run(tmp_path: Path, workers: int) -> None:
    data = make_clips(tmp_path / "data")
    straight, killed = tmp_path / "straight", tmp_path / "killed"

    done = run_vidsr(["train", *_overrides(data, straight, workers), "--quiet"])
    assert done.returncode == 0, done.stderr

    process = subprocess.Popen(
        [sys.executable, "-m", "vidsr", "train", *_overrides(data, killed, workers), "--quiet"],
        env=subprocess_env(), cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not (killed / "last.pt").exists():
        assert process.poll() is None, f"run ended before its first checkpoint: {process.stderr.read()}"
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    middle = load_checkpoint(killed / "last.pt")
    interrupted_at = middle["step"]
    assert 0 < interrupted_at < STEPS

    resumed = run_vidsr(["train", "--resume", "--run-dir", str(killed), "--quiet"])
    assert resumed.returncode == 0, resumed.stderr

    a, b = load_checkpoint(straight / "last.pt"), load_checkpoint(killed / "last.pt")
    assert a["step"] == b["step"] == STEPS
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), f"{key} differs after resume"
    for key, value in a["optimizer"]["state"][0].items():
        assert torch.equal(value, b["optimizer"]["state"][0][key]), f"Adam {key} differs"
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"] == STEPS
    assert a["best"]["psnr_y"] == b["best"]["psnr_y"]
    # The metrics log reads as one run: rows past the checkpoint were replaced, not doubled.
    assert _train_rows(straight) == _train_rows(killed)
    assert (killed / f"env-resume-{interrupted_at}.json").is_file()
    # The resumed run did train: its final weights are not the ones it was killed with.
    assert not all(torch.equal(v, b["model"][k]) for k, v in middle["model"].items())
