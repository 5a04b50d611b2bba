"""Writing video: an encoded file that keeps the input's timing, colour, rotation, pixel
aspect, audio and subtitles, a folder of PNG frames, or one image (a still, or a photo).

Video files are H.264 (libx264, yuv420p, CRF 18, preset veryfast) by default (VP9 for ``.webm``); the
container follows the suffix (.mp4 .m4v .mkv .mov .avi .webm, and .ts for MPEG-TS). Frames
are encoded with the input's time base and each frame's own timestamp and duration, so
variable frame rate and the total duration are kept. MP4/MOV files are written without
B-frames: their muxer derives sample durations from decode timestamps, which with
B-frames and a variable frame rate would cut the end of the video short. PNG frames keep
the names of a frame-folder input (its stems, with ``.png``) and are 8-bit. Video of more
than 8 bits per sample (10-bit HEVC from phones, HDR) is written as yuv420p10le (10-bit
H.264 by default, "High 10"; ``--codec libx265`` for HEVC Main 10) when the writer is
given uint16 frames and ``deep`` (see :func:`pixel_format`).

``preset`` is x264's (``DEFAULT_PRESET``, chosen by measurement). A video writer can also
hand its encoded packets to a function instead of a file (the
segments of a long job), and mux packets encoded elsewhere with the same settings
(:meth:`VideoFileWriter.mux_packet`, joining those segments).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidsr.errors import VidsrError
from vidsr.video.colour import Colour, format_bits, has_alpha, rgb_to_frame, tag_codec_context, to_8bit
from vidsr.video.encoding_defaults import DEFAULT_CRF, DEFAULT_PRESET, crf_problem, x265_narrow_params
from vidsr.video.reader import SourceInfo, pixel_aspect_of, ratio
from vidsr.video.remux import SideStreams, Window, can_hold
from vidsr.video.timecode import shift_timecode

# Output suffix -> FFmpeg muxer (the temporary file's name may not show the suffix).
MUXERS = {
    ".mp4": "mp4", ".m4v": "mp4", ".mkv": "matroska", ".mov": "mov", ".avi": "avi", ".webm": "webm", ".ts": "mpegts",
    ".gif": "gif",
}  # fmt: skip
VIDEO_SUFFIXES = tuple(MUXERS)
MOV_FAMILY = (".mp4", ".m4v", ".mov")
MAX_VIDEO_SIDE = 8192  # H.264 level 6.2 / what players decode
MAX_FRAME_SIDE = 16384  # PNG frames
# One-frame outputs, written by Pillow (:class:`ImageFileWriter`): a photo upscaled, or a
# still of a video (``--start TIME --frames 1``). Those that hold transparency:
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")
IMAGE_ALPHA_SUFFIXES = (".png", ".tif", ".tiff", ".webp")
GIF_MAX_RATE = 100  # frames per second: GIF frame delays are in 1/100 s
CRF_CODECS = ("libx264", "libx264rgb", "libx265", "libvpx", "libvpx-vp9", "libaom-av1", "libsvtav1")
# Lossless codecs written as 8-bit RGB (no YUV matrix, exact frames), and those formats.
RGB_CODECS = ("ffv1", "png", "libx264rgb", "qtrle", "utvideo")
RGB_FORMATS = ("rgb24", "bgr0", "gbrp", "bgr24")
_DROPPED_METADATA = ("encoder", "major_brand", "minor_version", "compatible_brands", "duration")


# What video of more than 8 bits per sample is written as (``deep``), when the encoder has it.
DEEP_FORMAT = "yuv420p10le"
DEEP_RGB_FORMATS = ("gbrp16le", "rgb48le", "rgb48be", "gbrp10le")
# Encoders that store transparency (alpha) in a way players read, and their alpha formats
# (PNG/APNG, FFV1, ProRes 4444, VP8/VP9 in WebM, QuickTime Animation, Ut Video...).
ALPHA_CODECS = ("png", "apng", "ffv1", "prores_ks", "libvpx-vp9", "libvpx", "qtrle", "utvideo", "ffvhuff")
ALPHA_FORMATS = ("rgba", "bgra", "argb", "yuva420p", "gbrap")
PRORES_ENCODERS = ("prores_ks", "prores_aw")
DEEP_ALPHA_FORMATS = ("rgba64be", "gbrap16le", "yuva444p10le")


def pixel_format(encoder: av.codec.Codec, deep: bool = False, alpha: bool = False) -> str:
    """8-bit RGB for the lossless RGB codecs, yuv420p (what players expect) for the others.

    ``deep`` (a source of more than 8 bits): 16- or 10-bit RGB, or yuv420p10le, where the
    encoder has them (libx264, libx265, libvpx-vp9, ffv1...); else the 8-bit choice.
    ``alpha`` (a source with transparency): a format with alpha where the encoder is one of
    :data:`ALPHA_CODECS` (rgba for PNG, yuva444p10le for ProRes, yuva420p for VP9...).
    """
    formats = [f.name for f in encoder.video_formats or ()]
    if encoder.name == "gif":  # 256 colours a frame (and one of them transparent, with alpha)
        return "pal8"
    if alpha and encoder.name in ALPHA_CODECS:
        for name in (DEEP_ALPHA_FORMATS if deep else ()) + ALPHA_FORMATS + DEEP_ALPHA_FORMATS:
            if name in formats:
                return name
    if encoder.name in RGB_CODECS:
        for name in (DEEP_RGB_FORMATS if deep else ()) + RGB_FORMATS:
            if name in formats:
                return name
    if deep and DEEP_FORMAT in formats:
        return DEEP_FORMAT
    if "yuv420p" in formats or not formats:
        return "yuv420p"
    return formats[0]


def upscale_alpha(alpha: np.ndarray | None, rgb: np.ndarray) -> np.ndarray:
    """The LR alpha plane resized (bicubic, clipped) to the SR frame ``rgb``, in its dtype.

    Transparency is a mask, not texture: bicubic keeps soft edges soft without inventing
    detail. A frame without alpha (an opaque frame among transparent ones) is opaque.
    """
    from PIL import Image

    height, width = rgb.shape[:2]
    top = 65535 if rgb.dtype == np.uint16 else 255
    if alpha is None:
        return np.full((height, width), top, rgb.dtype)
    if alpha.dtype != rgb.dtype:  # 16-bit alpha of an 8-bit output, or the reverse
        alpha = to_8bit(alpha) if rgb.dtype == np.uint8 else alpha.astype(np.uint16) * 257
    if alpha.shape == (height, width):
        return alpha
    resized = Image.fromarray(alpha.astype(np.float32)).resize((width, height), Image.Resampling.BICUBIC)  # mode F
    return np.clip(np.asarray(resized) + 0.5, 0, top).astype(rgb.dtype)


def still_pixels(rgb: np.ndarray, alpha: np.ndarray | None, keep_alpha: bool) -> np.ndarray:
    """An SR frame as 8-bit RGB for a PNG frame or an image, or RGBA with its LR alpha plane
    upscaled (:func:`upscale_alpha`) when ``keep_alpha``."""
    rgb = to_8bit(rgb)
    if not keep_alpha:
        return rgb
    return np.concatenate([rgb, to_8bit(upscale_alpha(alpha, rgb))[..., None]], axis=-1)


def chapters_in(chapters: list[dict], window: Window) -> list[dict]:
    """The chapters that reach into ``window`` (all for the whole video), moved as its streams
    are (``window.shift`` earlier) and starting no earlier than it does."""
    kept = []
    for chapter in chapters:
        base = Fraction(chapter["time_base"])
        start, end = chapter["start"] * base, chapter["end"] * base
        if window.start is not None:
            if end <= window.start:
                continue
            start = max(start, window.start)
        kept.append({**chapter, "id": len(kept) + 1, "start": round((start - window.shift) / base),
                     "end": round((end - window.shift) / base)})  # fmt: skip
    return kept


def output_is_folder(path: Path) -> bool:
    """True for a folder of PNG frames, False for a video file or an image, by the output's name.

    A folder is an existing folder or a name without a suffix; a video file has one of
    :data:`VIDEO_SUFFIXES`, an image one of :data:`IMAGE_SUFFIXES`. Any other suffix is an
    error (rather than a surprise folder).
    """
    suffix = path.suffix.lower()
    if path.is_dir() or not suffix:
        return True
    if suffix in VIDEO_SUFFIXES or suffix in IMAGE_SUFFIXES:
        return False
    raise VidsrError(
        f"unknown output suffix {path.suffix} ({path.name}): use {' '.join(VIDEO_SUFFIXES)} for a video file, "
        f"{' '.join(IMAGE_SUFFIXES)} for one image, or a name without a suffix for a folder of PNG frames"
    )


def output_is_image(path: Path) -> bool:
    """True when ``path`` names one image (:data:`IMAGE_SUFFIXES`), not a folder or a video."""
    return not path.is_dir() and path.suffix.lower() in IMAGE_SUFFIXES


def default_codec(path: Path) -> str:
    """The encoder used when none is asked for."""
    return {".webm": "libvpx-vp9", ".gif": "gif"}.get(path.suffix.lower(), "libx264")


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

    alpha = False  # whether the output keeps the input's alpha (then write() gets it)

    def write(self, rgb: np.ndarray, pts: int, duration: int | None, alpha: np.ndarray | None = None) -> None:
        """One SR frame (uint8 or uint16 RGB) with its timestamp, duration and LR alpha plane."""
        raise NotImplementedError

    def close(self) -> None:
        """Finish the output (flush the encoder, write the trailer)."""

    def abort(self) -> None:
        """Release everything without finishing; the partial output is discarded by the caller."""


class FrameFolderWriter(FrameWriter):
    """PNG frames in a folder: ``names[i].png`` (the input's frame names), else ``000000.png, ...``."""

    def __init__(
        self, folder: Path, names: list[str] | None = None, warn: Callable[[str], None] | None = None,
        alpha: bool = False,
    ) -> None:  # fmt: skip
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.alpha = alpha  # RGBA PNG frames
        self.warnings = []
        if names and len({name.lower() for name in names}) < len(names):  # a.png and a.jpg
            message = "input frames share the same name up to the suffix; output frames are numbered 000000.png, ..."
            self.warnings.append(message)
            if warn is not None:
                warn(message)
            names = None
        self.names = names or []

    def write(self, rgb: np.ndarray, pts: int, duration: int | None, alpha: np.ndarray | None = None) -> None:
        from vidsr.data.frames import write_frame

        index = self.frames_written
        name = self.names[index] if index < len(self.names) else f"{index:06d}"
        rgb = still_pixels(rgb, alpha, self.alpha)
        write_frame(self.folder / f"{name}.png", rgb)
        self.frames_written += 1


class ImageFileWriter(FrameWriter):
    """One frame as an image file (Pillow; the format from ``suffix``), 8-bit.

    The input's ICC profile and EXIF (an image input's: a phone photo's colour space and
    orientation) are written again, with the new size, where the format holds them; its
    alpha where the format has one (:data:`IMAGE_ALPHA_SUFFIXES`), with a warning
    otherwise. JPEG is written at quality 95 without chroma subsampling, WebP at quality 95.
    A second frame is an error: an image holds one.
    """

    def __init__(
        self, path: Path, source: SourceInfo, suffix: str, warn: Callable[[str], None] | None = None,
        alpha: bool = True,
    ) -> None:  # fmt: skip
        self.path, self.source, self.suffix = path, source, suffix.lower()
        self.warnings: list[str] = []
        self.alpha = alpha and source.alpha and self.suffix in IMAGE_ALPHA_SUFFIXES
        if alpha and source.alpha and not self.alpha:
            self._warn(
                f"{source.path} has an alpha channel (transparency) that {self.suffix} cannot store: the "
                f"output is opaque; {' '.join(IMAGE_ALPHA_SUFFIXES)} keep it", warn,
            )  # fmt: skip

    def _warn(self, message: str, warn: Callable[[str], None] | None) -> None:
        self.warnings.append(message)
        if warn is not None:
            warn(message)

    def write(self, rgb: np.ndarray, pts: int, duration: int | None, alpha: np.ndarray | None = None) -> None:
        from PIL import Image

        if self.frames_written:
            raise VidsrError(
                f"the output {self.suffix} image holds one frame, and {self.source.path.name} has more: name a "
                "folder (no suffix) or a video file"
            )
        rgb = still_pixels(rgb, alpha, self.alpha)
        image = Image.fromarray(np.ascontiguousarray(rgb))
        options = image_metadata(self.source.path, image.size)
        if self.suffix in (".jpg", ".jpeg"):
            options.update(quality=95, subsampling=0)
        elif self.suffix == ".webp":
            options.update(quality=95)
        try:
            image.save(self.path, format=Image.registered_extensions()[self.suffix], **options)
        except (OSError, ValueError, KeyError) as error:
            raise VidsrError(f"cannot write the image {self.path}: {error}") from None
        self.frames_written = 1


def gif_loop(source: Path) -> int:
    """The loop count of a GIF output, FFmpeg's gif muxer's ``loop``: a GIF source's own (its
    NETSCAPE block: 0 forever, N times more; none: played once, -1), else 0 (forever, as GIFs
    made from video are expected to)."""
    from PIL import Image

    if source.suffix.lower() != ".gif" or not source.is_file():
        return 0
    try:
        with Image.open(source) as image:
            loop = image.info.get("loop")
    except (OSError, ValueError):
        return 0
    return -1 if loop is None else int(loop)


def image_metadata(source: Path, size: tuple[int, int]) -> dict:
    """The ICC profile and EXIF of an image file ``source`` as Pillow ``save`` options, the EXIF
    sizes set to ``size``; empty for anything else (a video, a folder, an image without them)."""
    from PIL import Image, UnidentifiedImageError

    if not source.is_file():
        return {}
    try:
        with Image.open(source) as image:
            options = {}
            if image.info.get("icc_profile"):
                options["icc_profile"] = image.info["icc_profile"]
            exif = image.getexif()
            if exif:
                details = exif.get_ifd(0x8769)  # the Exif IFD: PixelXDimension, PixelYDimension
                for tag, value in ((0xA002, size[0]), (0xA003, size[1])):
                    if tag in details:
                        details[tag] = value
                options["exif"] = exif.tobytes()
            return options
    except (UnidentifiedImageError, OSError, ValueError):
        return {}


class VideoFileWriter(FrameWriter):
    """Encodes frames into a video file and carries the input's other streams along.

    ``window`` cuts those streams to a time range of the video; ``threads`` sets the
    encoder's threads (default: FFmpeg's choice). With ``packets``, the encoded packets go
    to that function instead (``path`` is then None, ``final_suffix`` names the container
    whose encoder settings are used, and nothing is written). ``deep``: a source of more
    than 8 bits per sample is written at 10 bits where the encoder can (:func:`pixel_format`);
    uint16 frames are rounded to 8 bits otherwise. ``alpha``: a source with transparency keeps
    it (its LR alpha plane upscaled bicubic, :func:`upscale_alpha`) where the encoder can
    store it (:data:`ALPHA_CODECS`), with a warning otherwise.
    """

    def __init__(
        self,
        path: Path | None,
        source: SourceInfo,
        width: int,
        height: int,
        *,
        codec: str | None = None,
        crf: int = DEFAULT_CRF,
        copy_streams: bool = True,
        final_suffix: str | None = None,
        warn: Callable[[str], None] | None = None,
        threads: int | None = None,
        window: Window | None = None,
        packets: Callable[[av.Packet], None] | None = None,
        preset: str = DEFAULT_PRESET,
        deep: bool = False,
        alpha: bool = True,
    ) -> None:
        self.warnings = []
        self._warn_hook = warn
        self._packets = packets
        self._window = window or Window()
        suffix = (final_suffix or (path.suffix if path is not None else "")).lower()
        codec = codec or default_codec(Path(f"x{suffix}"))
        try:
            encoder = av.codec.Codec(codec, "w")
        except (av.error.FFmpegError, ValueError):
            raise VidsrError(f"unknown video encoder {codec!r} (try libx264, libvpx-vp9, ffv1 or png)") from None
        if encoder.type != "video":
            raise VidsrError(f"{codec!r} is not a video encoder")
        if codec in CRF_CODECS and (problem := crf_problem(crf, codec)):
            raise VidsrError(problem)
        deep = deep and source.bits > 8
        self.pix_fmt = pixel_format(encoder, deep, alpha=alpha and source.alpha)
        self.bits = format_bits(self.pix_fmt)
        if deep and self.bits == 8:
            self.warn(f"{codec} has no 10-bit format: the {source.bits}-bit input is written as 8-bit video")
        self.alpha = alpha and source.alpha and has_alpha(self.pix_fmt)  # (pal8: a GIF's transparent colour)
        if alpha and source.alpha and not self.alpha:
            self.warn(
                f"{source.path} has an alpha channel (transparency) that {codec} cannot store: the output is "
                "opaque; --codec png (.mov), ffv1 (.mkv), libvpx-vp9 (.webm), prores_ks (.mov) or .gif keep it"
            )
        if codec in PRORES_ENCODERS and width % 16:
            self.warn(
                f"FFmpeg's {codec} now and then encodes memory it was never given when the width is not a "
                f"multiple of 16 ({width}): a slice of a frame can come out damaged (benchmarks/prores_width.py); "
                "png or ffv1 are lossless and safe at any size"
            )
        self._pad = (0, 0)
        if self.pix_fmt.startswith("yuv420") and (width % 2 or height % 2):
            self._pad = (height % 2, width % 2)
            self.warn(
                f"yuv420p needs even sizes: the {width}x{height} output is padded to "
                f"{width + self._pad[1]}x{height + self._pad[0]} (last row/column repeated)"
            )
        self.width, self.height = width + self._pad[1], height + self._pad[0]
        self.path, self.suffix, self.pixel_aspect = path, suffix, source.pixel_aspect
        self.colour: Colour = source.colour
        self.time_base = source.time_base
        self._durations: dict[int, int] = {}
        self._last_pts: int | None = None
        rate = source.rate if source.rate and source.rate > 0 else Fraction(25)
        self._frame_ticks = max(1, round(1 / (rate * self.time_base)))
        self._last_video_time = 0.0
        self._end_time = Fraction(0)  # end of the last video frame muxed, seconds

        if suffix == ".gif" and rate > GIF_MAX_RATE:
            raise VidsrError(f"a GIF counts frame times in 1/100 s, so it plays at most {GIF_MAX_RATE} fps, and "
                             f"{source.path.name} has {float(rate):g}; write .mp4, .webm or .mkv")  # fmt: skip
        target = io.BytesIO() if packets is not None else str(path)
        muxer = {"loop": str(gif_loop(source.path))} if suffix == ".gif" else None
        self.container = av.open(target, "w", format=MUXERS.get(suffix), container_options=muxer)
        try:
            if not can_hold(self.container, codec):
                raise VidsrError(f"{suffix} files cannot hold {codec} video; choose another --codec or suffix")
            self.stream = self._add_video_stream(codec, source, suffix, crf, preset)
            if threads:
                self.stream.codec_context.thread_count = threads
            self.side: SideStreams | None = None
            if copy_streams and not source.is_folder and packets is None:
                self.side = SideStreams(source.path, self.container, source.stream_index, self.warn, window)
                if not self.side.active:
                    self.side.close()
                    self.side = None
            for key, value in source.metadata.items():
                if key.lower() not in _DROPPED_METADATA and key.lower() != "timecode":
                    self.container.metadata[key] = value
            if source.chapters and packets is None:
                self.container.set_chapters(chapters_in(source.chapters, self._window))
        except BaseException:
            self.abort()
            raise

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        if self._warn_hook is not None:
            self._warn_hook(message)

    def _add_video_stream(
        self, codec: str, source: SourceInfo, suffix: str, crf: int, preset: str = DEFAULT_PRESET
    ) -> av.video.stream.VideoStream:
        options: dict[str, str] = {}
        if codec in CRF_CODECS:
            options["crf"] = str(crf)
        if codec in ("libx264", "libx264rgb"):
            options["preset"] = preset
            if suffix in MOV_FAMILY:
                options["bf"] = "0"
        if codec == "libx265":  # quiet (x265 logs to stderr); no B-frames in MP4/MOV, as for x264
            options["preset"] = preset
            options["x265-params"] = "log-level=error" + (":bframes=0" if suffix in MOV_FAMILY else "")
            try:
                narrow = x265_narrow_params(self.width)
            except ValueError as error:
                raise VidsrError(str(error)) from None
            if narrow:
                options["x265-params"] += f":{narrow}"
        if source.hdr is not None:  # HDR10 mastering display / light level SEI, as the input's
            params = source.hdr.encoder_params(codec)
            if params is None:
                self.warn(f"{codec} cannot store the input's {source.hdr.describe()}: players will assume "
                          "default HDR10 values; libx264 or libx265 keep it")  # fmt: skip
            else:
                key = "x265-params" if codec == "libx265" else "x264-params"
                options[key] = ":".join(filter(None, (options.get(key), params)))
        if codec in ("libvpx", "libvpx-vp9"):
            options.update({"b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"})
            if self.alpha:  # libvpx encodes transparency only without alternate reference frames
                options["auto-alt-ref"] = "0"
        rate = source.rate if source.rate and source.rate > 0 else Fraction(25)
        stream = self.container.add_stream(codec, rate=rate, options=options)
        stream.width, stream.height = self.width, self.height
        if codec == "libx265" and suffix in MOV_FAMILY:
            stream.codec_context.codec_tag = "hvc1"  # what Apple players need to open HEVC in MP4/MOV
        stream.pix_fmt = self.pix_fmt
        stream.time_base = self.time_base
        stream.codec_context.time_base = self.time_base
        tag_codec_context(stream.codec_context, self.colour, rgb=av.video.format.VideoFormat(self.pix_fmt).is_rgb)
        if source.pixel_aspect:  # anamorphic input: the same pixel shape, so the same shown aspect
            stream.codec_context.sample_aspect_ratio = source.pixel_aspect
        timecode = self._timecode(source)
        if timecode is not None:  # MOV/MP4 make a timecode track of it; Matroska keeps the tag
            stream.metadata["timecode"] = timecode
        if source.display_matrix is not None:
            if suffix == ".avi":
                self.warn("AVI files cannot store the input's rotation; the output is not rotated")
            stream.set_display_matrix(list(source.display_matrix))
        return stream

    def _timecode(self, source: SourceInfo) -> str | None:
        """The input's timecode, moved to the first frame written (a time range starts later)."""
        if source.timecode is None:
            return None
        start = self._window.start
        if start is None or start <= source.start_time:
            return source.timecode
        frames = round((start - source.start_time) * (source.rate or 25))
        try:
            return shift_timecode(source.timecode, frames, source.rate or Fraction(25))
        except VidsrError:
            return None

    def write(self, rgb: np.ndarray, pts: int, duration: int | None, alpha: np.ndarray | None = None) -> None:
        if self.bits == 8:
            rgb = to_8bit(rgb)
        alpha = upscale_alpha(alpha, rgb) if self.alpha else None
        if self._pad != (0, 0):
            rgb = np.pad(rgb, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
            if alpha is not None:
                alpha = np.pad(alpha, ((0, self._pad[0]), (0, self._pad[1])), mode="edge")
        frame = rgb_to_frame(rgb, self.colour, self.pix_fmt, alpha)
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
            self._end_time = max(self._end_time, (packet.pts + (packet.duration or 0)) * self.time_base)
        if self._packets is not None:
            self._packets(packet)
            return
        self.container.mux(packet)
        if self.side is not None:
            # Half a second ahead of the video; not past it when the streams end with the video.
            lead = 0.0 if self._window.cut_end else 0.5
            self.side.advance(self._last_video_time + lead, self.container.mux)

    def mux_packet(self, packet: av.Packet) -> None:
        """Mux a packet encoded elsewhere with this writer's settings (timestamps in its time base)."""
        packet.stream = self.stream
        packet.time_base = self.time_base
        self._mux_video(packet)
        self.frames_written += 1

    @property
    def extradata(self) -> bytes:
        """The encoder's global header (SPS/PPS for H.264; empty for some codecs)."""
        return bytes(self.stream.codec_context.extradata or b"")

    def close(self) -> None:
        try:
            for packet in self.stream.encode(None):
                self._mux_video(packet)
            if self.side is not None:
                # With a cut end, what starts before the video's end (a nanosecond's margin).
                until = self._end_time - Fraction(1, 10**9) if self._window.cut_end else None
                self.side.finish(until, self.container.mux)
            self.container.close()
        except BaseException as error:
            self.abort()  # releases the output file and the side-stream reader
            if isinstance(error, av.error.FFmpegError):
                raise VidsrError(f"cannot finish the output video: {error}") from None
            raise
        if self.side is not None:
            self.side.close()
        self._check_pixel_aspect()

    def _check_pixel_aspect(self) -> None:
        """Warn when the container and codec could not store the input's non-square pixel shape.

        MP4/MOV store it for every codec; Matroska, WebM and AVI only inside H.264, HEVC and
        MPEG-4 video (PyAV cannot set the container's own field), so VP9 or FFV1 there lose it.
        """
        if self.path is None or not self.pixel_aspect:
            return
        try:
            with av.open(str(self.path)) as written:
                stored = pixel_aspect_of(written.streams.video[0])
        except (av.error.FFmpegError, OSError, IndexError):
            return
        if stored != self.pixel_aspect:
            name, suffix = self.stream.codec_context.name, self.suffix or "this container"
            self.warn(
                f"{suffix} with {name} cannot store the input's pixel aspect {ratio(self.pixel_aspect)}: players "
                f"will show {ratio(Fraction(self.width, self.height))} instead of "
                f"{ratio(Fraction(self.width, self.height) * self.pixel_aspect)}; write .mp4/.mkv with H.264 to keep it"
            )

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - the partial file is deleted anyway
            pass
        side = getattr(self, "side", None)
        if side is not None:
            side.close()


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
    threads: int | None = None,
    window: Window | None = None,
    names: list[str] | None = None,
    preset: str = DEFAULT_PRESET,
    deep: bool = False,
    alpha: bool = True,
) -> FrameWriter:
    """A PNG folder writer (frames named ``names``, default the input's), an image writer (a
    name with one of :data:`IMAGE_SUFFIXES`) or a video file writer (``deep``: 10-bit where
    the source has more than 8 bits; see :class:`VideoFileWriter`).
    ``alpha``: keep the input's transparency where it has one and the output can hold it."""
    if folder:
        if source.pixel_aspect and warn is not None:
            warn(
                f"{source.path}: its pixels are not square ({ratio(source.pixel_aspect)}, shown "
                f"{ratio(source.display_aspect)}); PNG frames have square pixels, so they look "
                f"{'narrower' if source.pixel_aspect > 1 else 'wider'} unless resized to that aspect"
            )
        return FrameFolderWriter(path, names if names is not None else source.frame_names, warn,
                                 alpha=alpha and source.alpha)  # fmt: skip
    if (final_suffix or path.suffix).lower() in IMAGE_SUFFIXES:
        return ImageFileWriter(path, source, final_suffix or path.suffix, warn, alpha=alpha)
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
        threads=threads,
        window=window,
        preset=preset,
        deep=deep,
        alpha=alpha,
    )
