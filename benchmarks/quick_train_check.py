"""A few hundred training steps per model: does each architecture learn, and how fast?

    .venv/bin/python benchmarks/quick_train_check.py delta --steps 300
    .venv/bin/python benchmarks/quick_train_check.py fsrcnn previous delta five_parallel

A design check, not a training recipe (use ``vidsr train`` for that): x4 BI, Adam with a
one-cycle schedule (peak 1e-3), Charbonnier loss, batches of 4 clips x 6 frames of 96x96 GT
crops from the first 40 frames of six DAVIS training clips, one thread. Prints the Y-PSNR
(BT.601, no border crop) on a held-out DAVIS clip (car-roundabout, first 12 frames, centre
256x256 crop), never on Vid4. Needs ``../shared/data``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from vidsr.data.degradation import degrade
from vidsr.data.frames import list_frames, read_clip, to_tensor, to_uint8
from vidsr.metrics.image import psnr, rgb_to_y
from vidsr.models import create

DAVIS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "train" / "davis2016_480p"
TRAIN_CLIPS = ["blackswan", "bmx-trees", "breakdance", "camel", "dog", "goat"]
VAL_CLIP = "car-roundabout"


def y_psnr(model, lr: torch.Tensor, gt: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        sr = model(lr[None])[0]
    model.train()
    pairs = zip(to_uint8(sr), to_uint8(gt), strict=True)
    return float(np.mean([psnr(rgb_to_y(a), rgb_to_y(b)) for a, b in pairs]))


def run(name: str, steps: int, peak_lr: float, clips: list[torch.Tensor], val_lr, val_gt) -> None:
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    model = create(name, 4, pretrained=False)
    optimiser = torch.optim.Adam(model.parameters(), lr=peak_lr, betas=(0.9, 0.99))
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=peak_lr, total_steps=steps, pct_start=0.05
    )
    frames, patch, batch = 6, 96, 4
    start = time.perf_counter()
    print(f"{name}: untrained {y_psnr(model, val_lr, val_gt):.3f} dB", flush=True)
    for step in range(1, steps + 1):
        crops = []
        for _ in range(batch):
            clip = clips[rng.integers(len(clips))]
            t = rng.integers(clip.shape[0] - frames)
            y = rng.integers(clip.shape[2] - patch)
            x = rng.integers(clip.shape[3] - patch)
            crop = clip[t : t + frames, :, y : y + patch, x : x + patch]
            if rng.random() < 0.5:
                crop = crop.flip(-1)
            if rng.random() < 0.5:
                crop = crop.flip(0)
            crops.append(crop)
        gt = torch.stack(crops)
        out = model(degrade(gt, 4))
        loss = torch.sqrt((out - gt) ** 2 + 1e-6).mean()
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        if step % max(1, steps // 5) == 0:
            elapsed = time.perf_counter() - start
            score = y_psnr(model, val_lr, val_gt)
            print(f"{name}: step {step} val Y-PSNR {score:.3f} dB ({elapsed:.0f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("models", nargs="+")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if not DAVIS.is_dir():
        raise SystemExit(f"DAVIS frames not found at {DAVIS}")
    torch.set_num_threads(args.threads)
    clips = [to_tensor(read_clip(list_frames(DAVIS / name)[:40])) for name in TRAIN_CLIPS]
    val_gt = to_tensor(read_clip(list_frames(DAVIS / VAL_CLIP)[:12]))[:, :, 112:368, 299:555]
    val_lr = degrade(val_gt, 4)
    for name in args.models:
        run(name, args.steps, args.lr, clips, val_lr, val_gt)


if __name__ == "__main__":
    main()
