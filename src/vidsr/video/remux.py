"""Audio and subtitle streams of the input, carried into the output next to the new video.

Each stream is copied packet for packet (no re-encoding, timestamps kept) when the
output container can hold its codec; otherwise audio is re-encoded (AAC, or what the
container takes, at a sample rate the encoder takes: Opus in WebM needs 48 kHz for 44.1
kHz audio) and text subtitles are converted (mov_text for MP4/MOV, WebVTT for WebM).
PCM audio (WAV-style, from MOV, MKV or AVI) goes into MP4 as AAC: FFmpeg 7 and later write
PCM in MP4 as ISO ``ipcm``, which few players read, and only with a known channel layout
(an AVI's or a Matroska's "2 channels" fails as the file is closed); older FFmpeg refuse it.
MOV, Matroska and AVI outputs keep PCM as it is.
What cannot be carried (bitmap subtitles into MP4, data streams) is reported as a
warning. The input is demuxed a second time, independently of the video decoder, and
packets are muxed as the video advances, so the output stays interleaved and memory
does not grow with the length of the video. For a time range of the video, a
:class:`Window` cuts the other streams to the same range and shifts them with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

AUDIO_TARGETS = ("aac", "libopus", "libmp3lame", "flac")
TEXT_SUBTITLE_TARGETS = ("subrip", "webvtt", "mov_text", "ass")  # first one the container takes
# Codecs (canonical names) that a muxer takes although FFmpeg cannot list them: the MPEG-TS
# muxer has no codec query, so PyAV reports only its defaults (MPEG-2 video, MP2 audio).
_UNLISTED_CODECS = {
    "mpegts": frozenset(
        {"h264", "hevc", "mpeg1video", "mpeg2video", "mpeg4"}
        | {"aac", "mp2", "mp3", "ac3", "eac3", "opus", "dvb_subtitle"}
    ),
}


def can_hold(output: av.container.OutputContainer, codec: str) -> bool:
    """True when the muxer of ``output`` takes ``codec`` (an encoder or decoder name)."""
    if codec in output.supported_codecs:
        return True
    unlisted = _UNLISTED_CODECS.get(output.format.name)
    if not unlisted:
        return False
    for mode in ("r", "w"):  # a decoder name (copied streams) or an encoder name
        try:
            return av.codec.Codec(codec, mode).canonical_name in unlisted
        except ValueError:  # no decoder (or encoder) of that name
            continue
    return False


def can_copy_audio(output: av.container.OutputContainer, codec: str) -> bool:
    """True when audio in ``codec`` is copied into ``output`` as it is (see the module doc: no
    PCM into MP4)."""
    if output.format.name == "mp4" and codec.startswith("pcm_"):
        return False
    return can_hold(output, codec)


# Channel layouts for a channel count, where the input does not say which channels it has
# (AVI and Matroska PCM): FFmpeg's defaults, which encoders (AAC) need to open.
_DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "4.0", 5: "5.0(side)", 6: "5.1(side)", 7: "6.1", 8: "7.1"}


def known_layout(layout: av.AudioLayout) -> av.AudioLayout | str:
    """``layout``, or the usual layout of as many channels when it names none of them."""
    if all(channel.name != "NONE" for channel in layout.channels):
        return layout
    return _DEFAULT_LAYOUTS.get(layout.nb_channels, layout)


def encoder_rate(encoder: av.codec.Codec, rate: int) -> int:
    """``rate`` when ``encoder`` takes it, else the next rate up that it takes (or its highest).

    Opus, for one, takes only 8, 12, 16, 24 and 48 kHz: 44.1 kHz audio goes in at 48 kHz.
    """
    rates = sorted(encoder.audio_rates or ())
    if not rates or rate in rates:
        return rate
    return next((r for r in rates if r >= rate), rates[-1])


# Starting this many seconds past the input's start, the second reader seeks (to 10 s before).
_SEEK_AFTER_SECONDS = 30


@dataclass(frozen=True)
class Window:
    """The audio and subtitles that go with a time range of the video.

    Packets that start before ``start`` (input seconds; None: keep everything from the
    input's start) are dropped, except subtitles still showing then, which are shortened to
    start there; every timestamp is moved ``shift`` seconds earlier; with ``cut_end``, the
    streams stop where the video does instead of where the input does.
    """

    start: Fraction | None = None
    shift: Fraction = Fraction(0)
    cut_end: bool = False


@dataclass
class _Route:
    """How one input stream reaches the output: copied, or decoded and re-encoded."""

    source: av.stream.Stream
    target: av.stream.Stream
    mode: str  # "copy", "audio", "subtitle"
    resampler: av.AudioResampler | None = None


class SideStreams:
    """Copies (or converts) the input's audio and subtitle streams into ``output``."""

    def __init__(
        self,
        input_path: Path,
        output: av.container.OutputContainer,
        video_index: int,
        warn: Callable[[str], None],
        window: Window | None = None,
    ) -> None:
        self._warn = warn
        self.window = window or Window()
        self._input = av.open(str(input_path))
        self._routes: dict[int, _Route] = {}
        self.copied: dict[str, int] = {}
        try:
            self._add_routes(input_path, output, video_index, warn)
        except BaseException:
            self._input.close()  # the caller never gets an object to close
            raise
        start = self.window.start
        if start is not None and start > _SEEK_AFTER_SECONDS and self._routes:
            try:
                self._input.seek(int((start - 10) * av.time_base), backward=True)
            except av.error.FFmpegError:
                pass  # read from the start instead
        streams = [route.source for route in self._routes.values()]
        self._packets: Iterator[av.Packet] | None = self._input.demux(*streams) if streams else None
        self._next: av.Packet | None = None

    def _add_routes(
        self, input_path: Path, output: av.container.OutputContainer, video_index: int, warn: Callable[[str], None]
    ) -> None:
        """A copy or re-encode route for every audio and subtitle stream of the input."""
        for stream in self._input.streams:
            if stream.index == video_index:
                continue
            codec = stream.codec_context.name if stream.codec_context is not None else (stream.name or "unknown codec")
            label = f"stream #{stream.index} ({stream.type}, {codec})"
            if stream.type == "data" and any(key.lower() == "timecode" for key in stream.metadata):
                continue  # a timecode track: the writer gives the video its timecode (MOV/MP4: a new track)
            if stream.type == "attachment":  # fonts of styled subtitles, cover art: Matroska only
                if output.format.name == "matroska":
                    output.add_attachment(name=stream.name, mimetype=stream.mimetype, data=stream.data)
                    self.copied["attachment"] = self.copied.get("attachment", 0) + 1
                else:
                    warn(f"{label} of {input_path.name} is not carried: only Matroska (.mkv) holds attachments")
                continue
            if stream.type == "audio":
                route = self._audio_route(stream, output, label)
            elif stream.type == "subtitle":
                route = self._subtitle_route(stream, output, label)
            else:
                if not (stream.type == "video" and stream.disposition & av.stream.Disposition.attached_pic):
                    warn(f"{label} of {input_path.name} is not carried into the output")
                route = None
            if route is not None:
                self._routes[stream.index] = route

    @property
    def active(self) -> bool:
        """True when there is at least one stream to carry."""
        return bool(self._routes)

    def _audio_route(self, stream, output, label) -> _Route | None:
        name = stream.codec_context.name
        if can_copy_audio(output, name):
            return _Route(stream, output.add_stream_from_template(stream), "copy")
        for encoder in AUDIO_TARGETS:
            if can_hold(output, encoder):
                source_rate = stream.codec_context.sample_rate or 48000
                rate = encoder_rate(av.codec.Codec(encoder, "w"), source_rate)
                target = output.add_stream(encoder, rate=rate)
                target.layout = known_layout(stream.codec_context.layout)
                resampled = f" at {rate} Hz (from {source_rate} Hz)" if rate != source_rate else ""
                why = "does not carry PCM audio that players read" if can_hold(output, name) else f"cannot hold {name}"
                self._warn(f"{label}: {output.format.name} {why}; re-encoded to {encoder}{resampled}")
                return _Route(stream, target, "audio")
        if output.format.name == "gif":  # (GIF is pictures only)
            self._warn(f"{label}: a GIF has no sound; dropped (a video file output keeps it)")
        else:
            self._warn(f"{label}: {output.format.name} can hold no audio codec available here; dropped")
        return None

    def _subtitle_route(self, stream, output, label) -> _Route | None:
        name = stream.codec_context.name
        if can_hold(output, name):
            return _Route(stream, output.add_stream_from_template(stream), "copy")
        if not av.codec.Codec(name, "r").text_sub:
            self._warn(f"{label}: bitmap subtitles cannot go into {output.format.name}; dropped")
            return None
        for encoder in TEXT_SUBTITLE_TARGETS:
            if can_hold(output, encoder):
                decoder = stream.codec_context
                decoder.open(strict=False)  # sets the ASS header the encoder needs
                target = output.add_stream(encoder)
                target.codec_context.subtitle_header = decoder.subtitle_header
                target.time_base = stream.time_base
                self._warn(f"{label}: {output.format.name} cannot hold {name}; converted to {encoder}")
                return _Route(stream, target, "subtitle")
        self._warn(f"{label}: {output.format.name} holds no text subtitles; dropped")
        return None

    def advance(self, until: float | None, mux: Callable[[av.Packet], None]) -> None:
        """Mux every side packet up to ``until`` seconds (all that remain when None)."""
        if self._packets is None:
            return
        while True:
            packet = self._next or self._read()
            if packet is None:
                self._finish(mux)
                return
            when = packet.dts if packet.dts is not None else packet.pts
            if until is not None and when is not None and when * packet.time_base - self.window.shift > until:
                self._next = packet
                return
            self._next = None
            if self._in_window(packet):
                self._carry(packet, mux)

    def _in_window(self, packet: av.Packet) -> bool:
        """False for a packet before the window; shifts (and shortens) the others."""
        window = self.window
        if packet.pts is None or packet.time_base is None:
            return window.start is None
        tb = packet.time_base
        if window.start is not None and packet.pts * tb < window.start:
            end = (packet.pts + (packet.duration or 0)) * tb
            if packet.stream.type != "subtitle" or end <= window.start:
                return False
            start = math.ceil(window.start / tb)  # a subtitle still showing: from the window's start
            packet.duration = packet.pts + packet.duration - start
            packet.dts, packet.pts = (packet.dts if packet.dts is None else start), start
        if window.shift:
            offset = round(window.shift / tb)
            packet.pts -= offset
            if packet.dts is not None:
                packet.dts -= offset
        return True

    def finish(self, until: float | None, mux: Callable[[av.Packet], None]) -> None:
        """Mux what remains up to ``until`` seconds (all of it when None), then flush re-encoders."""
        self.advance(until, mux)
        if self._packets is not None:
            self._finish(mux)

    def _read(self) -> av.Packet | None:
        assert self._packets is not None
        try:
            return next(self._packets)
        except StopIteration:
            return None
        except (av.error.FFmpegError, OSError) as error:
            self._warn(f"stopped copying audio/subtitles at a read error: {error}")
            return None

    def _carry(self, packet: av.Packet, mux: Callable[[av.Packet], None]) -> None:
        route = self._routes[packet.stream.index]
        if route.mode == "copy":
            if packet.size == 0:
                return  # demuxer's end-of-stream marker
            packet.stream = route.target
            mux(packet)
            self.copied[route.source.type] = self.copied.get(route.source.type, 0) + 1
            return
        try:
            if route.mode == "audio":
                self._reencode_audio(route, packet, mux)
            elif packet.size:
                self._convert_subtitle(route, packet, mux)
        except (av.error.FFmpegError, ValueError) as error:
            self._warn(f"could not convert a packet of stream #{route.source.index}: {error}")

    def _reencode_audio(self, route: _Route, packet: av.Packet, mux) -> None:
        frames = route.source.decode(packet if packet.size else None)
        encoder = route.target.codec_context
        if route.resampler is None:
            route.resampler = av.AudioResampler(
                format=encoder.format or "fltp",
                layout=encoder.layout,
                rate=encoder.sample_rate,
                frame_size=encoder.frame_size or None,
            )
        for frame in frames:
            for chunk in route.resampler.resample(frame):
                for out in route.target.encode(chunk):
                    mux(out)
        self.copied["audio"] = self.copied.get("audio", 0) + 1

    def _convert_subtitle(self, route: _Route, packet: av.Packet, mux) -> None:
        subtitles = route.source.codec_context.decode2(packet)
        if subtitles is None:
            return
        out = route.target.codec_context.encode_subtitle(subtitles)
        out.pts, out.dts, out.duration = packet.pts, packet.dts, packet.duration
        out.time_base = packet.time_base
        out.stream = route.target
        mux(out)
        self.copied["subtitle"] = self.copied.get("subtitle", 0) + 1

    def _finish(self, mux) -> None:
        """Flush re-encoders at the end of the input."""
        for route in self._routes.values():
            if route.mode != "audio":
                continue
            try:
                if route.resampler is not None:
                    for chunk in route.resampler.resample(None):
                        for out in route.target.encode(chunk):
                            mux(out)
                for out in route.target.encode(None):
                    mux(out)
            except (av.error.FFmpegError, ValueError) as error:
                self._warn(f"could not finish re-encoding stream #{route.source.index}: {error}")
        self._packets = None

    def close(self) -> None:
        """Release the second reader of the input."""
        self._input.close()
