"""``--size``: outputs of a chosen frame size ("to 1080p"), the model's x2/x4 then a resize."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from vidsr.cli.main import main
from vidsr.errors import VidsrError
from vidsr.video.output_size import OutputSize, choose_scale, resize_frame, resize_stage
from vidsr.video.pipeline import upscale_video
from vidsr.video.reader import SourceInfo, open_video, pixel_aspect_of, rotation_matrix
from vidsr.video.synthetic import pattern_frames, write_video


def info(width: int, height: int, pixel_aspect: Fraction | None = None, rotation: float | None = None) -> SourceInfo:
    from vidsr.video.colour import Colour

    return SourceInfo(
        path=Path("in.mp4"), width=width, height=height, time_base=Fraction(1, 25), rate=Fraction(25),
        expected_frames=None, colour=Colour(), pixel_aspect=pixel_aspect,
        display_matrix=None if rotation is None else rotation_matrix(rotation),
    )  # fmt: skip


def stored(path: Path) -> tuple[int, int, Fraction | None, int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.width, stream.height, pixel_aspect_of(stream), sum(1 for _ in container.decode(stream))


@pytest.mark.parametrize(
    ("text", "width", "height"),
    [("1920x1080", 1920, 1080), ("x1080", None, 1080), ("1080p", None, 1080), ("1920x", 1920, None),
     ("4K", None, 2160), (" 1280:720 ", 1280, 720), ("fhd", None, 1080)],
)  # fmt: skip
def test_sizes_are_read_as_people_write_them(text, width, height):
    size = OutputSize.parse(text)
    assert (size.width, size.height) == (width, height)
    assert OutputSize.parse(str(size)) == size


@pytest.mark.parametrize("text", ["", "x", "big", "1920x1080x3", "0x1080", "x8", "-5x10", "1920x99999"])
def test_bad_sizes_are_one_line_errors(text):
    with pytest.raises(VidsrError, match="--size") as caught:
        OutputSize.parse(text)
    assert "\n" not in str(caught.value)
    assert f"--size {text!r}" in str(caught.value) or f"--size {text}:" in str(caught.value)  # as typed


def test_one_side_follows_the_picture_as_shown_with_square_pixels():
    assert OutputSize.parse("x1080").frame_size(info(640, 480)) == (1440, 1080, None)
    assert OutputSize.parse("1920x").frame_size(info(640, 360)) == (1920, 1080, None)
    # an anamorphic 16:9 DVD (720x480 of 32:27 pixels) becomes 1920x1080, square
    assert OutputSize.parse("1080p").frame_size(info(720, 480, Fraction(32, 27))) == (1920, 1080, None)
    # a computed side is even (4:2:0)
    assert OutputSize.parse("x1080").frame_size(info(641, 480))[0] % 2 == 0


def test_both_sides_keep_the_shape_through_the_pixel_aspect():
    # 4:3 into 1920x1080: FFmpeg's scale rule, pixels 3:4 so that it is still shown at 4:3
    width, height, aspect = OutputSize.parse("1920x1080").frame_size(info(640, 480))
    assert (width, height) == (1920, 1080)
    assert Fraction(width, height) * aspect == Fraction(4, 3)
    assert OutputSize.parse("1920x1080").frame_size(info(720, 480, Fraction(32, 27))) == (1920, 1080, None)


def test_sizes_are_read_as_the_video_is_shown():
    portrait = info(1920, 1080, rotation=90)  # a phone's portrait video, stored sideways
    assert OutputSize.parse("2160x3840").frame_size(portrait) == (3840, 2160, None)
    assert OutputSize.parse("x3840").frame_size(portrait) == (3840, 2160, None)
    assert OutputSize.parse("x3840").factor(portrait) == 2


def test_the_smallest_scale_that_reaches_the_size():
    assert choose_scale(1.5, [2, 4]) == 2
    assert choose_scale(2.0, [4, 2]) == 2
    assert choose_scale(2.25, [2, 4]) == 4
    assert choose_scale(6, [2, 4]) == 4  # none reaches it: the largest
    assert choose_scale(3, [2, 3, 4]) == 3


def test_resize_keeps_dtype_and_a_flat_frame():
    flat = np.full((40, 60, 3), 200, np.uint8)
    out = resize_frame(flat, 45, 30)
    assert out.shape == (30, 45, 3) and out.dtype == np.uint8 and (out == 200).all()
    deep = np.full((40, 60, 3), 50000, np.uint16)
    assert (resize_frame(deep, 90, 60) == 50000).all()
    assert resize_frame(flat, 60, 40) is flat


def test_shrinking_is_antialiased():
    stripes = np.zeros((64, 64, 3), np.uint8)
    stripes[:, ::2] = 255  # one-pixel stripes: aliasing would make bands, antialiasing grey
    out = resize_frame(stripes, 24, 24).astype(float)
    assert abs(out.mean() - 127.5) < 3 and out.std() < 6


def test_resize_stage_resizes_what_its_stage_gives():
    class Double:
        def push(self, frames):
            return [np.repeat(np.repeat(f, 2, 0), 2, 1) for f in frames]

        def flush(self):
            return []

    stage = resize_stage(Double(), 30, 20)
    out = stage.push([np.zeros((8, 12, 3), np.uint8)] * 2)
    assert [o.shape for o in out] == [(20, 30, 3)] * 2 and stage.flush() == []


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("in") / "clip.mp4", pattern_frames(5, 24, 32))


def test_upscale_to_a_size(clip, tmp_path):
    out = tmp_path / "out.mp4"
    result = upscale_video(clip, out, "bicubic", scale=2, quiet=True, size="x60")
    assert stored(out) == (80, 60, None, 5)
    assert (result.width, result.height) == (80, 60)


def test_resized_frames_are_the_model_output_resized(clip, tmp_path):
    upscale_video(clip, tmp_path / "x4", "bicubic", scale=4, quiet=True)
    upscale_video(clip, tmp_path / "sized", "bicubic", scale=4, quiet=True, size="64x48")
    from PIL import Image

    for name in sorted(p.name for p in (tmp_path / "x4").iterdir()):
        full = np.asarray(Image.open(tmp_path / "x4" / name))
        sized = np.asarray(Image.open(tmp_path / "sized" / name))
        assert sized.shape == (48, 64, 3)
        assert np.abs(sized.astype(int) - resize_frame(full, 64, 48).astype(int)).max() <= 1


def test_both_sides_tag_the_pixel_aspect(clip, tmp_path):
    out = tmp_path / "wide.mkv"
    upscale_video(clip, out, "bicubic", scale=4, quiet=True, size="128x72")
    width, height, aspect, _ = stored(out)
    assert (width, height) == (128, 72)
    assert Fraction(width, height) * aspect == Fraction(4, 3)  # still shown at 32:24


def test_not_larger_than_the_input_is_refused(clip, tmp_path):
    with pytest.raises(VidsrError, match="nothing to upscale"):
        upscale_video(clip, tmp_path / "out.mp4", "bicubic", quiet=True, size="x24")
    assert not (tmp_path / "out.mp4").exists()


def test_beyond_the_model_scale_says_the_rest_is_bicubic(clip, tmp_path):
    notes: list[str] = []
    upscale_video(clip, tmp_path / "out.mp4", "bicubic", scale=2, quiet=True, size="x96", on_warning=notes.append)
    assert stored(tmp_path / "out.mp4")[:2] == (128, 96)
    assert any("the rest is bicubic" in note for note in notes)


def test_segments_and_resume_keep_the_size(clip, tmp_path):
    out = tmp_path / "seg.mp4"
    upscale_video(clip, out, "bicubic", scale=2, quiet=True, size="x60", segment_frames=2)
    assert stored(out) == (80, 60, None, 5)
    from vidsr.video.jobs import Engine, Job, JobOptions

    engine = Engine("bicubic", 2, None, "cpu", "bi")
    def job(size: str) -> Job:
        return Job(clip, tmp_path / "r.mp4", engine, JobOptions(segment_frames=2, size=OutputSize.parse(size)))

    first = job("x60")
    first.prepare()
    first.run_segment(0)
    with pytest.raises(VidsrError, match="size 'x60' -> 'x72'"):
        job("x72").prepare(resume=True)
    job("x60").prepare(resume=True)  # the same size resumes


def test_cli_chooses_the_smallest_scale(clip, tmp_path, capsys):
    out = tmp_path / "cli.mp4"
    assert main(["upscale", str(clip), str(out), "--model", "bicubic", "--size", "x60"]) == 0
    assert "bicubic x3" in capsys.readouterr().err  # 60/24 = 2.5: x3 for a model without weights
    assert stored(out)[:2] == (80, 60)
    assert main(["upscale", str(clip), str(tmp_path / "d.mp4"), "--size", "x40", "--degradation", "bi"]) == 0
    assert "delta x2" in capsys.readouterr().err  # shipped at x2 and x4: x2 reaches 40/24
    assert stored(tmp_path / "d.mp4")[:2] == (54, 40)


def test_cli_dry_run_and_bad_size(clip, tmp_path, capsys):
    assert main(["upscale", str(clip), str(tmp_path / "o.mp4"), "--model", "bicubic", "--size", "1080p",
                 "--dry-run", "--force-large"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "1440x1080 (x4, resized to --size x1080)" in printed
    assert main(["upscale", str(clip), str(tmp_path / "o.mp4"), "--size", "huge"]) == 2
    assert "--size 'huge'" in capsys.readouterr().err


def test_journal_names_the_size(clip, tmp_path):
    out = tmp_path / "j.mp4"
    from vidsr.video.jobs import Engine, Job, JobOptions

    job = Job(clip, out, Engine("bicubic", 2, None, "cpu", "bi"),
              JobOptions(segment_frames=2, size=OutputSize.parse("1080p"), quiet=True))  # fmt: skip
    job.prepare()
    assert json.loads(job.work.journal_path.read_text())["settings"]["size"] == "x1080"
    with open_video(clip) as reader:
        assert job.size == OutputSize.parse("1080p").frame_size(reader.info)[:2]
