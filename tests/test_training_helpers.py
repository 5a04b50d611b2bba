"""Helpers shared by the training tests: a tiny recurrent model, clips on disk, a config.

``TinyVSR`` follows the :class:`VSRModel` contract (per-frame ``encode``, a recurrent
``cell`` over a 3-frame window, bicubic skip), so the trainer is tested on a real
streaming model that costs milliseconds. Subprocess tests reach it as
``test_training_helpers:TinyVSR`` with ``tests/`` on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidsr.data.frames import write_frame
from vidsr.models.base import ModelFacts, VSRModel

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
TINY = "test_training_helpers:TinyVSR"


class TinyVSR(VSRModel):
    """Conv over 3 LR frames and a 4-channel hidden state, PixelShuffle, bicubic skip."""

    facts = ModelFacts(
        single_cnn=False, multiple_2d_stacks=False, recurrent_2d=True, recurrent_3d=False,
        output_range_controlled=False,
    )
    radius = 1

    def __init__(self, scale: int = 4) -> None:
        super().__init__(scale)
        self.body = nn.Conv2d(3 * 3 + 4, 4 + 3 * scale * scale, 3, padding=1)

    def init_hidden(self, batch: int, height: int, width: int, like: Tensor) -> Tensor:
        return like.new_zeros(batch, 4, height, width)

    def cell(self, window: Tensor, hidden: Tensor) -> tuple[Tensor, Tensor]:
        batch, count, channels, height, width = window.shape
        features = self.body(torch.cat([window.reshape(batch, count * channels, height, width),
                                        hidden.to(window.dtype)], dim=1))
        centre = window[:, count // 2]
        base = F.interpolate(centre, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return base + F.pixel_shuffle(features[:, 4:], self.scale), torch.tanh(features[:, :4])


def make_clips(root: Path, clips: int = 3, frames: int = 8, size: int = 96, seed: int = 0) -> Path:
    """Write ``clips`` folders of smooth moving PNG frames (``size`` x ``size``) under root."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    for c in range(clips):
        folder = root / f"clip{c}"
        folder.mkdir(parents=True)
        freq = rng.uniform(0.05, 0.3, size=(3, 2))
        phase = rng.uniform(0, 6.28, size=3)
        for t in range(frames):
            channels = [
                127.5 + 100 * np.sin(freq[k, 0] * (xx + 2 * t) + freq[k, 1] * yy + phase[k])
                for k in range(3)
            ]
            noise = rng.normal(0, 8, size=(size, size, 3))
            frame = np.clip(np.stack(channels, axis=-1) + noise, 0, 255).round().astype(np.uint8)
            write_frame(folder / f"{t:05d}.png", frame)
    return root


def tiny_overrides(data: Path, run_dir: Path, steps: int = 6, **extra: object) -> list[str]:
    """``key=value`` overrides for a fast run of the tiny model on :func:`make_clips` data."""
    values: dict[str, object] = {
        "name": "tiny",
        "model.name": TINY,
        "model.scale": 4,
        "data.train_dirs": f"[{data}]",
        "data.window": 3,
        "data.gt_patch": 32,
        "data.batch_size": 4,
        "data.num_workers": 0,
        "data.val_split": 1,
        "val.crop": 48,
        "val.max_frames": 4,
        "val.chunk": 3,
        "optim.lr": 1e-3,
        "schedule.warmup_steps": 2,
        "train.steps": steps,
        "train.precision": "fp32",
        "train.log_interval": 2,
        "train.val_interval": 3,
        "train.checkpoint_interval": 4,  # a multiple of the log interval (config rule)
        "train.device": "cpu",
        "train.run_dir": str(run_dir),
    }
    values.update(extra)
    return [f"{key}={value}" for key, value in values.items()]


def subprocess_env(threads: int = 1) -> dict[str, str]:
    """Environment for a child ``python -m vidsr``: tests/ importable, fixed thread count."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["OMP_NUM_THREADS"] = str(threads)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_vidsr(args: list[str], timeout: float = 120, env: dict[str, str] | None = None,
              **kwargs: object) -> subprocess.CompletedProcess:
    """``python -m vidsr ARGS`` in a child process (tiny model importable; ``env``: extra
    variables)."""
    return subprocess.run(
        [sys.executable, "-m", "vidsr", *args], env={**subprocess_env(), **(env or {})}, cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=timeout, **kwargs,
    )


def test_tiny_model_streams_like_forward() -> None:
    """The helper model honours the streaming contract the trainer's validation relies on."""
    torch.manual_seed(0)
    model = TinyVSR(4).eval()
    lr = torch.rand(1, 5, 3, 8, 8)
    with torch.inference_mode():
        whole = model(lr)
        streamer = model.streamer()
        parts = [streamer.push(lr[:, i : i + 2]) for i in range(0, 5, 2)] + [streamer.flush()]
    assert whole.shape == (1, 5, 3, 32, 32)
    torch.testing.assert_close(torch.cat(parts, dim=1), whole)
