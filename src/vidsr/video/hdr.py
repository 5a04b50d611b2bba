"""HDR10 static metadata: the mastering display and content light level of an HDR video.

An HDR10 video (PQ transfer, BT.2020 primaries; phones, cameras, streaming masters) says in
SEI messages how it was graded: the mastering display's primaries, white point and
luminance range, and the brightest pixel (MaxCLL) and brightest frame average (MaxFALL).
Players and TVs use them to tone-map to the screen in front of them; without them they
assume a 1000- or 4000-nit master, and highlights come out clipped or dim. FFmpeg's
decoders export them as frame side data; :func:`hdr_of` reads them from the first frame,
and the writer hands them to x264/x265 (``mastering-display``/``cll``,
``master-display``/``max-cll``), which write the same SEI messages into the output.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np

from vidsr.video.sidedata import side_data as frame_side_data

# FFmpeg's AVMasteringDisplayMetadata: display_primaries[3][2] (R, G, B; x, y), white_point[2],
# min_luminance, max_luminance (AVRationals: int32 num, den), has_primaries, has_luminance.
_MASTERING_INTS = 22
_CHROMA_UNIT = 50000  # x264/x265 chromaticity units (0.00002)
_LUMA_UNIT = 10000  # luminance units (0.0001 cd/m2)


@dataclass(frozen=True)
class HDRMetadata:
    """HDR10 static metadata in x264/x265's syntax: ``mastering``
    ``G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)`` and ``light_level`` (MaxCLL, MaxFALL) in cd/m2."""

    mastering: str | None = None
    light_level: tuple[int, int] | None = None
    max_luminance: float | None = None  # cd/m2 of the mastering display

    def describe(self) -> str:
        """E.g. ``HDR10 metadata (mastered at 1000 cd/m2, MaxCLL 1000)``."""
        parts = []
        if self.max_luminance is not None:
            parts.append(f"mastered at {self.max_luminance:g} cd/m2")
        if self.light_level is not None:
            parts.append(f"MaxCLL {self.light_level[0]}, MaxFALL {self.light_level[1]}")
        return f"HDR10 metadata ({', '.join(parts)})"

    def encoder_params(self, codec: str) -> str | None:
        """The ``x264-params`` (libx264) or ``x265-params`` (libx265) that write this metadata,
        or None for an encoder that cannot."""
        names = {"libx264": ("mastering-display", "cll"), "libx265": ("master-display", "max-cll")}.get(codec)
        if names is None:
            return None
        params = []
        if self.mastering:
            params.append(f"{names[0]}={self.mastering}")
        if self.light_level:
            params.append(f"{names[1]}={self.light_level[0]},{self.light_level[1]}")
        return ":".join(params) or None


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def hdr_of(frame: av.VideoFrame) -> HDRMetadata | None:
    """The HDR10 static metadata a decoded frame carries (side data), or None."""
    from av.sidedata.sidedata import Type

    side_data = frame_side_data(frame)
    mastering = light_level = max_luminance = None
    if Type.MASTERING_DISPLAY_METADATA in side_data:
        values = np.frombuffer(bytes(side_data[Type.MASTERING_DISPLAY_METADATA]), np.int32)
        if values.size >= _MASTERING_INTS:
            ratios = [_ratio(int(values[i]), int(values[i + 1])) for i in range(0, 20, 2)]
            (rx, ry, gx, gy, bx, by, wx, wy, low, high), has_primaries, has_luminance = ratios, values[20], values[21]
            if has_primaries and has_luminance:

                def chroma(x: float, y: float) -> str:
                    return f"({round(x * _CHROMA_UNIT)},{round(y * _CHROMA_UNIT)})"

                mastering = (
                    f"G{chroma(gx, gy)}B{chroma(bx, by)}R{chroma(rx, ry)}WP{chroma(wx, wy)}"
                    f"L({round(high * _LUMA_UNIT)},{round(low * _LUMA_UNIT)})"
                )
                max_luminance = high
    if Type.CONTENT_LIGHT_LEVEL in side_data:
        values = np.frombuffer(bytes(side_data[Type.CONTENT_LIGHT_LEVEL]), np.uint32)
        if values.size >= 2 and (values[0] or values[1]):
            light_level = (int(values[0]), int(values[1]))
    if mastering is None and light_level is None:
        return None
    return HDRMetadata(mastering, light_level, max_luminance)
