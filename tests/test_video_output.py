"""What `vidsr upscale` makes of OUTPUT (issue 17, points 5-7): the kind of output its name
asks for (MPEG-TS included, an unknown suffix refused), permissions from the user's umask,
and frame names kept from a frame-folder input."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import pytest
from video_support import probe

from vidsr.cli.main import main
from vidsr.data.frames import list_frames, write_frame
from vidsr.video.pipeline import upscale_video
from vidsr.video.synthetic import pattern_frame, pattern_frames, write_video

pytestmark = pytest.mark.usefixtures("tiny_tensors")


def quiet_upscale(*args, **kwargs):
    kwargs.setdefault("quiet", True)
    kwargs.setdefault("on_warning", lambda message: None)
    kwargs.setdefault("model", "raw")
    return upscale_video(*args, **kwargs)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("in") / "clip.mp4", pattern_frames(8, 24, 32), audio_seconds=0.32)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# Point 6: the output's kind comes from its name.


@pytest.mark.parametrize("name", ["out.xyz", "out.png", "out.mp4.part"])
def test_unknown_suffix_is_a_one_line_error(clip, tmp_path, capsys, name):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert main(["upscale", str(clip), str(out_dir / name), "--model", "raw", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("vidsr: error:") == 1 and len(err.strip().splitlines()) == 1, err
    if name == "out.png":  # an image: one frame, and the clip has more
        assert "out.png is an image, which holds one frame" in err and "--frames 1" in err
    else:
        assert f"unknown output suffix {Path(name).suffix}" in err and ".ts" in err and "without a suffix" in err
    assert list(out_dir.iterdir()) == []  # no PNG folder made in its place


def test_folder_only_for_a_name_without_suffix_or_an_existing_folder(clip, tmp_path):
    quiet_upscale(clip, tmp_path / "frames")
    assert len(list_frames(tmp_path / "frames")) == 8
    (tmp_path / "frames.v2").mkdir()
    quiet_upscale(clip, tmp_path / "frames.v2")
    assert len(list_frames(tmp_path / "frames.v2")) == 8


def test_mpeg_ts_output_holds_h264_and_aac(clip, tmp_path):
    out = tmp_path / "out.ts"
    quiet_upscale(clip, out)
    with av.open(str(out)) as container:
        assert container.format.name == "mpegts"
    got, src = probe(out, decode_rgb=False), probe(clip, decode_rgb=False)
    assert ("video", "h264") in got.streams and ("audio", "aac") in got.streams
    assert (got.width, got.height) == (128, 96)
    assert [t - got.times[0] for t in got.times] == [Fraction(i, 25) for i in range(8)]
    # AAC copied, not re-encoded: the same frames, in MPEG-TS behind a 7-byte ADTS header.
    got_aac = [data for data, *_ in got.packet_data["audio"]]
    assert all(data[:2] == b"\xff\xf1" for data in got_aac)
    assert [data[7:] for data in got_aac] == [data for data, *_ in src.packet_data["audio"]]


# Point 5: permissions as `cp` and ffmpeg give them.


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_outputs_respect_the_umask(clip, tmp_path, umask):
    previous = os.umask(umask)
    try:
        quiet_upscale(clip, tmp_path / "out.mkv")
        quiet_upscale(clip, tmp_path / "frames")
    finally:
        os.umask(previous)
    assert mode(tmp_path / "out.mkv") == 0o666 & ~umask
    assert mode(tmp_path / "frames") == 0o777 & ~umask
    assert {mode(frame) for frame in (tmp_path / "frames").iterdir()} == {0o666 & ~umask}


def test_replaced_output_keeps_its_mode(clip, tmp_path):
    out = tmp_path / "out.mkv"
    out.write_bytes(b"old")
    out.chmod(0o640)
    previous = os.umask(0o022)
    try:
        quiet_upscale(clip, out, force=True)
    finally:
        os.umask(previous)
    assert mode(out) == 0o640 and out.stat().st_size > 100


# Point 7: frame names.


def test_frame_folder_output_keeps_the_input_names(tmp_path):
    names = ["00000000.png", "00000001.png", "00000002.png", "00000010.png"]  # a REDS clip
    for i, name in enumerate(names):
        write_frame(tmp_path / "reds" / name, pattern_frame(i, 16, 16))
    quiet_upscale(tmp_path / "reds", tmp_path / "sr")
    assert [p.name for p in list_frames(tmp_path / "sr")] == names
    for i, name in enumerate(["shot 9.jpg", "shot 10.JPG", "shot 11.png"]):
        write_frame(tmp_path / "mixed" / name, pattern_frame(i, 16, 16))
    quiet_upscale(tmp_path / "mixed", tmp_path / "mixed_sr")
    assert [p.name for p in list_frames(tmp_path / "mixed_sr")] == ["shot 9.png", "shot 10.png", "shot 11.png"]


def test_frame_names_numbered_when_stems_clash_or_input_is_a_video(clip, tmp_path):
    write_frame(tmp_path / "lr" / "a.png", pattern_frame(0, 16, 16))
    write_frame(tmp_path / "lr" / "a.jpg", pattern_frame(1, 16, 16))
    warnings: list[str] = []
    quiet_upscale(tmp_path / "lr", tmp_path / "sr", on_warning=warnings.append)
    assert [p.name for p in list_frames(tmp_path / "sr")] == ["000000.png", "000001.png"]
    assert any("same name" in w for w in warnings)
    quiet_upscale(clip, tmp_path / "from_video")
    assert [p.name for p in list_frames(tmp_path / "from_video")][:2] == ["000000.png", "000001.png"]


def test_narrow_hevc_output_does_not_crash(tmp_path):
    """x265's AVX kernels corrupt the heap at 40 and 48 pixels wide (benchmarks/x265_width.py;
    writing this 64x40 test video aborted the process in 4 runs of 4). Run in a child, so that
    a crash fails only this test."""
    child = f"""
import numpy as np
from vidsr.data.real import VideoCodec, compress_clip
from vidsr.video.pipeline import upscale_video
from vidsr.video.synthetic import pattern_frames, write_video
source = write_video({str(tmp_path / "narrow.mkv")!r}, list(pattern_frames(4, 12, 10)), codec="ffv1")
for index in range(3):
    write_video({str(tmp_path / "hevc.mkv")!r}, list(pattern_frames(4, 64, 40)), codec="libx265")
    upscale_video(source, {str(tmp_path)!r} + f"/out{{index}}.mkv", "bicubic", codec="libx265", quiet=True)
    compress_clip(np.stack(list(pattern_frames(4, 16, 48))), VideoCodec("libx265", 24, "medium"))
"""
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert probe(tmp_path / "out2.mkv").frames[0].shape == (48, 40, 3)


def test_narrow_hevc_after_a_wide_one_is_refused_not_crashed(tmp_path):
    """x265 sets its kernels up once per process, with the first encoder's settings: after a
    wide video, SSE4.2 cannot be had for a narrow one (without the refusal this child aborted
    now and then; benchmarks/x265_width.py, "after 96"). The degradation pads narrow clips
    instead, so it still works."""
    child = f"""
import numpy as np
from vidsr.data.real import VideoCodec, compress_clip
from vidsr.errors import VidsrError
from vidsr.video.pipeline import upscale_video
from vidsr.video.synthetic import pattern_frames, write_video
source = write_video({str(tmp_path / "narrow.mkv")!r}, list(pattern_frames(4, 12, 10)), codec="ffv1")
write_video({str(tmp_path / "wide.mkv")!r}, list(pattern_frames(4, 72, 96)), codec="libx265")
for index in range(3):
    out = compress_clip(np.stack(list(pattern_frames(4, 16, 48))), VideoCodec("libx265", 24, "medium")).frames
    assert out.shape == (4, 16, 48, 3)
    try:
        upscale_video(source, {str(tmp_path)!r} + f"/out{{index}}.mkv", "bicubic", codec="libx265", quiet=True)
    except VidsrError as error:
        print(error)
"""
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("x265 cannot encode frames 40 pixels wide in this process") == 3
    assert not list(tmp_path.glob("out*.mkv"))
