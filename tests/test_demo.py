"""`vidsr demo`: a real-looking clip, degraded, upscaled, videos written, table printed."""

from __future__ import annotations

import numpy as np
import pytest
from video_support import probe

from vidsr.cli.main import main
from vidsr.video.demo import make_clip, source_photo

pytestmark = pytest.mark.usefixtures("tiny_tensors")


def test_clip_is_a_moving_photograph():
    assert source_photo() is not None  # matplotlib (a core dependency) ships it
    clip = make_clip(frames=4, height=48, width=64)
    assert clip.shape == (4, 48, 64, 3) and clip.dtype == np.uint8
    assert clip.std() > 20  # real content, not a flat frame
    assert not np.array_equal(clip[0], clip[3])  # the camera moves


def test_demo_writes_videos_and_prints_table(tmp_path, capsys):
    from vidsr.video.pipeline import DEFAULT_MODEL

    assert DEFAULT_MODEL not in ("raw", "bicubic")  # the compare video: raw, bicubic, default, GT (2x2)
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--frames", "3", "--quiet"]) == 0
    printed = capsys.readouterr().out
    for row in ("| demo | raw | 3 |", "| demo | bicubic | 3 |", f"| demo | {DEFAULT_MODEL} | 3 |"):
        assert row in printed
    assert "MSE | SSIM | PSNR (dB)" in printed
    assert (out / "table.md").read_text() in printed
    for name, size in [("lr.mp4", (64, 48)), ("upscaled.mp4", (256, 192)), ("compare.mp4", (512, 384))]:
        got = probe(out / name, decode_rgb=False)
        assert (got.width, got.height) == size and len(got.times) == 3
    # A second run replaces its own files.
    assert main(["demo", "--out", str(out), "--frames", "2", "--quiet"]) == 0
    assert len(probe(out / "upscaled.mp4", decode_rgb=False).times) == 2
    assert len(list((out / "lr_frames").iterdir())) == 2
