"""Shipped (or given) weights on the training validation split, scored as `vidsr train` does.

    .venv/bin/python benchmarks/validation.py --degradation bi --models bicubic,fsrcnn,delta,five_parallel,two_step,flow
    .venv/bin/python benchmarks/validation.py --degradation bd --models delta,flow=run/best.pt
    .venv/bin/python benchmarks/validation.py --degradation bi+h264 --crf 33 --models bicubic,delta,delta:real

``bi+h264`` is the compressed benchmark of ``vidsr evaluate`` on these clips: BI, then the
first frames of each whole LR clip through x264 (yuv420p, ``--crf``, preset medium) and
back, then the crop. ``NAME:DEGRADATION`` takes that model's shipped weights of another
degradation (``delta:real``); ``NAME@S`` takes it at denoise strength ``S`` (``delta@0.5``:
between its BI and real weights, :mod:`vidsr.models.denoise`).

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
from vidsr.models.registry import spec_weights
from vidsr.training.data import held_out_views, validation_clips
from vidsr.training.precision import make_precision
from vidsr.training.validation import validate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/train/davis2016_480p")
    parser.add_argument("--clips", default="car-roundabout,kite-surf", help="comma-separated clip names")
    parser.add_argument("--degradation", choices=["bi", "bd", "bi+h264"], default="bi")
    parser.add_argument("--crf", type=int, default=23, help="bi+h264: x264 CRF (default 23)")
    parser.add_argument("--models", default="bicubic,delta", help="NAME or NAME=WEIGHTS, comma-separated")
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--cache", default="~/.cache/vidsr-lr", help="LR cache folder ('' for none)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        compressed = args.degradation == "bi+h264"
        kind = "bi" if compressed else args.degradation
        views = held_out_views(args.data, args.clips.split(","), 4, kind, None, args.frames, args.cache or None)
        if compressed:
            from vidsr.data.real import VideoCodec, compress_clip

            for view in views:
                view.lr = compress_clip(view.lr, VideoCodec("libx264", args.crf, "medium")).frames
        views = validation_clips(views, 4, args.crop, None)
    except VidsrError as error:
        print(f"validation: {error}", file=sys.stderr)
        return 2
    settings = f" CRF {args.crf}" if compressed else ""
    print(f"x4 {args.degradation.upper()}{settings}, clips {args.clips} (crop {args.crop}, {args.frames} frames), fp32")
    print(f"{'model':40} {'PSNR-Y':>8} {'SSIM-Y':>8}")
    for spec in args.models.split(","):
        head, _, weights = spec.partition("=")
        try:  # NAME, NAME:DEGRADATION (other shipped weights), NAME@S (denoise strength S)
            name, trained_on, blend = spec_weights(head, kind, 4)
            if weights and blend:
                raise VidsrError(f"{spec}: NAME@S picks its weights itself; drop the '=FILE'")
            model = create(name, 4, degradation=trained_on, weights=weights or blend)
        except VidsrError as error:
            print(f"validation: {error}", file=sys.stderr)
            return 2
        scores = validate(model, views, make_precision("fp32", torch.device("cpu")))
        print(f"{spec:40} {scores['psnr_y']:8.3f} {scores['ssim_y']:8.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
