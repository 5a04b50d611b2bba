"""`vidsr upscale INPUT OUTPUT`: upscale a video file or a folder of frames."""

from __future__ import annotations

import argparse
import signal
import sys
from contextlib import contextmanager
from collections.abc import Iterator

from vidsr.video.pipeline import DEFAULT_CHUNK, DEFAULT_CRF, DEFAULT_MODEL  # light: no torch work at import


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "upscale",
        help="upscale a video file or a folder of frames",
        description=(
            "Upscale INPUT (any video FFmpeg reads: mp4, mkv, mov, avi, webm...; or a folder of "
            "PNG/JPEG frames) into OUTPUT: a video file (H.264 yuv420p CRF 18 by default) or, "
            "when OUTPUT has no video suffix, a folder of PNG frames. Frame count, timestamps, "
            "duration, audio and subtitles, colour tags and rotation are kept."
        ),
    )
    parser.add_argument("input", metavar="INPUT", help="video file or folder of frames")
    parser.add_argument("output", metavar="OUTPUT", help="video file (.mp4 .mkv .mov .avi .webm) or folder")
    add_model_options(parser)
    parser.add_argument("--tile", type=int, default=None, metavar="N",
                        help="process frames in overlapping tiles of N LR pixels (automatic when "
                             "a frame would not fit in memory)")  # fmt: skip
    add_output_options(parser)
    parser.set_defaults(func=run)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--model, --weights, --scale, --degradation, --device."""
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"model name (default: {DEFAULT_MODEL}; see `vidsr models`)")  # fmt: skip
    parser.add_argument("--weights", default=None, metavar="FILE",
                        help="weights (.safetensors or checkpoint); default: the model's shipped weights")  # fmt: skip
    parser.add_argument("--scale", type=int, default=4, choices=(2, 3, 4), help="upscaling factor (default 4)")
    add_degradation_option(parser)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")


def add_degradation_option(parser: argparse.ArgumentParser) -> None:
    """--degradation: which shipped weights (BI or BD) a named model uses."""
    parser.add_argument("--degradation", default="bi", choices=("bi", "bd"),
                        help="shipped weights to use: bi for sharp sources (default), bd for blurred or "
                             "camera footage; not used for a model given --weights")  # fmt: skip


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """--crf, --codec, --fps, --force, --quiet."""
    parser.add_argument(
        "--crf", type=int, default=DEFAULT_CRF, help=f"quality of H.264/VP9 output, lower is better (default {DEFAULT_CRF})"
    )
    parser.add_argument("--codec", default=None,
                        help="video encoder: libx264 (default), libvpx-vp9 (.webm default), "
                             "ffv1 (lossless RGB, .mkv) or png (lossless RGB, .mov)")  # fmt: skip
    parser.add_argument("--fps", type=float, default=None,
                        help="frame rate of a frame-folder INPUT (default 25)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="replace OUTPUT if it exists")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


@contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C, so that a killed run cleans up its partial output."""

    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    from vidsr.video.pipeline import upscale_video

    with interrupt_on_sigterm():
        result = upscale_video(
            args.input,
            args.output,
            model=args.model,
            weights=args.weights,
            scale=args.scale,
            tile=args.tile,
            device=args.device,
            crf=args.crf,
            codec=args.codec,
            force=args.force,
            quiet=args.quiet,
            fps=args.fps,
            chunk=DEFAULT_CHUNK,
            degradation=args.degradation,
        )
    if not args.quiet:
        tiles = f", {result.tile}px tiles" if result.tile else ""
        print(
            f"wrote {result.output}: {result.frames} frames, {result.width}x{result.height}, "
            f"{result.model}{tiles}, {result.fps:.1f} fps",
            file=sys.stderr,
        )
    return 0
