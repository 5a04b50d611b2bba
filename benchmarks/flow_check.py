"""Does ``flow``'s learned optical flow explain the motion between frames?

    .venv/bin/python benchmarks/flow_check.py                         # shipped flow x4 BI
    .venv/bin/python benchmarks/flow_check.py --degradation bd
    .venv/bin/python benchmarks/flow_check.py --weights run.safetensors

For every pair of consecutive LR frames (t-1, t) of the validation clips (the training
split's held-out clips, never Vid4; centre crop as the trainer's validation), the model's
flow estimator gives the motion from t back to t-1, and frame t-1 is warped onto frame t
with it (:func:`vidsr.models.flow.warp`). Printed per clip, on LR luma (0-255 scale):

* **no warp**: mean absolute difference |frame t - frame t-1| (the motion left to explain);
* **warped**: mean absolute difference |frame t - warp(frame t-1, flow)|;
* **explained**: 1 - warped / no warp (0% for a zero flow, 100% for a perfect one, up to
  occlusions and lighting changes);
* **|flow|**: the mean flow length in LR pixels, and its 99th percentile.

A zero (untrained) flow gives "warped" = "no warp". Borders are included (warping
replicates them), as in the trainer's photometric loss.

``--dis`` adds the same rows for OpenCV's DIS optical flow (presets fast and medium, on the
rounded LR luma), the classical reference of issue 13: whether a hand-made flow would align
these frames better than the learned one. OpenCV is not a vidsr dependency (about 170 MB);
install it beside vidsr for this: ``.venv/bin/pip install opencv-python-headless``.
"""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Any

import numpy as np
import torch

from vidsr.errors import VidsrError
from vidsr.models import create
from vidsr.models.layers import luma
from vidsr.training.data import held_out_views
from vidsr.training.flow_pretrain import explained_motion

DEFAULT_DATA = "../shared/data/train/davis2016_480p"
DEFAULT_CLIPS = "car-roundabout,kite-surf"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA, help="training data folder holding the clips")
    parser.add_argument("--clips", default=DEFAULT_CLIPS, help="comma-separated clip names")
    parser.add_argument("--degradation", choices=["bi", "bd"], default="bi")
    parser.add_argument("--weights", default=None, help="flow weights (default: the shipped ones)")
    parser.add_argument("--crop", type=int, default=256, help="centre GT crop (pixels)")
    parser.add_argument("--frames", type=int, default=30, help="first frames of each clip")
    parser.add_argument("--dis", action="store_true", help="also OpenCV's DIS flow (needs opencv-python-headless)")
    args = parser.parse_args(argv)
    estimators = {}
    if args.dis:
        try:
            import cv2
        except ImportError:
            print("flow_check: --dis needs OpenCV: .venv/bin/pip install opencv-python-headless", file=sys.stderr)
            return 2
        for preset in ("fast", "medium"):
            dis = cv2.DISOpticalFlow_create(getattr(cv2, f"DISOPTICAL_FLOW_PRESET_{preset.upper()}"))
            estimators[f"DIS {preset}"] = functools.partial(dis_flow, dis)
    torch.set_num_threads(1)
    model = create("flow", 4, degradation=args.degradation, weights=args.weights).eval()
    try:
        views = held_out_views(args.data, args.clips.split(","), 4, args.degradation, args.crop, args.frames,
                               "~/.cache/vidsr-lr")
    except VidsrError as error:
        print(f"flow_check: {error}", file=sys.stderr)
        return 2
    print(f"flow x4 {args.degradation.upper()} ({args.weights or 'shipped weights'}), LR luma 0-255, "
          f"{args.frames} frames, GT crop {args.crop}")
    print(f"{'clip':16} {'no warp':>8} {'warped':>8} {'explained':>10} {'|flow| mean':>12} {'p99':>6}")
    for label, estimate in {"": model, **estimators}.items():
        if label:
            print(label)
        for view in views:
            row = explained_motion(estimate, torch.from_numpy(view.lr).permute(0, 3, 1, 2).float() / 255)
            print(f"{view.name:16} {row['no_warp']:8.2f} {row['warped']:8.2f} {row['explained']:9.1%} "
                  f"{row['flow_mean']:12.2f} {row['flow_p99']:6.2f}")
    return 0


def dis_flow(dis: Any, current: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """OpenCV DIS flow ``(1, 2, h, w)`` from ``current`` back to ``previous`` (``(1, 3, h, w)``
    in [0, 1]), on their luma rounded to uint8: where each pixel of ``current`` was."""
    def gray(frame: torch.Tensor) -> np.ndarray:
        return (luma(frame)[0, 0] * 255).round().clamp(0, 255).to(torch.uint8).numpy()

    flow = dis.calc(gray(current), gray(previous), None)  # current(p) ~ previous(p + flow)
    return torch.from_numpy(flow).permute(2, 0, 1)[None].float()


if __name__ == "__main__":
    sys.exit(main())
