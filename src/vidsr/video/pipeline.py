"""``upscale_video``: a video file (or frame folder) in, the upscaled video out.

One way for a frame to flow::

    decoder thread (PyAV -> uint8 RGB through the input's colour matrix/range)
      -> to_tensor -> model streamer (push chunks / flush; tiles when needed) -> to_uint8
      -> encoder thread (RGB -> YUV with the same matrix, same timestamps; audio and
         subtitles muxed alongside)

The three stages run concurrently with bounded queues, so peak memory depends on the
frame size, not on the video's length. The output is written to a temporary file and
moved into place only when complete. This module imports torch and PyAV lazily, so that
the CLI can read :data:`DEFAULT_MODEL` cheaply.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from vidsr.errors import VidsrError
from vidsr.video.messages import warn
from vidsr.video.threads import BackgroundWorker, Prefetcher

if TYPE_CHECKING:
    import numpy as np

    from vidsr.models.base import VSRModel
    from vidsr.video.reader import DecodedFrame
    from vidsr.video.writer import FrameWriter

# The model `vidsr upscale` (and the demo) use when none is named: delta, the best quality
# for its speed among the shipped models (README, Results; benchmarks/results.py): on Vid4
# x4 BI it is the best shipped model, 0.34 dB above fsrcnn with less flicker (TC), and still
# runs at 16-20 fps at Vid4 size on 2 CPU cores; five_parallel is 0.07 dB below it at 5-6 fps.
DEFAULT_MODEL = "delta"
# LR frames pushed through the model at once (the model's `encode` batches them).
DEFAULT_CHUNK = 4
DEFAULT_CRF = 18


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
) -> int:
    """Run ``stage`` over the reader's frames into ``target``, which appears only when complete.

    Returns the number of frames written. Out-of-memory and FFmpeg errors become one-line
    :class:`VidsrError` messages; the reader's warnings are passed to ``note`` at the end.
    """
    import av
    import torch

    from vidsr.video.safety import atomic_output
    from vidsr.video.writer import open_writer

    info = reader.info
    try:
        with atomic_output(target, folder=folder) as partial:
            writer = open_writer(
                partial, info, size[0], size[1], folder=folder, codec=codec, crf=crf,
                final_suffix=target.suffix, warn=note,
            )  # fmt: skip
            with make_progress(info.expected_frames, label, quiet) as bar:
                try:
                    count = run_stage(reader, stage, writer, chunk=chunk, progress=bar)
                except BaseException:
                    writer.abort()
                    raise
            writer.close()
    except torch.OutOfMemoryError:
        raise VidsrError(
            f"out of memory on {device} for {info.width}x{info.height} frames; "
            "try a smaller --tile (e.g. --tile 128)"
        ) from None
    except av.error.FFmpegError as error:
        raise VidsrError(f"cannot write {target}: {error}") from None
    for message in info.warnings:
        note(message)
    return count


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


def run_stage(
    frames: Iterable[DecodedFrame],
    stage: Stage,
    writer: FrameWriter,
    *,
    chunk: int = DEFAULT_CHUNK,
    progress: Any = None,
) -> int:
    """Decode -> stage -> encode, the two ends in their own threads; returns frames written.

    Each output frame gets the timestamp and duration of the input frame it came from.
    """
    timing: deque[tuple[int, int | None]] = deque()
    reader = Prefetcher(frames, depth=2 * chunk)
    sink: BackgroundWorker[tuple[Any, int, int | None]] = BackgroundWorker(
        lambda item: writer.write(*item), depth=2 * chunk
    )
    count = 0

    def emit(outputs: list[np.ndarray]) -> None:
        nonlocal count
        for rgb in outputs:
            pts, duration = timing.popleft()
            sink.put((rgb, pts, duration))
            count += 1
            if progress is not None:
                progress.update(1)

    try:
        batch: list[np.ndarray] = []
        for frame in reader:
            timing.append((frame.pts, frame.duration))
            batch.append(frame.rgb)
            if len(batch) == chunk:
                emit(stage.push(batch))
                batch = []
        if batch:
            emit(stage.push(batch))
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
    scale: int = 4,
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
) -> UpscaleResult:
    """Upscale a video file (any format FFmpeg reads) or a folder of frames.

    ``output`` is a video file (H.264 yuv420p CRF ``crf`` by default; ``codec`` to change)
    or, when it has no video suffix, a folder of PNG frames. Frame count, timestamps,
    duration, audio/subtitle streams, colour tags and rotation of the input are kept.
    ``model`` is a name from :data:`vidsr.models.MODELS` (shipped weights are used when
    present: those for ``degradation``, ``"bi"`` for sharp sources or ``"bd"`` for blurred,
    camera-like ones) or a :class:`VSRModel`. ``tile`` (LR pixels) processes frames in overlapping
    tiles of that size (``overlap`` pixels of context); tiling is chosen automatically when
    a frame would not fit in memory. ``fps`` applies to frame-folder input.

    Raises :class:`VidsrError` on bad input before any output exists. When the input is
    truncated or corrupt, the frames before that point are written and
    :class:`InputStoppedEarly` (a :class:`VidsrError`) is raised, holding the result.
    """
    from vidsr.video.inference import ModelStage, load_model, make_streamer, model_device
    from vidsr.video.reader import open_video
    from vidsr.video.safety import check_paths
    from vidsr.video.tiling import DEFAULT_OVERLAP
    from vidsr.video.writer import check_output_size, is_video_path

    source, target = Path(input), Path(output)
    folder = not is_video_path(target)
    check_paths(source, target, force=force, folder=folder)
    if not 0 <= crf <= 63:
        raise VidsrError(f"--crf must be between 0 and 63, not {crf}")
    if chunk < 1:
        raise ValueError("chunk must be >= 1")
    messages: list[str] = []

    def note(message: str) -> None:
        messages.append(message)
        on_warning(message)

    net = load_model(model, scale, weights, device, note, degradation=degradation)
    name = model if isinstance(model, str) else type(model).__name__
    torch_device = model_device(net, device)
    started = time.perf_counter()
    with open_video(source, fps) as reader:
        info = reader.info
        out_w, out_h = info.width * net.scale, info.height * net.scale
        check_output_size(out_w, out_h, folder)
        streamer, used_tile = make_streamer(
            net, info.height, info.width, tile, chunk=chunk, device=torch_device,
            overlap=DEFAULT_OVERLAP if overlap is None else overlap, on_warning=note,
        )  # fmt: skip
        count = write_output(
            reader, ModelStage(streamer, torch_device), target, (out_w, out_h), folder=folder,
            codec=codec, crf=crf, chunk=chunk, label=source.name, quiet=quiet, note=note,
            device=torch_device,
        )  # fmt: skip
    result = UpscaleResult(
        output=target,
        frames=count,
        seconds=time.perf_counter() - started,
        width=out_w,
        height=out_h,
        model=name,
        tile=used_tile,
        warnings=messages,
    )
    if reader.problem:
        raise InputStoppedEarly(f"{reader.problem}; the {count} frames before it were written to {target}", result)
    return result
