"""How much do the recurrent models use the past? PSNR-Y with and without their memory.

    .venv/bin/python benchmarks/temporal_memory.py                  # shipped x4 BI weights, DAVIS validation clips
    .venv/bin/python benchmarks/temporal_memory.py --models delta --weights delta=run.safetensors

Every frame t (from frame ``--skip`` on, so that every variant has a full window) is
super-resolved three ways and scored against the ground truth (Y, BT.601, uint8):

* **full**: the whole clip streamed, as ``vidsr upscale`` does (state carried from frame 0);
* **window only**: a clip of the model's own window ``t-r .. t+r`` alone, so the recurrent
  state has seen only the ``r`` frames before t;
* **no past**: a clip ``t .. t+r`` alone (the first frame replicated backwards, as at the
  start of every video), so nothing before t reaches the output.

"memory" = full - window only (what the state carries beyond the window), "past" = full - no
past (everything earlier frames give). A network whose "past" is near 0 is a single-frame
network with look-ahead, whatever its recurrent parts. The clips are the training
validation split (never Vid4), centre-cropped like the trainer's validation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from vidsr.metrics.image import psnr, rgb_to_y
from vidsr.models import create
from vidsr.training.data import discover_clips, load_clip, validation_clips

DEFAULT_DATA = "../shared/data/train/davis2016_480p"
DEFAULT_CLIPS = "car-roundabout,kite-surf"


def to_y(frames: torch.Tensor) -> list[np.ndarray]:
    """``(T, 3, H, W)`` float frames -> Y planes of their uint8 rounding."""
    images = (frames.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return [rgb_to_y(image) for image in images]


def clip_psnr(model: torch.nn.Module, lr: torch.Tensor, gt: list[np.ndarray], skip: int) -> dict[str, float]:
    """Mean PSNR-Y over frames ``skip..`` of ``lr`` ``(T, 3, h, w)`` for the three variants."""
    radius = model.radius
    frames = len(gt)
    with torch.inference_mode():
        full = to_y(model(lr[None])[0])
        window = [to_y(model(lr[None, t - radius : t + radius + 1])[0, radius : radius + 1])[0]
                  for t in range(skip, frames)]
        alone = [to_y(model(lr[None, t : t + radius + 1])[0, :1])[0] for t in range(skip, frames)]
    truth = gt[skip:]
    return {
        "full": float(np.mean([psnr(a, b) for a, b in zip(full[skip:], truth, strict=True)])),
        "window only": float(np.mean([psnr(a, b) for a, b in zip(window, truth, strict=True)])),
        "no past": float(np.mean([psnr(a, b) for a, b in zip(alone, truth, strict=True)])),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=DEFAULT_DATA, help="training data folder holding the clips")
    parser.add_argument("--clips", default=DEFAULT_CLIPS, help="comma-separated clip names")
    parser.add_argument("--models", default="fsrcnn,previous,delta,five_parallel")
    parser.add_argument("--weights", action="append", default=[], metavar="NAME=FILE",
                        help="weights for a model instead of the shipped ones")
    parser.add_argument("--degradation", choices=["bi", "bd"], default="bi")
    parser.add_argument("--crop", type=int, default=256, help="centre GT crop (pixels)")
    parser.add_argument("--frames", type=int, default=30, help="first frames of each clip")
    parser.add_argument("--skip", type=int, default=4, help="frames scored from this index on")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if not 2 <= args.skip < args.frames:
        parser.error("--skip must be >= 2 (the widest window's past) and below --frames")
    weights = dict(item.split("=", 1) for item in args.weights)
    found = discover_clips([args.data])
    names = [name for name in args.clips.split(",") if name]
    missing = [name for name in names if name not in found]
    if missing:
        parser.error(f"no clip {', '.join(missing)} in {args.data}")
    clips = [load_clip(name, found[name], 4, args.degradation, 1.6) for name in names]
    views = validation_clips(clips, 4, args.crop, args.frames)
    print(f"x4 {args.degradation.upper()}, clips {', '.join(names)} (first {args.frames} frames, "
          f"centre crop {args.crop}), PSNR-Y (dB) over frames {args.skip}..; torch {torch.__version__}")
    print("\n| model | full | window only | no past | memory | past |\n|---|---:|---:|---:|---:|---:|")
    for name in [m for m in args.models.split(",") if m]:
        source = {"weights": Path(weights[name])} if name in weights else {"pretrained": True}
        model = create(name, 4, degradation=args.degradation, **source).eval()
        scores = [clip_psnr(model, torch.from_numpy(view.lr).permute(0, 3, 1, 2).float() / 255,
                            to_y(torch.from_numpy(view.gt).permute(0, 3, 1, 2).float() / 255), args.skip)
                  for view in tqdm(views, desc=name, leave=False)]
        mean = {key: float(np.mean([s[key] for s in scores])) for key in scores[0]}
        memory, past = (round(mean["full"] - mean[key], 3) + 0.0 for key in ("window only", "no past"))
        print(f"| {name} (r={model.radius}) | {mean['full']:.3f} | {mean['window only']:.3f} | "
              f"{mean['no past']:.3f} | {memory:+.3f} | {past:+.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
