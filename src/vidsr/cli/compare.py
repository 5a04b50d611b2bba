"""`vidsr compare INPUT OUTPUT --models bicubic,delta`: a labelled comparison video."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vidsr.cli.upscale import (
    add_degradation_option,
    add_output_options,
    add_time_range_options,
    interrupt_on_sigterm,
)
from vidsr.video.pipeline import DEFAULT_MODEL  # light, as in cli/upscale.py


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="write a comparison video of several models upscaling one LR video",
        description=(
            "Upscale the LR video (or frame folder) INPUT with each model and write OUTPUT with "
            "labelled panels side by side (a grid when there are many), or a moving split line "
            "between two models. With --gt, a ground-truth panel is added and each panel shows "
            "its per-frame PSNR (Y channel)."
        ),
    )
    parser.add_argument("input", metavar="INPUT", help="LR video file or folder of frames; - reads a video "
                        "piped in")  # fmt: skip
    parser.add_argument("output", metavar="OUTPUT", help="video file (.mp4 .mkv ...), folder of PNG frames, or "
                        "image (.png .jpg ...) of a one-frame INPUT; - writes Matroska to standard output "
                        "once done")  # fmt: skip
    parser.add_argument("--models", default=None, metavar="LIST",
                        help=f"comma-separated model names (default: bicubic,{DEFAULT_MODEL}: bicubic and "
                             "the default model of `vidsr upscale`, with its shipped weights)")  # fmt: skip
    parser.add_argument("--weights", default=None, metavar="FILE|NAME=FILE,...",
                        help="weights for the trained model(s): one file, or name=file pairs "
                             "(default: shipped weights)")  # fmt: skip
    parser.add_argument("--gt", default=None, metavar="GT_VIDEO_OR_FRAMES",
                        help="ground truth at the output size: adds a GT panel and PSNR")  # fmt: skip
    parser.add_argument("--layout", choices=("side", "split"), default="side",
                        help="side: panels side by side (default); "
                             "split: a moving split line between two models")  # fmt: skip
    parser.add_argument("--scale", type=int, default=4, choices=(2, 3, 4), help="upscaling factor (default 4)")
    add_degradation_option(parser)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    from vidsr.cli.backend_options import add_backend_options

    add_backend_options(parser)
    add_output_options(parser)
    group = parser.add_argument_group("part of the video")
    add_time_range_options(group, "compare")
    group.add_argument("--crop", default=None, metavar="WxH+X+Y",
                       help="compare one region of the input: W x H pixels from (X, Y), as "
                            "320x180+600+400 (or FFmpeg's W:H:X:Y); the models see 16 pixels around it, "
                            "the panels show it")  # fmt: skip
    parser.set_defaults(func=run)


def weights_for(names: list[str], spec: str | None) -> dict[str, object]:
    """{model name: weights file or None}, with ``--weights`` read as by `vidsr evaluate`."""
    from vidsr.cli.evaluate import parse_weights
    from vidsr.errors import VidsrError
    from vidsr.models import model_class
    from vidsr.models.registry import split_spec

    weights = parse_weights(spec, names)
    if "*" in weights:
        try:
            classes = {name: model_class(split_spec(name.partition("@")[0], "bi")[0]) for name in names}
            trained = [name for name in names if any(True for _ in classes[name]().parameters())]
        except ImportError as error:
            raise VidsrError(f"a model in --models is not available in this installation ({error})") from None
        if len(trained) != 1:
            raise VidsrError(
                "--weights FILE needs exactly one trained model in --models; use name=FILE,... "
                f"(trained models here: {', '.join(trained) or 'none'})"
            )
        weights = {trained[0]: weights["*"]}
    return {name: weights.get(name) for name in names}


def run(args: argparse.Namespace) -> int:
    from vidsr.video.pipes import piped, uses_pipes

    if not uses_pipes([args.input], args.output):
        return compare_paths(args)
    args.output_label = "standard output" if args.output == "-" else None
    with piped([args.input], args.output, quiet=args.quiet) as ([args.input], args.output):
        return compare_paths(args)


def compare_paths(args: argparse.Namespace) -> int:
    """`vidsr compare` with INPUT and OUTPUT paths (not ``-``)."""
    from vidsr.cli.upscale import apply_denoise, video_default_denoise, warn_fps_of_files
    from vidsr.models.registry import check_shipped_weights, has_parameters, spec_weights
    from vidsr.video.compare import compare_videos, default_models, parse_models
    from vidsr.video.compare import Crop
    from vidsr.video.selection import TimeRange

    time_range = TimeRange.parse(args.start, args.duration, args.frames)  # (bad input: an error before any work)
    crop = None if args.crop is None else Crop.parse(args.crop)
    names = parse_models(args.models) if args.models else default_models()
    warn_fps_of_files(args.fps, [Path(args.input)])
    given = weights_for(names, args.weights)
    plain = [name for name in names if given[name] is None and ":" not in name and "@" not in name]
    if args.denoise is None:
        args.denoise = video_default_denoise(args, [Path(args.input)], plain)
    if args.denoise is not None:  # every trained model named plainly, without weights: NAME@S
        apply_denoise(args)
        given = {(f"{name}@{args.denoise:g}" if name in plain and has_parameters(name) else name): path
                 for name, path in given.items()}
    models = [(name, str(path) if path else None) for name, path in given.items()]
    args.degradation = args.degradation or "bi"
    for spec, path in models:
        if path is None:  # trained models need shipped weights for this scale and degradation
            name, degradation, blend = spec_weights(spec, args.degradation, args.scale)
            if blend is None:
                check_shipped_weights(name, args.scale, degradation, "--models")
    with interrupt_on_sigterm():
        result = compare_videos(
            args.input,
            args.output,
            models,
            gt=args.gt,
            layout=args.layout,
            scale=args.scale,
            device=args.device,
            crf=args.crf,
            preset=args.preset,
            codec=args.codec,
            force=args.force,
            quiet=args.quiet,
            fps=args.fps,
            degradation=args.degradation,
            backend=args.backend,
            precision=args.precision,
            deinterlace=args.deinterlace,
            self_ensemble=args.self_ensemble,
            time_range=time_range,
            crop=crop,
            scene_cuts=args.scene_cuts,
        )
    if not args.quiet:
        shown = getattr(args, "output_label", None) or result.output
        print(f"wrote {shown}: {result.frames} frames, {result.width}x{result.height}", file=sys.stderr)
    for label, value in result.psnr.items():
        print(f"{label}: mean PSNR (Y) over {result.frames} frames: {value:.2f} dB")
    return 0
