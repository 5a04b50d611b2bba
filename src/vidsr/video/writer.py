"""Writing video: an encoded file that keeps the input's timing, colour, rotation, audio and
subtitles, or a folder of PNG frames.

Video files are H.264 (libx264, yuv420p, CRF 18) by default (VP9 for ``.webm``). Frames
are encoded with the input's time base and each frame's own timestamp and duration, so
variable frame rate and the total duration are kept. MP4/MOV files are written without
B-frames: their muxer derives sample durations from decode timestamps, which with
B-frames and a variable frame rate would cut the end of the video short.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidsr.errors import VidsrError
from vidsr.video.colour import Colour, rgb_to_frame, tag_codec_context
from vidsr.video.reader import SourceInfo
from vidsr.video.pipeline import DEFAULT_CRF
from vidsr.video.remux import SideStreams

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mkv", ".mov", ".avi", ".webm")
MOV_FAMILY = (".mp4", ".m4v", ".mov")
MAX_VIDEO_SIDE = 8192  # H.264 level 6.2 / what players decode
MAX_FRAME_SIDE = 16384  # PNG frames
CRF_CODECS = ("libx264", "libx264rgb", "libx265", "libvpx", "libvpx-vp9", "libaom-av1", "libsvtav1")
# Lossless codecs written as 8-bit RGB (no YUV matrix, exact frames), and those formats.
RGB_CODECS = ("ffv1", "png", "libx264rgb", "qtrle", "utvideo")
RGB_FORMATS = ("rgb24", "bgr0", "gbrp", "bgr24")
_DROPPED_METADATA = ("encoder", "major_brand", "minor_version", "compatible_brands", "duration")


def pixel_format(encoder: av.codec.Codec) -> str:
    """8-bit RGB for the lossless RGB codecs, yuv420p (what players expect) for the others."""
    formats = [f.name for f in encoder.video_formats or ()]
    if encoder.name in RGB_CODECS:
        for name in RGB_FORMATS:
            if name in formats:
                return name
    if "yuv420p" in formats or not formats:
        return "yuv420p"
    return formats[0]


def is_video_path(path: Path) -> bool:
    """True when ``path`` names a video file (by its suffix), False for a frame folder."""
    return not path.is_dir() and path.suffix.lower() in VIDEO_SUFFIXES


def default_codec(path: Path) -> str:
    """The encoder used when none is asked for."""
    return "libvpx-vp9" if path.suffix.lower() == ".webm" else "libx264"


def check_output_size(width: int, height: int, folder: bool) -> None:
    """Refuse output sizes that the encoder (or a PNG) cannot hold."""
    limit = MAX_FRAME_SIDE if folder else MAX_VIDEO_SIDE
    if width > limit or height > limit:
        what = "PNG frames" if folder else "a video file"
        raise VidsrError(
            f"the output would be {width}x{height}, larger than {limit} pixels on a side for {what}; "
            "use a smaller --scale or a smaller input"
        )


class FrameWriter:
    """Receives SR frames in order; :meth:`close` completes the output."""

    frames_written = 0
    warnings: list[str]

    def write(self, rgb: np.ndarray, pts: int, duration: int | None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the output (flush the encoder, write the trailer)."""

    def abort(self) -> None:
        """Release everything without finishing; the partial output is discarded by the caller."""


class FrameFolderWriter(FrameWriter):
    """PNG frames ``000000.png, 000001.png, ...`` in a folder."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.warnings = []

    def write(self, rgb: np.ndarray, pts: int, duration: int | None) -> None:
        from vidsr.data.frames import write_frame

        write_frame(self.folder / f"{self.frames_written:06d}.png", rgb)
        self.frames_written += 1


class VideoFileWriter(FrameWriter):
    """Encodes frames into a video file and carries the input's other streams along."""

    def __init__(
        self,
        path: Path,
        source: SourceInfo,
        width: int,
        height: int,
        *,
        codec: str | None = None,
        crf: int = DEFAULT_CRF,
        copy_streams: bool = True,
        final_suffix: str | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.warnings = []
        self._warn_hook = warn
        suffix = (final_suffix or path.suffix).lower()
        codec = codec or default_codec(Path(f"x{suffix}"))
        try:
            encoder = av.codec.Codec(codec, "w")
        except (av.error.FFmpegError, ValueError):
            raise VidsrError(f"unknown video encoder {codec!r} (try libx264, libvpx-vp9, ffv1 or png)") from None
        if encoder.type != "video":
            raise VidsrError(f"{codec!r} is not a video encoder")
        self.pix_fmt = pixel_format(encoder)
        self._pad = (0, 0)
        if self.pix_fmt.startswith("yuv420") and (width % 2 or height % 2):
            self._pad = (height % 2, width % 2)
            self.warn(
                f"yuv420p needs even sizes: the {width}x{height} output is padded to "
                f"{width + self._pad[1]}x{height + self._pad[0]} (last row/column repeated)"
            )
        self.width, self.height = width + self._pad[1], height + self._pad[0]
        self.colour: Colour = source.colour
        self.time_base = source.time_base
        self._durations: dict[int, int] = {}
        self._last_pts: int | None = None
        rate = source.rate if source.rate and source.rate > 0 else Fraction(25)
        self._frame_ticks = max(1, round(1 / (rate * self.time_base)))
        self._last_video_time = 0.0

        self.container = av.open(str(path), "w", format=_format_for(suffix))
        try:
            if codec not in self.container.supported_codecs:
                raise VidsrError(f"{suffix} files cannot hold {codec} video; choose another --codec or suffix")
            self.stream = self._add_video_stream(codec, source, suffix, crf)
            self.side: SideStreams | None = None
            if copy_streams and not source.is_folder:
                self.side = SideStreams(source.path, self.container, source.stream_index, self.warn)
                if not self.side.active:
                    self.side.close()
                    self.side = None
            for key, value in source.metadata.items():
                if key.lower() not in _DROPPED_METADATA:
                    self.container.metadata[key] = value
        except BaseException:
            self.abort()
            raise

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        if self._warn_hook is not None:
            self._warn_hook(message)

    def _add_video_stream(self, codec: str, source: SourceInfo, suffix: str, crf: int) -> av.video.stream.VideoStream:
        options: dict[str, str] = {}
        if codec in CRF_CODECS:
            options["crf"] = str(crf)
        if codec in ("libx264", "libx264rgb"):
            options["preset"] = "medium"
            if suffix in MOV_FAMILY:
                options["bf"] = "0"
        if codec in ("libvpx", "libvpx-vp9"):
            options.update({"b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"})
        rate = source.rate if source.rate and source.rate > 0 else Fraction(25)
        stream = self.container.add_stream(codec, rate=rate, options=options)
        stream.width, stream.height = self.width, self.height
        stream.pix_fmt = self.pix_fmt
        stream.time_base = self.time_base
        stream.codec_context.time_base = self.time_base
        if not self.pix_fmt.startswith(("rgb", "gbr", "bgr")):
            tag_codec_context(stream.codec_context, self.colour)
        if source.display_matrix is not None:
            if suffix == ".avi":
                self.warn("AVI files cannot store the input's rotation; the output is not rotated")
            stream.set_display_matrix(list(source.display_matrix))
        return stream

    def write(self, rgb: np.ndarray, pts: int, duration: int | None) -> None:
        if self._pad != (0, 0):
            rgb = np.pad(rgb, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
        frame = rgb_to_frame(rgb, self.colour, self.pix_fmt)
        frame.pts = pts
        frame.time_base = self.time_base
        if not duration:  # unknown: as long as the gap before it (or one frame at the rate)
            duration = pts - self._last_pts if self._last_pts is not None else self._frame_ticks
        self._durations[pts] = max(1, duration)
        self._last_pts = pts
        for packet in self.stream.encode(frame):
            self._mux_video(packet)
        self.frames_written += 1

    def _mux_video(self, packet: av.Packet) -> None:
        # Encoders drop frame durations; put them back so the last frame keeps its length.
        if packet.pts is not None:
            duration = self._durations.pop(packet.pts, None)
            if duration:
                packet.duration = duration
            self._last_video_time = max(self._last_video_time, float(packet.pts * self.time_base))
        self.container.mux(packet)
        if self.side is not None:
            self.side.advance(self._last_video_time + 0.5, self.container.mux)

    def close(self) -> None:
        try:
            for packet in self.stream.encode(None):
                self._mux_video(packet)
            if self.side is not None:
                self.side.advance(None, self.container.mux)
            self.container.close()
        except BaseException as error:
            self.abort()  # releases the output file and the side-stream reader
            if isinstance(error, av.error.FFmpegError):
                raise VidsrError(f"cannot finish the output video: {error}") from None
            raise
        if self.side is not None:
            self.side.close()

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - the partial file is deleted anyway
            pass
        side = getattr(self, "side", None)
        if side is not None:
            side.close()


def _format_for(suffix: str) -> str | None:
    """FFmpeg muxer for a suffix (the temporary file's name may not show it)."""
    return {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi", ".webm": "webm"}.get(
        suffix
    )


def open_writer(
    path: Path,
    source: SourceInfo,
    width: int,
    height: int,
    *,
    folder: bool,
    codec: str | None = None,
    crf: int = DEFAULT_CRF,
    final_suffix: str | None = None,
    copy_streams: bool = True,
    warn: Callable[[str], None] | None = None,
) -> FrameWriter:
    """A PNG folder writer or a video file writer for ``path``."""
    if folder:
        return FrameFolderWriter(path)
    return VideoFileWriter(
        path,
        source,
        width,
        height,
        codec=codec,
        crf=crf,
        copy_streams=copy_streams,
        final_suffix=final_suffix,
        warn=warn,
    )
