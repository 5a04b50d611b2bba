"""The quantiser read from a video's own bitstream (H.264, VP9, MPEG), and the denoise
strength it picks for `vidsr upscale` (``vidsr.video.quantiser``)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from vidsr.cli import upscale as upscale_cli
from vidsr.cli.upscale import video_default_denoise
from vidsr.data.real import VideoCodec, compress_clip
from vidsr.models import registry
from vidsr.video.quantiser import (
    AUTO_CEILING, STRENGTHS, Quantiser, jpeg_luma_step, mean_quantiser, strength_for,
)  # fmt: skip
from vidsr.video.synthetic import pattern_frames, write_video


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("qp")
    frames = list(pattern_frames(12, 72, 96))
    made = {f"crf{crf}": write_video(folder / f"crf{crf}.mp4", frames, crf=crf) for crf in (5, 18, 33)}
    for quality in (10, 50):
        made[f"vp9-crf{quality}"] = write_video(folder / f"vp9-{quality}.webm", frames, codec="libvpx-vp9",
                                                codec_options={"crf": str(quality), "b": "0"})  # fmt: skip
    for qscale in (2, 10):
        made[f"mpeg2-q{qscale}"] = write_video(folder / f"mpeg2-{qscale}.ts", frames, codec="mpeg2video",
                                               codec_options={"qmin": str(qscale), "qmax": str(qscale)})  # fmt: skip
    made["hevc"] = write_video(folder / "hevc.mkv", frames, codec="libx265")  # (x265's CRF 28)
    made["hevc-crf12"] = write_video(folder / "hevc12.mp4", frames, codec="libx265",
                                     codec_options={"crf": "12", "x265-params": "log-level=error"})  # fmt: skip
    made["hevc-abr"] = write_video(folder / "hevc-abr.mkv", frames, codec="libx265",
                                   codec_options={"b": "200k", "x265-params": "log-level=error"})  # fmt: skip
    # a fixed QP without x265's settings in the stream, as phones' hardware encoders make it
    made["hevc-qp30"] = write_video(folder / "hevc-qp30.mp4", frames, codec="libx265", codec_options={
        "x265-params": "log-level=error:qp=30:ipratio=1:pbratio=1:info=0"})  # fmt: skip
    for crf in (10, 50):
        made[f"av1-crf{crf}"] = write_video(folder / f"av1-{crf}.mkv", frames, codec="libsvtav1", codec_options={
            "crf": str(crf), "preset": "8", "svtav1-params": "lp=1:log-level=1"})  # fmt: skip
    made["vp8"] = write_video(folder / "vp8.webm", frames, codec="libvpx", codec_options={"crf": "20", "b": "1M"})
    made["ffv1"] = write_video(folder / "ffv1.mkv", frames, codec="ffv1")
    made["prores"] = write_video(folder / "prores.mov", frames[:2], codec="prores_ks", pix_fmt="yuv422p10le")
    made["png"] = folder / "still.png"
    Image.fromarray(frames[0]).save(made["png"])
    made["jpeg"] = folder / "still.jpg"
    Image.fromarray(frames[0]).save(made["jpeg"], quality=60)
    made["jpeg95"] = folder / "fine.jpg"
    Image.fromarray(frames[0]).save(made["jpeg95"], quality=95)
    made["mjpeg"] = write_video(folder / "camera.avi", frames[:3], codec="mjpeg", pix_fmt="yuvj420p",
                                codec_options={"qmin": "2", "qmax": "2"})  # fmt: skip
    return made


def test_the_h264_quantiser_rises_with_the_crf(clips: dict[str, Path]) -> None:
    found = [mean_quantiser(clips[f"crf{crf}"]) for crf in (5, 18, 33)]
    assert all(q is not None and q.codec == "H.264" for q in found)
    qps = [q.value for q in found]
    assert qps[0] < qps[1] < qps[2] and qps[0] < 21 < qps[2]
    assert mean_quantiser(clips["crf5"].parent / "missing.mp4") is None


def test_a_fade_from_black_does_not_speak_for_the_whole_video(tmp_path: Path) -> None:
    """x264 codes black frames at a low quantiser (about 22 at CRF 33): places spread over
    the video, and their median, keep a heavily compressed video heavily compressed."""
    black = [np.zeros((72, 96, 3), np.uint8)] * 60
    video = write_video(tmp_path / "fade.mp4", black + list(pattern_frames(180, 72, 96)), crf=33)
    quantiser = mean_quantiser(video)
    assert quantiser is not None and quantiser.value > 30 and strength_for(quantiser) == AUTO_CEILING


def test_compress_clip_reports_the_quantiser_of_x264_only(rng: np.random.Generator) -> None:
    frames = rng.integers(0, 256, (4, 32, 48, 3), dtype=np.uint8)
    low, high = (compress_clip(frames, VideoCodec("libx264", crf, "medium")).qp for crf in (10, 40))
    assert low is not None and high is not None and low < high
    assert compress_clip(frames, VideoCodec("mpeg4", None, None, 5)).qp is None


@given(st.sampled_from(sorted(STRENGTHS)), st.floats(min_value=-12, max_value=255),
       st.floats(min_value=-12, max_value=255))  # fmt: skip
def test_the_strength_never_falls_as_the_quantiser_rises_and_stays_at_most_the_ceiling(
    codec: str, a: float, b: float
) -> None:
    low, high = sorted((a, b))
    assert 0 <= strength_for(Quantiser(codec, low)) <= strength_for(Quantiser(codec, high)) <= AUTO_CEILING
    assert strength_for(None) == AUTO_CEILING


def test_one_h264_video_gets_the_strength_of_its_quantiser(clips: dict[str, Path], monkeypatch, capsys) -> None:
    shipped, both = registry.shipped_weights, {(4, "bi"), (4, "real")}
    monkeypatch.setattr(registry, "shipped_weights",
                        lambda name: sorted(set(shipped(name)) | (both if name == "delta" else set())))
    monkeypatch.setattr(upscale_cli, "VIDEO_DEFAULT_DENOISE", {"delta": 0.5})
    args = argparse.Namespace(degradation=None, scale=4, quiet=False, denoise=None)
    assert video_default_denoise(args, [clips["crf5"]], ["delta"]) == 0.0
    assert "delta with the BI weights (H.264 mean QP" in capsys.readouterr().err
    assert video_default_denoise(args, [clips["crf18"]], ["delta"]) == 0.25
    assert video_default_denoise(args, [clips["crf33"]], ["delta"]) == 0.5
    # VP9, MPEG, x265, HEVC and AV1 by their own rules; no quantiser (VP8), or a batch of
    # several videos (one model for all): the fixed strength.
    assert video_default_denoise(args, [clips["vp9-crf10"]], ["delta"]) == 0.0
    assert "(VP9 mean qindex" in capsys.readouterr().err
    assert video_default_denoise(args, [clips["mpeg2-q10"]], ["delta"]) == 0.5
    assert video_default_denoise(args, [clips["hevc-crf12"]], ["delta"]) == 0.0
    assert "(HEVC by x265 at CRF 12" in capsys.readouterr().err
    assert video_default_denoise(args, [clips["hevc-qp30"]], ["delta"]) == 0.5
    assert "(HEVC mean slice QP 30.0" in capsys.readouterr().err
    assert video_default_denoise(args, [clips["av1-crf10"]], ["delta"]) == 0.0
    assert "(AV1 mean base_q_idx" in capsys.readouterr().err
    assert video_default_denoise(args, [clips["vp8"]], ["delta"]) == 0.5
    assert video_default_denoise(args, [clips["crf5"], clips["crf18"]], ["delta"]) == 0.5
    # Lossless and master codecs, and lossless images, have nothing to clean: the BI weights.
    for name, said in (("ffv1", "FFV1, lossless"), ("prores", "ProRes, master quality"), ("png", "PNG, lossless")):
        assert video_default_denoise(args, [clips[name]], ["delta"]) == 0.0
        assert f"delta with the BI weights ({said}, nothing to clean up" in capsys.readouterr().err
    # JPEG photos (and MJPEG video) by the steps of their quantisation tables.
    assert video_default_denoise(args, [clips["jpeg"]], ["delta"]) == 0.5
    assert "(JPEG mean luma quantiser step 46.1" in capsys.readouterr().err
    assert video_default_denoise(args, [clips["jpeg95"]], ["delta"]) == 0.25


def test_a_batch_gives_each_video_the_strength_of_its_own_quantiser(clips: dict[str, Path], tmp_path: Path,
                                                                     monkeypatch) -> None:
    from vidsr.cli.main import main
    from vidsr.models import pretrained_path
    from vidsr.video import jobs

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("crf5", "crf33", "hevc"):
        (folder / clips[name].name).symlink_to(clips[name])
    made: list[str | None] = []

    class Recording(jobs.Engine):
        def __init__(self, model, scale, weights, *rest, **options):  # noqa: ANN001
            made.append(weights)
            super().__init__(model, scale, weights, *rest, **options)

    monkeypatch.setattr(jobs, "Engine", Recording)
    assert main(["upscale", str(folder), str(tmp_path / "out"), "-q"]) == 0
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["crf33.mp4", "crf5.mp4", "hevc.mkv"]
    # crf5 (QP about 12): the BI weights themselves; crf33 and HEVC (x265 at CRF 28): 0.5.
    assert str(pretrained_path("delta", 4, "bi")) in made
    assert sum("denoise0.50" in str(weights) for weights in made) == 1 and len(made) == 2


def test_vp9_and_mpeg_quantisers_are_read_and_rise_with_compression(clips: dict[str, Path]) -> None:
    light, heavy = (mean_quantiser(clips[f"vp9-crf{quality}"]) for quality in (10, 50))
    assert light is not None and heavy is not None and light.codec == heavy.codec == "VP9"
    assert light.value < heavy.value and "VP9 mean qindex" in light.describe()
    fine, coarse = (mean_quantiser(clips[f"mpeg2-q{qscale}"]) for qscale in (2, 10))
    assert fine is not None and coarse is not None and fine.codec == "MPEG"
    assert (fine.value, coarse.value) == (4.0, 20.0)  # the step, twice the qscale
    assert strength_for(fine) == 0.0 and strength_for(coarse) == AUTO_CEILING
    # HEVC exports no quantiser, but x265 writes its CRF into the stream (in MP4 and Matroska)
    assert mean_quantiser(clips["hevc"]) == Quantiser("x265", 28.0)
    assert mean_quantiser(clips["hevc-crf12"]) == Quantiser("x265", 12.0)
    # and every HEVC picture its QP in its headers: 26 + init_qp_minus26 + slice_qp_delta
    assert mean_quantiser(clips["hevc-qp30"]) == Quantiser("HEVC", 30.0)
    by_rate = mean_quantiser(clips["hevc-abr"])  # at a bitrate, no CRF: the headers' QP
    assert by_rate is not None and by_rate.codec == "HEVC" and 0 < by_rate.value < 51
    twelve, default = (mean_quantiser(clips[name], settings=False) for name in ("hevc-crf12", "hevc"))
    assert twelve is not None and default is not None and twelve.value < default.value
    # AV1 by the base_q_idx of its frame headers, 0-255
    light, heavy = (mean_quantiser(clips[f"av1-crf{crf}"]) for crf in (10, 50))
    assert light is not None and heavy is not None and light.codec == heavy.codec == "AV1"
    assert 0 < light.value < 53 < 129 < heavy.value <= 255 and "AV1 mean base_q_idx" in light.describe()
    assert mean_quantiser(clips["vp8"]) is None  # (VP8 exports none and its headers are not read)


def test_lossless_and_master_codecs_are_clean(clips: dict[str, Path]) -> None:
    for name, codec in (("ffv1", "FFV1"), ("prores", "ProRes"), ("png", "PNG")):
        quantiser = mean_quantiser(clips[name])
        assert quantiser is not None and quantiser.codec == codec and quantiser.clean
        assert strength_for(quantiser) == 0.0



def test_jpeg_quantisers_come_from_the_tables_of_photos_and_mjpeg_video(clips: dict[str, Path]) -> None:
    # Pillow scales the standard luma table (mean step 57.625 at quality 50) as libjpeg does.
    photo, fine = mean_quantiser(clips["jpeg"]), mean_quantiser(clips["jpeg95"])
    assert photo == Quantiser("JPEG", 46.125) and fine == Quantiser("JPEG", 5.765625)
    assert strength_for(fine) == 0.25 and strength_for(photo) == AUTO_CEILING
    camera = mean_quantiser(clips["mjpeg"])
    assert camera is not None and camera.codec == "JPEG" and 0 < camera.value < 20
    assert jpeg_luma_step(b"\xff\xd8\xff\xda\x00\x02") is None and jpeg_luma_step(b"not a jpeg") is None


def test_compress_clip_reports_every_codec_quantiser(rng: np.random.Generator) -> None:
    frames = rng.integers(0, 256, (4, 32, 48, 3), dtype=np.uint8)
    for codec, kind in ((VideoCodec("libvpx-vp9", 40, None), "VP9"), (VideoCodec("mpeg2video", None, None, 3), "MPEG"),
                        (VideoCodec("mpeg4", None, None, 5), "MPEG"), (VideoCodec("libx264", 23, "medium"), "H.264"),
                        (VideoCodec("libsvtav1", 40, None), "AV1"), (VideoCodec("libx265", 20, "medium"), "x265")):
        encoded = compress_clip(frames, codec)
        assert encoded.quantiser is not None and encoded.quantiser.codec == kind
        assert (encoded.headers is not None) == (kind == "x265")  # x265: also the slice QP of the headers
    assert encoded.headers is not None and encoded.headers.codec == "HEVC"


def test_reading_the_headers_leaves_ffmpeg_logging_as_it_was(clips: dict[str, Path]) -> None:
    import av.logging

    before = av.logging.get_level()
    assert mean_quantiser(clips["av1-crf10"]) is not None
    assert av.logging.get_level() == before


@pytest.mark.parametrize("codec", sorted(STRENGTHS))
def test_every_codec_rule_spans_bi_to_the_ceiling(codec: str) -> None:
    assert strength_for(Quantiser(codec, 0.0)) == 0.0 and strength_for(Quantiser(codec, 255.0)) == AUTO_CEILING
    assert strength_for(Quantiser("VP8", 10.0), 0.3) == 0.3  # no measured rule: the fallback
