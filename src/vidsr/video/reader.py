"""Reading video: any file PyAV/FFmpeg decodes, or a folder of frames, as uint8 RGB frames
(uint16 for video of more than 8 bits per sample, when asked: ``deep``).

:func:`open_video` checks the input up front (missing, not a video, no video stream, no
frames) and decodes the first frame, so that bad input fails before any output exists.
Iterating the reader then yields :class:`DecodedFrame` objects (RGB through the
input's own colour matrix and range, with each frame's timestamp and duration). A
truncated or corrupt file ends the iteration early and leaves a description of where
it stopped in :attr:`VideoReader.problem`; the frames before that point are yielded.
:meth:`VideoReader.timeline` lists every frame's timestamp from the packets alone (no
decoding), and :meth:`VideoReader.seek` starts the iteration at a given frame, so that a
time range or a segment of a long video is reached without decoding all that precedes it.

Where the header disagrees with the stream, the stream wins. An AVI header counts its
empty "skipped frame" chunks as frames (682 frames at 50 fps for 341 frames at 25 fps),
and AVI stores no presentation timestamps, so B-frames decode with timestamps out of
order: frames, rate and times of an AVI come from its index and packets instead.

Interlaced video (DVD rips, TV captures: two fields, half a frame apart in time, woven
into each frame) is deinterlaced as it is read (``deinterlace="auto"``, the default):
FFmpeg's ``bwdif`` filter, one frame out per frame in, each frame's timestamp and duration kept.
Upscaled as they are, woven fields become combs four times their height.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import chain
from pathlib import Path

import av
import numpy as np

from vidsr.errors import VidsrError
from vidsr.video.colour import (
    RGB_SOURCE_COLOUR, Colour, colour_of, format_bits, frame_to_rgb_alpha, has_alpha,
)  # fmt: skip
from vidsr.video.hdr import HDRMetadata, hdr_of
from vidsr.video.safety import check_input
from vidsr.video.sidedata import side_data as frame_side_data

DEFAULT_FOLDER_FPS = Fraction(25)
# Containers that store when each frame is decoded but not when it is shown: the i-th frame
# out of the decoder is shown at the decode timestamp of the i-th video packet.
DTS_TIMELINE_FORMATS = ("avi",)
DEINTERLACE_MODES = ("auto", "on", "off")  # auto: frames flagged interlaced (or a field order set)
# FFmpeg's AVFieldOrder values of interlaced streams (TT, BB, TB, BT; 1 is progressive).
INTERLACED_FIELD_ORDERS = (2, 3, 4, 5)


@dataclass
class DecodedFrame:
    """One decoded frame: uint8 (or ``deep`` uint16) RGB ``(H, W, 3)``, timestamp and duration in the time base.

    ``rgb`` is None for a frame the reader's :attr:`~VideoReader.wants` turned down, and
    ``keep`` False for a frame that only feeds the model (its output is not written).
    ``alpha`` ``(H, W)`` (same dtype as ``rgb``) is the transparency of an input with alpha.
    """

    rgb: np.ndarray | None
    pts: int
    duration: int | None
    keep: bool = True
    alpha: np.ndarray | None = None


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
    frame_names: list[str] | None = None  # a frame folder's file names without suffix
    stream_index: int = -1
    metadata: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    deinterlaced: bool = False
    bits: int = 8  # bits per colour sample of the decoded video (10 for yuv420p10le)
    # Width:height of one pixel when pixels are not square (anamorphic DVD: 32:27), else None.
    pixel_aspect: Fraction | None = None
    alpha: bool = False  # frames carry transparency (ProRes 4444, PNG/FFV1 RGBA, RGBA PNG frames)
    hdr: HDRMetadata | None = None  # HDR10 mastering display / light level of the first frame
    timecode: str | None = None  # SMPTE timecode of the first frame (camera files: MOV tmcd, MXF)
    start_time: Fraction = Fraction(0)  # the first frame's time, seconds
    # PyAV's container.chapters(): id, start, end, time_base, metadata
    chapters: list[dict] = field(default_factory=list)

    @property
    def display_aspect(self) -> Fraction:
        """Width:height of the picture as shown (16:9 for a 720x480 frame of 32:27 pixels)."""
        return Fraction(self.width, self.height) * (self.pixel_aspect or 1)

    def describe(self) -> str:
        """E.g. ``64x48, 25 fps, BT.709 limited range``."""
        text = f"{self.width}x{self.height}"
        if self.pixel_aspect:
            shown = self.display_aspect
            text += f" (pixels {ratio(self.pixel_aspect)}, shown {ratio(shown)})"
        text += f", {float(self.rate):.3g} fps, {self.colour.describe()}"
        text += f", {self.bits}-bit" if self.bits > 8 else ""
        text += ", with alpha (transparency)" if self.alpha else ""
        text += f", {self.hdr.describe()}" if self.hdr else ""
        text += f", timecode {self.timecode}" if self.timecode else ""
        return text + (", interlaced (deinterlaced)" if self.deinterlaced else "")


def ratio(value: Fraction) -> str:
    """``32:27`` for Fraction(32, 27); aspect ratios are written with a colon."""
    return f"{value.numerator}:{value.denominator}"


def pixel_aspect_of(stream: av.video.stream.VideoStream) -> Fraction | None:
    """The stream's sample (pixel) aspect ratio when its pixels are not square, else None.

    FFmpeg's guess: the container's value (MP4 ``pasp``, Matroska display size) first, then
    the bitstream's (H.264/HEVC VUI, MPEG-2/4 headers).
    """
    for value in (stream.sample_aspect_ratio, stream.codec_context.sample_aspect_ratio):
        if value and value > 0:
            return None if value == 1 else Fraction(value)
    return None


class VideoReader:
    """Iterates over the frames of one input; see :func:`open_video`."""

    info: SourceInfo
    problem: str | None = None
    frames_read: int = 0
    # Given a frame's timestamp, whether its pixels are needed (None: always). Frames that
    # are only counted or skipped are then not converted to RGB.
    wants: Callable[[int], bool] | None = None

    def __iter__(self) -> Iterator[DecodedFrame]:
        raise NotImplementedError

    def timeline(self) -> list[int] | None:
        """Every frame's timestamp in increasing order, without decoding; None when unknown.

        None when the packets do not tell (missing or repeated timestamps, or a container
        that stores decode times only); the frames are then found by decoding in order.
        """
        return None

    def seek(self, pts: int, index: int) -> None:
        """Start the iteration at the first frame at or after ``pts``, frame ``index`` of the input.

        Only for timestamps from :meth:`timeline`, before iterating.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release the input."""

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_video(path: str | Path, fps: float | Fraction | None = None, threads: int | None = None,
               deinterlace: str = "auto", deep: bool = False) -> VideoReader:
    """Open a video file or a folder of PNG/JPEG frames (``fps`` is used for folders only).

    ``threads``: the decoder's threads (default: FFmpeg's choice). ``deinterlace``: ``auto``
    (interlaced video files only), ``on`` (every frame of a video file) or ``off``.
    ``deep``: a video of more than 8 bits per sample (``info.bits``) gives uint16 RGB frames
    (full 16-bit scale) instead of uint8, so that its extra bits are kept.
    """
    path = Path(path)
    check_deinterlace(deinterlace)
    check_input(path)
    if path.is_dir():
        if fps is not None and not (math.isfinite(fps) and fps > 0):
            raise VidsrError(f"--fps must be a positive number of frames per second, not {fps}")
        rate = DEFAULT_FOLDER_FPS if fps is None else Fraction(fps).limit_denominator(1001)
        if rate <= 0:
            raise VidsrError(f"--fps {fps} is too low: at least 1/1001 frame per second")
        return FrameFolderReader(path, rate)
    return VideoFileReader(path, threads, deinterlace, deep)


def check_deinterlace(mode: str) -> None:
    """A one-line error for a ``deinterlace`` mode that is not one of :data:`DEINTERLACE_MODES`."""
    if mode not in DEINTERLACE_MODES:
        raise VidsrError(f"--deinterlace must be one of {', '.join(DEINTERLACE_MODES)}, not {mode!r}")


def _parse_clock(text: str) -> float | None:
    """``HH:MM:SS.fraction`` (Matroska's DURATION tag) in seconds."""
    match = re.fullmatch(r"\s*(\d+):(\d+):(\d+(?:\.\d*)?)\s*", text or "")
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


class VideoFileReader(VideoReader):
    """Decodes the main video stream of a file with PyAV."""

    def __init__(self, path: Path, threads: int | None = None, deinterlace: str = "auto", deep: bool = False) -> None:
        self.path = path
        self.threads = threads
        self.deinterlace = deinterlace
        self.deep = deep
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
        self._decoder = decoder = decoder_for(stream)
        decoder.thread_type = "AUTO"
        if self.threads:
            decoder.thread_count = self.threads
        self._reason: str | None = None
        # Decode timestamps of the video packets not yet matched with a frame (AVI only).
        self._slots: deque[int] | None = deque() if self._container.format.name in DTS_TIMELINE_FORMATS else None
        self._frames = self._decode()
        first = next(self._frames, None)
        if first is None:
            if self._reason:
                raise VidsrError(f"{path}: cannot decode the video ({self._reason})")
            raise VidsrError(f"{path}: the video stream has no frames")
        self._first: av.VideoFrame | None = first
        self._first_pts = first.pts
        time_base = Fraction(stream.time_base or Fraction(1, 90000))
        self._stream_time_base = time_base
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate or Fraction(25)
        self._ticks = 1  # stream ticks per tick of info.time_base
        self._frame_count = expected = stream.frames or None
        if self._slots is not None:
            rate, self._frame_count, self._ticks = self._stored_timeline(Fraction(rate))
            expected = self._frame_count
            time_base *= self._ticks
        if expected is None:
            seconds = self._declared_seconds()
            if seconds:
                expected = max(1, round(seconds * float(rate)))
        self.info = SourceInfo(
            path=path,
            width=first.width,
            height=first.height,
            time_base=time_base,
            rate=Fraction(rate),
            expected_frames=expected,
            colour=colour_of(first),
            display_matrix=self._display_matrix(first),
            stream_index=stream.index,
            pixel_aspect=pixel_aspect_of(stream),
            metadata=dict(self._container.metadata),
        )
        interlaced = bool(first.interlaced_frame) or stream.codec_context.field_order in INTERLACED_FIELD_ORDERS
        if self.deinterlace == "on" or (self.deinterlace == "auto" and interlaced):
            self.info.deinterlaced = True
            if self.deinterlace == "auto":
                self.info.warnings.append(
                    f"{path}: interlaced; deinterlaced (FFmpeg bwdif, one frame per frame; "
                    "--deinterlace off keeps the fields as they are)")
        self.info.bits = bits = format_bits(first.format.name)
        self.info.alpha = has_alpha(first.format.name) and not self._opaque_still(first, expected)
        self.info.hdr = hdr_of(first)
        self.info.timecode = timecode_of(self._container, stream)
        self.info.chapters = list(self._container.chapters())
        self.info.start_time = (self._first_pts or 0) * self._stream_time_base
        if bits > 8 and not self.deep:  # decoded to rgb24: the extra bits are lost
            self.info.warnings.append(
                f"{path}: {first.format.name} has {bits} bits per sample; it is read as 8-bit RGB, "
                "so the output is 8-bit (smooth gradients may show banding)")

    def _opaque_still(self, first: av.VideoFrame, expected: int | None) -> bool:
        """True for a GIF (FFmpeg decodes every GIF with alpha), a palette video or an image
        file (one frame) whose first frame is opaque everywhere: its alpha plane (or its
        palette's alpha) says nothing, and is not kept."""
        image = expected == 1 or self._container.format.name.endswith("_pipe")  # (png_pipe, jpeg_pipe...)
        if not (self.stream.codec_context.name == "gif" or image or first.format.name == "pal8"):
            return False
        return bool(first.to_ndarray(format="rgba")[..., 3].min() == 255)

    def _stored_timeline(self, header_rate: Fraction) -> tuple[Fraction, int | None, int]:
        """Rate, frame count and time-base multiple from the packets (AVI), not the header.

        The timestamps are those of the file's index when FFmpeg loaded (or rebuilt) it on
        opening, else of the packets read so far. Frames on every g-th tick only (25 fps
        content at 50 fps ticks) give a time base g ticks long, so that a constant-rate
        input gives a constant-rate output at its real rate.
        """
        stream = self.stream
        entries = stream.index_entries
        complete = len(entries) > self.packets_read  # loaded on opening, not built while reading
        stamps = sorted({e.timestamp for e in entries if e.size > 0}) if complete else sorted(set(self._slots or ()))
        if len(stamps) < 2:
            return header_rate, stream.frames or None, 1
        ticks = math.gcd(*stamps)
        gaps = {b - a for a, b in zip(stamps, stamps[1:])}
        if len(gaps) == 1:  # constant rate in fact
            rate = 1 / (self._stream_time_base * gaps.pop())
        else:
            rate = Fraction(len(stamps) - 1) / (self._stream_time_base * (stamps[-1] - stamps[0]))
            rate = rate.limit_denominator(1001)
        # The header's count includes the empty chunks: scaled to the real rate, it still
        # counts the frames that a truncated file (whose index is rebuilt from what is left)
        # has lost.
        count = math.ceil(stream.frames * rate / header_rate) if stream.frames else 0
        return rate, max(count, len(stamps) if complete else 0) or None, ticks

    def timeline(self) -> list[int] | None:
        """The presentation timestamps of the video packets, sorted (a second, demux-only pass).

        None for AVI (decode times only), missing or repeated timestamps, or when the first
        timestamp is not the first decoded frame's. Packets the container marks to discard
        (before an MP4 edit list's start) do not count; at a read error, the packets before it.
        """
        if self._slots is not None or self._first_pts is None:
            return None
        stamps: list[int] = []
        try:
            with av.open(str(self.path)) as container:
                for packet in container.demux(container.streams[self.stream.index]):
                    if not packet.size or packet.is_discard:
                        continue
                    if packet.pts is None:
                        return None
                    stamps.append(packet.pts)
        except (av.error.FFmpegError, OSError):
            pass
        stamps.sort()
        if not stamps or stamps[0] != self._first_pts or any(a == b for a, b in zip(stamps, stamps[1:])):
            return None
        return stamps

    def seek(self, pts: int, index: int) -> None:
        """Start at the first frame at or after ``pts`` (from :meth:`timeline`): frame ``index``.

        Seeks to the keyframe at or before it, and further back when the container's seek
        lands after it (MPEG-TS seeks by byte position); decodes from the start as a last resort.
        """
        if pts <= self._first_pts:
            return
        for seconds_back in (0, 10, 60):
            target = max(self._first_pts, pts - round(seconds_back / self._stream_time_base))
            try:
                self._container.seek(target, stream=self.stream, backward=True)
            except (av.error.FFmpegError, OSError):
                break
            if self._decoder is not self.stream.codec_context:  # (PyAV flushes the stream's own)
                self._decoder.flush_buffers()
            self._reason = None
            self._frames = self._decode()
            first = next(self._frames, None)
            if first is not None and first.pts is not None and first.pts <= pts:
                self._skip_to(first, pts, index)
                return
        self._container.close()  # decode from the start
        self._container = av.open(str(self.path))
        self._open_stream()
        assert self._first is not None
        self._skip_to(self._first, pts, index)

    def _skip_to(self, frame: av.VideoFrame | None, pts: int, index: int) -> None:
        """Drop decoded frames before ``pts``; the next one is frame ``index`` of the input."""
        while frame is not None and (frame.pts is None or frame.pts < pts):
            frame = next(self._frames, None)
        self._first = frame
        self.frames_read = self.packets_read = index

    def _declared_seconds(self) -> float | None:
        """The video stream's duration as the container declares it (None if unknown).

        Matroska and WebM declare where the video *ends* (the ``DURATION`` tag, the segment's
        duration), counted from 0, not from the first frame: a clip cut from 5 s to 5.24 s
        says 5.24. Their start time is taken off, so that the length is a length everywhere.
        """
        stream = self.stream
        if self._slots is not None and stream.frames and stream.average_rate:
            return float(stream.frames / stream.average_rate)  # AVI: the header's length in ticks
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        end = _parse_clock(stream.metadata.get("DURATION", ""))
        if not end and len(self._container.streams) == 1 and self._container.duration:
            end = self._container.duration / av.time_base
        if not end:
            return None
        if "matroska" in self._container.format.name and stream.start_time and stream.time_base:
            return max(0.0, end - float(stream.start_time * stream.time_base))
        return end

    def _display_matrix(self, frame: av.VideoFrame) -> tuple[int, ...] | None:
        """The rotation/flip matrix (display matrix side data, or the legacy ``rotate`` tag)."""
        from av.sidedata.sidedata import Type

        side_data = frame_side_data(frame)
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
                if self._slots is not None and packet.dts is not None:
                    self._slots.append(packet.dts)
            try:
                frames = self._decoder.decode(packet)
            except (av.error.FFmpegError, OSError) as error:
                self._reason = f"decode error: {_reason(error)}"
                break
            yield from frames
        try:  # frames the decoder still holds from before the error
            yield from self._decoder.decode(None)
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
        if info.deinterlaced and pending is not None:
            frames = deinterlaced(chain([pending], frames), "all" if self.deinterlace == "on" else "interlaced")
            pending = next(frames, None)
        while pending is not None:
            frame = pending
            if (frame.width, frame.height) != size:
                if not any("size changes" in w for w in info.warnings):
                    info.warnings.append(
                        f"{self.path}: the frame size changes from {size[0]}x{size[1]} to "
                        f"{frame.width}x{frame.height}; later frames are resized to the first size"
                    )
                frame = frame.reformat(width=size[0], height=size[1])
            pts, duration = frame.pts, int(frame.duration) if frame.duration else None
            if self._slots is not None:
                pts, duration = self._slot_timing(last_pts)
            if pts is None:
                pts = 0 if last_pts is None else last_pts + (last_duration or step)
            if last_pts is not None and pts <= last_pts:
                if not any("timestamps" in w for w in info.warnings):
                    info.warnings.append(f"{self.path}: timestamps repeat or go backwards (frame {self.frames_read}); "
                                         "they were made increasing")
                pts = last_pts + 1
            rgb = alpha = None
            if self.wants is None or self.wants(pts):
                rgb, alpha = frame_to_rgb_alpha(frame, deep=self.deep)
            self.frames_read += 1
            last_pts, last_duration = pts, duration or 0
            yield DecodedFrame(rgb, pts, duration, alpha=alpha)
            pending = next(frames, None)
        end = None if last_pts is None else float((last_pts + (last_duration or step)) * info.time_base)
        self.problem = self._check_end(end)
        lost = self.packets_read - self.frames_read
        if not self.problem and lost > 0:
            info.warnings.append(
                f"{self.path}: {lost} of {self.packets_read} video packets gave no frame; "
                "the input may be corrupt there"
            )

    def _slot_timing(self, last_pts: int | None) -> tuple[int | None, int | None]:
        """Timestamp and duration of the next frame (in info.time_base) from the packets' slots."""
        slots, ticks = self._slots, self._ticks
        assert slots is not None
        while slots and last_pts is not None and slots[0] // ticks <= last_pts:
            slots.popleft()  # the slot of a packet that gave no frame of its own
        if not slots:
            return None, None
        pts = slots.popleft() // ticks
        return pts, (slots[0] // ticks - pts if slots else None)

    def _check_end(self, end: float | None) -> str | None:
        """Why the video ended early, or None when it ended where the file says it does."""
        where = f"stopped after frame {self.frames_read}" + (f" (t={end:.3f}s)" if end is not None else "")
        if self._reason:
            return f"{self.path}: {self._reason}; {where}"
        expected = self._frame_count
        declared = self._declared_seconds()
        start = float((self.stream.start_time or 0) * self._stream_time_base)
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
        from vidsr.data.frames import bits_per_sample, list_frames, read_frame_alpha

        self.path = path
        self._files = list_frames(path)
        first, alpha = read_frame_alpha(self._files[0])
        warnings = []
        if bits_per_sample(self._files[0]) > 8:
            warnings.append(f"{self._files[0]}: 16 bits per sample; the frames are read as 8-bit RGB, so the "
                            "output is 8-bit (smooth gradients may show banding)")  # fmt: skip
        self._first: tuple[np.ndarray, np.ndarray | None] | None = (first, alpha)
        self._check_sizes((first.shape[1], first.shape[0]))
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
            frame_names=[file.stem for file in self._files],
            alpha=alpha is not None,
            warnings=warnings,
        )
        self._start = 0

    def _check_sizes(self, size: tuple[int, int], most: int = 500) -> None:
        """Refuse a folder whose images are not all one size (from the headers of at most
        ``most`` of them, spread over the folder, before any output; a frame of another size
        among the others stops the reading when it is reached): separate photos, not the
        frames of a video; the error says how to do those."""
        from PIL import Image, UnidentifiedImageError

        from vidsr.data.frames import upright_size

        step = max(1, len(self._files) // most)
        for file in [*self._files[1::step], self._files[-1]]:
            try:
                with Image.open(file) as image:
                    other = upright_size(image)
            except (OSError, UnidentifiedImageError):
                return  # an unreadable frame: said (with the frames before it written) when it is reached
            if other != size:
                raise VidsrError(
                    f"{file.name} is {other[0]}x{other[1]}, not {size[0]}x{size[1]} like {self._files[0].name}: a "
                    f"folder of frames is one video, and its frames are one size; to upscale separate images, "
                    f"name them (a batch): vidsr upscale {self.path}/* OUTPUT_FOLDER"
                )

    def timeline(self) -> list[int] | None:
        """Frame ``i`` is at ``i`` ticks of ``1/fps``."""
        return list(range(len(self._files)))

    def seek(self, pts: int, index: int) -> None:
        self._start = self.frames_read = index

    def __iter__(self) -> Iterator[DecodedFrame]:
        from vidsr.data.frames import read_frame_alpha

        info = self.info
        shape = (info.height, info.width, 3)
        for index in range(self._start, len(self._files)):
            file = self._files[index]
            alpha = None
            if index == 0 and self._first is not None:
                (rgb, alpha), self._first = self._first, None
            elif self.wants is not None and not self.wants(index):
                rgb = None
            else:
                try:
                    rgb, alpha = read_frame_alpha(file, alpha=info.alpha)
                except VidsrError as error:
                    self.problem = f"{error}; stopped after frame {index}"
                    return
                if rgb.shape != shape:
                    self.problem = (
                        f"{file} is {rgb.shape[1]}x{rgb.shape[0]}, not {shape[1]}x{shape[0]} like the "
                        f"first frame; stopped after frame {index}"
                    )
                    return
            if info.alpha and rgb is not None and alpha is None:  # an opaque frame among transparent ones
                alpha = np.full(shape[:2], 255, np.uint8)
            self.frames_read += 1
            yield DecodedFrame(rgb, index, 1, alpha=alpha)


def deinterlaced(frames: Iterator[av.VideoFrame], which: str = "interlaced") -> Iterator[av.VideoFrame]:
    """``frames`` through FFmpeg's ``bwdif`` (``mode=send_frame``: one frame per frame).

    ``which``: ``interlaced`` (frames flagged so; others pass unchanged) or ``all``. Each
    output frame gets the timestamp and duration of its input frame (the filter works in a
    finer time base). A change of frame size or format starts a new filter.
    """
    graph = sink = None
    shape: tuple[int, int, str] | None = None
    timing: deque[tuple[int | None, int]] = deque()

    def ready() -> Iterator[av.VideoFrame]:
        while True:
            try:
                out = sink.pull()
            except (BlockingIOError, EOFError):  # needs more input / flushed (PyAV's errors subclass these)
                return
            out.pts, out.duration = timing.popleft()
            yield out

    for frame in frames:
        if (frame.width, frame.height, frame.format.name) != shape:
            if graph is not None:
                graph.push(None)
                yield from ready()
            shape = (frame.width, frame.height, frame.format.name)
            graph = av.filter.Graph()
            source = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format,
                                      time_base=frame.time_base or Fraction(1, 90000))
            bwdif = graph.add("bwdif", f"mode=send_frame:parity=auto:deint={which}")
            sink = graph.add("buffersink")
            source.link_to(bwdif)
            bwdif.link_to(sink)
            graph.configure()
        timing.append((frame.pts, int(frame.duration or 0)))
        graph.push(frame)
        yield from ready()
    if graph is not None:
        graph.push(None)
        yield from ready()


def timecode_of(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> str | None:
    """The SMPTE timecode (``HH:MM:SS:FF``, ``;`` for drop-frame) of the video's first frame:
    the video stream's tag, a timecode track's (MOV ``tmcd``), or the container's (MXF, MKV)."""
    tags = [stream.metadata, *(s.metadata for s in container.streams if s.type == "data"), container.metadata]
    for tag in tags:
        value = next((v for k, v in tag.items() if k.lower() == "timecode"), None)  # Matroska: TIMECODE
        if value and re.fullmatch(r"\d{1,2}[:;.]\d{2}[:;.]\d{2}[:;.,]\d{2,3}", value.strip()):
            return value.strip()
    return None


def decoder_for(stream: av.video.stream.VideoStream) -> av.codec.context.CodecContext:
    """The stream's decoder: FFmpeg's own, but libvpx's for VP8/VP9 with alpha (WebM's
    ``alpha_mode``), whose transparency FFmpeg's own VP8/VP9 decoders drop."""
    name = stream.codec_context.name
    if stream.metadata.get("alpha_mode") == "1" and name in ("vp8", "vp9"):
        try:
            return av.codec.CodecContext.create("libvpx-vp9" if name == "vp9" else "libvpx", "r")
        except (av.error.FFmpegError, ValueError):  # an FFmpeg built without libvpx
            pass
    return stream.codec_context


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
