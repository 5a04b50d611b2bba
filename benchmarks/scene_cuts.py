"""Scene cuts: how far apart cuts and motion are for the detector, and what a cut costs a model.

    .venv/bin/python benchmarks/scene_cuts.py                       # both parts, x4 BI
    .venv/bin/python benchmarks/scene_cuts.py --models delta,flow --skip-scores
    .venv/bin/python benchmarks/scene_cuts.py --check ../shared/data/vid4/GT   # cuts found in other clips

Part 1 (the detector, :mod:`vidsr.shots`): every DAVIS clip of ``--data`` at LR (area x1/4),
the histogram distance and grid difference between consecutive frames of a clip (no cut)
and across the joins of one clip's last frame to every other clip's first (a cut), with the
detector's false and missed cuts. Part 2 (the models): the held-out clips (the configs'
``data.val_split``, BI, centre crop 256, 30 frames) cut into four shots (A 0-14, B 0-14,
A 15-29, B 15-29); each model's PSNR-Y around each cut, streamed three ways: through one
state (``--no-scene-cuts``), with :class:`~vidsr.shots.ShotStreamer` (the default), and
each shot as a clip of its own. ``--check DIR`` only runs the detector over each clip folder of
DIR: its largest scores between consecutive frames and the cuts it finds (none in a one-shot clip).
"""

from __future__ import annotations

import argparse
import sys
from itertools import permutations
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vidsr.data.frames import list_frames, read_frame
from vidsr.errors import VidsrError
from vidsr.metrics import psnr, rgb_to_y
from vidsr.models import create
from vidsr.shots import GRID_CUT, HISTOGRAM_CUT, cut_scores, frame_signature
from vidsr.streaming import super_resolve
from vidsr.training.data import held_out_views

VAL_CLIPS = ("car-roundabout", "kite-surf")


def lr_signatures(folder: Path, scale: int) -> list:
    """Each frame of a clip folder, area-downscaled by ``scale``, as a frame signature."""
    signatures = []
    for path in list_frames(folder):
        frame = torch.from_numpy(read_frame(path)).permute(2, 0, 1).float() / 255
        signatures.append(frame_signature(F.interpolate(frame[None], scale_factor=1 / scale, mode="area")[0]))
    return signatures


def detector_part(data: Path, scale: int) -> None:
    clips = {folder.name: lr_signatures(folder, scale) for folder in sorted(data.iterdir()) if folder.is_dir()}
    within = np.array([cut_scores(c[i], c[i + 1]) for c in clips.values() for i in range(len(c) - 1)])
    across = np.array([cut_scores(clips[a][-1], clips[b][0]) for a, b in permutations(clips, 2)])
    false = int(((within[:, 0] > HISTOGRAM_CUT) & (within[:, 1] > GRID_CUT)).sum())
    missed = int(((across[:, 0] <= HISTOGRAM_CUT) | (across[:, 1] <= GRID_CUT)).sum())
    print(f"detector on {len(clips)} clips of {data} at LR x1/{scale} "
          f"(cut: histogram > {HISTOGRAM_CUT} and grid > {GRID_CUT})")  # fmt: skip
    print(f"{'':28}{'pairs':>7}{'histogram':>22}{'grid':>22}")
    print(f"{'within clips (no cut)':28}{len(within):>7}{'max ' + format(within[:, 0].max(), '.3f'):>22}"
          f"{'max ' + format(within[:, 1].max(), '.3f'):>22}")  # fmt: skip
    print(f"{'across clips (cuts)':28}{len(across):>7}{'min ' + format(across[:, 0].min(), '.3f'):>22}"
          f"{'min ' + format(across[:, 1].min(), '.3f'):>22}")  # fmt: skip
    print(f"false cuts {false} of {len(within)}, missed cuts {missed} of {len(across)}\n")


def check_part(data: Path, scale: int) -> None:
    print(f"detector on the clips of {data} at LR x1/{scale}")
    for folder in sorted(path for path in data.iterdir() if path.is_dir()):
        signatures = lr_signatures(folder, scale)
        scores = np.array([cut_scores(a, b) for a, b in zip(signatures[:-1], signatures[1:])])
        found = np.flatnonzero((scores[:, 0] > HISTOGRAM_CUT) & (scores[:, 1] > GRID_CUT)) + 1
        print(f"  {folder.name:20} {len(signatures):4} frames, histogram max {scores[:, 0].max():.3f}, "
              f"grid max {scores[:, 1].max():.3f}, cuts before frames: {', '.join(map(str, found)) or 'none'}")


def model_part(data: Path, models: list[str], scale: int) -> None:
    torch.set_num_threads(1)
    first, second = held_out_views(data, list(VAL_CLIPS), scale, "bi", 256, 30, "~/.cache/vidsr-lr")
    shots = [(first.lr[:15], first.gt[:15]), (second.lr[:15], second.gt[:15]),
             (first.lr[15:], first.gt[15:]), (second.lr[15:], second.gt[15:])]  # fmt: skip
    lr, gt = np.concatenate([s[0] for s in shots]), np.concatenate([s[1] for s in shots])
    cuts = [15, 30, 45]
    print(f"models on the held-out clips cut into 4 shots (x{scale} BI, crop 256, cuts before frames "
          f"{', '.join(map(str, cuts))}): PSNR-Y, and at the cuts the mean of the first frame of a shot "
          "and of the frame before it, against each shot run on its own")  # fmt: skip
    print(f"{'model':16}{'way':22}{'mean':>9}{'first of shot':>15}{'before a cut':>14}")
    for name in models:
        model = create(name, scale, pretrained=True).eval()
        with torch.inference_mode():
            ways = {
                "through one state": list(super_resolve(model, lr, scene_cuts=False)),
                "scene cuts (default)": list(super_resolve(model, lr)),
                "each shot alone": [frame for shot in shots for frame in super_resolve(model, shot[0])],
            }
        scores = {way: np.array([psnr(rgb_to_y(a), rgb_to_y(b)) for a, b in zip(out, gt)]) for way, out in ways.items()}
        alone = scores["each shot alone"]
        for way, values in scores.items():
            first_gap = np.mean([values[c] - alone[c] for c in cuts])
            before_gap = np.mean([values[c - 1] - alone[c - 1] for c in cuts])
            print(f"{name:16}{way:22}{values.mean():9.3f}{first_gap:+15.3f}{before_gap:+14.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/train/davis2016_480p"))
    parser.add_argument("--models", default="delta,five_parallel,flow")
    parser.add_argument("--scale", type=int, choices=(2, 4), default=4)
    parser.add_argument("--skip-scores", action="store_true", help="only the models part")
    parser.add_argument("--check", type=Path, metavar="DIR", help="only the detector, on each clip folder of DIR")
    args = parser.parse_args(argv)
    if args.check is not None:
        if not args.check.is_dir():
            print(f"scene_cuts: no folder {args.check}", file=sys.stderr)
            return 2
        check_part(args.check, args.scale)
        return 0
    if not args.data.is_dir():
        print(f"scene_cuts: no data folder {args.data} (../shared/data)", file=sys.stderr)
        return 2
    try:
        if not args.skip_scores:
            detector_part(args.data, args.scale)
        model_part(args.data, [name.strip() for name in args.models.split(",")], args.scale)
    except VidsrError as error:
        print(f"scene_cuts: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
