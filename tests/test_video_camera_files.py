"""Files from cameras, editors, disc rips and fansubs: a timecode track (kept, and moved with
--start), chapters (kept, and cut to a time range) and attachments (fonts of styled
subtitles: kept in Matroska) neither crash nor get lost."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidsr.errors import VidsrError
from vidsr.video.pipeline import upscale_video
from vidsr.video.reader import open_video
from vidsr.video.selection import TimeRange
from vidsr.video.timecode import shift_timecode

NTSC = Fraction(30000, 1001)


def test_non_drop_frame_timecodes_count_frames():
    assert shift_timecode("01:02:03:04", 25, Fraction(25)) == "01:02:04:04"
    assert shift_timecode("23:59:59:24", 1, Fraction(25)) == "00:00:00:00"  # wraps at 24 h
    assert shift_timecode("00:00:00:00", 48, Fraction(24000, 1001)) == "00:00:02:00"  # 23.976: 24 labels a second


def test_drop_frame_timecodes_skip_labels_as_smpte_says():
    assert shift_timecode("00:00:59;29", 1, NTSC) == "00:01:00;02"  # ;00 and ;01 are skipped
    assert shift_timecode("00:09:59;29", 1, NTSC) == "00:10:00;00"  # but not every tenth minute
    assert shift_timecode("00:00:00;00", 17982, NTSC) == "00:10:00;00"  # ten minutes of 29.97 fps
    assert shift_timecode("00:00:59;59", 1, Fraction(60000, 1001)) == "00:01:00;04"
    with pytest.raises(VidsrError, match="not a timecode"):
        shift_timecode("1:2:3", 1, NTSC)


@given(st.integers(min_value=0, max_value=24 * 3600 * 30 - 1), st.integers(min_value=-100_000, max_value=100_000))
def test_shifting_there_and_back_is_the_identity(start: int, frames: int):
    for rate in (Fraction(25), NTSC):
        base = shift_timecode("00:00:00;00" if rate == NTSC else "00:00:00:00", start, rate)
        assert shift_timecode(shift_timecode(base, frames, rate), -frames, rate) == base


def write_grey_clip(
    path: Path, frames: int, extra: Callable[[av.container.OutputContainer, av.VideoStream], None]
) -> Path:
    """``frames`` grey frames of 48x32 at 25 fps (H.264); ``extra`` adds to the container first."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        extra(container, stream)
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((32, 48, 3), 20 * index, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def camera_mov(tmp_path_factory) -> Path:
    """10 frames with a timecode track (as cameras and editors write)."""
    path = write_grey_clip(tmp_path_factory.mktemp("in") / "camera.mov", 10,
                           lambda container, stream: stream.metadata.__setitem__("timecode", "10:00:00:20"))
    with av.open(str(path)) as container:
        assert [s.type for s in container.streams] == ["video", "data"]  # the tmcd track is there
    return path


def timecode_of_output(path: Path) -> str | None:
    with open_video(path) as reader:
        return reader.info.timecode


@pytest.mark.parametrize("suffix", [".mov", ".mp4", ".mkv"])
def test_the_timecode_reaches_the_output(camera_mov, tmp_path, suffix):
    notes: list[str] = []
    out = tmp_path / f"out{suffix}"
    upscale_video(camera_mov, out, "bicubic", quiet=True, on_warning=notes.append)
    assert timecode_of_output(out) == "10:00:00:20"
    assert not any("not carried" in note for note in notes)  # the timecode track is not "lost"


def test_a_time_range_starts_at_its_own_timecode(camera_mov, tmp_path):
    out = tmp_path / "part.mov"
    upscale_video(camera_mov, out, "bicubic", quiet=True, on_warning=lambda m: None,
                  time_range=TimeRange.parse(start="0.2"))  # fmt: skip
    assert timecode_of_output(out) == "10:00:01:00"  # 5 frames after 10:00:00:20 at 25 fps


@pytest.fixture(scope="module")
def mkv_with_font(tmp_path_factory) -> Path:
    def attach(container: av.container.OutputContainer, stream: av.VideoStream) -> None:
        container.add_attachment(name="font.ttf", mimetype="font/ttf", data=b"\x00\x01\x00\x00font")

    return write_grey_clip(tmp_path_factory.mktemp("in") / "fansub.mkv", 3, attach)


def test_attachments_stay_in_matroska_and_are_named_elsewhere(mkv_with_font, tmp_path):
    notes: list[str] = []
    upscale_video(mkv_with_font, tmp_path / "out.mkv", "bicubic", quiet=True, on_warning=notes.append)
    with av.open(str(tmp_path / "out.mkv")) as container:
        kept = [(s.name, s.mimetype, bytes(s.data)) for s in container.streams if s.type == "attachment"]
    assert kept == [("font.ttf", "font/ttf", b"\x00\x01\x00\x00font")] and not notes
    upscale_video(mkv_with_font, tmp_path / "out.mp4", "bicubic", quiet=True, on_warning=notes.append)
    assert any("font.ttf" in note and "only Matroska" in note for note in notes)


@pytest.fixture(scope="module")
def mkv_with_chapters(tmp_path_factory) -> Path:
    def chapters(container: av.container.OutputContainer, stream: av.VideoStream) -> None:
        base = Fraction(1, 1000)
        container.set_chapters([
            {"id": 1, "start": 0, "end": 200, "time_base": base, "metadata": {"title": "Opening"}},
            {"id": 2, "start": 200, "end": 400, "time_base": base, "metadata": {"title": "Part 2"}},
        ])  # fmt: skip

    return write_grey_clip(tmp_path_factory.mktemp("in") / "rip.mkv", 10, chapters)


def chapter_times(path: Path) -> list[tuple[Fraction, Fraction, str]]:
    with av.open(str(path)) as container:
        return [(c["start"] * c["time_base"], c["end"] * c["time_base"], c["metadata"]["title"])
                for c in container.chapters()]  # fmt: skip


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_chapters_are_kept(mkv_with_chapters, tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    upscale_video(mkv_with_chapters, out, "bicubic", quiet=True, on_warning=lambda m: None)
    assert chapter_times(out) == [(0, Fraction(1, 5), "Opening"), (Fraction(1, 5), Fraction(2, 5), "Part 2")]


def test_a_time_range_keeps_the_chapters_it_reaches(mkv_with_chapters, tmp_path):
    out = tmp_path / "part.mkv"
    upscale_video(mkv_with_chapters, out, "bicubic", quiet=True, on_warning=lambda m: None,
                  time_range=TimeRange.parse(start="0.24"))  # fmt: skip
    assert chapter_times(out) == [(0, Fraction(4, 25), "Part 2")]  # from 0.24 s: 0.16 s of it left
