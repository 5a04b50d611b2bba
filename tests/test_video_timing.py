"""Inputs whose header disagrees with what decodes (issue 17, point 4).

An AVI written at 50 fps ticks with a frame on every other tick only: the header says
2N-1 frames at 50 fps, N frames decode at 25 fps, and (AVI stores no presentation
timestamps) H.264 B-frames come out of the decoder with timestamps out of order.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest
from video_support import decoded_audio_seconds, probe

from vidsr.cli.main import main
from vidsr.video.pipeline import InputStoppedEarly, upscale_video
from vidsr.video.reader import open_video
from vidsr.video.synthetic import pattern_frames, write_video

pytestmark = pytest.mark.usefixtures("tiny_tensors")

FRAMES = 34  # 1.36 s at 25 fps in fact
HEADER_FRAMES = 2 * FRAMES - 1


def lying_avi(path: Path, frames: int = FRAMES) -> Path:
    """H.264 (with B-frames) + 44.1 kHz AAC in AVI, 25 fps content stored at 50 fps ticks."""
    return write_video(
        path,
        pattern_frames(frames, 24, 32),
        fps=50,
        time_base=Fraction(1, 50),
        pts=[2 * i for i in range(frames)],
        audio_seconds=frames / 25 + 0.1,
        audio_rate=44100,
    )


@pytest.fixture(scope="module")
def avi(tmp_path_factory) -> Path:
    path = lying_avi(tmp_path_factory.mktemp("in") / "lying.avi")
    with av.open(str(path)) as container:  # the clip reproduces the lie
        stream = container.streams.video[0]
        assert (stream.frames, stream.average_rate) == (HEADER_FRAMES, 50)
        decoded = [frame.pts for frame in container.decode(stream)]
    assert len(decoded) == FRAMES and decoded != sorted(decoded)
    return path


def test_reader_takes_count_rate_and_times_from_the_stream(avi):
    with open_video(avi) as reader:
        info = reader.info
        assert (info.expected_frames, info.rate) == (FRAMES, 25)
        times = [frame.pts * info.time_base for frame in reader]
        assert reader.problem is None and info.warnings == []
    assert times == [Fraction(i, 25) for i in range(FRAMES)]  # in order, at the audio's start


def test_output_is_constant_rate_with_the_audio_kept(avi, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    assert main(["upscale", str(avi), str(out), "--model", "raw"]) == 0
    err = capsys.readouterr().err
    assert f"{FRAMES}/{FRAMES}" in err and f"/{HEADER_FRAMES}" not in err  # the progress bar's total
    got = probe(out, decode_rgb=False)
    assert got.times == [Fraction(i, 25) for i in range(FRAMES)]  # no 20/80 ms jitter
    assert got.durations == [Fraction(1, 25)] * FRAMES
    with av.open(str(out)) as container:
        assert container.streams.video[0].average_rate == 25
    assert decoded_audio_seconds(out) == decoded_audio_seconds(avi)  # to the sample


def test_avi_output_of_a_lying_avi_tells_the_truth(avi, tmp_path):
    out = tmp_path / "out.avi"
    upscale_video(avi, out, model="raw", quiet=True, on_warning=lambda message: None)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.frames, stream.average_rate) == (FRAMES, 25)


def test_truncated_lying_avi_counts_the_real_frames(tmp_path):
    full = lying_avi(tmp_path / "full.avi", frames=60)
    data = full.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])  # the index at the end is lost, the header stays
    with pytest.raises(InputStoppedEarly, match=r"truncated or corrupt: stopped after frame \d+ .*, of 60 frames"):
        upscale_video(cut, tmp_path / "out.mp4", model="raw", quiet=True, on_warning=lambda message: None)


def test_repeated_timestamps_are_made_increasing_with_a_warning(tmp_path):
    """Frames 3 and 4 share a timestamp (as some muxers write VFR): every frame is kept, in
    order, with strictly increasing times, and the warning names the first repeat."""
    source = write_video(tmp_path / "repeat.mkv", pattern_frames(8, 24, 32), codec="ffv1",
                         time_base=Fraction(1, 1000), pts=[0, 40, 80, 120, 120, 160, 200, 240])
    with open_video(source) as reader:
        times = [frame.pts for frame in reader]
        warnings = reader.info.warnings
    assert len(times) == 8 and all(b > a for a, b in zip(times, times[1:]))
    assert [w for w in warnings if "timestamps repeat or go backwards (frame 4)" in w], warnings
    # what decoding found is said by upscale too (one pass, and resized to a --size)
    for size in (None, "x96"):
        said: list[str] = []
        upscale_video(source, tmp_path / f"out{size}.mkv", model="raw", quiet=True, on_warning=said.append, size=size)
        assert [w for w in said if "timestamps repeat or go backwards (frame 4)" in w], said


def test_a_ten_bit_input_stays_ten_bit_and_bit_depth_8_notes_the_eight_bit_output(tmp_path):
    source = write_video(tmp_path / "ten.mkv", pattern_frames(3, 24, 32), pix_fmt="yuv420p10le")
    notes: list[str] = []
    result = upscale_video(source, tmp_path / "out.mkv", model="raw", quiet=True, on_warning=notes.append)
    with av.open(str(tmp_path / "out.mkv")) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p10le"
    assert result.frames == 3 and probe(tmp_path / "out.mkv").width == 4 * 32
    assert not [n for n in notes if "bits per sample" in n], notes
    upscale_video(source, tmp_path / "out8.mkv", model="raw", quiet=True, on_warning=notes.append, bit_depth="8")
    with av.open(str(tmp_path / "out8.mkv")) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
    assert [n for n in notes if "yuv420p10le has 10 bits per sample" in n and "8-bit" in n], notes
    eight = write_video(tmp_path / "eight.mkv", pattern_frames(3, 24, 32))
    notes.clear()
    upscale_video(eight, tmp_path / "e.mkv", model="raw", quiet=True, on_warning=notes.append)
    with av.open(str(tmp_path / "e.mkv")) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
    assert not [n for n in notes if "bits per sample" in n], notes


@pytest.mark.parametrize(("name", "codec"), [("late.mkv", "ffv1"), ("late.webm", "libvpx-vp9")])
def test_matroska_that_starts_late_is_whole(tmp_path, name, codec):
    """Matroska and WebM declare where the video ends (5.24 s for 6 frames from 5 s): the
    reader takes the start off, so the clip is 6 frames long and not called truncated."""
    source = write_video(tmp_path / name, pattern_frames(6, 24, 32), codec=codec,
                         time_base=Fraction(1, 1000), pts=[5000 + 40 * i for i in range(6)])  # fmt: skip
    with open_video(source) as reader:
        assert reader.info.expected_frames == 6
        assert len(list(reader)) == 6 and reader.problem is None
    out = tmp_path / "out.mkv"
    upscale_video(source, out, model="raw", quiet=True)
    assert len(probe(out, decode_rgb=False).times) == 6


def test_matroska_that_starts_late_and_is_cut_is_truncated(tmp_path):
    full = write_video(tmp_path / "full.mkv", pattern_frames(60, 24, 32), codec="ffv1",
                       time_base=Fraction(1, 1000), pts=[5000 + 40 * i for i in range(60)])  # fmt: skip
    data = full.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    cut_short = r"truncated or corrupt: stopped after frame \d+ \(t=[56]\.\d+s\), of 2\.400s"  # the length
    with pytest.raises(InputStoppedEarly, match=cut_short):
        upscale_video(cut, tmp_path / "out.mp4", model="raw", quiet=True, on_warning=lambda message: None)
