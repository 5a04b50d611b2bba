"""HDR10: the mastering display and light level SEI of an HDR input reach the output."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from vidsr.video.colour import frame_to_rgb
from vidsr.video.hdr import HDRMetadata
from vidsr.video.pipeline import upscale_video
from vidsr.video.reader import open_video
from vidsr.video.synthetic import pattern_frames, write_video

# A P3-D65 mastering display of 1000 cd/m2 (0.0001 min), as x265's documentation writes it.
MASTERING = "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)"
LIGHT = (1000, 400)
BT2020, PQ = 9, 16


@pytest.fixture(scope="module")
def hdr10(tmp_path_factory) -> Path:
    """4 frames of 10-bit HEVC, BT.2020 / PQ tags, with HDR10 static metadata."""
    path = tmp_path_factory.mktemp("in") / "hdr10.mp4"
    params = f"log-level=error:master-display={MASTERING}:max-cll={LIGHT[0]},{LIGHT[1]}"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx265", rate=25, options={"x265-params": params})
        stream.width, stream.height, stream.pix_fmt = 32, 16, "yuv420p10le"
        context = stream.codec_context
        context.color_primaries, context.color_trc, context.colorspace = BT2020, PQ, BT2020
        for rgb in pattern_frames(4, 16, 32):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p10le")
            frame.color_primaries, frame.color_trc, frame.colorspace = BT2020, PQ, BT2020
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def upscale(source: Path, target: Path, **kwargs) -> list[str]:
    notes: list[str] = []
    upscale_video(source, target, "bicubic", quiet=True, on_warning=notes.append, **kwargs)
    return notes


def test_the_reader_finds_the_metadata(hdr10):
    with open_video(hdr10, deep=True) as reader:
        info = reader.info
    assert info.hdr == HDRMetadata(MASTERING, LIGHT, 1000.0)
    text = info.describe()
    assert "PQ (HDR)" in text and "HDR10 metadata (mastered at 1000 cd/m2, MaxCLL 1000, MaxFALL 400)" in text


def test_encoder_params():
    hdr = HDRMetadata(MASTERING, LIGHT, 1000.0)
    assert hdr.encoder_params("libx264") == f"mastering-display={MASTERING}:cll=1000,400"
    assert hdr.encoder_params("libx265") == f"master-display={MASTERING}:max-cll=1000,400"
    assert hdr.encoder_params("ffv1") is None
    assert HDRMetadata(None, (500, 100)).encoder_params("libx264") == "cll=500,100"


@pytest.mark.parametrize(("codec", "suffix"), [(None, ".mp4"), ("libx265", ".mkv"), ("libx265", ".mov")])
def test_h264_and_hevc_outputs_keep_it(hdr10, tmp_path, codec, suffix):
    out = tmp_path / f"out{suffix}"
    notes = upscale(hdr10, out, codec=codec)
    assert not any("HDR10" in note for note in notes)
    with open_video(out, deep=True) as reader:
        info = reader.info
    assert info.hdr == HDRMetadata(MASTERING, LIGHT, 1000.0)
    assert (info.colour.primaries, info.colour.trc, info.bits) == (BT2020, PQ, 10)


def test_an_rgb_output_keeps_the_transfer_and_says_it_drops_the_metadata(hdr10, tmp_path):
    out = tmp_path / "out.mkv"
    notes = upscale(hdr10, out, codec="ffv1")
    assert any("ffv1 cannot store the input's HDR10 metadata" in note for note in notes)
    with av.open(str(out)) as container:
        frame = next(container.decode(video=0))
        assert frame.format.is_rgb and (int(frame.color_primaries), int(frame.color_trc)) == (BT2020, PQ)
        assert frame_to_rgb(frame, deep=True).dtype == np.uint16
    with open_video(out) as reader:  # read back: still PQ, so H.264 from it is tagged HDR again
        assert "PQ (HDR)" in reader.info.describe()


def test_sdr_input_has_none(tmp_path):
    path = write_video(tmp_path / "sdr.mp4", pattern_frames(2, 16, 32))
    with open_video(path) as reader:
        assert reader.info.hdr is None and "HDR" not in reader.info.describe()
    assert not any("HDR" in note for note in upscale(path, tmp_path / "out.mp4"))
