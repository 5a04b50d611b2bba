"""Shipped (or given) weights on the training validation split, scored as `vidsr train` does.

    .venv/bin/python benchmarks/validation.py --degradation bi --models bicubic,fsrcnn,delta,five_parallel,two_step,flow
    .venv/bin/python benchmarks/validation.py --degradation bd --models delta,flow=run/best.pt

The clips are the configs' held-out DAVIS clips (``data.val_split``, never Vid4), LR made
with the degradation (cached in ``~/.cache/vidsr-lr`` as the trainer does), centre crop 256
GT pixels, first 30 frames, streamed in fp32 through :func:`vidsr.training.validation.validate`:
the figure a training run logs as "validation PSNR-Y", so a run's checkpoints and the
shipped weights can be compared on the same footing.
"""

from __future__ import annotations

import argparse
import sys

import torch

from vidsr.errors import VidsrError
from vidsr.models import create
from vidsr.training.data import held_out_views
from vidsr.training.precision import make_precision
from vidsr.training.validation import validate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/train/davis2016_480p")
    parser.add_argument("--clips", default="car-roundabout,kite-surf", help="comma-separated clip names")
    parser.add_argument("--degradation", choices=["bi", "bd"], default="bi")
    parser.add_argument("--models", default="bicubic,delta", help="NAME or NAME=WEIGHTS, comma-separated")
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--cache", default="~/.cache/vidsr-lr", help="LR cache folder ('' for none)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        views = held_out_views(args.data, args.clips.split(","), 4, args.degradation, args.crop, args.frames,
                               args.cache or None)
    except VidsrError as error:
        print(f"validation: {error}", file=sys.stderr)
        return 2
    print(f"x4 {args.degradation.upper()}, clips {args.clips} (crop {args.crop}, {args.frames} frames), fp32")
    print(f"{'model':40} {'PSNR-Y':>8} {'SSIM-Y':>8}")
    for spec in args.models.split(","):
        name, _, weights = spec.partition("=")
        model = create(name, 4, degradation=args.degradation, weights=weights or None)
        scores = validate(model, views, make_precision("fp32", torch.device("cpu")))
        print(f"{spec:40} {scores['psnr_y']:8.3f} {scores['ssim_y']:8.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
