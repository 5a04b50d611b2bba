"""``upscale_video``: a video file (or frame folder) in, the upscaled video out.

One way for a frame to flow::

    decoder thread (PyAV -> uint8 RGB through the input's colour matrix/range; uint16
                    for video of more than 8 bits per sample)
      -> to_tensor -> model streamer (push chunks / flush; tiles when needed) -> to_integer
      -> encoder thread (RGB -> YUV with the same matrix, same timestamps; audio and
         subtitles muxed alongside; an input's alpha plane travels beside its frame and
         is upscaled bicubic here, where the output can hold it)

The three stages run concurrently with bounded queues, so peak memory depends on the
frame size, not on the video's length. The output is written to a temporary file and
moved into place only when complete. A time range selects part of the input; an input
longer than one segment is done in segments that survive an interruption
(:mod:`vidsr.video.jobs`). This module imports torch and PyAV lazily, so that the CLI can
read :data:`DEFAULT_MODEL` cheaply.
"""

from __future__ import annotations

import re
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from vidsr.errors import VidsrError
from vidsr.video.encoding_defaults import DEFAULT_CRF  # defined there for writer.py too; importable from here
from vidsr.video.messages import warn
from vidsr.video.threads import BackgroundWorker, Prefetcher

if TYPE_CHECKING:
    import numpy as np

    from vidsr.models.base import VSRModel
    from vidsr.video.reader import DecodedFrame, SourceInfo
    from vidsr.video.remux import Window
    from vidsr.video.selection import TimeRange
    from vidsr.video.writer import FrameWriter

# The model `vidsr upscale` (and the demo) use when none is named: delta, the best quality
# for its speed among the shipped models (README, Results; benchmarks/results.py): on Vid4
# x4 BI it is 0.39 dB above fsrcnn with less flicker (TC) and 0.17 dB below flow at 1.6x
# flow's speed (16-20 fps at Vid4 size on 2 CPU cores); five_parallel is 0.06 dB below it at 6-7 fps.
DEFAULT_MODEL = "delta"
# LR frames pushed through the model at once (the model's `encode` batches them).
DEFAULT_CHUNK = 4
# Inputs longer than this many frames are done in resumable segments of that many frames
# (80 s at 25 fps): a few minutes of work to redo after a kill, 1% of extra warm-up frames.
DEFAULT_SEGMENT_FRAMES = 2000


def write_output(
    reader: Any,
    stage: Any,
    target: Path,
    size: tuple[int, int],
    *,
    folder: bool,
    codec: str | None,
    crf: int,
    chunk: int,
    label: str,
    quiet: bool,
    note: Callable[[str], None],
    device: Any,
    window: Window | None = None,
    names: list[str] | None = None,
    threads: int | None = None,
    total: int | None = None,
    preset: str | None = None,
    deep: bool = False,
    alpha: bool = True,
    info: SourceInfo | None = None,
) -> int:
    """Run ``stage`` over the reader's frames into ``target``, which appears only when complete.

    Returns the number of frames written. Out-of-memory and FFmpeg errors become one-line
    :class:`VidsrError` messages; the reader's warnings are passed to ``note`` at the end.
    ``window`` cuts the audio and subtitles to a time range, ``names`` names PNG frames,
    ``threads`` sets the encoder's threads, ``total`` the progress bar's frame count,
    ``deep`` keeps more than 8 bits per sample and ``alpha`` the input's transparency
    (:class:`~vidsr.video.writer.VideoFileWriter`; False for frames that are not the input's).
    ``info`` is what the writer is told of the input, when not the reader's (``--size``: the
    output's pixel aspect).
    """
    from vidsr.video.safety import atomic_output
    from vidsr.video.writer import open_writer

    info = info or reader.info
    with output_errors(target, info, device), atomic_output(target, folder=folder) as partial:
        writer = open_writer(
            partial, info, size[0], size[1], folder=folder, codec=codec, crf=crf,
            final_suffix=target.suffix, warn=note, threads=threads, window=window, names=names, deep=deep,
            alpha=alpha, **({"preset": preset} if preset else {}),
        )  # fmt: skip
        with make_progress(total if total is not None else info.expected_frames, label, quiet) as bar:
            try:
                count = run_stage(reader, stage, writer, chunk=chunk, progress=bar)
            except BaseException:
                writer.abort()
                raise
        writer.close()
    for message in info.warnings:
        note(message)
    return count


@contextmanager
def output_errors(target: Path, info: SourceInfo, device: Any) -> Iterator[None]:
    """Out-of-memory and FFmpeg errors as one-line :class:`VidsrError` messages."""
    import av
    import torch

    try:
        yield
    except torch.OutOfMemoryError:
        raise VidsrError(
            f"out of memory on {device} for {info.width}x{info.height} frames; "
            "try a smaller --tile (e.g. --tile 128)"
        ) from None
    except av.error.FFmpegError as error:
        refused = re.search(r'avcodec_open2\("([^"]+)"', str(error))
        if refused:  # an encoder that takes neither this frame rate, size or pixel format
            raise VidsrError(
                f"cannot write {target}: the {refused[1]} encoder does not open for this video ({info.width}x"
                f"{info.height} input at {float(info.rate):g} fps; FFmpeg: {error}); vidsr is tested with libx264, "
                "libx265, libvpx-vp9, ffv1 and png"
            ) from None
        raise VidsrError(f"cannot write {target}: {error}") from None


class InputStoppedEarly(VidsrError):
    """The input ended early (truncated or corrupt); the frames before were written."""

    def __init__(self, message: str, result: UpscaleResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class UpscaleResult:
    """What :func:`upscale_video` did."""

    output: Path
    frames: int
    seconds: float
    width: int
    height: int
    model: str
    tile: int | None
    warnings: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        """Frames per second, end to end."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0


class Stage(Protocol):
    """Turns LR frames into output frames, one for one and in order, possibly delayed."""

    def push(self, frames: list[np.ndarray]) -> list[np.ndarray]: ...

    def flush(self) -> list[np.ndarray]: ...


class MappedStage:
    """A :class:`Stage` whose output frames each go through ``per_frame`` (a resize, a crop)."""

    def __init__(self, stage: Stage, per_frame: Callable[[np.ndarray], np.ndarray]) -> None:
        self.stage, self.per_frame = stage, per_frame

    def push(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        return [self.per_frame(frame) for frame in self.stage.push(frames)]

    def flush(self) -> list[np.ndarray]:
        return [self.per_frame(frame) for frame in self.stage.flush()]


def run_stage(
    frames: Iterable[DecodedFrame],
    stage: Stage,
    writer: FrameWriter,
    *,
    chunk: int = DEFAULT_CHUNK,
    progress: Any = None,
) -> int:
    """Decode -> stage -> encode, the two ends in their own threads; returns frames written.

    Each output frame gets the timestamp and duration of the input frame it came from (and
    its alpha plane, which the writer upscales, when the writer keeps alpha); outputs of
    frames with ``keep=False`` (warm-up and look-ahead frames) are dropped.
    """
    timing: deque[tuple[int, int | None, bool, Any]] = deque()
    keep_alpha = writer.alpha
    reader = Prefetcher(frames, depth=2 * chunk)
    sink: BackgroundWorker[tuple[Any, int, int | None, Any]] = BackgroundWorker(
        lambda item: writer.write(*item), depth=2 * chunk
    )
    count = 0

    def emit(outputs: list[np.ndarray]) -> None:
        nonlocal count
        for rgb in outputs:
            pts, duration, keep, alpha = timing.popleft()
            if not keep:
                continue
            sink.put((rgb, pts, duration, alpha))
            count += 1
            if progress is not None:
                progress.update(1)

    try:
        batch: list[np.ndarray] = []
        for frame in reader:
            timing.append((frame.pts, frame.duration, frame.keep, frame.alpha if keep_alpha else None))
            batch.append(frame.rgb)
            if len(batch) == chunk:
                emit(stage.push(batch))
                batch = []
        if batch:
            emit(stage.push(batch))
        if timing:  # outputs still owed (none for a segment past the end of the input)
            emit(stage.flush())
        sink.finish()
    except BaseException:
        sink.abort()
        raise
    finally:
        reader.close()
    return count


def make_progress(total: int | None, description: str, quiet: bool) -> Any:
    """A tqdm bar on stderr with frames, fps and ETA (disabled by ``quiet``)."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="frame",
        desc=description,
        disable=quiet,
        file=sys.stderr,
        dynamic_ncols=True,
        smoothing=0.1,
    )


def upscale_video(
    input: str | Path,
    output: str | Path,
    model: str | VSRModel = DEFAULT_MODEL,
    weights: str | Path | None = None,
    scale: int | None = None,
    tile: int | None = None,
    device: str = "cpu",
    crf: int = DEFAULT_CRF,
    codec: str | None = None,
    force: bool = False,
    quiet: bool = False,
    *,
    fps: float | Fraction | None = None,
    chunk: int = DEFAULT_CHUNK,
    overlap: int | None = None,
    degradation: str = "bi",
    on_warning: Callable[[str], None] = warn,
    time_range: TimeRange | None = None,
    resume: bool = False,
    segment_frames: int | None = None,
    force_large: bool = False,
    threads: int | None = None,
    backend: str = "auto",
    precision: str = "auto",
    preset: str | None = None,
    deinterlace: str = "auto",
    bit_depth: str = "auto",
    self_ensemble: int = 1,
    size: str | tuple[int | None, int | None] | None = None,
    scene_cuts: bool = True,
) -> UpscaleResult:
    """Upscale a video file (any format FFmpeg reads) or a folder of frames.

    ``output`` is a video file (.mp4 .m4v .mkv .mov .avi .webm .ts; H.264 yuv420p CRF ``crf``
    by default, ``codec`` to change) or, when it has no suffix or is an existing folder, a
    folder of PNG frames (named as the input's frames when the input is a frame folder);
    any other suffix is an error. Frame count, timestamps,
    duration, audio/subtitle streams, colour tags, rotation and pixel aspect of the input are kept.
    ``model`` is a name from :data:`vidsr.models.MODELS` (shipped weights are used when
    present: those for ``degradation``, ``"bi"`` for clean sources, ``"bd"`` for blurred ones,
    ``"real"`` for compressed, noisy video; `vidsr upscale` picks ``"real"`` for video files
    when it ships, this function does not guess) or a :class:`VSRModel`. ``scale``: x4 for a
    model name when left out, a model instance's own scale (another is an error). ``tile`` (LR pixels)
    processes frames in overlapping tiles of that size (``overlap`` pixels of context); tiling
    is chosen automatically when a frame would not fit in memory. ``fps`` applies to frame-folder input.

    ``time_range`` (a :class:`~vidsr.video.selection.TimeRange`) upscales part of the input,
    with the audio and subtitles cut to it. A video-file output of more than
    ``segment_frames`` frames (default 2000; 0: always one pass) is made in resumable
    segments (:mod:`vidsr.video.jobs`): after an interruption, the same call with
    ``resume=True`` continues it. An output above 4K needs ``force_large``. ``threads`` sets
    the threads of torch, the decoder and the encoder. ``backend`` (auto, torch, onnxruntime,
    openvino) and ``precision`` (auto, fp32, bf16, fp16) choose how the model runs
    (:func:`vidsr.backends.make_backend`); ``self_ensemble`` (2, 4 or 8) averages the model's
    runs on that many flips and transposes of the video (:mod:`vidsr.backends.ensemble`:
    that many times slower). ``preset`` is x264's (default
    :data:`~vidsr.video.encoding_defaults.DEFAULT_PRESET`). ``deinterlace``: ``auto``
    deinterlaces interlaced input (:mod:`vidsr.video.reader`), ``on`` every frame, ``off`` none.
    ``bit_depth``: ``auto`` keeps a source of more than 8 bits per sample at 10 bits in a
    video-file output (yuv420p10le where the encoder has it), ``8`` writes 8-bit video.
    ``size`` (``"1920x1080"``, ``"x1080"``, ``"1080p"``, ``(None, 1080)``...) resizes each
    output frame to that size after the model's x``scale`` (:mod:`vidsr.video.output_size`).
    ``scene_cuts`` starts the model afresh at each cut between shots (:mod:`vidsr.shots`).

    Raises :class:`VidsrError` on bad input before any output exists. When the input is
    truncated or corrupt, the frames before that point are written and
    :class:`InputStoppedEarly` (a :class:`VidsrError`) is raised, holding the result.
    """
    from vidsr.video.jobs import Engine, Job, JobOptions
    from vidsr.video.output_size import OutputSize
    from vidsr.video.safety import check_paths
    from vidsr.video.selection import TimeRange
    from vidsr.video.tiling import DEFAULT_OVERLAP
    from vidsr.video.writer import output_is_folder

    source, target = Path(input), Path(output)
    options = JobOptions(
        tile=tile, overlap=DEFAULT_OVERLAP if overlap is None else overlap, crf=crf, codec=codec, fps=fps,
        chunk=chunk, time_range=time_range or TimeRange(), threads=threads, force=force,
        segment_frames=DEFAULT_SEGMENT_FRAMES if segment_frames is None else segment_frames,
        force_large=force_large, quiet=quiet, deinterlace=deinterlace, bit_depth=bit_depth,
        size=None if size is None else OutputSize.parse(size), scene_cuts=scene_cuts,
        **({"preset": preset} if preset else {}),
    )  # fmt: skip
    if not resume:  # refuse a bad request before loading the model
        check_paths(source, target, force=force, folder=output_is_folder(target))
    messages: list[str] = []

    def note(message: str) -> None:
        messages.append(message)
        on_warning(message)

    if scale is None:
        scale = 4 if isinstance(model, str) else model.scale
    engine = Engine(model, scale, weights, device, degradation, note, threads, backend=backend, precision=precision,
                    self_ensemble=self_ensemble)
    return Job(source, target, engine, options, on_warning=on_warning, messages=messages).run(resume)
