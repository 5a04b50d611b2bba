"""Time the metrics on one 720x576 frame (the size of Vid4's calendar).

Prints the median of repeated runs of SSIM (RGB, 3 channels), SSIM on Y, PSNR, and all
per-frame figures (``frame_metrics``), plus the x4 BI degradation and bicubic upscale.
Run: ``.venv/bin/python benchmarks/metrics_speed.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from vidsr.data.degradation import degrade_uint8
from vidsr.data.frames import to_tensor
from vidsr.metrics import frame_metrics, psnr, rgb_to_y, ssim
from vidsr.models import create


def median_ms(function: Callable[[], object], repeats: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 256, (576, 720, 3), dtype=np.uint8)
    sr = np.clip(gt.astype(int) + rng.integers(-20, 21, gt.shape), 0, 255).astype(np.uint8)
    gt_y, sr_y = rgb_to_y(gt), rgb_to_y(sr)
    lr = degrade_uint8(gt, 4, "bi")
    bicubic = create("bicubic", 4)
    lr_tensor = to_tensor(lr)[None, None]
    rows = [
        ("ssim, RGB 720x576", lambda: ssim(sr, gt)),
        ("ssim, Y 720x576", lambda: ssim(sr_y, gt_y)),
        ("psnr, RGB 720x576", lambda: psnr(sr, gt)),
        ("frame_metrics (Y + RGB)", lambda: frame_metrics(sr, gt)),
        ("degrade BI x4 (uint8)", lambda: degrade_uint8(gt, 4, "bi")),
        ("degrade BD x4 (uint8)", lambda: degrade_uint8(gt, 4, "bd")),
        ("bicubic x4 upscale", lambda: bicubic(lr_tensor)),
    ]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeats} runs")
    for name, function in rows:
        print(f"{name:28s} {median_ms(function, args.repeats):8.1f} ms")


if __name__ == "__main__":
    main()
