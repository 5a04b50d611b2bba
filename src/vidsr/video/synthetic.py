"""Small synthetic videos made with PyAV: for tests, the benchmark and trying things out.

:func:`pattern_frame` draws a smooth, colourful, moving test pattern; :func:`write_video`
encodes frames with chosen timestamps (variable frame rate), colour tags, rotation, an
AAC audio track and SRT subtitles, everything the pipeline must keep.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidsr.video.colour import Colour, rgb_to_frame, tag_codec_context
from vidsr.video.encoding_defaults import x265_narrow_params


def pattern_frame(index: int, height: int, width: int) -> np.ndarray:
    """Frame ``index`` of a moving pattern: gradients, a sine grating and a square, uint8 RGB."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    t = index / 10.0
    r = 0.5 + 0.5 * np.sin(2 * np.pi * (x / max(width, 1) + t / 4))
    g = y / max(height - 1, 1)
    b = 0.5 + 0.5 * np.cos(2 * np.pi * ((x + y) / 9.0 - t))
    rgb = np.stack([r, g, b], axis=-1)
    size = max(2, min(height, width) // 4)
    top = int((height - size) * (0.5 + 0.4 * np.sin(t)))
    left = int((width - size) * (0.5 + 0.4 * np.cos(t * 0.7)))
    rgb[top : top + size, left : left + size] = (0.95, 0.9, 0.1)
    return np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)


def pattern_frames(count: int, height: int, width: int) -> Iterable[np.ndarray]:
    """``count`` frames of :func:`pattern_frame`, made one at a time."""
    return (pattern_frame(i, height, width) for i in range(count))


def _write_srt(cues: Sequence[tuple[float, float, str]], folder: Path) -> Path:
    def clock(seconds: float) -> str:
        ms = round(seconds * 1000)
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    lines = []
    for number, (start, end, text) in enumerate(cues, start=1):
        lines += [str(number), f"{clock(start)} --> {clock(end)}", text, ""]
    path = folder / "cues.srt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    *,
    fps: Fraction | int = 25,
    pts: Sequence[int] | None = None,
    durations: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    codec: str = "libx264",
    crf: int = 18,
    colour: Colour | None = None,
    rotation: float | None = None,
    audio_seconds: float | None = None,
    audio_rate: int = 48000,
    subtitles: Sequence[tuple[float, float, str]] | None = None,
    options: dict[str, str] | None = None,
    pix_fmt: str | None = None,
    interlaced: bool = False,
    pixel_aspect: Fraction | None = None,
    codec_options: dict[str, str] | None = None,
) -> Path:
    """Encode uint8 RGB frames into a video file.

    ``pts`` (in ``time_base``, default ``1/fps``) gives each frame's timestamp, for a
    variable frame rate, and ``durations`` each frame's duration (packet durations);
    ``colour`` sets the YUV matrix/range and its tags (default: BT.601 limited, untagged);
    ``rotation`` (degrees counter-clockwise) adds a display matrix; ``audio_seconds`` adds
    a 440 Hz AAC track (``audio_rate`` samples per second); ``subtitles`` adds SRT cues
    ``(start, end, text)`` (Matroska only); ``options`` are container options. Odd sizes
    are encoded as 4:4:4; ``pix_fmt`` chooses another format (e.g. ``yuv420p10le``).
    ``interlaced`` encodes (x264) as interlaced, top field first: weave the fields into the
    frames yourself (:func:`weave_fields`). ``pixel_aspect`` tags non-square pixels (32:27:
    an anamorphic 16:9 DVD frame of 720x480). ``codec_options`` are the encoder's (other than
    x264's ``crf``: ``{"crf": "40", "b": "0"}`` for VP9, ``{"qmin": "4", "qmax": "4"}`` for MPEG-2).
    """
    path = Path(path)
    fps = Fraction(fps)
    time_base = time_base or 1 / fps
    with tempfile.TemporaryDirectory() as scratch:
        subtitle_input = av.open(str(_write_srt(subtitles, Path(scratch)))) if subtitles else None
        with av.open(str(path), "w", options=options or {}) as container:
            frames = iter(frames)
            first = next(frames)
            height, width = first.shape[:2]
            x264 = {"crf": str(crf), **({"x264-params": "interlaced=1:tff=1"} if interlaced else {})}
            options_of_codec = dict(codec_options or (x264 if codec == "libx264" else {}))
            if codec == "libx265":  # (see vidsr.video.encoding_defaults)
                params = options_of_codec.get("x265-params")
                options_of_codec["x265-params"] = ":".join(filter(None, (params, x265_narrow_params(width))))
            stream = container.add_stream(codec, rate=fps, options=options_of_codec)
            stream.width, stream.height = width, height
            # yuv420p cannot hold odd sizes: odd test videos are 4:4:4.
            pix_fmt = pix_fmt or ("bgr0" if codec == "ffv1" else ("yuv444p" if width % 2 or height % 2 else "yuv420p"))
            stream.pix_fmt = pix_fmt
            stream.time_base = time_base
            stream.codec_context.time_base = time_base
            if colour is not None:
                tag_codec_context(stream.codec_context, colour)
            if rotation is not None:
                stream.set_display_rotation(rotation)
            if pixel_aspect is not None:
                stream.codec_context.sample_aspect_ratio = pixel_aspect
            audio = container.add_stream("aac", rate=audio_rate) if audio_seconds else None
            subtitle_out = None
            if subtitle_input is not None:
                subtitle_out = container.add_stream_from_template(subtitle_input.streams.subtitles[0])
            frame_colour = colour or Colour()
            by_pts: dict[int, int] = {}

            def mux(packet: av.Packet) -> None:
                if packet.pts in by_pts:
                    packet.duration = by_pts.pop(packet.pts)
                container.mux(packet)

            for index, rgb in enumerate(_chain(first, frames)):
                frame = rgb_to_frame(rgb, frame_colour, pix_fmt)
                if colour is None and pix_fmt.startswith("yuv"):
                    frame.colorspace, frame.color_range = 2, 0  # leave untagged
                frame.pts = pts[index] if pts is not None else index
                frame.time_base = time_base
                if durations is not None:
                    by_pts[frame.pts] = durations[index]
                for packet in stream.encode(frame):
                    mux(packet)
            for packet in stream.encode(None):
                mux(packet)
            if audio is not None:
                _write_tone(container, audio, audio_seconds, audio_rate)
            if subtitle_input is not None:
                for packet in subtitle_input.demux(subtitle_input.streams.subtitles[0]):
                    if packet.size:
                        packet.stream = subtitle_out
                        container.mux(packet)
        if subtitle_input is not None:
            subtitle_input.close()
    return path


def weave_fields(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """An interlaced frame: the even rows of ``top`` (the earlier field), the odd rows of ``bottom``."""
    frame = top.copy()
    frame[1::2] = bottom[1::2]
    return frame


def _chain(first: np.ndarray, rest: Iterable[np.ndarray]) -> Iterable[np.ndarray]:
    yield first
    yield from rest


def _write_tone(container: av.container.OutputContainer, stream, seconds: float, rate: int = 48000) -> None:
    size = 1024
    total = round(seconds * rate)
    for start in range(0, total, size):
        n = min(size, total - start)
        t = (start + np.arange(n)) / rate
        samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
