"""Training speed: samples/s of the real `vidsr train` loop (data loader included).

    .venv/bin/python benchmarks/train_speed.py                       # CPU: fp32 and bf16
    .venv/bin/python benchmarks/train_speed.py --device cuda --precisions fp32 bf16 fp16
    # the recurrence regime:
    .venv/bin/python benchmarks/train_speed.py --window 30 --chunk 10 --gt-patch 256 --batch 8 --warmup 3 --steps 6

Each (model, precision) pair runs :func:`vidsr.training.trainer.train` on clips generated
in a temporary folder (no shared data needed, no validation, one checkpoint at the end),
and the speed is read from the run's ``metrics.jsonl``: training samples (windows of
``--window`` frames, GT patch ``--gt-patch``) per second between the end of the warm-up
steps and the last step. With ``--chunk`` a sample of ``--window`` frames is trained as
window/chunk optimiser steps (truncated BPTT); frames/s and LR megapixels/s (trained output
frames times LR patch area) compare regimes of any window, chunk and patch. The settings
are printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from vidsr.data.frames import write_frame
from vidsr.training.config import load_config
from vidsr.training.environment import hardware_summary
from vidsr.training.logbook import read_metrics
from vidsr.training.precision import cpu_has_native_bf16
from vidsr.training.trainer import train


def make_frames(root: Path, clips: int, frames: int, size: int) -> Path:
    """Noisy moving-gradient clips of ``size`` x ``size`` PNG frames."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    for c in range(clips):
        folder = root / f"clip{c}"
        folder.mkdir(parents=True)
        for t in range(frames):
            base = 127 + 100 * np.sin(0.05 * (xx + 3 * t + 17 * c)) * np.cos(0.07 * yy)
            frame = base[..., None] + rng.normal(0, 10, (size, size, 3))
            write_frame(folder / f"{t:04d}.png", np.clip(frame, 0, 255).astype(np.uint8))
    return root


def measure(model: str, precision: str, args: argparse.Namespace, data: Path, run: Path) -> float:
    """Output frames/s of ``model`` trained in ``precision`` (after ``args.warmup`` steps)."""
    if args.steps % args.warmup:
        raise SystemExit("--steps must be a multiple of --warmup (the log interval)")
    chunk = args.chunk or args.window
    if args.warmup % (args.window // chunk):
        raise SystemExit("--warmup must be a multiple of window / chunk")
    steps = args.warmup + args.steps
    overrides = [
        f"name=bench_{model}_{precision}", f"model.name={model}", "model.scale=4",
        f"data.train_dirs=[{data}]", f"data.window={args.window}", f"data.chunk={chunk}",
        f"data.gt_patch={args.gt_patch}", f"data.batch_size={args.batch}",
        f"data.num_workers={args.workers}", "data.val_split=0",
        f"train.steps={steps}", f"train.precision={precision}", f"train.device={args.device}",
        f"train.log_interval={args.warmup}", f"train.checkpoint_interval={steps}",
        "schedule.warmup_steps=1", f"train.run_dir={run}",
    ]
    train(load_config(None, overrides), quiet=True)
    rows = [r for r in read_metrics(run / "metrics.jsonl") if r["kind"] == "train"]
    first, last = rows[0], rows[-1]
    return (last["step"] - first["step"]) * args.batch * chunk / (last["elapsed_s"] - first["elapsed_s"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["delta", "five_parallel"])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--batch", type=int, default=None, help="default: 4 on CPU, 16 on CUDA")
    parser.add_argument("--window", type=int, default=None, help="default: 5 on CPU, 10 on CUDA")
    parser.add_argument("--chunk", type=int, default=None, help="frames per optimiser step (default: the window)")
    parser.add_argument("--gt-patch", type=int, default=None, help="default: 64 on CPU, 128 on CUDA")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 6 CPU, 100 CUDA)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps (default 2 CPU, 20 CUDA)")
    parser.add_argument("--workers", type=int, default=None, help="default: 0 on CPU, 4 on CUDA")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds (median)")
    args = parser.parse_args()
    cuda = args.device.startswith("cuda")
    defaults = dict(batch=16, window=10, gt_patch=128, steps=100, warmup=20, workers=4) if cuda \
        else dict(batch=4, window=5, gt_patch=64, steps=6, warmup=2, workers=0)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)

    device = torch.device(args.device)
    print(f"vidsr training speed on {hardware_summary(device)}; torch {torch.__version__}, "
          f"python {platform.python_version()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}"
          f", native CPU bf16: {cpu_has_native_bf16()}")
    print(f"settings: x4 BI, batch {args.batch}, window {args.window} frames, GT patch "
          f"{args.gt_patch} (LR {args.gt_patch // 4}), chunk {args.chunk or args.window} frames per "
          f"step, {args.warmup} warm-up + {args.steps} timed "
          f"steps, {args.workers} loader workers, Charbonnier loss, Adam, grad clip 1.0")
    speeds: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="vidsr-bench-") as tmp:
        data = make_frames(Path(tmp) / "data", clips=3, frames=max(12, args.window + 4),
                           size=max(160, args.gt_patch + 32))
        # Rounds interleave the configurations, so that a change in machine load hits all.
        for round_ in range(args.repeats):
            for model in args.models:
                for precision in args.precisions:
                    run = Path(tmp) / f"{model}_{precision}_{round_}"
                    speed = measure(model, precision, args, data, run)
                    speeds.setdefault((model, precision), []).append(speed)
                    print(f"  round {round_ + 1}: {model} {precision}: {speed:.1f} frames/s",
                          file=sys.stderr, flush=True)
    chunk = args.chunk or args.window
    area = (args.gt_patch // 4) ** 2 / 1e6
    print(f"{'model':<14} {'precision':<9} {'samples/s':>10} {'frames/s':>10} {'LR Mpx/s':>9} "
          f"{'s/step':>8}   (median of {args.repeats}; min-max frames/s)")
    for (model, precision), values in speeds.items():
        speed = float(np.median(values))  # output frames per second
        print(f"{model:<14} {precision:<9} {speed / args.window:>10.2f} {speed:>10.1f} "
              f"{speed * area:>9.3f} {args.batch * chunk / speed:>8.3f}   "
              f"({min(values):.1f}-{max(values):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
