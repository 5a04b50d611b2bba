"""10-bit video stays 10-bit through `vidsr upscale` (`--bit-depth auto`, the default).

Phones record 10-bit HEVC (HDR); read as 8-bit RGB, a smooth sky of such a video has a
quarter of its levels and shows bands. The frames are uint16 RGB from the decoder to the
encoder instead, and the output is yuv420p10le (or 16-bit RGB for the lossless codecs).
"""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch
from video_support import interrupted_at_second_segment

from vidsr.cli.main import main
from vidsr.data.frames import to_integer, to_tensor
from vidsr.errors import VidsrError
from vidsr.streaming import super_resolve
from vidsr.video.jobs import JobOptions
from vidsr.video.pipeline import upscale_video
from vidsr.video.reader import open_video
from vidsr.video.writer import pixel_format

pytestmark = pytest.mark.usefixtures("tiny_tensors")


def ramps(frames: int, height: int = 24, width: int = 32) -> list[np.ndarray]:
    """uint16 RGB frames: a gentle horizontal ramp over a few 8-bit levels, moving right."""
    x = np.linspace(0.30, 0.34, width)[None, :, None] * np.ones((height, width, 3))
    x[..., 2] *= 1.1
    return [np.roll((x * 65535).astype(np.uint16), shift, axis=1) for shift in range(frames)]


def ten_bit(path, frames: int = 3, codec: str = "ffv1"):
    from vidsr.video.synthetic import write_video

    return write_video(path, ramps(frames), codec=codec, pix_fmt="yuv420p10le")


def decoded(path, deep: bool = True) -> list[np.ndarray]:
    with open_video(path, deep=deep) as reader:
        return [frame.rgb for frame in reader]


def pix_fmt(path) -> str:
    with av.open(str(path)) as container:
        return container.streams.video[0].codec_context.pix_fmt


def test_uint16_frames_round_trip_through_tensors_exactly(rng):
    frames = rng.integers(0, 65536, (2, 5, 7, 3), dtype=np.uint16)
    tensor = to_tensor(frames)
    assert tensor.dtype == torch.float32 and float(tensor.max()) <= 1.0
    assert np.array_equal(to_integer(tensor, np.uint16), frames)
    assert to_integer(tensor, np.uint8).dtype == np.uint8


def test_a_ten_bit_lossless_round_trip_keeps_every_level(tmp_path):
    source = ten_bit(tmp_path / "ten.mkv")
    notes: list[str] = []
    upscale_video(source, tmp_path / "out.mkv", model="raw", codec="ffv1", quiet=True, on_warning=notes.append)
    assert pix_fmt(tmp_path / "out.mkv") == "gbrp16le" and not notes
    lr, sr = decoded(source), decoded(tmp_path / "out.mkv")
    assert lr[0].dtype == sr[0].dtype == np.uint16 and len(sr) == len(lr) == 3
    for small, large in zip(lr, sr):
        assert large.shape == (4 * small.shape[0], 4 * small.shape[1], 3)
        assert np.array_equal(large[::4, ::4], small)  # nearest neighbour: the LR levels, all 16 bits
    assert (sr[0] % 257 != 0).any()  # not 8-bit values scaled up
    levels8 = len(np.unique(decoded(source, deep=False)[0][0, :, 1]))
    assert len(np.unique(sr[0][0, :, 1])) > 2 * levels8  # the ramp keeps its finer steps


def test_the_default_encoder_writes_ten_bit_h264_and_bit_depth_8_writes_eight(tmp_path):
    source = ten_bit(tmp_path / "ten.mkv")
    notes: list[str] = []
    upscale_video(source, tmp_path / "out.mp4", model="raw", quiet=True, on_warning=notes.append)
    assert pix_fmt(tmp_path / "out.mp4") == "yuv420p10le" and not notes
    upscale_video(source, tmp_path / "out8.mp4", model="raw", quiet=True, on_warning=notes.append, bit_depth="8")
    assert pix_fmt(tmp_path / "out8.mp4") == "yuv420p"
    assert [n for n in notes if "10 bits per sample" in n and "8-bit" in n], notes


def test_ten_bit_segments_join_into_one_ten_bit_video(tmp_path):
    source = ten_bit(tmp_path / "ten.mkv", frames=5, codec="libx264")
    result = upscale_video(source, tmp_path / "out.mkv", model="raw", quiet=True, segment_frames=2)
    assert result.frames == 5 and pix_fmt(tmp_path / "out.mkv") == "yuv420p10le"
    assert len(decoded(tmp_path / "out.mkv")) == 5


def test_an_encoder_without_ten_bit_writes_eight_bit_with_a_note(tmp_path):
    source = ten_bit(tmp_path / "ten.mkv")
    notes: list[str] = []
    upscale_video(source, tmp_path / "out.mkv", model="raw", codec="mpeg4", quiet=True, on_warning=notes.append)
    assert pix_fmt(tmp_path / "out.mkv") == "yuv420p"
    assert [n for n in notes if "mpeg4 has no 10-bit format" in n], notes


def test_png_frames_of_a_ten_bit_input_are_eight_bit(tmp_path):
    source = ten_bit(tmp_path / "ten.mkv")
    notes: list[str] = []
    upscale_video(source, tmp_path / "frames", model="raw", quiet=True, on_warning=notes.append)
    assert len(list((tmp_path / "frames").glob("*.png"))) == 3
    assert [n for n in notes if "read as 8-bit RGB" in n], notes


def test_pixel_formats_for_deep_sources():
    assert pixel_format(av.codec.Codec("libx264", "w"), deep=True) == "yuv420p10le"
    assert pixel_format(av.codec.Codec("libx264", "w")) == "yuv420p"
    assert pixel_format(av.codec.Codec("ffv1", "w"), deep=True) == "gbrp16le"
    assert pixel_format(av.codec.Codec("ffv1", "w")) in ("bgr0", "gbrp", "rgb24", "bgr24")


def test_super_resolve_gives_the_dtype_it_gets(rng):
    from vidsr.models import create

    model = create("bicubic", 4)
    lr = rng.integers(0, 65536, (3, 6, 8, 3), dtype=np.uint16)
    out = list(super_resolve(model, lr, chunk=2))
    assert len(out) == 3 and all(frame.dtype == np.uint16 and frame.shape == (24, 32, 3) for frame in out)
    eight = list(super_resolve(model, (lr >> 8).astype(np.uint8), chunk=2))
    assert all(frame.dtype == np.uint8 for frame in eight)


def test_an_unknown_bit_depth_is_a_one_line_error():
    with pytest.raises(VidsrError, match="--bit-depth must be one of auto, 8"):
        JobOptions(bit_depth="12")


def test_a_resumed_ten_bit_job_keeps_its_bit_depth(tmp_path, capsys, monkeypatch):
    source = ten_bit(tmp_path / "ten.mkv", frames=10)
    args = [str(source), str(tmp_path / "out.mkv"), "--model", "raw", "--codec", "ffv1", "-q"]
    interrupted_at_second_segment(monkeypatch, capsys, args)
    assert main(["upscale", *args, "--segment-frames", "4", "--resume", "--bit-depth", "8"]) == 2
    assert "other settings (bits 10 -> 8)" in capsys.readouterr().err
    assert main(["upscale", *args, "--segment-frames", "4", "--resume"]) == 0, capsys.readouterr().err
    assert pix_fmt(tmp_path / "out.mkv") == "gbrp16le" and len(decoded(tmp_path / "out.mkv")) == 10


def test_the_dry_run_shows_the_bit_depth_in_and_out(tmp_path, capsys):
    source = ten_bit(tmp_path / "ten.mkv")
    assert main(["upscale", str(source), str(tmp_path / "out.mkv"), "--model", "raw", "--dry-run"]) == 0
    printed = capsys.readouterr()
    lines = (printed.out + printed.err).splitlines()
    assert any(line.startswith("input:") and "10-bit" in line for line in lines), lines
    assert any(line.startswith("output:") and "libx264, 10-bit" in line for line in lines), lines
    assert main(["upscale", str(source), str(tmp_path / "out.mkv"), "--model", "raw", "--dry-run",
                 "--codec", "mpeg4"]) == 0
    printed = capsys.readouterr()
    lines = (printed.out + printed.err).splitlines()
    assert any(line.startswith("output:") and "mpeg4, 8-bit" in line for line in lines), lines


def test_a_ten_bit_video_read_as_eight_bit_agrees_with_its_sixteen_bit_reading(tmp_path):
    source = ten_bit(tmp_path / "ten.mkv", frames=2)
    deep = np.stack(decoded(source)).astype(np.float64) / 65535
    eight = np.stack(decoded(source, deep=False)).astype(np.float64) / 255
    assert decoded(source, deep=False)[0].dtype == np.uint8
    assert np.abs(eight - deep).max() * 255 <= 0.5 + 0.05  # rounding (and swscale's own, a little)
    assert abs((eight - deep).mean()) * 255 < 0.05


@pytest.mark.parametrize("full_range", [False, True])
def test_ten_bit_yuv_and_sixteen_bit_rgb_convert_at_full_scale_both_ways(full_range):
    """swscale puts limited-range white at 65283 (full-range 10-bit: 65472); vidsr rescales."""
    from vidsr.video.colour import SPC_BT709, Colour, frame_to_rgb, rgb_to_frame

    colour = Colour(SPC_BT709, full_range)
    for luma in ((0, 512, 1023) if full_range else (64, 504, 940)):
        frame = av.VideoFrame(16, 16, "yuv420p10le")
        for index, value in enumerate((luma, 512, 512)):
            plane = frame.planes[index]
            plane.update(np.full((plane.height, plane.line_size // 2), value, np.uint16))
        exact = luma / 1023 * 65535 if full_range else (luma - 64) / 876 * 65535
        rgb = frame_to_rgb(frame, colour, deep=True)
        assert rgb.dtype == np.uint16 and np.abs(rgb.astype(np.float64) - exact).max() <= 2
        back = rgb_to_frame(rgb, colour, "yuv420p10le")
        assert np.all(np.frombuffer(back.planes[0], np.uint16).reshape(16, -1)[:, :16] == luma)


def test_a_folder_of_16_bit_pngs_says_it_is_read_as_8_bit(tmp_path):
    from PIL import Image

    rgb = tmp_path / "rgb48"
    rgb.mkdir()
    frame = av.VideoFrame.from_ndarray(np.full((8, 8, 3), 40000, np.uint16), format="rgb48be")
    with av.open(str(rgb / "0001.png"), "w", format="image2") as container:
        stream = container.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 8, 8, "rgb48be"
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    gray = tmp_path / "gray16"
    gray.mkdir()
    Image.fromarray(np.full((8, 8), 40000, np.uint16)).save(gray / "0001.png")
    plain = tmp_path / "rgb24"
    plain.mkdir()
    Image.fromarray(np.full((8, 8, 3), 156, np.uint8)).save(plain / "0001.png")
    for folder, deep in [(rgb, True), (gray, True), (plain, False)]:
        with open_video(folder) as reader:
            said = [w for w in reader.info.warnings if "16 bits per sample; the frames are read as 8-bit" in w]
            assert bool(said) == deep, folder
            assert next(iter(reader)).rgb.dtype == np.uint8
