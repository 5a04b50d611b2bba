"""`vidsr demo`: degrade a short real-looking clip, upscale it, write videos, print the table."""

from __future__ import annotations

import argparse

from vidsr.video.pipeline import DEFAULT_MODEL


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="offline demo: degrade a short clip, upscale it, write videos and print the table",
        description=(
            "Make a short clip (a camera moving over a photograph shipped with matplotlib), "
            "degrade it (x4 BI), upscale it with the default model, write the LR, upscaled and "
            "comparison videos into --out, and print the MSE/SSIM/PSNR table of raw, bicubic "
            "and the default model. Offline; well under two minutes on a laptop CPU."
        ),
    )
    parser.add_argument("--out", default="demo-output", metavar="DIR", help="output folder (default demo-output)")
    parser.add_argument("--frames", type=int, default=30, help="clip length in frames (default 30)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"model to show (default {DEFAULT_MODEL})")
    parser.add_argument("--quiet", "-q", action="store_true", help="only print the table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidsr.errors import VidsrError
    from vidsr.video.demo import run_demo

    if args.frames < 1:
        raise VidsrError(f"--frames must be at least 1, not {args.frames}")
    run_demo(args.out, frames=args.frames, model=args.model, quiet=args.quiet)
    return 0
