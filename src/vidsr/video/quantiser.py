"""How hard a video was compressed, from its own bitstream: the mean H.264 quantiser (QP).

FFmpeg's H.264 decoder exports each frame's quantiser, per macroblock, as frame side data
(``export_side_data=venc_params``; libavutil's ``AVVideoEncParams``). Their mean over
frames from five places of the video says how much detail the encoder threw away, whatever
the resolution or the content (on the held-out clips, x4 BI then x264 preset medium: 13.7
at CRF 8, 18.8 at CRF 13, 23.8 at CRF 18, 28.9 at CRF 23; ``benchmarks/validation.py
--degradation bi+h264`` prints it). :func:`strength_for_qp` turns it into the denoise
strength that ``vidsr upscale`` picks for a video file when no ``--denoise`` is given.
Other codecs (HEVC, VP9, AV1) export no H.264 quantiser: None, and the fixed default.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import av
import numpy as np

# libavutil/video_enc_params.h: AVVideoEncParams {unsigned nb_blocks; size_t blocks_offset;
# size_t block_size; enum type; int32 qp; int32 delta_qp[4][2]} and AVVideoBlockParams
# {int src_x, src_y, w, h; int32 delta_qp}, in the machine's own layout.
_HEADER = struct.Struct("@INNii")
_BLOCK_DELTA_AT = 16  # bytes from the start of a block to its delta_qp
ENC_PARAMS_H264 = 1  # AV_VIDEO_ENC_PARAMS_H264


def frame_qp(frame: av.VideoFrame) -> float | None:
    """The mean quantiser of an H.264 frame's macroblocks, None without H.264 parameters."""
    for data in frame.side_data:
        if data.type != av.sidedata.sidedata.Type.VIDEO_ENC_PARAMS:
            continue
        raw = bytes(data)
        count, offset, size, kind, qp = _HEADER.unpack_from(raw)
        if kind != ENC_PARAMS_H264:
            return None
        if count == 0:
            return float(qp)
        deltas = np.ndarray((count,), dtype=np.int32, buffer=raw, offset=offset + _BLOCK_DELTA_AT,
                            strides=(size,))
        return float(qp + deltas.mean())
    return None


def mean_qp(source: str | Path | IO[bytes], frames: int = 60, spots: int = 5) -> float | None:
    """The H.264 quantiser of a video (a path or a file object), None when it is not H.264
    or cannot be read: the median over ``spots`` places spread over its length of the mean
    of ``frames / spots`` frames at each (a fade from black or a title card, which x264 codes
    at a low quantiser, must not speak for the whole video); from the first place only when
    it cannot seek."""
    try:
        with av.open(source if not isinstance(source, Path) else str(source)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            if stream.codec_context.name != "h264":
                return None
            stream.codec_context.options = {"export_side_data": "venc_params"}
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
                values = _quantisers(container.decode(stream), per_spot)
                if values:
                    means.append(float(np.mean(values)))
    except (av.error.FFmpegError, OSError):
        return None
    return float(np.median(means)) if means else None


def _quantisers(decoded, count: int) -> list[float]:
    """The quantisers of the next ``count`` H.264 frames of ``decoded``."""
    values = []
    for frame in decoded:
        qp = frame_qp(frame)
        if qp is not None:
            values.append(qp)
        if len(values) >= count:
            break
    return values


# Denoise strength by mean H.264 QP, from the held-out clips (``benchmarks/validation.py
# --degradation bi+h264 --crf N --models delta,delta@0.25,delta@0.5``, x4 and x2; README,
# "Denoise strength"): the BI weights (0) are best at QP 13.7 and 18.8 (CRF 8, 13), 0.25 at
# 23.8 (CRF 18), 0.5 at 28.9 (CRF 23); the thresholds lie halfway. Never above 0.5: from 0.75
# on, a frame of the 300-frame flat sky at CRF 28 falls below bicubic
# (benchmarks/denoise_sky.py), and the default must not.
QP_STRENGTHS: Sequence[tuple[float, float]] = ((21.0, 0.0), (26.0, 0.25))  # (below this mean QP, strength)
AUTO_CEILING = 0.5


def strength_for_qp(qp: float | None, fallback: float = AUTO_CEILING) -> float:
    """The denoise strength for a video of mean H.264 quantiser ``qp`` (``fallback`` for None)."""
    if qp is None:
        return fallback
    for below, strength in QP_STRENGTHS:
        if qp < below:
            return strength
    return AUTO_CEILING
