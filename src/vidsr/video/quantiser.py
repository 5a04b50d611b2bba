"""How hard a video was compressed, from its own bitstream: the mean quantiser.

FFmpeg's H.264, VP9 and MPEG-1/2/4 (part 2) decoders export each frame's quantiser as frame
side data (``export_side_data=venc_params``; libavutil's ``AVVideoEncParams``): the H.264 QP
per macroblock, VP9's quantiser index (qindex, 0-255) per frame and segment, the MPEG
quantiser step (twice the qscale) per macroblock. Their mean over frames from five places of
the video says how much detail the encoder threw away, whatever the resolution or the
content (on the held-out clips, x4 BI then x264 preset medium: QP 13.7 at CRF 8, 18.8 at CRF
13, 23.8 at CRF 18, 28.9 at CRF 23; ``benchmarks/validation.py --degradation bi+h264``
prints it). :func:`strength_for` turns it into the denoise strength that ``vidsr upscale``
picks for a video file when no ``--denoise`` is given, with thresholds measured per codec
(:data:`STRENGTHS`). JPEG (photos, and the MJPEG of old cameras and webcams) carries its
quantisation tables in every picture: the mean step of its luma table (:func:`jpeg_luma_step`;
5.8 at Pillow's quality 95, 57.6 at 50). HEVC and AV1 decoders export none, but the headers
carry it: FFmpeg's ``trace_headers`` bitstream filter logs every header field, and
:class:`HeaderQuantisers` reads the slice QP of HEVC (26 + the picture parameter set's
``init_qp_minus26`` + the slice's ``slice_qp_delta``: phones' hardware encoders, x265) and
the ``base_q_idx`` (0-255) of every AV1 frame (SVT-AV1, libaom, the AV1 of web video). x265
also writes the CRF it was given into the stream (:func:`x265_crf`); that setting, whose
strengths were measured directly, is used when present. Lossless
codecs (FFV1, PNG, raw...) and intra-only master codecs (ProRes, DNxHD) have no
compression artefacts to clean: a "clean" quantiser, and the BI weights (strength 0).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import av
import numpy as np

from vidsr.video.sidedata import side_data as frame_side_data

# libavutil/video_enc_params.h: AVVideoEncParams {unsigned nb_blocks; size_t blocks_offset;
# size_t block_size; enum type; int32 qp; int32 delta_qp[4][2]} and AVVideoBlockParams
# {int src_x, src_y, w, h; int32 delta_qp}, in the machine's own layout.
_HEADER = struct.Struct("@INNii")
_BLOCK_DELTA_AT = 16  # bytes from the start of a block to its delta_qp
# AVVideoEncParamsType -> the name the quantiser is measured in (MPEG: MPEG-1/2/4 part 2).
ENC_PARAMS_KINDS = {0: "VP9", 1: "H.264", 2: "MPEG"}
DECODERS = {"h264": "H.264", "vp9": "VP9", "mpeg1video": "MPEG", "mpeg2video": "MPEG", "mpeg4": "MPEG"}
# Decoders of the codecs whose quantiser is read from the headers (HeaderQuantisers).
TRACED_DECODERS = {"hevc": "HEVC", "libdav1d": "AV1", "av1": "AV1", "libaom-av1": "AV1"}
UNITS = {"H.264": "QP", "VP9": "qindex", "MPEG": "quantiser step", "JPEG": "luma quantiser step", "x265": "CRF",
         "HEVC": "slice QP", "AV1": "base_q_idx"}  # fmt: skip
JPEG_DECODERS = ("mjpeg", "jpegls")  # (a JPEG image is MJPEG to FFmpeg)
# Decoders whose pictures carry no compression artefacts: lossless codecs, and the intra-only
# master codecs of editing (ProRes, DNxHD/HR, CineForm; "visually lossless" at their rates).
LOSSLESS_DECODERS = {
    "ffv1": "FFV1", "png": "PNG", "apng": "APNG", "rawvideo": "raw video", "huffyuv": "HuffYUV",
    "ffvhuff": "FFVHuff", "utvideo": "Ut Video", "magicyuv": "MagicYUV", "qtrle": "QuickTime Animation",
    "tiff": "TIFF", "bmp": "BMP", "v210": "v210", "r210": "r210", "v410": "v410", "dpx": "DPX",
}  # fmt: skip
MASTER_DECODERS = {"prores": "ProRes", "dnxhd": "DNxHD/HR", "cfhd": "CineForm"}


@dataclass(frozen=True)
class Quantiser:
    """A video's mean quantiser: H.264 QP, VP9 qindex or MPEG quantiser step (2 x qscale)."""

    codec: str  # a value of ENC_PARAMS_KINDS, or of LOSSLESS_DECODERS / MASTER_DECODERS when clean
    value: float
    clean: str | None = None  # "lossless" or "master quality": no artefacts to clean (value 0)

    def describe(self) -> str:
        """E.g. ``H.264 mean QP 33.0``, ``FFV1, lossless``."""
        if self.clean:
            return f"{self.codec}, {self.clean}"
        if self.codec == "x265":  # the encoder's setting, not a mean over frames
            return f"HEVC by x265 at CRF {self.value:g}"
        return f"{self.codec} mean {UNITS[self.codec]} {self.value:.1f}"


def frame_quantiser(frame: av.VideoFrame) -> Quantiser | None:
    """The mean quantiser of a decoded frame's blocks, None without encoder parameters."""
    for data in frame_side_data(frame):
        if data.type != av.sidedata.sidedata.Type.VIDEO_ENC_PARAMS:
            continue
        raw = bytes(data)
        count, offset, size, kind, qp = _HEADER.unpack_from(raw)
        if kind not in ENC_PARAMS_KINDS:
            return None
        if count == 0:
            return Quantiser(ENC_PARAMS_KINDS[kind], float(qp))
        deltas = np.ndarray((count,), dtype=np.int32, buffer=raw, offset=offset + _BLOCK_DELTA_AT,
                            strides=(size,))
        return Quantiser(ENC_PARAMS_KINDS[kind], float(qp + deltas.mean()))
    return None


def mean_quantiser(source: str | Path | IO[bytes], frames: int = 60, spots: int = 5,
                   settings: bool = True) -> Quantiser | None:  # fmt: skip
    """The quantiser of a video (a path or a file object), None when its codec exports none
    (:data:`DECODERS`) or it cannot be read; a clean one (:attr:`Quantiser.clean`) for the
    codecs of :data:`LOSSLESS_DECODERS` and :data:`MASTER_DECODERS`. Else the median over
    ``spots`` places spread over its
    length of the mean of ``frames / spots`` frames at each (a fade from black or a title
    card, which encoders code at a low quantiser, must not speak for the whole video); from
    the first place only when it cannot seek. ``settings``: x265's CRF where it wrote one
    (else, and with False, the slice QP of the headers)."""
    try:
        with av.open(source if not isinstance(source, Path) else str(source)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            name = stream.codec_context.name
            if name in LOSSLESS_DECODERS or name in MASTER_DECODERS:
                clean = "lossless" if name in LOSSLESS_DECODERS else "master quality"
                return Quantiser(LOSSLESS_DECODERS.get(name) or MASTER_DECODERS[name], 0.0, clean)
            if name in JPEG_DECODERS:
                return _jpeg_quantiser(container, stream, frames)
            if name == "hevc" and settings:  # x265 writes its settings into the stream: its CRF, when there
                found = _x265_quantiser(container, stream)
                if found is not None:
                    return found
                container.seek(0)
            codec = DECODERS.get(name) or TRACED_DECODERS.get(name)
            if codec is None:
                return None
            if name in TRACED_DECODERS:
                headers = HeaderQuantisers(stream, codec)
                read = lambda count: headers.read(container.demux(stream), count)  # noqa: E731
            else:
                stream.codec_context.options = {"export_side_data": "venc_params"}
                read = lambda count: _quantisers(container.decode(stream), count, codec)  # noqa: E731
            duration = container.duration  # microseconds (av.time_base), None when unknown
            spots = spots if duration and spots > 1 else 1
            per_spot = max(1, frames // spots)
            means: list[float] = []
            for spot in range(spots):
                if spot:  # (the first from the start, as decoding begins)
                    try:
                        container.seek(duration * spot // spots, backward=True)
                    except av.error.FFmpegError:
                        break  # cannot seek: what was read
                values = read(per_spot)
                if values:
                    means.append(float(np.mean(values)))
    except (av.error.FFmpegError, OSError):
        return None
    return Quantiser(codec, float(np.median(means))) if means else None


def jpeg_luma_step(data: bytes) -> float | None:
    """The mean of the 64 steps of a JPEG picture's first quantisation table (the luma one),
    from its DQT segments; None when ``data`` holds no table before the scan."""
    at = 2 if data[:2] == b"\xff\xd8" else None
    while at is not None and at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker, length = data[at + 1], int.from_bytes(data[at + 2 : at + 4], "big")
        if marker == 0xDA:  # start of scan: the tables come before it
            return None
        if marker == 0xDB:  # DQT: one or more tables (precision and id, then 64 steps)
            where, end = at + 4, at + 2 + length
            while where < end:
                precision, table = data[where] >> 4, data[where] & 0x0F
                size = 128 if precision else 64
                steps = np.frombuffer(data[where + 1 : where + 1 + size], dtype=">u2" if precision else np.uint8)
                if table == 0 and len(steps) == 64:
                    return float(steps.mean())
                where += 1 + size
        at += 2 + length
    return None


def _jpeg_quantiser(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                    count: int) -> Quantiser | None:  # fmt: skip
    """The mean luma quantiser step of the first ``count`` JPEG pictures of ``stream``."""
    steps = []
    for packet in container.demux(stream):
        step = jpeg_luma_step(bytes(packet)) if packet.size else None
        if step is not None:
            steps.append(step)
        if len(steps) >= count:
            break
    return Quantiser("JPEG", float(np.mean(steps))) if steps else None


_X265_CRF = re.compile(rb"x265 \(build[^\0]*? rc=crf [^\0]*?crf=([0-9.]+)")


def x265_crf(data: bytes) -> Quantiser | None:
    """The CRF that x265 wrote into an HEVC stream (its settings SEI: ``x265 (build 215) -
    ... options: ... rc=crf / crf=22.0 ...``); None for other encoders (phones' hardware
    encoders write none) or other rate controls."""
    found = _X265_CRF.search(data)
    return Quantiser("x265", float(found.group(1))) if found else None


def _x265_quantiser(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                    packets: int = 8) -> Quantiser | None:  # fmt: skip
    """:func:`x265_crf` of the stream's header and first ``packets`` packets."""
    found = x265_crf(bytes(stream.codec_context.extradata or b""))
    for index, packet in enumerate(container.demux(stream)):
        if found is not None or index >= packets:
            break
        found = x265_crf(bytes(packet)) if packet.size else None
    return found


# One field of a trace_headers line: "<bit position>  <name>  <bits> = <value>".
_TRACED_FIELD = re.compile(r"\s*\d+\s+([A-Za-z_][\w\[\]]*)\s+[01]*\s*=\s*(-?\d+)\s*")


@contextmanager
def _traced_lines() -> Iterator[list[str]]:
    """The FFmpeg log lines of this thread at INFO level (trace_headers' level) while inside."""
    import av.logging

    level = av.logging.get_level()
    av.logging.set_level(av.logging.INFO)
    lines: list[str] = []
    try:
        with av.logging.Capture() as logs:
            yield lines
    finally:
        av.logging.set_level(level)
        lines.extend(str(log[2]) for log in logs)


class HeaderQuantisers:
    """Per-picture quantisers of an HEVC or AV1 stream, read from its headers as FFmpeg's
    ``trace_headers`` bitstream filter logs them (HEVC: the slice QP; AV1: ``base_q_idx``)."""

    def __init__(self, stream: av.video.stream.VideoStream, codec: str) -> None:
        from av.bitstream import BitStreamFilterContext

        self.codec = codec
        self.init_qp: dict[int, int] = {}  # HEVC: init_qp_minus26 of each picture parameter set
        self._pps = self._slice_pps = 0
        with _traced_lines() as lines:
            self.filter = BitStreamFilterContext("trace_headers", stream)  # (logs the extradata's headers)
        self._parse(lines)

    def read(self, packets: Iterable[av.Packet], count: int) -> list[float]:
        """The quantisers of the pictures in ``packets``, until ``count`` are found."""
        values: list[float] = []
        for packet in packets:
            if packet.size == 0:
                continue
            with _traced_lines() as lines:
                self.filter.filter(packet)
            values += self._parse(lines)
            if len(values) >= count:
                break
        return values

    def _parse(self, lines: list[str]) -> list[float]:
        values = []
        for line in lines:
            field = _TRACED_FIELD.fullmatch(line)
            if field is None:
                continue
            name, value = field.group(1), int(field.group(2))
            if name == "base_q_idx" and self.codec == "AV1":
                values.append(float(value))
            elif name == "pps_pic_parameter_set_id":
                self._pps = value
            elif name == "init_qp_minus26":
                self.init_qp[self._pps] = value
            elif name == "slice_pic_parameter_set_id":
                self._slice_pps = value
            elif name == "slice_qp_delta":
                values.append(float(26 + self.init_qp.get(self._slice_pps, 0) + value))
        return values


def _quantisers(decoded, count: int, codec: str) -> list[float]:
    """The quantisers of the next ``count`` frames of ``decoded`` that have ``codec``'s."""
    values = []
    for frame in decoded:
        quantiser = frame_quantiser(frame)
        if quantiser is not None and quantiser.codec == codec:
            values.append(quantiser.value)
        if len(values) >= count:
            break
    return values


# Denoise strength by mean H.264 QP, from the held-out clips (``benchmarks/validation.py
# --degradation bi+h264 --crf N --models delta,delta@0.25,delta@0.5``, x4 and x2; README,
# "Denoise strength"): the BI weights (0) are best at QP 13.7 and 18.8 (CRF 8, 13), 0.25 at
# 23.8 (CRF 18), 0.5 at 28.9 (CRF 23); the thresholds lie halfway. Never above 0.5: from 0.75
# on, a frame of the 300-frame flat sky at CRF 28 falls below bicubic
# (benchmarks/denoise_sky.py), and the default must not.
# The same measure for VP9 (``--degradation bi+vp9 --crf N``, x4; 2026-12-05, Intel Xeon): BI
# best at qindex 12.5 and 38.9 (CRF 4, 12), 0.25 at 65.5 and 113.1 (CRF 20, 32; at 113.1 0.5
# within 0.003 dB), 0.5 at 138.3, 163.3, 212.1 (CRF 38, 44, 56). MPEG-2 and MPEG-4 part 2
# (``bi+mpeg2``/``bi+mpeg4 --qscale Q``, quantiser step 2Q): BI at steps 2 and 4 (MPEG-2 at 4:
# 0.25 by 0.003 dB), 0.25 at 8, 0.5 at 12, 16 and 28. Thresholds halfway between. At x2
# (``--scale 2``) the same rules pick the best strength in 15 of 17 settings, and lose 0.016
# and 0.003 dB in the two others (README): one rule for both scales. JPEG (``--degradation
# bi+jpeg --quality Q``, every LR frame through Pillow; x4 and x2 agree): BI at a mean luma
# step of 2.4 (quality 98), 0.25 at 5.8 and 11.5 (95, 90), 0.5 from 17.3 (85) down to 141.5 (20).
# HEVC by x265, by the CRF it wrote into the stream (``bi+hevc --crf N``, preset medium; x4 and
# x2 agree): BI at CRF 8 and 14, 0.25 at 20, 0.5 at 26, 32 and 38. Any HEVC by the slice QP of
# its headers (phones' hardware encoders write no CRF): the same streams' slice QP is the CRF
# + 6.8 (14.8, 20.8, 26.8, 32.8, 38.8, 44.8; printed by ``bi+hevc``), so the same thresholds
# there. AV1 by base_q_idx (``bi+av1 --crf N``, SVT-AV1 preset 8; 2026-12-05, Intel Xeon): x4
# BI best at 35.3 (CRF 10), 0.25 at 70.7 and 109.5 (CRF 20, 30; at 70.7 by 0.002 dB), 0.5 at
# 148.2, 184.8, 226.8 (CRF 40, 50, 60); x2 the same but at 70.9, where BI leads 0.25 by 0.010 dB.
# (below this mean quantiser, strength) per codec
STRENGTHS: dict[str, Sequence[tuple[float, float]]] = {
    "H.264": ((21.0, 0.0), (26.0, 0.25)),
    "VP9": ((52.0, 0.0), (126.0, 0.25)),
    "MPEG": ((6.0, 0.0), (10.0, 0.25)),
    "JPEG": ((4.1, 0.0), (14.4, 0.25)),
    "x265": ((17.0, 0.0), (23.0, 0.25)),
    "HEVC": ((23.8, 0.0), (29.8, 0.25)),
    "AV1": ((53.0, 0.0), (129.0, 0.25)),
}
AUTO_CEILING = 0.5


def strength_for(quantiser: Quantiser | None, fallback: float = AUTO_CEILING) -> float:
    """The denoise strength for a video of that mean quantiser (``fallback`` for None, or a
    codec without measured thresholds; 0, the BI weights, for a clean one)."""
    if quantiser is not None and quantiser.clean:
        return 0.0
    if quantiser is None or quantiser.codec not in STRENGTHS:
        return fallback
    for below, strength in STRENGTHS[quantiser.codec]:
        if quantiser.value < below:
            return strength
    return AUTO_CEILING
