"""Reading video: any file PyAV/FFmpeg decodes, or a folder of frames, as uint8 RGB frames.

:func:`open_video` checks the input up front (missing, not a video, no video stream, no
frames) and decodes the first frame, so that bad input fails before any output exists.
Iterating the reader then yields :class:`DecodedFrame` objects (RGB through the
input's own colour matrix and range, with each frame's timestamp and duration). A
truncated or corrupt file ends the iteration early and leaves a description of where
it stopped in :attr:`VideoReader.problem`; the frames before that point are yielded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidsr.errors import VidsrError
from vidsr.video.colour import RGB_SOURCE_COLOUR, Colour, colour_of, frame_to_rgb

DEFAULT_FOLDER_FPS = Fraction(25)


@dataclass
class DecodedFrame:
    """One decoded frame: uint8 RGB ``(H, W, 3)``, timestamp and duration in the time base."""

    rgb: np.ndarray
    pts: int
    duration: int | None


@dataclass
class SourceInfo:
    """What the writer needs to know about the input to keep it intact."""

    path: Path
    width: int
    height: int
    time_base: Fraction
    rate: Fraction
    expected_frames: int | None
    colour: Colour
    display_matrix: tuple[int, ...] | None = None
    is_folder: bool = False
    stream_index: int = -1
    metadata: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """E.g. ``64x48, 25 fps, BT.709 limited range``."""
        return f"{self.width}x{self.height}, {float(self.rate):.3g} fps, {self.colour.describe()}"


class VideoReader:
    """Iterates over the frames of one input; see :func:`open_video`."""

    info: SourceInfo
    problem: str | None = None
    frames_read: int = 0

    def __iter__(self) -> Iterator[DecodedFrame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the input."""

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_video(path: str | Path, fps: float | Fraction | None = None) -> VideoReader:
    """Open a video file or a folder of PNG/JPEG frames (``fps`` is used for folders only)."""
    path = Path(path)
    if not path.exists():
        raise VidsrError(f"input not found: {path}")
    if path.is_dir():
        rate = Fraction(fps).limit_denominator(1001) if fps else DEFAULT_FOLDER_FPS
        if rate <= 0:
            raise VidsrError(f"--fps must be positive, not {fps}")
        return FrameFolderReader(path, rate)
    return VideoFileReader(path)


def _parse_clock(text: str) -> float | None:
    """``HH:MM:SS.fraction`` (Matroska's DURATION tag) in seconds."""
    match = re.fullmatch(r"\s*(\d+):(\d+):(\d+(?:\.\d*)?)\s*", text or "")
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


class VideoFileReader(VideoReader):
    """Decodes the main video stream of a file with PyAV."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.packets_read = 0
        try:
            self._container = av.open(str(path))
        except av.error.FFmpegError as error:
            raise VidsrError(f"{path}: not a video file that FFmpeg can read ({_reason(error)})") from None
        except OSError as error:
            raise VidsrError(f"cannot read {path}: {error.strerror or error}") from None
        try:
            self._open_stream()
        except BaseException:
            self._container.close()
            raise

    def _open_stream(self) -> None:
        path = self.path
        streams = [
            s
            for s in self._container.streams.video
            if not (s.disposition & av.stream.Disposition.attached_pic)
        ]
        if not streams:
            raise VidsrError(f"{path} has no video stream")
        self.stream = stream = streams[0]
        stream.thread_type = "AUTO"
        self._reason: str | None = None
        self._frames = self._decode()
        first = next(self._frames, None)
        if first is None:
            if self._reason:
                raise VidsrError(f"{path}: cannot decode the video ({self._reason})")
            raise VidsrError(f"{path}: the video stream has no frames")
        self._first = first
        time_base = stream.time_base or Fraction(1, 90000)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate or Fraction(25)
        expected = stream.frames or None
        if expected is None:
            seconds = self._declared_seconds()
            if seconds:
                expected = max(1, round(seconds * float(rate)))
        self.info = SourceInfo(
            path=path,
            width=first.width,
            height=first.height,
            time_base=Fraction(time_base),
            rate=Fraction(rate),
            expected_frames=expected,
            colour=colour_of(first),
            display_matrix=self._display_matrix(first),
            stream_index=stream.index,
            metadata=dict(self._container.metadata),
        )

    def _declared_seconds(self) -> float | None:
        """The video stream's duration as the container declares it (None if unknown)."""
        stream = self.stream
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        tagged = _parse_clock(stream.metadata.get("DURATION", ""))
        if tagged:
            return tagged
        if len(self._container.streams) == 1 and self._container.duration:
            return self._container.duration / av.time_base
        return None

    def _display_matrix(self, frame: av.VideoFrame) -> tuple[int, ...] | None:
        """The rotation/flip matrix (display matrix side data, or the legacy ``rotate`` tag)."""
        from av.sidedata.sidedata import Type

        side_data = frame.side_data
        if Type.DISPLAYMATRIX in side_data:
            values = np.frombuffer(bytes(side_data[Type.DISPLAYMATRIX]), dtype=np.int32)
            if values.size == 9:
                return tuple(int(v) for v in values)
        rotate = self.stream.metadata.get("rotate")
        if rotate:
            try:
                degrees = float(rotate)
            except ValueError:
                return None
            return rotation_matrix(-degrees)
        return None

    def _decode(self) -> Iterator[av.VideoFrame]:
        """Raw decoded frames; stops (recording why) at a read or decode error."""
        packets = self._container.demux(self.stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except (av.error.FFmpegError, OSError) as error:
                self._reason = f"read error: {_reason(error)}"
                break
            if packet.size:
                self.packets_read += 1
            try:
                frames = packet.decode()
            except (av.error.FFmpegError, OSError) as error:
                self._reason = f"decode error: {_reason(error)}"
                break
            yield from frames
        try:  # frames the decoder still holds from before the error
            yield from self.stream.codec_context.decode(None)
        except (av.error.FFmpegError, OSError):
            pass

    def __iter__(self) -> Iterator[DecodedFrame]:
        info = self.info
        size = (info.width, info.height)
        last_pts: int | None = None
        last_duration = 0
        step = max(1, round(1 / (info.rate * info.time_base))) if info.rate else 1
        frames = self._frames
        pending: av.VideoFrame | None = self._first
        self._first = None
        while pending is not None:
            frame = pending
            if (frame.width, frame.height) != size:
                if not any("size changes" in w for w in info.warnings):
                    info.warnings.append(
                        f"{self.path}: the frame size changes from {size[0]}x{size[1]} to "
                        f"{frame.width}x{frame.height}; later frames are resized to the first size"
                    )
                frame = frame.reformat(width=size[0], height=size[1])
            pts = frame.pts
            if pts is None:
                pts = 0 if last_pts is None else last_pts + (last_duration or step)
            if last_pts is not None and pts <= last_pts:
                if not any("timestamps" in w for w in info.warnings):
                    info.warnings.append(f"{self.path}: timestamps go backwards; they were made increasing")
                pts = last_pts + 1
            duration = int(frame.duration) if frame.duration else None
            rgb = frame_to_rgb(frame)
            self.frames_read += 1
            last_pts, last_duration = pts, duration or 0
            yield DecodedFrame(rgb, pts, duration)
            pending = next(frames, None)
        end = None if last_pts is None else float((last_pts + (last_duration or step)) * info.time_base)
        self.problem = self._check_end(end)
        lost = self.packets_read - self.frames_read
        if not self.problem and lost > 0:
            info.warnings.append(
                f"{self.path}: {lost} of {self.packets_read} video packets gave no frame; "
                "the input may be corrupt there"
            )

    def _check_end(self, end: float | None) -> str | None:
        """Why the video ended early, or None when it ended where the file says it does."""
        where = f"stopped after frame {self.frames_read}" + (f" (t={end:.3f}s)" if end is not None else "")
        if self._reason:
            return f"{self.path}: {self._reason}; {where}"
        expected = self.stream.frames or None
        declared = self._declared_seconds()
        start = float((self.stream.start_time or 0) * self.info.time_base)
        tolerance = max(0.25, 3 / float(self.info.rate or 25))
        short_in_time = declared is not None and end is not None and end - start < declared - tolerance
        if expected and self.frames_read < expected and (declared is None or short_in_time):
            return f"{self.path}: file is truncated or corrupt: {where}, of {expected} frames"
        if not expected and short_in_time:
            return f"{self.path}: file is truncated or corrupt: {where}, of {declared:.3f}s"
        return None

    def close(self) -> None:
        self._container.close()


class FrameFolderReader(VideoReader):
    """A folder of PNG/JPEG frames in natural order, at ``fps`` frames per second."""

    def __init__(self, path: Path, fps: Fraction) -> None:
        from vidsr.data.frames import list_frames, read_frame

        self.path = path
        self._files = list_frames(path)
        first = read_frame(self._files[0])
        self._first: np.ndarray | None = first
        time_base = Fraction(1) / fps
        self.info = SourceInfo(
            path=path,
            width=first.shape[1],
            height=first.shape[0],
            time_base=time_base,
            rate=fps,
            expected_frames=len(self._files),
            colour=RGB_SOURCE_COLOUR,
            is_folder=True,
        )

    def __iter__(self) -> Iterator[DecodedFrame]:
        from vidsr.data.frames import read_frame

        shape = (self.info.height, self.info.width, 3)
        for index, file in enumerate(self._files):
            if index == 0 and self._first is not None:
                rgb, self._first = self._first, None
            else:
                try:
                    rgb = read_frame(file)
                except VidsrError as error:
                    self.problem = f"{error}; stopped after frame {index}"
                    return
                if rgb.shape != shape:
                    self.problem = (
                        f"{file} is {rgb.shape[1]}x{rgb.shape[0]}, not {shape[1]}x{shape[0]} like the "
                        f"first frame; stopped after frame {index}"
                    )
                    return
            self.frames_read += 1
            yield DecodedFrame(rgb, index, 1)


def rotation_matrix(degrees_ccw: float) -> tuple[int, ...]:
    """FFmpeg's display matrix (16.16 / 2.30 fixed point) for a counter-clockwise rotation."""
    radians = np.deg2rad(degrees_ccw)  # as av_display_rotation_set(matrix, -degrees_ccw)
    c, s = np.cos(radians), np.sin(radians)
    fixed = 1 << 16
    return (
        int(round(c * fixed)), int(round(-s * fixed)), 0,
        int(round(s * fixed)), int(round(c * fixed)), 0,
        0, 0, 1 << 30,
    )  # fmt: skip


def _reason(error: BaseException) -> str:
    """FFmpeg's message without the errno prefix and file name noise."""
    text = getattr(error, "strerror", None) or str(error)
    return str(text).strip() or type(error).__name__
