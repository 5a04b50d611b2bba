"""Non-square pixels (anamorphic DVD rips, HDV): the output keeps the input's pixel shape.

A 16:9 NTSC DVD frame is 720x480 pixels of 32:27 (wider than tall). Upscaled x4 to
2880x1920 and tagged with square pixels, it would be shown at 3:2, squeezed sideways.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from vidsr.video.compare import compare_videos
from vidsr.video.pipeline import upscale_video
from vidsr.video.reader import open_video, pixel_aspect_of
from vidsr.video.synthetic import pattern_frames, write_video

DVD_WIDE = Fraction(32, 27)  # 720x480 shown at 16:9


@pytest.fixture(scope="module")
def anamorphic(tmp_path_factory) -> Path:
    """6 frames of 36x24 (3:2 stored) with 32:27 pixels: shown at 16:9."""
    path = tmp_path_factory.mktemp("in") / "dvd.mp4"
    return write_video(path, pattern_frames(6, 24, 36), pixel_aspect=DVD_WIDE)


def stored_aspect(path: Path) -> tuple[int, int, Fraction | None]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.width, stream.height, pixel_aspect_of(stream)


def upscale(source: Path, target: Path, **kwargs) -> list[str]:
    notes: list[str] = []
    upscale_video(source, target, "bicubic", quiet=True, on_warning=notes.append, **kwargs)
    return notes


def test_reader_sees_the_pixel_shape(anamorphic):
    with open_video(anamorphic) as reader:
        info = reader.info
    assert info.pixel_aspect == DVD_WIDE
    assert info.display_aspect == Fraction(16, 9)
    assert "36x24 (pixels 32:27, shown 16:9)" in info.describe()


def test_square_pixels_are_not_mentioned(tmp_path):
    path = write_video(tmp_path / "square.mp4", pattern_frames(3, 24, 36))
    with open_video(path) as reader:
        assert reader.info.pixel_aspect is None and "pixels" not in reader.info.describe()
    notes = upscale(path, tmp_path / "out.mp4")
    assert stored_aspect(tmp_path / "out.mp4")[2] is None
    assert not any("aspect" in note for note in notes)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov", ".avi", ".ts"])
def test_video_outputs_keep_the_pixel_shape(anamorphic, tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    notes = upscale(anamorphic, out)
    assert stored_aspect(out) == (144, 96, DVD_WIDE)
    assert not any("aspect" in note for note in notes)


def test_segments_of_a_long_job_keep_the_pixel_shape(anamorphic, tmp_path):
    out = tmp_path / "out.mkv"
    upscale(anamorphic, out, segment_frames=2)
    assert stored_aspect(out) == (144, 96, DVD_WIDE)


def test_a_container_that_loses_it_says_so(anamorphic, tmp_path):
    out = tmp_path / "out.webm"  # VP9 has no pixel-aspect field; PyAV cannot set WebM's own
    notes = upscale(anamorphic, out)
    assert out.exists()
    if stored_aspect(out)[2] != DVD_WIDE:
        assert any("cannot store the input's pixel aspect 32:27" in note and "16:9" in note for note in notes)
    else:  # a later FFmpeg/PyAV that stores it needs no warning
        assert not any("aspect" in note for note in notes)


def test_png_frames_say_how_to_show_them(anamorphic, tmp_path):
    notes = upscale(anamorphic, tmp_path / "frames")
    assert any("not square (32:27, shown 16:9)" in note for note in notes)


def test_comparison_video_keeps_the_pixel_shape(anamorphic, tmp_path):
    out = tmp_path / "cmp.mp4"
    compare_videos(anamorphic, out, ["raw", "bicubic"], quiet=True, on_warning=lambda message: None)
    width, height, aspect = stored_aspect(out)
    assert (width, height, aspect) == (288, 96, DVD_WIDE)  # two 16:9 panels side by side
