"""YUV <-> RGB with the video's own colour matrix and range, and the tags that say so.

A decoded YUV frame is turned into RGB with the matrix (BT.601, BT.709, BT.2020...) and
range (limited "tv" 16-235 or full "pc" 0-255) that the frame is tagged with; the output
is converted back with the same matrix and range and carries the same tags (matrix,
range, primaries, transfer), so colours survive the round trip. The arithmetic is
FFmpeg's swscale (through PyAV) with accurate rounding and full chroma interpolation.

Frames are uint8 RGB, or uint16 RGB (``deep``: 16-bit samples, ``rgb48``) for sources
with more than 8 bits per sample, so that 10-bit video stays 10-bit through the model.

Untagged YUV is read as BT.601 limited range (what FFmpeg assumes) and the output is
tagged with that explicitly, so that players do not guess differently for the larger
output. RGB sources (frame folders, RGB codecs) are written as BT.709 limited range.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, Interpolation

# FFmpeg's AVColorSpace values (the tags on frames and codec contexts).
SPC_RGB = 0
SPC_BT709 = 1
SPC_UNSPECIFIED = 2
SPC_FCC = 4
SPC_BT470BG = 5
SPC_SMPTE170M = 6
SPC_SMPTE240M = 7
SPC_BT2020_NCL = 9
SPC_BT2020_CL = 10

# FFmpeg's AVColorPrimaries / AVColorTransferCharacteristic values used here.
PRI_BT709 = 1
PRI_UNSPECIFIED = 2
TRC_BT709 = 1
TRC_UNSPECIFIED = 2
TRC_IEC61966_2_1 = 13  # sRGB
TRC_SMPTE2084 = 16  # PQ (HDR10)
TRC_ARIB_STD_B67 = 18  # HLG

# Tag -> the swscale matrix that implements it.
_SWS_MATRIX = {
    SPC_BT709: Colorspace.ITU709,
    SPC_FCC: Colorspace.FCC,
    SPC_BT470BG: Colorspace.ITU601,
    SPC_SMPTE170M: Colorspace.ITU601,
    SPC_SMPTE240M: Colorspace.SMPTE240M,
    SPC_BT2020_NCL: Colorspace.BT2020,
    SPC_BT2020_CL: Colorspace.BT2020,
}

_NAMES = {
    SPC_BT709: "BT.709",
    SPC_FCC: "FCC",
    SPC_BT470BG: "BT.601 (BT.470BG)",
    SPC_SMPTE170M: "BT.601 (SMPTE 170M)",
    SPC_SMPTE240M: "SMPTE 240M",
    SPC_BT2020_NCL: "BT.2020",
    SPC_BT2020_CL: "BT.2020 (constant luminance)",
}

# Bicubic chroma, accurate rounding, full chroma interpolation: within 2/255 on a
# yuv420p round trip of a smooth RGB gradient (FFmpeg's default flags: 4/255).
SWS_FLAGS = (
    Interpolation.BICUBIC
    | Interpolation.ACCURATE_RND
    | Interpolation.FULL_CHR_H_INT
    | Interpolation.FULL_CHR_H_INP
)


@dataclass(frozen=True)
class Colour:
    """How YUV samples map to RGB: the matrix and range tags, plus primaries and transfer."""

    matrix: int = SPC_SMPTE170M
    full_range: bool = False
    primaries: int = PRI_UNSPECIFIED
    trc: int = TRC_UNSPECIFIED

    @property
    def sws_matrix(self) -> Colorspace:
        """The swscale matrix for this tag (BT.601 for anything it does not know)."""
        return _SWS_MATRIX.get(self.matrix, Colorspace.ITU601)

    @property
    def sws_range(self) -> ColorRange:
        """The swscale range for this tag."""
        return ColorRange.JPEG if self.full_range else ColorRange.MPEG

    def describe(self) -> str:
        """E.g. ``BT.709 limited range``, ``BT.2020 limited range, PQ (HDR)``."""
        name = _NAMES.get(self.matrix, f"matrix {self.matrix}")
        hdr = {TRC_SMPTE2084: ", PQ (HDR)", TRC_ARIB_STD_B67: ", HLG (HDR)"}.get(self.trc, "")
        return f"{name} {'full' if self.full_range else 'limited'} range{hdr}"


# What an RGB source (PNG frames, an RGB codec) is written as.
RGB_SOURCE_COLOUR = Colour(SPC_BT709, False, PRI_BT709, TRC_IEC61966_2_1)


def is_rgb_format(frame: av.VideoFrame) -> bool:
    """True for RGB-coded frames (gbrp, rgb24, bgr0, pal8...), which carry no matrix."""
    fmt = frame.format
    return bool(fmt.is_rgb) or bool(fmt.has_palette)


def colour_of(frame: av.VideoFrame) -> Colour:
    """The colour tags of a decoded frame, with FFmpeg's assumptions for untagged YUV."""
    if is_rgb_format(frame):  # no matrix; primaries and transfer (an HDR RGB master) are kept
        primaries, trc = int(frame.color_primaries), int(frame.color_trc)
        return Colour(
            RGB_SOURCE_COLOUR.matrix, RGB_SOURCE_COLOUR.full_range,
            primaries if primaries not in (0, PRI_UNSPECIFIED) else RGB_SOURCE_COLOUR.primaries,
            trc if trc not in (0, TRC_UNSPECIFIED) else RGB_SOURCE_COLOUR.trc,
        )  # fmt: skip
    matrix = int(frame.colorspace)
    if matrix not in _SWS_MATRIX:
        matrix = SPC_SMPTE170M  # unspecified (or unsupported): FFmpeg reads it as BT.601
    full = int(frame.color_range) == int(ColorRange.JPEG) or frame.format.name.startswith("yuvj")
    return Colour(matrix, full, int(frame.color_primaries), int(frame.color_trc))


def format_bits(pix_fmt: str) -> int:
    """Bits per sample of a pixel format (8 for yuv420p, 10 for yuv420p10le)."""
    return max((component.bits for component in av.video.format.VideoFormat(pix_fmt).components), default=8)


def has_alpha(pix_fmt: str) -> bool:
    """True for pixel formats with an alpha (transparency) plane, rgba, yuva420p, gbrap...,
    and for ``pal8``, whose palette holds an alpha per colour (a PNG's ``tRNS``, a GIF's)."""
    return pix_fmt == "pal8" or any(c.is_alpha for c in av.video.format.VideoFormat(pix_fmt).components)


def frame_to_rgb(frame: av.VideoFrame, colour: Colour | None = None, deep: bool = False) -> np.ndarray:
    """A decoded frame as RGB ``(H, W, 3)``, using its own (or the given) tags.

    uint8, or uint16 (full 16-bit scale) with ``deep`` when the frame has more than 8 bits.
    """
    return _frame_to_array(frame, colour, deep, alpha=False)[0]


def frame_to_rgb_alpha(frame: av.VideoFrame, deep: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`frame_to_rgb` and, from the same conversion, the frame's alpha ``(H, W)`` in the
    same dtype (None for a frame without alpha)."""
    return _frame_to_array(frame, None, deep, alpha=has_alpha(frame.format.name))


def _frame_to_array(
    frame: av.VideoFrame, colour: Colour | None, deep: bool, alpha: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """One swscale conversion to RGB (RGBA with ``alpha``), split into RGB and alpha."""
    deep = deep and format_bits(frame.format.name) > 8
    target = {(False, False): "rgb24", (True, False): "rgb48le", (False, True): "rgba", (True, True): "rgba64le"}[
        (deep, alpha)
    ]
    if is_rgb_format(frame):
        pixels = frame.to_ndarray(format=target)
    else:
        colour = colour or colour_of(frame)
        pixels = frame.reformat(
            format=target,
            src_colorspace=colour.sws_matrix,
            src_color_range=colour.sws_range,
            interpolation=SWS_FLAGS,
        ).to_ndarray()
        if deep:  # swscale's 16-bit RGB is not full scale: rescale the colour (not the alpha)
            gain = np.float32(65535.0 / swscale_white(frame.format.name, colour.full_range))
            rgb = np.clip(pixels[..., :3].astype(np.float32) * gain + 0.5, 0, 65535).astype(np.uint16)
            return rgb, (np.ascontiguousarray(pixels[..., 3]) if alpha else None)
    if not alpha:
        return pixels, None
    return np.ascontiguousarray(pixels[..., :3]), np.ascontiguousarray(pixels[..., 3])


@functools.lru_cache(maxsize=64)
def swscale_white(pix_fmt: str, full_range: bool) -> float:
    """The 16-bit RGB value that swscale gives for white of the YUV format ``pix_fmt``.

    swscale brings YUV to 16-bit RGB by bit shifts, not to full scale: limited-range white
    (Y 940 of 1023) comes out at 65283, full-range 10-bit white (1023) at 65472, not 65535
    (measured with PyAV 18's FFmpeg). Deep frames read are rescaled by it, so that white is
    65535 inside vidsr. Measured on a white frame of that format (Y at the top of its range,
    neutral chroma).
    """
    from av.video.reformatter import ColorRange

    planar = len(av.VideoFrame(16, 16, pix_fmt).planes) == 3
    native = av.VideoFrame(16, 16, pix_fmt if planar else "yuv444p16le")  # Y, U, V planes
    bits = native.format.components[0].bits
    dtype = np.uint8 if bits <= 8 else np.uint16
    luma = (1 << bits) - 1 if full_range else 235 << (bits - 8)
    for index, value in enumerate((luma, 1 << (bits - 1), 1 << (bits - 1))):
        plane = native.planes[index]
        plane.update(np.full((plane.height, plane.line_size // dtype().itemsize), value, dtype))
    if not planar:  # (semi-planar or packed formats) YUV to YUV of another depth: shifts, white stays white
        native = native.reformat(format=pix_fmt)
    sws_range = ColorRange.JPEG if full_range else ColorRange.MPEG
    rgb = native.reformat(format="rgb48le", src_colorspace=Colorspace.ITU709, src_color_range=sws_range,
                          interpolation=SWS_FLAGS).to_ndarray()
    return float(rgb.mean())


@functools.lru_cache(maxsize=4)
def swscale_input_white(full_range: bool) -> float:
    """The 16-bit RGB value that swscale takes for white when it converts to YUV: 65280
    (255 << 8), in both ranges, whatever the output depth (measured as for
    :func:`swscale_white`, from a mid grey written at 16 bits, where nothing rounds)."""
    from av.video.reformatter import ColorRange

    sws_range = ColorRange.JPEG if full_range else ColorRange.MPEG
    black, white = (0, 65535) if full_range else (16 << 8, 235 << 8)
    grey = av.VideoFrame.from_ndarray(np.full((16, 16, 3), 32768, np.uint16), format="rgb48le")
    yuv = grey.reformat(format="yuv444p16le", dst_colorspace=Colorspace.ITU709, dst_color_range=sws_range,
                        interpolation=SWS_FLAGS)
    luma = float(np.frombuffer(yuv.planes[0], np.uint16)[0])
    return 32768 * (white - black) / (luma - black)


def to_8bit(rgb: np.ndarray) -> np.ndarray:
    """uint16 RGB (full 16-bit scale) rounded to uint8; uint8 unchanged."""
    if rgb.dtype == np.uint8:
        return rgb
    return ((rgb.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def palette_frame(rgb: np.ndarray, alpha: np.ndarray | None = None) -> av.VideoFrame:
    """uint8 RGB as a ``pal8`` frame (a GIF's): its own palette of 256 colours (median cut,
    Floyd-Steinberg dithering: Pillow's ``quantize``); with ``alpha``, 255 colours and a
    transparent one for the pixels below half opacity (GIF transparency is on or off)."""
    from PIL import Image

    colours = 256 if alpha is None else 255
    indexed = Image.fromarray(np.ascontiguousarray(rgb)).quantize(colours, Image.Quantize.MEDIANCUT)
    indices = np.array(indexed, dtype=np.uint8)
    used = np.array(indexed.getpalette() or [], dtype=np.uint8).reshape(-1, 3)[:colours]
    palette = np.zeros((256, 4), np.uint8)  # ARGB
    palette[: len(used), 0], palette[: len(used), 1:] = 255, used
    if alpha is not None:
        indices[alpha < 128] = 255  # (entry 255 stays (0, 0, 0, 0): transparent)
    return av.VideoFrame.from_ndarray((indices, palette), format="pal8")


def rgb_to_frame(
    rgb: np.ndarray, colour: Colour, pix_fmt: str = "yuv420p", alpha: np.ndarray | None = None
) -> av.VideoFrame:
    """uint8 (or uint16) RGB ``(H, W, 3)`` as a frame in ``pix_fmt``, converted and tagged with
    ``colour`` (uint16 to YUV: rescaled to swscale's white first, :func:`swscale_input_white`).

    ``alpha`` ``(H, W)`` of the same dtype goes into the alpha plane of an alpha ``pix_fmt``.
    """
    if pix_fmt == "pal8":
        return palette_frame(to_8bit(rgb), None if alpha is None else to_8bit(alpha))
    deep = rgb.dtype == np.uint16
    source = ("rgba64le" if deep else "rgba") if alpha is not None else ("rgb48le" if deep else "rgb24")
    target = av.video.format.VideoFormat(pix_fmt)
    if deep and not target.is_rgb:
        scale = np.float32(swscale_input_white(colour.full_range) / 65535.0)
        rgb = (rgb.astype(np.float32) * scale + 0.5).astype(np.uint16)
    if alpha is not None:
        rgb = np.concatenate([rgb, alpha.astype(rgb.dtype)[..., None]], axis=-1)
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format=source)
    if pix_fmt == source:
        return frame
    if target.is_rgb:
        return frame.reformat(format=pix_fmt)
    out = frame.reformat(
        format=pix_fmt,
        dst_colorspace=colour.sws_matrix,
        dst_color_range=colour.sws_range,
        interpolation=SWS_FLAGS,
    )
    tag_frame(out, colour)
    return out


def tag_frame(frame: av.VideoFrame, colour: Colour) -> None:
    """Write the colour tags onto a frame (the encoder copies them into the bitstream)."""
    frame.colorspace = colour.matrix
    frame.color_range = int(colour.sws_range)
    frame.color_primaries = colour.primaries
    frame.color_trc = colour.trc


def tag_codec_context(context: av.codec.context.CodecContext, colour: Colour, rgb: bool = False) -> None:
    """Write the colour tags on an encoder (container-level colour information); for an RGB
    format (``rgb``), the primaries and transfer only (an HDR RGB master stays HDR)."""
    if not rgb:
        context.colorspace = colour.matrix
        context.color_range = int(colour.sws_range)
    context.color_primaries = colour.primaries
    context.color_trc = colour.trc
