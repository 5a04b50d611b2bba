"""A run killed with SIGKILL and resumed ends bit-identical to a run that never stopped.

Killed from outside just after its first checkpoint appears, and from inside through the
test hook ``VIDSR_TEST_KILL_AT=<point>:<step>`` (:func:`vidsr.training.checkpoint.kill_point`)
at seeded random steps: after an update, half-way through writing a checkpoint, during
validation; several times over one run.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from test_training_helpers import REPO_ROOT, make_clips, run_vidsr, subprocess_env, tiny_overrides

from vidsr.training.checkpoint import KILL_AT, load_checkpoint
from vidsr.training.logbook import read_metrics

STEPS = 60  # long enough that the kill lands mid-run even on a loaded machine
CHECKPOINT, VAL = 4, 10  # intervals; the log interval is 2


def _overrides(data: Path, run_dir: Path, workers: int) -> list[str]:
    return tiny_overrides(data, run_dir, steps=STEPS, **{
        "data.num_workers": workers, "train.checkpoint_interval": CHECKPOINT,
        "train.log_interval": 2, "train.val_interval": VAL, "val.max_frames": 3})


def _rows(run_dir: Path) -> list[tuple]:
    return [tuple(r[key] for key in ("kind", "step", "loss", "lr", "psnr_y", "best") if key in r)
            for r in read_metrics(run_dir / "metrics.jsonl")]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clips(tmp_path_factory.mktemp("resume") / "data")


@pytest.fixture(scope="module")
def workers(request: pytest.FixtureRequest) -> int:
    """Loader processes, from each test's indirect parametrization."""
    return request.param


def with_workers(*counts: int) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("workers", counts, indirect=True, ids=lambda n: f"workers{n}")


@pytest.fixture(scope="module")
def straight(data: Path, workers: int, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run that never stopped."""
    run_dir = tmp_path_factory.mktemp("straight")
    done = run_vidsr(["train", *_overrides(data, run_dir, workers), "--quiet"])
    assert done.returncode == 0, done.stderr
    return run_dir


def _assert_same_run(straight: Path, killed: Path) -> None:
    a, b = load_checkpoint(straight / "last.pt"), load_checkpoint(killed / "last.pt")
    assert a["step"] == b["step"] == STEPS
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), f"{key} differs after resume"
    for key, value in a["optimizer"]["state"][0].items():
        assert torch.equal(value, b["optimizer"]["state"][0][key]), f"Adam {key} differs"
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"] == STEPS
    assert a["best"] == b["best"]
    # The metrics log reads as one run: rows past the checkpoint were replaced, not doubled.
    assert _rows(straight) == _rows(killed)


@pytest.mark.slow
@with_workers(0, 2)
def test_sigkill_then_resume_equals_uninterrupted_run(
    data: Path, workers: int, straight: Path, tmp_path: Path
) -> None:
    killed = tmp_path / "killed"
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

    _assert_same_run(straight, killed)
    assert (killed / f"env-resume-{interrupted_at}.json").is_file()
    # The resumed run did train: its final weights are not the ones it was killed with.
    final = load_checkpoint(killed / "last.pt")["model"]
    assert not all(torch.equal(v, final[k]) for k, v in middle["model"].items())


def _kill_points(seed: int) -> list[tuple[str, int]]:
    """Two kills after an update, one in a checkpoint write, one in validation: seeded
    random steps, all different, in run order."""
    rng = random.Random(seed)
    steps = {"step": range(1, STEPS), "checkpoint-write": range(CHECKPOINT, STEPS, CHECKPOINT),
             "validation": range(VAL, STEPS, VAL)}
    while True:
        points = [(point, rng.choice(steps[point]))
                  for point in ("step", "step", "checkpoint-write", "validation")]
        if len({step for _, step in points}) == len(points):
            return sorted(points, key=lambda point: point[1])


@pytest.mark.slow
@with_workers(0)  # the test above resumes with loader workers too
def test_kills_at_random_points_then_resume_equal_uninterrupted_run(
    data: Path, workers: int, straight: Path, tmp_path: Path
) -> None:
    killed = tmp_path / "killed"
    args = ["train", *_overrides(data, killed, workers), "--quiet"]
    resumed_from = set()
    for point, step in _kill_points(seed=workers):
        where = f"{point}:{step}"
        temporaries = set(killed.glob(".*.tmp"))
        run = run_vidsr(args, env={KILL_AT: where})
        assert run.returncode == -signal.SIGKILL, f"not killed at {where}: {run.stderr}"
        # The last complete checkpoint survives (a fresh start where there is none yet).
        saved = load_checkpoint(killed / "last.pt")["step"] if (killed / "last.pt").exists() else 0
        assert saved <= step, where
        if point == "checkpoint-write":
            assert saved < step and set(killed.glob(".*.tmp")) > temporaries, "not killed mid-write"
        resumed_from.add(saved)
        args = ["train", "--resume", "--run-dir", str(killed), "--quiet"]
    done = run_vidsr(args)
    assert done.returncode == 0, done.stderr
    _assert_same_run(straight, killed)
    assert {int(p.stem.rsplit("-", 1)[1]) for p in killed.glob("env-resume-*.json")} == resumed_from - {0}
