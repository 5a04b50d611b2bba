"""`vidsr degrade`: write the LR frames of GT frames (BI, BD or real), keeping the file names."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from tqdm import tqdm

from vidsr.errors import VidsrError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "degrade",
        help="make LR frames from GT frames (BI: MATLAB bicubic, BD: blur + subsample, real)",
        description=(
            "Write the LR frames of one clip folder or of a folder of clip folders, with the "
            "same file names, as lossless PNG."
        ),
    )
    parser.add_argument("gt_dir", type=Path, metavar="GT_DIR", help="a clip folder or a folder of clip folders")
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="where the LR frames go")
    parser.add_argument("--scale", type=int, default=4, choices=(2, 3, 4), help="downscaling factor (default: 4)")
    parser.add_argument("--degradation", default="bi", metavar="NAME",
                        help="bi: MATLAB bicubic; bd: Gaussian blur + subsampling; real: a random "
                             "mix of blur, resizing, noise, JPEG and H.264/MPEG-4, drawn per clip "
                             "(default: bi)")
    parser.add_argument("--sigma", type=float, default=1.6, help="BD blur sigma (default: 1.6)")
    parser.add_argument("--seed", type=int, metavar="N",
                        help="real: the seed; a clip's degradation is drawn from (N, clip name) "
                             "(default: 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _say(message: str) -> None:
    tqdm.write(f"vidsr: note: {message}", file=sys.stderr)  # on its own line below a progress bar


def _note_crop(name: str, shape: tuple[int, ...], scale: int) -> None:
    """Say when frames of ``shape`` (``(H, W, 3)``) are cropped to a multiple of ``scale``."""
    height, width = shape[0], shape[1]
    if height % scale or width % scale:
        _say(f"{name}: frames {width}x{height} cropped to {width - width % scale}x"
             f"{height - height % scale} (a multiple of the scale {scale})")


def _degrade_real(name: str, frames: list[Path], target: Path, scale: int, seed: int) -> int:
    """Write one clip's "real" LR frames (the whole clip at once: the video codec needs it)
    and ``real_params.json``, the parameters drawn for it; returns the frame count."""
    from vidsr.data.frames import read_clip, write_frame
    from vidsr.data.real import clip_params, degrade_real

    gt = read_clip(frames)
    _note_crop(name, gt.shape[1:], scale)
    params = clip_params(seed, name)
    for path, lr in zip(frames, degrade_real(gt, scale, params), strict=True):
        write_frame(target / f"{path.stem}.png", lr)
    record = {"degradation": "real", "scale": scale, "seed": seed, "clip": name, "params": params.to_dict()}
    (target / "real_params.json").write_text(json.dumps(record, indent=2) + "\n")
    return len(frames)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from vidsr.data.datasets import find_clips
    from vidsr.data.degradation import REAL, TRAINING_DEGRADATIONS, degrade_uint8
    from vidsr.data.frames import check_one_size, list_frames, read_frame, write_frame

    if args.degradation not in TRAINING_DEGRADATIONS:
        raise VidsrError(f"unknown degradation {args.degradation!r}; use one of {', '.join(TRAINING_DEGRADATIONS)}")
    if args.seed is not None and args.degradation != REAL:
        raise VidsrError("--seed is for --degradation real (bi and bd are not random)")
    if not (math.isfinite(args.sigma) and args.sigma > 0):
        raise VidsrError(f"--sigma must be a positive number, not {args.sigma}")
    if args.seed is not None and not 0 <= args.seed < 2**32:
        raise VidsrError(f"--seed must be from 0 to 2**32 - 1, not {args.seed}")
    if args.out_dir.exists() and not args.out_dir.is_dir():
        raise VidsrError(f"OUT_DIR {args.out_dir} is a file, not a folder")
    clips, layout = find_clips(args.gt_dir)
    gt_folders = {folder.resolve() for _, folder in clips} | {args.gt_dir.resolve()}
    targets = [(name, folder, args.out_dir if layout == "clip" else args.out_dir / name) for name, folder in clips]
    if args.out_dir.resolve() in gt_folders or any(target.resolve() in gt_folders for *_, target in targets):
        raise VidsrError(f"OUT_DIR {args.out_dir} is (or holds) the GT folders of {args.gt_dir}: "
                         "choose another folder")  # LR written over the GT frames  # fmt: skip
    jobs = [(name, list_frames(folder), target) for name, folder, target in targets]
    for _, frames, _ in jobs:  # from the headers, before anything is written
        if frames:
            check_one_size(frames)
    renamed = sum(1 for _, frames, _ in jobs for p in frames if p.suffix.lower() != ".png")
    if renamed:
        _say(f"{renamed} JPEG frame(s) written as lossless PNG (same name, extension .png)")
    total = sum(len(frames) for _, frames, _ in jobs)
    written = 0
    with tqdm(total=total, unit="frame", disable=args.quiet, leave=False) as bar:
        for name, frames, target in jobs:
            bar.set_description(name)
            if args.degradation == REAL:
                written += _degrade_real(name, frames, target, args.scale, args.seed or 0)
                bar.update(len(frames))
                continue
            for index, path in enumerate(frames):
                gt = read_frame(path)
                if index == 0:
                    _note_crop(name, gt.shape, args.scale)
                lr = degrade_uint8(gt, args.scale, args.degradation, args.sigma)
                write_frame(target / f"{path.stem}.png", lr)
                written += 1
                bar.update(1)
    seed = f" (seed {args.seed or 0}; parameters in real_params.json)" if args.degradation == REAL else ""
    print(
        f"{written} LR frame(s) of {len(jobs)} clip(s), x{args.scale} {args.degradation.upper()}, "
        f"written to {args.out_dir}{seed}"
    )
    return 0
