"""Two DDP processes (torchrun, gloo) with batch b make the update of one process with 2b.

Adam with clipping (the shipped setting) cannot tell a summed gradient from the mean: its
update ignores the gradient's scale. SGD without clipping moves the weights by lr times the
gradient, so a sum over the two ranks (twice the mean) would move them twice as far.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_training_helpers import (
    REPO_ROOT,
    TinyVSR,
    make_clips,
    run_vidsr,
    subprocess_env,
    tiny_overrides,
)

from vidsr.training.checkpoint import load_checkpoint
from vidsr.training.logbook import read_metrics

STEPS = 2
OPTIMIZERS = {
    "adam": {"optim.name": "adam", "train.ema": 0.5},  # with a moving average of the weights
    "sgd": {"optim.name": "sgd", "optim.lr": 0.05, "optim.clip_grad": "null"},
}


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_two_ranks_equal_one_process_with_the_whole_batch(tmp_path: Path, optimizer: str) -> None:
    data = make_clips(tmp_path / "data")
    # data.batch_size is the global batch: 2 per rank under torchrun, 4 in one process.
    overrides = lambda run: tiny_overrides(data, run, steps=STEPS, **{  # noqa: E731
        "data.batch_size": 4, "schedule.warmup_steps": 0, "train.log_interval": 1,
        "train.val_interval": STEPS, "train.checkpoint_interval": STEPS, **OPTIMIZERS[optimizer]})
    two = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "vidsr", "train", *overrides(tmp_path / "ddp"), "--quiet"],
        env=subprocess_env(), cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert two.returncode == 0, two.stdout + two.stderr
    one = run_vidsr(["train", *overrides(tmp_path / "single"), "--quiet"])
    assert one.returncode == 0, one.stderr

    ddp, single = load_checkpoint(tmp_path / "ddp" / "last.pt"), load_checkpoint(tmp_path / "single" / "last.pt")
    assert ddp["world_size"] == 2 and single["world_size"] == 1
    assert len(ddp["rng"]) == 2  # every rank's generators are saved
    torch.manual_seed(0)  # the trainer's seed: the initial weights of both runs
    start = TinyVSR(4).state_dict()
    for key, value in single["model"].items():
        moved = (value - start[key]).abs().max().item()
        assert moved > 1e-4, f"{key} hardly moved: the comparison would be vacuous"
        torch.testing.assert_close(ddp["model"][key], value, rtol=1e-5, atol=1e-6)
    if "train.ema" in OPTIMIZERS[optimizer]:  # each rank averages the same weights
        assert ddp["ema_updates"] == single["ema_updates"] == STEPS
        for key, value in single["ema"].items():
            torch.testing.assert_close(ddp["ema"][key], value, rtol=1e-5, atol=1e-6)
    # Rank 0 alone logs: one row per step, and the same losses (mean over the ranks).
    ddp_rows = [r for r in read_metrics(tmp_path / "ddp" / "metrics.jsonl") if r["kind"] == "train"]
    single_rows = [r for r in read_metrics(tmp_path / "single" / "metrics.jsonl") if r["kind"] == "train"]
    assert [r["step"] for r in ddp_rows] == [1, 2]
    assert [r["step"] for r in single_rows] == [1, 2]
    for a, b in zip(ddp_rows, single_rows):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
    # Validation is shared between the ranks and gathered: same scores.
    assert ddp["best"]["psnr_y"] == pytest.approx(single["best"]["psnr_y"], abs=1e-3)
