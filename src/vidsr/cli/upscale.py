"""`vidsr upscale INPUT... OUTPUT`: upscale a video file, a folder of frames, or a batch."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from vidsr.errors import VidsrError
from vidsr.video.pipeline import (  # light: no torch work at import
    DEFAULT_CHUNK,
    DEFAULT_CRF,
    DEFAULT_MODEL,
    DEFAULT_SEGMENT_FRAMES,
)

if TYPE_CHECKING:
    from vidsr.video.selection import TimeRange


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "upscale",
        help="upscale a video file or a folder of frames",
        description=(
            "Upscale INPUT (any video FFmpeg reads: mp4, mkv, mov, avi, webm, gif...; a folder of "
            "PNG/JPEG frames; or one image) into OUTPUT: a video file (.mp4 .mkv .mov .avi .webm .ts .gif; H.264 "
            "yuv420p CRF 18 by default), one image (.png .jpg .tif .webp .bmp: a photo, or a still of a "
            "video with --start TIME --frames 1; its ICC profile and EXIF kept) or, when OUTPUT has no "
            "suffix or is an existing folder, a folder of PNG "
            "frames (with the input's frame names when INPUT is a frame folder). Frame count, timestamps, "
            "duration, audio, subtitles and chapters, colour tags, rotation, pixel aspect, timecode and "
            "transparency (where the codec has alpha: png, prores_ks, ffv1, VP9 in .webm) are kept. Several INPUTs, a "
            "folder of videos or a .txt list of paths make a batch into the folder OUTPUT. Inputs longer than "
            "--segment-frames are done in segments that --resume continues after an interruption; under "
            "torchrun, the ranks share the videos and segments."
        ),
    )
    parser.add_argument("input", metavar="INPUT", nargs="+",
                        help="video file or folder of frames; several, a folder of videos or a .txt list "
                             "of paths for a batch; - reads a video piped in (copied to $TMPDIR first)")  # fmt: skip
    parser.add_argument("output", metavar="OUTPUT",
                        help="video file (.mp4 .mkv .mov .avi .webm .ts .gif), image (.png .jpg .tif .webp .bmp: "
                             "one frame) or folder (no suffix); the output folder of a batch; - writes the video "
                             "to standard output once done (Matroska, or the container of --suffix)")  # fmt: skip
    add_model_options(parser)
    parser.add_argument("--tile", type=int, default=None, metavar="N",
                        help="process frames in overlapping tiles of N LR pixels (automatic when "
                             "a frame would not fit in memory)")  # fmt: skip
    add_output_options(parser)
    parser.add_argument("--size", default=None, metavar="WxH",
                        help="output frame size: 1920x1080 (the picture keeps its shape through the pixel "
                             "aspect, as FFmpeg's scale does), x1080, 1080p or 4k (the height; width from the "
                             "picture's shape, square pixels) or 1920x (the width); read as the video is shown "
                             "(portrait: 1080x1920). The model upscales by --scale, then each frame is resized "
                             "(bicubic, antialiased)")  # fmt: skip
    parser.add_argument("--bit-depth", default="auto", choices=("auto", "8"),
                        help="auto: a video of more than 8 bits per sample (10-bit HEVC from phones, HDR) "
                             "stays 10-bit (yuv420p10le: H.264 High 10 by default, --codec libx265 for HEVC "
                             "Main 10); 8: always 8-bit, for players without 10-bit support. PNG frames "
                             "are 8-bit (default auto)")  # fmt: skip
    add_job_options(parser)
    parser.set_defaults(func=run)


def add_job_options(parser: argparse.ArgumentParser) -> None:
    """Time range, dry run, large outputs, resumable segments, batches, threads."""
    group = parser.add_argument_group("time range, jobs and batches")
    add_time_range_options(group, "upscale")
    group.add_argument("--dry-run", action="store_true",
                       help="print sizes, frame count, model, backend and an estimate of time and output "
                            "size from a short timed sample; write nothing")  # fmt: skip
    group.add_argument("--force-large", action="store_true", help="allow an output above 4K (3840x2160)")
    group.add_argument("--resume", action="store_true",
                       help="continue an interrupted job from its segments beside OUTPUT")  # fmt: skip
    group.add_argument("--segment-frames", type=int, default=DEFAULT_SEGMENT_FRAMES, metavar="N",
                       help=f"inputs longer than N frames are done in resumable segments of N frames "
                            f"(default {DEFAULT_SEGMENT_FRAMES}; 0: always one pass)")  # fmt: skip
    group.add_argument("--suffix", default=None, metavar=".EXT",
                       help="container of a batch's outputs (default: the input's; .mp4 for others), or of "
                            "the video written to standard output (OUTPUT -; default .mkv)")  # fmt: skip
    group.add_argument("--threads", type=int, default=None, metavar="N",
                       help="threads for the model, the decoder and the encoder (default: all cores; "
                            "torchrun: 1 for the model; --jobs J: the cores / J)")  # fmt: skip
    group.add_argument("--jobs", type=int, default=1, metavar="J",
                       help="share the videos (and a long video's segments) among J processes on this "
                            "machine's CPU, each held to cores of its own (default 1; torchrun for GPUs "
                            "and several machines)")  # fmt: skip


def add_time_range_options(group: argparse._ArgumentGroup, verb: str) -> None:
    """--start, and --duration or --frames (read with :meth:`TimeRange.parse`)."""
    group.add_argument("--start", default=None, metavar="TIME",
                       help="start TIME after the first frame: seconds (90, 1.5) or HH:MM:SS.ms")  # fmt: skip
    length = group.add_mutually_exclusive_group()
    length.add_argument("--duration", default=None, metavar="TIME", help=f"{verb} TIME from the start")
    length.add_argument("--frames", type=int, default=None, metavar="N", help=f"{verb} N frames from the start")


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--model, --weights, --scale, --degradation, --device, --backend, --precision."""
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"model name (default: {DEFAULT_MODEL}; see `vidsr models`)")  # fmt: skip
    parser.add_argument("--weights", default=None, metavar="FILE",
                        help="weights (.safetensors or checkpoint); default: the model's shipped weights")  # fmt: skip
    parser.add_argument("--scale", type=int, default=None, choices=(2, 3, 4),
                        help="upscaling factor of the model (default 4; with --size, the smallest with "
                             "weights that reaches that size)")  # fmt: skip
    add_degradation_option(parser)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    from vidsr.cli.backend_options import add_backend_options

    add_backend_options(parser)


# The denoise strength (vidsr.models.denoise: 0 = BI weights, 1 = real weights) that
# `vidsr upscale` and `vidsr compare` give a model for video files, which are compressed
# nearly always, when the user names no weights. delta at 0.5 (README, "Which weights
# vidsr upscale uses"): on the held-out clips it is above the BI weights at CRF 23 and 33,
# at x4 and at x2, and above bicubic on every frame of the 300-frame flat sky (clean and
# CRF 28), where the real weights (1.0) fall below bicubic. It is the ceiling: an H.264, VP9
# or MPEG-1/2/4 video whose quantiser shows light compression gets 0.25 or 0 (vidsr.video.quantiser).
VIDEO_DEFAULT_DENOISE: dict[str, float] = {"delta": 0.5}


def add_degradation_option(parser: argparse.ArgumentParser) -> None:
    """--degradation: which shipped weights (BI, BD or real) a named model uses."""
    parser.add_argument("--degradation", default=None, choices=("bi", "bd", "real"),
                        help="shipped weights to use: bi for clean sources, bd for sources blurred before "
                             "downscaling, real (delta x4 and x2) for compressed, noisy or blurred video. Default: "
                             "the weights that do best on compressed input for video files (README: delta "
                             "at --denoise 0.5, less for a lightly compressed H.264, HEVC, AV1, VP9 or MPEG "
                             "video, from its quantiser, and the BI weights for lossless and master codecs; "
                             "other models bi; measured with benchmarks/validation.py), "
                             "bi for frame folders. Not used with --weights")  # fmt: skip
    parser.add_argument("--denoise", type=float, default=None, metavar="S",
                        help="denoise strength from 0 to 1: weights between the model's BI (0, sharpest) and "
                             "real (1, strongest clean-up of compression and noise) weights, delta x4 and x2 "
                             "(README: Denoise strength). Not with --weights or --degradation")  # fmt: skip


def apply_denoise(args: argparse.Namespace) -> None:
    """``--denoise S``: checks it against ``--weights`` (upscale) and ``--degradation``
    (one-line errors), makes the blended weights ``args.weights`` (upscale) and sets
    ``args.degradation`` to real."""
    if args.denoise is None:
        return
    from vidsr.models.denoise import check_strength, denoise_weights

    check_strength(args.denoise)
    upscale = hasattr(args, "model")  # compare: --weights are per model, and NAME@S specs carry it
    for option in ("weights", "degradation") if upscale else ("degradation",):
        if getattr(args, option) is not None:
            raise VidsrError(f"--denoise picks the weights itself (between the BI and real ones); "
                             f"leave out --{option}")
    if upscale:
        args.weights = str(denoise_weights(args.model, args.scale, args.denoise))
    args.degradation = "real"


def video_default_denoise(args: argparse.Namespace, sources: list[Path], models: list[str]) -> float | None:
    """The default rule for weights: the strength in :data:`VIDEO_DEFAULT_DENOISE` when the
    user chose none (``--degradation``, ``--denoise``), every source is a video file, and every
    trained one of ``models`` (those named without weights) has that one strength and ships BI
    and real weights at ``args.scale``; else None (BI weights). One H.264, HEVC, AV1, VP9 or MPEG video
    gets less when its quantiser says it is lightly compressed (:func:`vidsr.video.quantiser.strength_for`);
    for several, the strength returned is the ceiling, and :func:`run_many` gives each video
    its own. Says so on stderr."""
    if args.degradation is not None or args.denoise is not None:
        return None
    from vidsr.models.registry import has_parameters, shipped_weights

    trained = [name for name in models if has_parameters(name)]
    videos = bool(sources) and all(Path(path).is_file() for path in sources)
    strengths = {VIDEO_DEFAULT_DENOISE.get(name) for name in trained}
    if not (videos and trained) or len(strengths) != 1 or None in strengths:
        return None
    if not all({(args.scale, "bi"), (args.scale, "real")} <= set(shipped_weights(name)) for name in trained):
        # BI weights but no real ones at this scale: say so (without BI, loading them says what ships).
        lacking = [name for name in trained if (args.scale, "bi") in shipped_weights(name)
                   and (args.scale, "real") not in shipped_weights(name)]
        if lacking and not args.quiet and os.environ.get("RANK", "0") == "0":
            print(f"vidsr: video input: {', '.join(lacking)} ships no real-footage weights at x{args.scale}; "
                  "using the BI weights (made for clean sources: compression artefacts may be sharpened)",
                  file=sys.stderr)
        return None
    strength = ceiling = strengths.pop()
    why = "at most; each video from its own quantiser, " if len(sources) > 1 else ""
    if len(sources) == 1:  # one video: as strong as its compression calls for, at most the ceiling
        from vidsr.video.quantiser import STRENGTHS, mean_quantiser, strength_for

        quantiser = mean_quantiser(sources[0])
        if quantiser is not None and (quantiser.clean or quantiser.codec in STRENGTHS):
            strength = min(ceiling, strength_for(quantiser, ceiling))
            why = f"{quantiser.describe()}, "
    if not args.quiet and os.environ.get("RANK", "0") == "0":  # (under torchrun: once, not per rank)
        if strength == 0:
            print(f"vidsr: video input: {', '.join(trained)} with the BI weights ({why}nothing to clean up; "
                  "--denoise S to choose a strength)", file=sys.stderr)
        else:
            print(f"vidsr: video input: {', '.join(trained)} at denoise strength {strength:g} ({why}between the "
                  "BI and real weights; --denoise S to choose, 0 for clean, lossless sources)", file=sys.stderr)
    return strength


def warn_fps_of_files(fps: float | None, sources: list[Path]) -> None:
    """A warning when ``--fps`` is given for video files, which keep their own timing."""
    from vidsr.video.messages import warn

    files = [source for source in sources if not source.is_dir()]
    if fps is not None and files:
        which = f"{files[0].name} and the other files keep their" if len(files) > 1 else f"{files[0].name} keeps its"
        warn(f"--fps is for folders of frames; {which} own frame rate and timestamps")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """--crf, --preset, --codec, --fps, --deinterlace, --force, --quiet."""
    from vidsr.video.encoding_defaults import DEFAULT_PRESET, X264_PRESETS

    parser.add_argument(
        "--crf", type=int, default=DEFAULT_CRF,
        help=f"quality of H.264/VP9 output, lower is better: 0-51 for H.264 and HEVC, 0-63 for VP9 and AV1 "
             f"(default {DEFAULT_CRF})",
    )
    parser.add_argument("--preset", default=DEFAULT_PRESET, choices=X264_PRESETS, metavar="NAME",
                        help=f"x264 preset, {X264_PRESETS[0]} to {X264_PRESETS[-1]}: slower ones make smaller files "
                             f"at the same CRF (default {DEFAULT_PRESET}; README: the trade-off)")  # fmt: skip
    parser.add_argument("--codec", default=None,
                        help="video encoder: libx264 (default), libvpx-vp9 (.webm default), "
                             "ffv1 (lossless RGB, .mkv) or png (lossless RGB, .mov)")  # fmt: skip
    parser.add_argument("--fps", type=float, default=None,
                        help="frame rate of a frame-folder INPUT (default 25)")  # fmt: skip
    parser.add_argument("--deinterlace", default="auto", choices=("auto", "on", "off"),
                        help="interlaced video (DVD, TV): auto deinterlaces frames flagged interlaced "
                             "(FFmpeg bwdif, one frame per frame), on deinterlaces every frame, off "
                             "keeps the fields (default auto)")  # fmt: skip
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
    from vidsr.video.batch import distributed
    from vidsr.video.pipes import piped, uses_pipes

    if not uses_pipes(args.input, args.output):
        return upscale_paths(args)
    if args.resume or args.jobs > 1 or distributed():
        raise VidsrError("- (standard input or output) is for one process, without --resume or --jobs: "
                         "give file names for those")  # fmt: skip
    args.output_label = "standard output" if args.output == "-" else None
    with piped(args.input, args.output, args.suffix, quiet=args.quiet) as (args.input, args.output):
        return upscale_paths(args)


def upscale_paths(args: argparse.Namespace) -> int:
    """`vidsr upscale` with INPUT and OUTPUT paths (not ``-``)."""
    from vidsr.models.registry import check_shipped_weights
    from vidsr.video.batch import collect_inputs, distributed
    from vidsr.video.pipeline import upscale_video
    from vidsr.video.selection import TimeRange

    time_range = TimeRange.parse(args.start, args.duration, args.frames)
    sources, batch = collect_inputs(args.input)
    warn_fps_of_files(args.fps, sources)
    jobs = check_jobs(args)
    args.scale = scale_for_size(args, sources)
    per_video = False  # several videos, default strength: each one's own, from its quantiser
    if args.weights is None and args.denoise is None:
        args.denoise = video_default_denoise(args, sources, [args.model])
        per_video = args.denoise is not None and len(sources) > 1
    apply_denoise(args)
    args.degradation = args.degradation or "bi"
    if args.weights is None:  # a trained model needs shipped weights for this scale and degradation
        check_shipped_weights(args.model, args.scale, args.degradation)
    if batch or distributed() or args.dry_run or jobs > 1:
        return run_many(args, sources, batch, time_range, per_video)
    with interrupt_on_sigterm():
        result = upscale_video(
            sources[0],
            args.output,
            model=args.model,
            weights=args.weights,
            scale=args.scale,
            tile=args.tile,
            device=args.device,
            crf=args.crf,
            preset=args.preset,
            codec=args.codec,
            force=args.force,
            quiet=args.quiet,
            fps=args.fps,
            chunk=DEFAULT_CHUNK,
            degradation=args.degradation,
            time_range=time_range,
            resume=args.resume,
            segment_frames=args.segment_frames,
            force_large=args.force_large,
            threads=args.threads,
            backend=args.backend,
            precision=args.precision,
            self_ensemble=args.self_ensemble,
            deinterlace=args.deinterlace,
            bit_depth=args.bit_depth,
            size=args.size,
            scene_cuts=args.scene_cuts,
        )
    if not args.quiet:
        tiles = f", {result.tile}px tiles" if result.tile else ""
        shown = getattr(args, "output_label", None) or result.output  # (standard output: not the file copied)
        print(
            f"wrote {shown}: {result.frames} frames, {result.width}x{result.height}, "
            f"{result.model}{tiles}, {result.fps:.1f} fps",
            file=sys.stderr,
        )
    return 0


def scale_for_size(args: argparse.Namespace, sources: list[Path]) -> int:
    """``--scale``, else 4; with ``--size`` and no ``--scale``, the smallest scale the model has
    weights for (any, for the baselines) that reaches the size on every input (read from their
    headers; the largest when none does). Says which on stderr. ``--size`` is checked here."""
    if args.size is None:
        return args.scale or 4
    from vidsr.video.output_size import OutputSize

    size = OutputSize.parse(args.size)  # (a bad --size: a one-line error before any work)
    if args.scale is not None or args.weights is not None:
        return args.scale or 4
    from vidsr.models.registry import has_parameters, shipped_weights
    from vidsr.video.output_size import choose_scale
    from vidsr.video.reader import open_video

    scales = [scale for scale, degradation in shipped_weights(args.model) if degradation == "bi"]
    if not has_parameters(args.model):
        scales = [2, 3, 4]
    if not scales:
        return 4  # (loading says what ships)
    factor = 1.0
    for source in sources:
        try:
            with open_video(source, args.fps) as reader:
                factor = max(factor, size.factor(reader.info))
        except (VidsrError, OSError):
            continue  # (its job says what is wrong with it)
    scale = choose_scale(factor, scales)
    if not args.quiet and os.environ.get("RANK", "0") == "0":
        print(f"vidsr: --size {size}: {args.model} x{scale}, each frame then resized "
              f"({factor:.2f} times the input{'' if len(sources) == 1 else ' at most'})", file=sys.stderr)
    return scale


def check_jobs(args: argparse.Namespace) -> int:
    """``--jobs J``: checked (one-line errors), and ``--threads`` set to the cores / J when not
    given; J (1 for a dry run, which only reads). Before any torch work: see below."""
    from vidsr.video.batch import distributed

    if args.jobs < 1:
        raise VidsrError(f"--jobs must be 1 or more (got {args.jobs})")
    if args.jobs == 1 or args.dry_run:
        return 1
    if distributed():
        raise VidsrError("--jobs starts processes itself; under torchrun, use --nproc-per-node instead")
    if args.device != "cpu":
        raise VidsrError("--jobs shares the CPU's cores; for GPUs use torchrun --nproc-per-node=GPUS (README)")
    if not hasattr(os, "fork"):
        raise VidsrError("--jobs needs os.fork (Linux, macOS); here, use torchrun --standalone --nproc-per-node=J")
    import torch

    # The processes are forked copies of this one, and a copy of a process whose OpenMP
    # threads have started hangs in its first parallel operation: one thread until then.
    torch.set_num_threads(1)
    if args.threads is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        args.threads = max(1, cores // args.jobs)
    return args.jobs


def run_many(args: argparse.Namespace, sources: list[Path], batch: bool, time_range: TimeRange,
             per_video: bool = False) -> int:
    """A batch, a run under torchrun, or a dry run: per-file results; 1 if any file failed.

    ``per_video``: each video gets the denoise strength of its own quantiser (at most
    ``args.denoise``, the default's ceiling) rather than ``args.weights``."""
    from vidsr.video.batch import (
        BatchRun,
        Item,
        Ranks,
        batch_items,
        engines_by_weights,
        hold_to_own_cpus,
        join_ranks,
        leave_ranks,
        run_as_jobs,
    )
    from vidsr.video.batch import distributed as ranks_of_torchrun
    from vidsr.video.jobs import Engine, Job, JobOptions
    from vidsr.video.messages import say
    from vidsr.video.output_size import OutputSize

    options = JobOptions(
        tile=args.tile, crf=args.crf, codec=args.codec, fps=args.fps, chunk=DEFAULT_CHUNK, time_range=time_range,
        segment_frames=args.segment_frames, threads=args.threads, force=args.force, force_large=args.force_large,
        quiet=args.quiet, preset=args.preset, deinterlace=args.deinterlace, bit_depth=args.bit_depth,
        size=None if args.size is None else OutputSize.parse(args.size), scene_cuts=args.scene_cuts,
    )  # fmt: skip
    output = Path(args.output)
    created = batch and not output.exists() and not args.dry_run  # a batch's folder, made here
    items = batch_items(sources, output, args.suffix, create=not args.dry_run) if batch else [Item(sources[0], output)]

    def make_engine(device: str, weights: str | None = args.weights) -> Engine:
        return Engine(args.model, args.scale, weights, device, args.degradation, threads=args.threads,
                      backend=args.backend, precision=args.precision, self_ensemble=args.self_ensemble)  # fmt: skip

    def weights_of(source: Path) -> str | None:
        from vidsr.models.denoise import denoise_weights
        from vidsr.video.quantiser import mean_quantiser, strength_for

        strength = min(args.denoise, strength_for(mean_quantiser(source), args.denoise))
        return str(denoise_weights(args.model, args.scale, strength))

    chosen = weights_of if per_video else None

    if args.dry_run:
        if ranks_of_torchrun() and int(os.environ.get("RANK", "0")) != 0:
            return 0  # one report is enough
        engine_for = engines_by_weights(make_engine, args.device, chosen)
        failed = 0
        for item in items:
            try:
                job = Job(item.source, item.target, engine_for(item.source), options)
                job.prepare(dry_run=True)
                print("\n".join(job.describe(job.estimate())), flush=True)
            except VidsrError as error:
                if not batch:
                    raise
                failed += 1
                print(f"FAILED   {item.source}: {error}", flush=True)
        return 1 if failed else 0

    def share(ranks: Ranks) -> int:
        held = hold_to_own_cpus(ranks, args.threads, args.device)
        if held is not None and not args.quiet:
            say(f"[rank {ranks.rank}] held to CPU {', '.join(map(str, sorted(held)))} (--threads {args.threads})")
        try:
            with interrupt_on_sigterm():
                outcomes = BatchRun(items, make_engine, options, device=args.device, resume=args.resume,
                                    ranks=ranks, weights_of=chosen).run()  # fmt: skip
        finally:
            leave_ranks(ranks)
        if ranks.rank != 0:
            return 0
        if created and not any(output.iterdir()):  # every input failed: no empty folder left behind
            output.rmdir()
        return report(outcomes, args.quiet)

    if args.jobs > 1:
        return run_as_jobs(args.jobs, share)
    return share(join_ranks())


def report(outcomes: list, quiet: bool) -> int:
    """Rank 0's lines on every input (or only the failures, ``quiet``): 1 if any failed."""
    failed = [o for o in outcomes if o.status == "failed"]
    if not quiet or failed:
        for outcome in outcomes:
            print(f"vidsr: {outcome.line()}", file=sys.stderr)
        counts = {status: sum(o.status == status for o in outcomes) for status in ("done", "skipped", "failed")}
        print(f"vidsr: {counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed", file=sys.stderr)
    return 1 if failed else 0
