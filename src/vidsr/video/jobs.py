"""One input to one output: in a single pass, or in segments that survive an interruption.

An input (or time range) of at most ``segment_frames`` frames, and any frame-folder
output, is done in one pass straight into the output. A longer one is cut into segments
of ``segment_frames`` frames that depend only on the input and the settings, never on how
many processes share the work or where a run was interrupted. Each segment runs a fresh
model streamer that first sees the frames just before it (a warm-up overlap:
:data:`RECURRENT_OVERLAP` frames for recurrent models, the model's radius for others; their
outputs are dropped) and the ``radius`` frames just after it, and encodes its own frames,
starting with a keyframe, into the work folder (:mod:`vidsr.video.segments`). When every
segment is done, their packets are joined in order into the output, with the audio and
subtitles cut to the same range; the output appears only then, and the work folder goes.
So one process, several, or a run killed and resumed give the same file.

The journal keeps the backend, precision and device the segments run on (what ``--backend
auto`` and ``--precision auto`` chose, resolved before the first segment): every process that
continues the job runs on that one (:meth:`Engine.pinned`), or stops with a clear error, so
that one output never mixes backends. What a killed run leaves (partial segments and JSON
files, claims, a partial output) is removed when the job resumes or completes, and a fresh
run removes partial outputs no live process holds (:func:`vidsr.video.safety.remove_stale_partials`).
"""

from __future__ import annotations

import ctypes
import gc
import hashlib
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from vidsr.backends.core import Backend
from vidsr.backends.ensemble import unwrap_ensemble
from vidsr.errors import VidsrError
from vidsr.models.base import VSRModel
from vidsr.video.colour import format_bits, has_alpha
from vidsr.video.encoding_defaults import DEFAULT_CRF, DEFAULT_PRESET, X264_PRESETS, MAX_CRF_OTHERS, crf_problem
from vidsr.video.inference import ModelStage, load_model, make_streamer, model_device
from vidsr.video.messages import format_bytes, say, warn
from vidsr.video.output_size import OutputSize, resize_stage
from vidsr.video.pipeline import (
    DEFAULT_CHUNK,
    DEFAULT_SEGMENT_FRAMES,
    InputStoppedEarly,
    UpscaleResult,
    make_progress,
    output_errors,
    run_stage,
    write_output,
)
from vidsr.video.reader import SourceInfo, check_deinterlace, open_video, ratio
from vidsr.video.remux import Window
from vidsr.video.runlock import RunLock
from vidsr.video.safety import atomic_output, check_paths, remove_stale_partials
from vidsr.video.segments import PacketFile, WorkFolder, input_identity
from vidsr.video.selection import Selection, Span, SpanFrames, TimeRange, format_time, plan_spans, select
from vidsr.video.tiling import DEFAULT_OVERLAP, plan_tiles
from vidsr.video.writer import (
    CRF_CODECS, IMAGE_ALPHA_SUFFIXES, VideoFileWriter, check_output_size, default_codec, output_is_folder,
    output_is_image, pixel_format,
)  # fmt: skip

RECURRENT_OVERLAP = 16  # warm-up frames before each segment for models with a recurrent state
LARGE_OUTPUT = (3840, 2160)  # more pixels than 4K UHD needs --force-large
DRY_RUN_FRAMES = 24  # frames timed by --dry-run


# glibc's mallopt parameter, and the size from which buffers are mapped from the OS (see below).
_M_MMAP_THRESHOLD, _MAPPED_FROM = -3, 256 << 10


def steady_heap() -> None:
    """Map frame-sized buffers (tensors, frames, encoder pictures) from the OS and back.

    By default glibc raises its mmap threshold to the largest block freed, so after the
    first frames every frame-sized buffer comes from the heap of whichever thread freed
    it, which fragments and keeps its high-water mark: peak memory then varies by hundreds
    of MB from run to run and creeps up with each segment's new encoder and threads. A
    fixed threshold keeps it flat at no cost in speed (measured). A user's
    ``MALLOC_MMAP_THRESHOLD_`` wins; other C libraries are left alone.
    """
    if os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return
    try:
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, _MAPPED_FROM)
    except (OSError, AttributeError):
        pass


def release_memory() -> None:
    """Free what a finished segment held, before the next one starts.

    Its decoder, encoder and streamer (x264's look-ahead alone holds tens of MB at 720p)
    sit in reference cycles among PyAV objects that only the cyclic collector frees, which
    seldom runs a full pass; and glibc keeps freed heap pages. Without this, peak memory
    rose by about 80 MiB per segment (a 10,000-frame 320x180 -> x4 job: +36% over 1,000
    frames in one pass, ``benchmarks/video_memory.py``).
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def new_token() -> str:
    """A fresh name for one run's claims."""
    return secrets.token_hex(6)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_identity(path: str | Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    stat = Path(path).stat()
    return {"path": str(Path(path).resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _setting_change(key: str, before: Any, now: Any) -> str:
    """One setting that differs from the journal's, for a person: a file by its path."""
    if isinstance(before, dict) and isinstance(now, dict) and "path" in before and "path" in now:
        if before["path"] == now["path"]:
            return f"{key} {now['path']} (changed since: another size or time)"
        return f"{key} {before['path']} -> {now['path']}"
    return f"{key} {before!r} -> {now!r}"


# Settings that journals written before they existed lack, with the value those jobs had.
LEGACY_SETTINGS: dict[str, Any] = {
    "deinterlaced": False, "bits": 8, "alpha": False, "self_ensemble": 1, "size": None, "scene_cuts": False,
}  # fmt: skip
BIT_DEPTHS = ("auto", "8")  # auto: keep a 10-bit (or deeper) source at 10 bits; 8: always 8-bit


@dataclass(frozen=True)
class JobOptions:
    """How to upscale (the model aside); see :func:`vidsr.video.pipeline.upscale_video`."""

    tile: int | None = None
    overlap: int = DEFAULT_OVERLAP
    crf: int = DEFAULT_CRF
    codec: str | None = None
    fps: float | Fraction | None = None
    chunk: int = DEFAULT_CHUNK
    time_range: TimeRange = field(default_factory=TimeRange)
    segment_frames: int = DEFAULT_SEGMENT_FRAMES
    segment_overlap: int | None = None
    threads: int | None = None
    force: bool = False
    force_large: bool = False
    quiet: bool = False
    preset: str = DEFAULT_PRESET
    deinterlace: str = "auto"
    bit_depth: str = "auto"
    size: OutputSize | None = None  # --size: the output's frame size (vidsr.video.output_size)
    scene_cuts: bool = True  # a fresh model state at each cut between shots (vidsr.shots)

    def __post_init__(self) -> None:
        check_deinterlace(self.deinterlace)
        if self.bit_depth not in BIT_DEPTHS:
            raise VidsrError(f"--bit-depth must be one of {', '.join(BIT_DEPTHS)}, not {self.bit_depth!r}")
        if self.preset not in X264_PRESETS:
            raise VidsrError(f"unknown --preset {self.preset!r}; use one of {', '.join(X264_PRESETS)}")
        if not 0 <= self.crf <= MAX_CRF_OTHERS:
            raise VidsrError(f"--crf must be from 0 to {MAX_CRF_OTHERS} (to 51 for H.264 and HEVC), not {self.crf}")
        if self.chunk < 1:
            raise ValueError("chunk must be >= 1")
        if self.segment_frames < 0:
            raise VidsrError(f"--segment-frames must be 0 (one pass) or more, not {self.segment_frames}")
        if self.segment_overlap is not None and self.segment_overlap < 0:
            raise VidsrError(f"the segment overlap cannot be negative ({self.segment_overlap})")
        if self.threads is not None and self.threads < 1:
            raise VidsrError(f"--threads must be at least 1, not {self.threads}")


class Engine:
    """The model, loaded once per process, and where it runs."""

    def __init__(
        self,
        model: str | VSRModel,
        scale: int = 4,
        weights: str | Path | None = None,
        device: str = "cpu",
        degradation: str = "bi",
        note: Callable[[str], None] = warn,
        threads: int | None = None,
        backend: str = "auto",
        precision: str = "auto",
        self_ensemble: int = 1,
    ) -> None:
        import torch

        from vidsr.backends import make_backend

        steady_heap()
        if threads:
            torch.set_num_threads(threads)
        self.net = load_model(model, scale, weights, device, note, degradation=degradation)
        self.name = model if isinstance(model, str) else type(model).__name__
        self.device = model_device(self.net, device)
        self.self_ensemble = self_ensemble
        self.runner = make_backend(self.net, backend, self.device, precision, note=note, fast_bicubic=True,
                                   self_ensemble=self_ensemble)  # fmt: skip
        self.identity = {
            "model": self.name, "scale": self.net.scale, "weights": _file_identity(weights),
            "degradation": degradation if weights is None else None, "backend": backend, "precision": precision,
            "self_ensemble": self_ensemble,
        }  # fmt: skip
        self._pinned: dict[tuple[str, str], Backend] = {}

    def overlap_frames(self, requested: int | None) -> int:
        """Warm-up frames before a segment: ``requested``, else 16 with a recurrent state, else the radius."""
        if requested is not None:
            return requested
        net = self.net
        recurrent = type(net).init_hidden is not VSRModel.init_hidden or net.warmup > 0
        return max(RECURRENT_OVERLAP, net.radius) if recurrent else net.radius

    def resolve(self, runner: Backend, height: int, width: int) -> None:
        """Let ``--backend auto`` choose now, for ``height x width`` LR frames (else it does at the first frame)."""
        from vidsr.backends.auto import AutoBackend

        runner = unwrap_ensemble(runner)
        if isinstance(runner, AutoBackend) and runner.chosen is None:
            runner.resolve(height, width)

    def pinned(self, then: dict[str, Any] | None, where: Path) -> Backend:
        """The backend a resumed job must run on: the one its first segments ran on (``then``,
        from its journal), so that one output never mixes backends or precisions.

        ``--backend auto`` and ``--precision auto`` can resolve otherwise on another machine or
        after auto's cached choice changed; the job's own backend is then built here. When
        it cannot run here (another device, a package missing), a clear error.
        """
        if then is None:  # (a journal that did not record it)
            return self.runner
        name, precision, device = then.get("backend"), then.get("precision"), then.get("device")
        started = f"{where} was started with backend {name} {precision} on {device}"
        if device != self.device.type:
            raise VidsrError(
                f"{started}; this run is on {self.device.type}, which would mix backends in one output: "
                f"resume with --device {device}, or use --force to start again"
            )
        if runs_on(self.runner) == then:
            return self.runner
        key = (str(name), str(precision))
        if key not in self._pinned:
            from vidsr.backends import make_backend
            from vidsr.backends.auto import AutoBackend
            from vidsr.backends.core import BACKENDS, missing_package, missing_packages

            runner = unwrap_ensemble(self.runner)
            try:
                if name not in BACKENDS:
                    raise VidsrError(f"no backend {name!r} in this vidsr")
                if missing_packages(key[0]):
                    raise missing_package(key[0])
                if isinstance(runner, AutoBackend):
                    pinned = runner.backend(*key)
                    if pinned is None:
                        raise VidsrError("it failed to start; see the warning above")
                else:
                    pinned = make_backend(self.net, key[0], self.device, key[1], fast_bicubic=True)
                pinned = make_backend(pinned, self_ensemble=self.self_ensemble)
            except VidsrError as error:
                raise VidsrError(
                    f"{started} (what --backend {self.identity['backend']} --precision "
                    f"{self.identity['precision']} chose there), which cannot run here ({error}); continuing "
                    "with another would mix backends in one output: resume where it can run, or use --force "
                    "to start again"
                ) from None
            if runs_on(pinned) != then:  # (e.g. a model without parameters always runs on torch)
                raise VidsrError(
                    f"{started}, which cannot run here (got {pinned.describe()}); use --force to start again"
                )
            self._pinned[key] = pinned
        return self._pinned[key]

    def backend(self) -> str:
        """E.g. ``openvino bf16 (cpu, 2 threads)`` or ``torch bf16 (cuda:0) (NVIDIA H200)``."""
        import torch

        if self.device.type == "cuda":
            return f"{self.runner.describe()} ({torch.cuda.get_device_name(self.device)})"
        return self.runner.describe()


def runs_on(runner: Backend) -> dict[str, str] | None:
    """The backend, precision and device type a runner computes with (auto: what it chose;
    None while it has not chosen): journals and segment records keep it."""
    from vidsr.backends.auto import AutoBackend

    runner = unwrap_ensemble(runner)  # a self-ensemble computes with the backend inside it
    if isinstance(runner, AutoBackend):
        if runner.chosen is None:
            return None
        runner = runner.chosen
    return {"backend": runner.name, "precision": str(runner.precision), "device": runner.device.type}


class Job:
    """``source`` upscaled into ``target``; ``token`` names this run's claims (shared by its ranks).

    Warnings go to ``on_warning`` and into ``messages`` (the result's ``warnings``).
    """

    def __init__(
        self,
        source: str | Path,
        target: str | Path,
        engine: Engine,
        options: JobOptions,
        *,
        token: str | None = None,
        on_warning: Callable[[str], None] = warn,
        label: str | None = None,
        messages: list[str] | None = None,
    ) -> None:
        self.source, self.target = Path(source), Path(target)
        self.engine, self.options = engine, options
        self.runner = engine.runner  # a resumed job's: the backend its journal names (Engine.pinned)
        self.folder = output_is_folder(self.target)
        self.image = output_is_image(self.target)  # one frame, as an image file
        self.work = WorkFolder(self.target, token or new_token())
        self.label = label or self.source.name
        self.messages = messages if messages is not None else []  # every warning, for the result
        self._on_warning = on_warning
        self.mode: str | None = None  # "single" or "segments", once prepared
        self.spans: list[Span] = []
        self.tile: int | None = None
        self.lookahead = engine.net.radius
        self._stamps: list[int] | None = None
        self.lock: RunLock | None = None  # held from prepare() to the output (or to the process's end)

    def note(self, message: str) -> None:
        self.messages.append(message)
        self._on_warning(message)

    # -- preparing -------------------------------------------------------------------------

    def prepare(self, resume: bool = False, *, dry_run: bool = False) -> str:
        """Check the request, select the frames, choose one pass or segments: the mode.

        For segments, creates the work folder and journal (``resume``: loads and checks
        them; a missing or foreign journal is an error). ``dry_run`` checks without writing.
        """
        options = self.options
        codec = options.codec or default_codec(self.target)
        if not (self.folder or self.image) and codec in CRF_CODECS and (problem := crf_problem(options.crf, codec)):
            raise VidsrError(problem)
        if not dry_run:
            self.hold()
        try:
            return self._prepare(resume, dry_run)
        except BaseException:
            self.release()
            raise

    def _prepare(self, resume: bool, dry_run: bool) -> str:
        options = self.options
        journal = self.work.journal() if resume else None
        if not resume and not dry_run and self.work.exists() and not options.force:
            done = sum(1 for i in range(len(self.work.journal().get("segments", []))) if self.work.record(i))
            raise VidsrError(
                f"{self.target} has an unfinished job ({done} segments done, in {self.work.path}): "
                "add --resume to continue it, or --force to start again"
            )
        if not dry_run:
            replace = options.force or bool(journal and journal.get("replace"))
            check_paths(self.source, self.target, force=replace, folder=self.folder)
            if not resume:  # what killed runs left: a work folder without journal, partial outputs
                self.work.remove_if_abandoned()
                remove_stale_partials(self.target)
        with open_video(self.source, options.fps, options.threads, options.deinterlace, self.deep) as reader:
            info = self.info = reader.info
            self.size, self.output_info = self._output_size(info)
            check_output_size(*self.size, self.folder or self.image)
            if not (options.force_large or dry_run):
                check_large(*self.size)
            if journal is not None:
                self._load(journal)
                return self.mode
            self.selection, stamps = select(reader, options.time_range)
        count, frames = self.selection.count, options.segment_frames
        if self.image and count is not None and count > 1:
            raise VidsrError(
                f"{self.target.name} is an image, which holds one frame, and {self.source.name} has {count} "
                f"{'in that range ' if not options.time_range.whole else ''}(name a folder, without a suffix, or a "
                "video file; or pick one frame with --start TIME --frames 1)"
            )
        if self.folder or self.image or frames == 0 or (count is not None and count <= frames):
            if not dry_run and self.work.exists():  # (--force) an unfinished job's segments are of no use now
                self.work.remove()
            self.mode, self._stamps = "single", stamps
            return self.mode
        self.tile = make_streamer(
            self.runner, info.height, info.width, options.tile, chunk=options.chunk,
            device=self.engine.device, overlap=options.overlap, on_warning=self.note, scene_cuts=options.scene_cuts,
        )[1]  # fmt: skip
        overlap = self.engine.overlap_frames(options.segment_overlap)
        self.spans = plan_spans(self.selection, stamps, frames, overlap)
        self.mode, self._stamps = "segments", stamps
        if not dry_run:
            self.engine.resolve(self.runner, *self._first_size())  # the journal keeps what auto chose
            self.work.create(self._journal(overlap))
        return self.mode

    def _output_size(self, info: SourceInfo) -> tuple[tuple[int, int], SourceInfo]:
        """The output frame size, and the input's info as the writer should see it (the output's
        pixel aspect): the model's scale, or ``--size`` (:mod:`vidsr.video.output_size`)."""
        scale, asked = self.engine.net.scale, self.options.size
        if asked is None:
            return (info.width * scale, info.height * scale), info
        width, height, aspect = asked.frame_size(info)
        if width <= info.width and height <= info.height:
            raise VidsrError(
                f"--size {asked} gives {width}x{height} frames, not larger than {self.source.name}'s "
                f"{info.width}x{info.height}: nothing to upscale"
            )
        if asked.factor(info) > scale + 1e-9:
            self.note(
                f"--size {asked}: {width}x{height} is {asked.factor(info):.2f} times {self.source.name}'s "
                f"{info.width}x{info.height}, more than the model's x{scale}; the rest is bicubic"
            )
        return (width, height), replace(info, pixel_aspect=aspect)

    def _for_writer(self, info: SourceInfo) -> SourceInfo:
        """A reader's ``info`` as the writer should see it (the output's pixel aspect; the
        reader's own warnings, which decoding adds to)."""
        return replace(info, pixel_aspect=self.output_info.pixel_aspect)

    def _stage(self, streamer: Any) -> Any:
        """The model's stage, its outputs resized to ``--size`` where one is asked for."""
        stage = ModelStage(streamer, self.engine.device)
        scale = self.engine.net.scale
        if self.size == (self.info.width * scale, self.info.height * scale):
            return stage
        return resize_stage(stage, *self.size)

    @property
    def deep(self) -> bool:
        """Whether a source of more than 8 bits per sample stays deeper than 8 bits (video-file
        output, ``--bit-depth auto``); PNG frames are 8-bit."""
        return self.options.bit_depth == "auto" and not (self.folder or self.image)

    def _first_size(self) -> tuple[int, int]:
        """The LR size a segment's streamer first gets: the frame's, or its first tile's."""
        height, width = self.info.height, self.info.width
        if self.tile is None:
            return height, width
        first = plan_tiles(height, width, self.tile, self.options.overlap)[0]
        return first.crop_y[1] - first.crop_y[0], first.crop_x[1] - first.crop_x[0]

    def settings(self) -> dict[str, Any]:
        """What decides the output (a resumed job must be asked for with the same)."""
        o = self.options
        return {
            **self.engine.identity, "tile": o.tile, "overlap": o.overlap, "crf": o.crf, "codec": o.codec,
            "fps": None if o.fps is None else str(o.fps), "chunk": o.chunk, "range": o.time_range.to_json(),
            "segment_frames": o.segment_frames, "segment_overlap": o.segment_overlap, "preset": o.preset,
            "container": self.target.suffix.lower(), "deinterlaced": self.info.deinterlaced,
            "bits": 10 if self.deep and self.info.bits > 8 else 8, "alpha": self.info.alpha,
            "size": None if o.size is None else str(o.size), "scene_cuts": o.scene_cuts,
        }  # fmt: skip

    def _journal(self, overlap: int) -> dict[str, Any]:
        from vidsr import __version__

        return {
            "input": input_identity(self.source), "output": str(self.target.resolve()),
            "settings": self.settings(), "runs_on": runs_on(self.runner), "replace": self.options.force,
            "selection": self.selection.to_json(), "tile": self.tile, "overlap_frames": overlap,
            "lookahead": self.lookahead, "segments": [[s.warm, s.start, s.end, s.offset] for s in self.spans],
            "vidsr": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }  # fmt: skip

    def _load(self, journal: dict[str, Any]) -> None:
        """Take the plan from the journal of an unfinished job, after checking that it is this job's."""
        where = self.work.journal_path
        then, now = journal.get("input", {}), input_identity(self.source)
        changed = [key for key in ("size", "mtime_ns", "head_sha256") if then.get(key) != now[key]]
        if changed:
            raise VidsrError(
                f"{where} belongs to another input than {self.source} ({then.get('path')}; differs in "
                f"{', '.join(changed)}): use --force to start again"
            )
        before, asked = journal.get("settings", {}), self.settings()
        before = {**LEGACY_SETTINGS, **before}
        differ = [_setting_change(key, before.get(key), asked[key]) for key in asked if before.get(key) != asked[key]]
        if differ:
            raise VidsrError(
                f"{where} was started with other settings ({'; '.join(differ)}): repeat the first command "
                "with --resume, or use --force to start again"
            )
        self.selection = Selection.from_json(journal["selection"])
        self.spans = [Span(*span) for span in journal["segments"]]
        self.tile, self.lookahead = journal["tile"], journal["lookahead"]
        self.runner = self.engine.pinned(journal.get("runs_on"), where)
        self.mode = "segments"
        self.work.clean_stale()  # (a partial output left by a run killed as it joined them goes after the join)

    # -- running -----------------------------------------------------------------------------

    def run(self, resume: bool = False) -> UpscaleResult:
        """Prepare, then do everything in this process."""
        try:
            return self._run(resume)
        finally:
            self.release()

    def _run(self, resume: bool) -> UpscaleResult:
        started = time.perf_counter()
        if self.prepare(resume) == "single":
            return self.run_single(started)
        with make_progress(self.selection.count, self.label, self.options.quiet) as bar:
            bar.update(sum(record["frames"] for record in self.records() if record))
            try:
                for index in self.pending():
                    if self.work.claim(f"seg-{index:06d}") and self.run_segment(index, bar)["last"]:
                        break
            except KeyboardInterrupt:
                done = sum(1 for record in self.records() if record)
                say(
                    f"{done} of {len(self.spans)} segments are done in {self.work.path}; "
                    "the same command with --resume continues"
                )
                raise
        return self.assemble(started)

    def _whole(self) -> Span:
        return self.selection.whole_span()

    def run_single(self, started: float | None = None) -> UpscaleResult:
        """The whole selection in one pass, straight into the output."""
        started = started or time.perf_counter()
        options, engine, selection = self.options, self.engine, self.selection
        reader = open_video(self.source, options.fps, options.threads, options.deinterlace, self.deep)
        with SpanFrames(self.source, selection, self._whole(), reader=reader) as frames:
            if frames.peek() is None:
                raise VidsrError(f"{self.source}: no frame in the range {options.time_range.describe()}")
            info, outcome = frames.info, frames.outcome
            names = None
            if info.frame_names is not None and selection.unit == "pts":
                names = info.frame_names[selection.first_index : selection.first_index + (selection.count or 0)]
            streamer, tile = make_streamer(
                self.runner, info.height, info.width, options.tile, chunk=options.chunk, device=engine.device,
                overlap=options.overlap, on_warning=self.note, scene_cuts=options.scene_cuts,
            )  # fmt: skip
            count = write_output(
                frames, self._stage(streamer), self.target, self.size, folder=self.folder,
                codec=options.codec, crf=options.crf, chunk=options.chunk, label=self.label, quiet=options.quiet,
                note=self.note, device=engine.device, window=self._window(outcome.first_pts, outcome.shift),
                names=names, threads=options.threads, total=selection.count, preset=options.preset,
                deep=self.deep, info=self._for_writer(info),
            )  # fmt: skip
        remove_stale_partials(self.target)
        self.release()
        result = self._result(count, started, tile)
        if outcome.problem:
            raise InputStoppedEarly(
                f"{outcome.problem}; the {count} frames before it were written to {self.target}", result
            )
        return result

    def hold(self) -> None:
        """Hold the output's run lock (:mod:`vidsr.video.runlock`): another run's is an error."""
        if self.target.parent.is_dir():
            self.lock = (self.lock or RunLock(self.target, self.work.token)).acquire()

    def release(self) -> None:
        """Let go of the output's run lock (done: another run may take the output)."""
        if self.lock is not None:
            self.lock.release()

    def _window(self, first_pts: int | None, shift: int | None) -> Window | None:
        """The audio/subtitle window of the selection (``first_pts``, ``shift``: found by decoding)."""
        return self.selection.window(self.info.time_base, first_pts, shift)

    def _result(self, frames: int, started: float, tile: int | None) -> UpscaleResult:
        return UpscaleResult(
            output=self.target, frames=frames, seconds=time.perf_counter() - started, width=self.size[0],
            height=self.size[1], model=self.engine.name, tile=tile, warnings=self.messages,
        )  # fmt: skip

    def records(self) -> list[dict[str, Any] | None]:
        """Each segment's record (None while not done)."""
        return [self.work.record(index) for index in range(len(self.spans))]

    def pending(self) -> list[int]:
        """Segments still to do (none after a done segment that ends the input)."""
        todo = []
        for index, record in enumerate(self.records()):
            if record is None:
                todo.append(index)
            elif record["last"]:
                break
        return todo

    def completed(self) -> list[dict[str, Any]] | None:
        """The records of the segments that make the output, or None while some are missing."""
        done: list[dict[str, Any]] = []
        for record in self.records():
            if record is None:
                return None
            done.append(record)
            if record["last"]:
                break
        return done

    def run_segment(self, index: int, progress: Any = None) -> dict[str, Any]:
        """Encode segment ``index`` into the work folder; its record."""
        options, engine, info = self.options, self.engine, self.info
        started = time.perf_counter()
        streamer, _ = make_streamer(
            self.runner, info.height, info.width, self.tile or max(info.height, info.width), chunk=options.chunk,
            device=engine.device, overlap=options.overlap, on_warning=self.note, scene_cuts=options.scene_cuts,
        )  # fmt: skip
        part = self.work.partial(index)
        packets = PacketFile(part)
        try:
            with output_errors(self.target, info, engine.device), SpanFrames(
                self.source, self.selection, self.spans[index], self.lookahead, fps=options.fps,
                threads=options.threads, deinterlace=options.deinterlace, deep=self.deep,
            ) as frames:
                writer = VideoFileWriter(
                    None, self._for_writer(frames.info), *self.size,
                    codec=options.codec, crf=options.crf, copy_streams=False,
                    final_suffix=self.target.suffix, threads=options.threads, packets=packets.write,
                    preset=options.preset, deep=self.deep,
                )  # fmt: skip
                try:
                    count = run_stage(frames, self._stage(streamer), writer, chunk=options.chunk,
                                      progress=progress)  # fmt: skip
                except BaseException:
                    writer.abort()
                    raise
                writer.close()
            packets.close()
        except BaseException:
            packets.close()
            part.unlink(missing_ok=True)
            raise
        outcome = frames.outcome
        record = {
            "segment": index, "frames": count, "last": not outcome.more, "problem": outcome.problem,
            "first_pts": outcome.first_pts, "shift": outcome.shift, "warnings": outcome.warnings,
            "packets": packets.count, "bytes": part.stat().st_size, "extradata_sha256": _sha256(writer.extradata),
            "seconds": round(time.perf_counter() - started, 3), "host": socket.gethostname(), "pid": os.getpid(),
            "runs_on": runs_on(self.runner),
        }  # fmt: skip
        self.work.finish_segment(index, part, record)
        del writer, frames, streamer, packets
        release_memory()
        return record

    def assemble(self, started: float | None = None) -> UpscaleResult:
        """Join the done segments into the output (atomically), then remove the work folder."""
        started = started or time.perf_counter()
        records = self.completed()
        if records is None:
            missing = [i for i, record in enumerate(self.records()) if record is None]
            raise VidsrError(f"{self.target}: segments {missing} are not done yet")
        options, info = self.options, self.info
        if not any(record["frames"] for record in records):  # (a range past an end the header misstated)
            self.work.remove()
            raise VidsrError(f"{self.source}: no frame in the range {options.time_range.describe()}")
        window = self._window(records[0]["first_pts"], records[0]["shift"])
        with output_errors(self.target, info, self.engine.device), atomic_output(self.target, folder=False) as partial:
            writer = VideoFileWriter(
                partial, self.output_info, *self.size, codec=options.codec, crf=options.crf,
                final_suffix=self.target.suffix,
                warn=self.note, threads=options.threads, window=window, preset=options.preset, deep=self.deep,
            )  # fmt: skip
            try:
                self._join(writer, records)
            except BaseException:
                writer.abort()
                raise
            writer.close()
        self.work.remove()
        remove_stale_partials(self.target)
        self.release()
        for message in dict.fromkeys(w for record in records for w in record["warnings"]):
            self.note(message)
        used = {_describe_runs_on(record.get("runs_on")) for record in records}
        if len(used) > 1:
            self.note(
                f"{self.target}: its segments were upscaled with different backends ({'; '.join(sorted(used))}): "
                "frames may differ slightly from one segment to the next"
            )
        result = self._result(writer.frames_written, started, self.tile)
        problem = records[-1]["problem"]
        if problem:
            raise InputStoppedEarly(
                f"{problem}; the {result.frames} frames before it were written to {self.target}", result
            )
        return result

    def _join(self, writer: VideoFileWriter, records: list[dict[str, Any]]) -> None:
        """Mux every segment's packets in order (decode times kept increasing across the cuts)."""
        last_dts: int | None = None
        for index, record in enumerate(records):
            checked = False
            for packet in PacketFile.read(self.work.segment(index)):
                if packet.dts is not None:
                    if last_dts is not None and packet.dts <= last_dts:
                        packet.dts = last_dts + 1
                        if packet.pts is not None and packet.dts > packet.pts:
                            raise VidsrError(f"segment {index} of {self.target} overlaps the one before in decode time")
                    last_dts = packet.dts
                writer.mux_packet(packet)
                if not checked and _sha256(writer.extradata) != record["extradata_sha256"]:
                    raise VidsrError(
                        f"segment {index} of {self.target} was encoded with other encoder settings "
                        "(another FFmpeg?); use --force to start again"
                    )
                checked = True

    # -- dry run ---------------------------------------------------------------------------

    def estimate(self, sample: int = DRY_RUN_FRAMES) -> dict[str, Any]:
        """Time and size of the job from its first ``sample`` frames (nothing is written)."""
        options, engine, selection = self.options, self.engine, self.selection
        count = selection.count
        sample = max(1, min(sample, count or sample))
        stamps = self._stamps
        if stamps is not None:
            end = stamps[sample] if sample < len(stamps) else None
            span = Span(selection.first, selection.first, end, selection.first_index)
        else:
            span = Span(0, 0, sample)
        sizes: list[int] = []
        clock = _Clock()
        info = self.info
        streamer, _ = make_streamer(
            self.runner, info.height, info.width, self.tile if self.mode == "segments" else options.tile,
            chunk=options.chunk, device=engine.device, overlap=options.overlap, on_warning=lambda message: None,
            scene_cuts=options.scene_cuts,
        )  # fmt: skip
        with SpanFrames(self.source, selection, span, fps=options.fps, threads=options.threads,
                        deinterlace=options.deinterlace, deep=self.deep) as frames:
            writer = VideoFileWriter(  # (PNG frames and images: their size as PNG frames in QuickTime)
                None, self.output_info, *self.size, codec="png" if self.folder or self.image else options.codec,
                crf=options.crf, copy_streams=False, threads=options.threads,
                final_suffix=".mov" if self.folder or self.image else self.target.suffix,
                packets=lambda packet: sizes.append(packet.size), preset=options.preset, deep=self.deep,
            )  # fmt: skip
            done = run_stage(frames, self._stage(streamer), writer, chunk=options.chunk, progress=clock)
            writer.close()
        seconds_per_frame = clock.per_frame(time.perf_counter(), options.chunk)
        total = count or done
        size = None if self.image and self.target.suffix.lower() not in (".png", ".tif", ".tiff", ".bmp") else (
            sum(sizes) / max(done, 1) * total)  # (no estimate for JPEG or WebP)
        return {
            "sample": done, "sample_seconds": clock.elapsed(), "seconds": seconds_per_frame * total,
            "bytes": size, "frames": total,
        }  # fmt: skip

    def describe(self, estimate: dict[str, Any] | None) -> list[str]:
        """The lines ``--dry-run`` prints."""
        info, options, selection = self.info, self.options, self.selection
        count = selection.count
        exact = "" if selection.unit == "pts" else "about "
        lines = [f"input:    {self.source}: {info.describe()}"]
        if not options.time_range.whole:
            lines.append(f"range:    {options.time_range.describe()}")
        lines.append(f"frames:   {exact}{count if count is not None else 'unknown'}")
        suffix = self.target.suffix.lower()
        codec = options.codec or ("PNG frames" if self.folder else default_codec(self.target))
        if self.image:
            codec = f"a {suffix[1:].upper()} image"
        large = "  (above 4K: needs --force-large)" if too_large(*self.size) else ""
        bits = ""
        chosen = None  # the video encoder's pixel format
        if not (self.folder or self.image):
            import av

            try:
                chosen = pixel_format(av.codec.Codec(codec, "w"), deep=self.settings()["bits"] > 8, alpha=info.alpha)
            except (av.error.FFmpegError, ValueError):  # an unknown encoder: the writer says so
                pass
        if self.settings()["bits"] > 8 or info.alpha:  # where the encoder has 10 bits / alpha
            if chosen and self.settings()["bits"] > 8:
                bits = f", {format_bits(chosen)}-bit"
            if chosen and info.alpha:
                bits += ", with alpha" if has_alpha(chosen) else ", opaque (the alpha channel is dropped)"
            if self.folder and info.alpha:
                bits = ", RGBA"
        if self.image and info.alpha:
            bits = ", RGBA" if suffix in IMAGE_ALPHA_SUFFIXES else ", opaque (the alpha channel is dropped)"
        scale = self.engine.net.scale
        size = f"{self.size[0]}x{self.size[1]} (x{scale}"
        if self.options.size is not None and self.size != (info.width * scale, info.height * scale):
            shape = self.output_info.pixel_aspect
            size += f", resized to --size {self.options.size}" + (f", pixels {ratio(shape)}" if shape else "")
        size += ")"
        width, height = self.size
        if chosen and chosen.startswith("yuv420") and (width % 2 or height % 2):
            size += f", padded to {width + width % 2}x{height + height % 2} for {chosen}"
        quality = "" if self.folder or self.image else f", CRF {options.crf}"
        lines.append(f"output:   {self.target}: {size}, {codec}{bits}{quality}{large}")
        lines.append(f"model:    {self.engine.name}; backend {self.engine.backend()}")
        if self.mode == "segments":
            lines.append(f"work:     {len(self.spans)} segments of {options.segment_frames} frames "
                         f"(resumable, in {self.work.path})")  # fmt: skip
        else:
            lines.append("work:     one pass")
        if estimate is not None:
            lines.append(
                f"estimate: {format_time(estimate['seconds'])}"
                f"{'' if estimate['bytes'] is None else ' and ' + format_bytes(estimate['bytes'])} "
                f"(from {estimate['sample']} frames timed in {estimate['sample_seconds']:.1f} s)"
            )
        return lines


class _Clock:
    """A progress bar stand-in that notes when each output frame came."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.times: list[float] = []
        self.end = self.start

    def update(self, count: int) -> None:
        self.times.extend([time.perf_counter()] * count)

    def per_frame(self, end: float, skip: int) -> float:
        """Seconds per frame, leaving out the first ``skip`` frames (start-up) when there are more."""
        self.end = end
        frames = len(self.times)
        if frames > skip + 1:
            return (end - self.times[skip - 1 if skip else 0]) / (frames - skip)
        return (end - self.start) / max(frames, 1)

    def elapsed(self) -> float:
        return self.end - self.start


def _describe_runs_on(runs_on: dict[str, str] | None) -> str:
    if not runs_on:
        return "not recorded"
    return f"{runs_on.get('backend')} {runs_on.get('precision')} on {runs_on.get('device')}"


def too_large(width: int, height: int) -> bool:
    """More pixels than 4K UHD (3840x2160)."""
    return width * height > LARGE_OUTPUT[0] * LARGE_OUTPUT[1]


def check_large(width: int, height: int) -> None:
    """An output above 4K needs to be asked for (``--force-large``)."""
    if too_large(width, height):
        raise VidsrError(
            f"the output would be {width}x{height}, above 4K ({LARGE_OUTPUT[0]}x{LARGE_OUTPUT[1]}): add "
            "--force-large to start it (see --dry-run for the time and size it would take)"
        )
