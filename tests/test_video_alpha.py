"""Transparency: an input with alpha (ProRes 4444, PNG/FFV1 RGBA, VP9 WebM with alpha, RGBA
PNG frames) keeps it where the output can hold it; elsewhere a warning says it is dropped.

The model upscales the colour; the alpha plane is upscaled bicubic (``upscale_alpha``).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from vidsr.cli.main import main
from vidsr.data.frames import read_frame_alpha, write_frame
from vidsr.video.colour import frame_to_rgb_alpha, has_alpha
from vidsr.video.compare import compare_videos
from vidsr.video.pipeline import upscale_video
from vidsr.video.reader import open_video
from vidsr.video.synthetic import pattern_frames
from vidsr.video.writer import upscale_alpha

H, W, FRAMES = 16, 24, 4


def alpha_plane(index: int, width: int = W) -> np.ndarray:
    """A horizontal ramp from transparent to opaque, shifted by the frame index."""
    ramp = np.clip(np.arange(width) * 11 + index * 7, 0, 255).astype(np.uint8)
    return np.repeat(ramp[None], H, axis=0)


def write_rgba_video(
    path: Path, codec: str, pix_fmt: str, width: int = W
) -> tuple[Path, list[np.ndarray], list[np.ndarray]]:
    """FRAMES frames of pattern RGB with :func:`alpha_plane`; returns the RGB and alpha put in."""
    rgbs, alphas = list(pattern_frames(FRAMES, H, width)), [alpha_plane(i, width) for i in range(FRAMES)]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, H, pix_fmt
        for rgb, alpha in zip(rgbs, alphas):
            frame = av.VideoFrame.from_ndarray(np.dstack([rgb, alpha]), format="rgba").reformat(format=pix_fmt)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path, rgbs, alphas


@pytest.fixture(scope="module")
def rgba_mov(tmp_path_factory):
    """Lossless RGBA (PNG in MOV): the exact alpha planes are known."""
    return write_rgba_video(tmp_path_factory.mktemp("in") / "rgba.mov", "png", "rgba")


def upscale(source: Path, target: Path, **kwargs) -> list[str]:
    notes: list[str] = []
    upscale_video(source, target, "bicubic", quiet=True, on_warning=notes.append, **kwargs)
    return notes


def read_alphas(path: Path) -> list[np.ndarray]:
    with open_video(path) as reader:
        assert reader.info.alpha, f"{path} has no alpha"
        return [frame.alpha for frame in reader]


def expected_alpha(index: int, width: int = W) -> np.ndarray:
    return upscale_alpha(alpha_plane(index, width), np.zeros((4 * H, 4 * width, 3), np.uint8))


def test_pixel_formats_and_the_reader(rgba_mov):
    assert has_alpha("rgba") and has_alpha("yuva420p") and has_alpha("yuva444p10le")
    assert not has_alpha("yuv420p") and not has_alpha("rgb24")
    path, _, alphas = rgba_mov
    with open_video(path) as reader:
        assert "with alpha" in reader.info.describe()
        got = [frame.alpha for frame in reader]
    assert all(np.array_equal(a, b) for a, b in zip(got, alphas))
    frame = av.VideoFrame.from_ndarray(np.zeros((4, 4, 3), np.uint8), format="rgb24")
    assert frame_to_rgb_alpha(frame)[1] is None


def test_upscale_alpha_is_bicubic_and_keeps_the_range():
    ramp = alpha_plane(0)
    big = upscale_alpha(ramp, np.zeros((4 * H, 4 * W, 3), np.uint8))
    assert big.shape == (4 * H, 4 * W) and big.dtype == np.uint8
    assert big[:, :4].max() <= 8 and big[:, -4:].min() >= 247  # ends stay near 0 and 255
    assert np.all(np.diff(big[0].astype(int)) >= -1)  # a ramp stays a ramp (no ringing to speak of)
    deep = upscale_alpha(ramp.astype(np.uint16) * 257, np.zeros((4 * H, 4 * W, 3), np.uint16))
    assert deep.dtype == np.uint16 and abs(int(deep.max()) - 257 * int(big.max())) <= 257
    opaque = upscale_alpha(None, np.zeros((8, 8, 3), np.uint8))
    assert opaque.min() == 255


@pytest.mark.parametrize(("codec", "suffix", "tolerance"), [("png", ".mov", 0), ("ffv1", ".mkv", 0),
                                                            ("prores_ks", ".mov", 2)])  # fmt: skip
def test_lossless_and_prores_outputs_keep_the_alpha(rgba_mov, tmp_path, codec, suffix, tolerance):
    path, _, _ = rgba_mov
    out = tmp_path / f"out{suffix}"
    notes = upscale(path, out, codec=codec)
    assert not any("alpha" in note for note in notes)
    got = read_alphas(out)
    assert len(got) == FRAMES
    for index, alpha in enumerate(got):
        alpha = alpha.astype(int) if alpha.dtype == np.uint8 else (alpha.astype(int) + 128) // 257
        assert np.abs(alpha - expected_alpha(index).astype(int)).max() <= tolerance


def test_colour_does_not_depend_on_the_alpha(rgba_mov, tmp_path):
    path, _, _ = rgba_mov
    upscale(path, tmp_path / "with.mov", codec="png")
    upscale(path, tmp_path / "without.mkv", codec="ffv1", segment_frames=0)
    with open_video(tmp_path / "with.mov") as a, open_video(tmp_path / "without.mkv") as b:
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x.rgb, y.rgb)


def test_webm_vp9_alpha_round_trip(rgba_mov, tmp_path):
    """VP9 carries alpha beside the picture; vidsr reads it back with libvpx's decoder."""
    path, _, _ = rgba_mov
    out = tmp_path / "out.webm"
    notes = upscale(path, out)
    assert not any("alpha" in note for note in notes)
    with av.open(str(out)) as container:
        assert container.streams.video[0].metadata.get("alpha_mode") == "1"
    got = read_alphas(out)
    assert len(got) == FRAMES
    for index, alpha in enumerate(got):  # lossy (CRF 18): close, not exact
        assert np.abs(alpha.astype(int) - expected_alpha(index).astype(int)).mean() < 3


def test_segments_give_the_same_alpha(rgba_mov, tmp_path):
    path, _, _ = rgba_mov
    upscale(path, tmp_path / "one.mov", codec="png", segment_frames=0)
    upscale(path, tmp_path / "segments.mov", codec="png", segment_frames=2)
    for a, b in zip(read_alphas(tmp_path / "one.mov"), read_alphas(tmp_path / "segments.mov"), strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_output_without_alpha_says_so(rgba_mov, tmp_path, capsys):
    path, _, _ = rgba_mov
    out = tmp_path / "out.mp4"
    notes = upscale(path, out)
    assert any("alpha channel" in note and "opaque" in note and "png" in note for note in notes)
    with av.open(str(out)) as container:
        assert not has_alpha(container.streams.video[0].codec_context.pix_fmt)
    assert main(["upscale", str(path), str(tmp_path / "x.mp4"), "--dry-run", "--model", "bicubic"]) == 0
    assert "opaque (the alpha channel is dropped)" in capsys.readouterr().out  # the dry run prints its plan


def test_png_frames_in_and_out_keep_the_alpha(rgba_mov, tmp_path):
    path, rgbs, alphas = rgba_mov
    upscale(path, tmp_path / "frames")
    files = sorted((tmp_path / "frames").glob("*.png"))
    assert len(files) == FRAMES
    for index, file in enumerate(files):
        with Image.open(file) as image:
            assert image.mode == "RGBA"
        np.testing.assert_array_equal(read_frame_alpha(file)[1], expected_alpha(index))
    # A folder of RGBA frames (the second one opaque RGB) in, RGBA frames out.
    source = tmp_path / "source"
    write_frame(source / "a.png", np.dstack([rgbs[0], alphas[0]]))
    write_frame(source / "b.png", rgbs[1])
    upscale(source, tmp_path / "again")
    first, second = (read_frame_alpha(tmp_path / "again" / name)[1] for name in ("a.png", "b.png"))
    np.testing.assert_array_equal(first, expected_alpha(0))
    assert second.min() == 255


def test_comparison_videos_are_opaque_without_a_warning(rgba_mov, tmp_path):
    path, _, _ = rgba_mov
    notes: list[str] = []
    compare_videos(path, tmp_path / "cmp.mov", ["raw", "bicubic"], codec="png", quiet=True, on_warning=notes.append)
    with av.open(str(tmp_path / "cmp.mov")) as container:
        assert not has_alpha(container.streams.video[0].codec_context.pix_fmt)
    assert not any("alpha" in note for note in notes)


def test_ten_bit_alpha_stays_deep(tmp_path):
    """ProRes 4444 (10-bit YUV + alpha) to 16-bit RGBA PNG video: the alpha keeps its depth.

    32 px wide: FFmpeg's ProRes encoders now and then encode memory they were never given at
    widths that are not a multiple of 16 (benchmarks/prores_width.py; writer.py warns).
    """
    path, _, _ = write_rgba_video(tmp_path / "prores.mov", "prores_ks", "yuva444p10le", width=32)
    out = tmp_path / "out.mov"
    upscale(path, out, codec="png")
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "rgba64be"
    with open_video(out, deep=True) as reader:
        alphas = [frame.alpha for frame in reader]
    assert alphas[0].dtype == np.uint16 and len(alphas) == FRAMES
    for index, alpha in enumerate(alphas):
        assert np.abs(alpha.astype(int) - 257 * expected_alpha(index, 32).astype(int)).max() <= 2 * 257
    assert np.count_nonzero(alphas[0] % 257) > alphas[0].size // 2  # not 8-bit values widened


def test_prores_at_a_width_it_mishandles_is_flagged(rgba_mov, tmp_path):
    path, _, _ = rgba_mov  # 24 px wide: x4 is 96, a multiple of 16; x3 is 72, not one
    notes: list[str] = []
    upscale_video(path, tmp_path / "x3.mov", "bicubic", scale=3, codec="prores_ks", quiet=True, on_warning=notes.append)
    assert any("multiple of 16 (72)" in note for note in notes)  # 24 x 3
    assert not any("multiple of 16" in note for note in upscale(path, tmp_path / "x4.mov", codec="prores_ks"))
