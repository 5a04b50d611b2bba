"""YUV <-> RGB with the input's matrix and range, checked against the standards' formulas."""

from __future__ import annotations

import av
import numpy as np
import pytest

from vidsr.video.colour import (
    RGB_SOURCE_COLOUR,
    SPC_BT709,
    SPC_SMPTE170M,
    Colour,
    colour_of,
    frame_to_rgb,
    rgb_to_frame,
)

# (Kr, Kb) of each matrix.
LUMA = {SPC_BT709: (0.2126, 0.0722), SPC_SMPTE170M: (0.299, 0.114)}
CASES = [(m, full) for m in LUMA for full in (False, True)]


def reference_ycbcr(rgb: np.ndarray, matrix: int, full: bool) -> np.ndarray:
    """ITU-R BT.601 / BT.709 Y'CbCr of 8-bit R'G'B', limited (16-235/240) or full range."""
    kr, kb = LUMA[matrix]
    r, g, b = (rgb.astype(np.float64) / 255).T
    y = kr * r + (1 - kr - kb) * g + kb * b
    cb, cr = (b - y) / (2 * (1 - kb)), (r - y) / (2 * (1 - kr))
    if full:
        return np.stack([255 * y, 128 + 255 * cb, 128 + 255 * cr], axis=-1)
    return np.stack([16 + 219 * y, 128 + 224 * cb, 128 + 224 * cr], axis=-1)


@pytest.mark.parametrize(("matrix", "full"), CASES)
def test_rgb_to_yuv_matches_formula_and_tags(matrix, full):
    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, (64, 3), dtype=np.uint8)
    rgb = np.repeat(colours[:, None, :], 2, axis=1).reshape(8, 16, 3)  # 2x2-constant for 4:2:0
    rgb = np.repeat(rgb, 2, axis=0)
    frame = rgb_to_frame(rgb, Colour(matrix, full), "yuv444p")
    assert (frame.colorspace, frame.color_range) == (matrix, 2 if full else 1)
    planes = frame.to_ndarray()  # (3, H, W): Y, U, V
    got = np.moveaxis(planes, 0, -1).astype(np.float64)
    expected = reference_ycbcr(rgb.reshape(-1, 3), matrix, full).reshape(got.shape)
    assert np.abs(got - expected).max() <= 1.5  # swscale's fixed-point rounding


@pytest.mark.parametrize(("matrix", "full"), CASES)
def test_round_trip_through_yuv420(matrix, full):
    y, x = np.mgrid[0:64, 0:96]
    rgb = np.stack([x * 255 / 95, y * 255 / 63, (x + y) * 255 / 158], axis=-1).round().astype(np.uint8)
    colour = Colour(matrix, full)
    frame = rgb_to_frame(rgb, colour, "yuv420p")
    back = frame_to_rgb(frame)  # read with the frame's own tags
    assert np.abs(back.astype(int) - rgb).max() <= 4  # 4:2:0 chroma on a smooth gradient
    other = Colour(SPC_BT709 if matrix == SPC_SMPTE170M else SPC_SMPTE170M, not full)
    assert np.abs(frame_to_rgb(frame, other).astype(int) - rgb).max() > 10  # the tags matter


def test_colour_of_untagged_yuv_is_bt601_limited_and_rgb_frames_are_rgb():
    frame = av.VideoFrame(16, 16, "yuv420p")
    assert colour_of(frame) == Colour(SPC_SMPTE170M, False, 2, 2)
    assert colour_of(av.VideoFrame(16, 16, "yuvj420p")).full_range
    assert colour_of(av.VideoFrame(16, 16, "gbrp")) == RGB_SOURCE_COLOUR
    tagged = av.VideoFrame(16, 16, "yuv420p")
    tagged.colorspace, tagged.color_range, tagged.color_primaries, tagged.color_trc = 1, 2, 1, 1
    assert colour_of(tagged) == Colour(SPC_BT709, True, 1, 1)
    assert colour_of(tagged).describe() == "BT.709 full range"
