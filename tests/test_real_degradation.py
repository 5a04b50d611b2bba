"""The "real" degradation (issue 15): documented ranges, small frame-to-frame drift, the same
seed giving the same clip, a video codec that really compresses, the centred LR grid, the
training cache, the config and `vidsr degrade --degradation real`."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from vidsr.cli.main import main
from vidsr.data import real
from vidsr.data.degradation import LR_GRID, degrade_uint8
from vidsr.data.frames import read_clip, write_frame
from vidsr.data.real import (
    FIRST,
    SECOND,
    Noise,
    RealMix,
    RealParams,
    Stage,
    VideoCodec,
    clip_params,
    compress_clip,
    degrade_real,
    draw_params,
)
from vidsr.errors import VidsrError
from vidsr.metrics import frame_metrics
from vidsr.training import data as training_data
from vidsr.training.config import config_from_dict

pytestmark = pytest.mark.usefixtures("tiny_tensors")


def moving_clip(frames: int = 8, size: int = 64, seed: int = 0) -> np.ndarray:
    """Smooth colour waves drifting sideways: uint8 ``(frames, size, size, 3)``."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    waves = [(rng.uniform(1, 4, 2), rng.uniform(0, 2 * np.pi), rng.uniform(0.02, 0.05)) for _ in range(3)]
    clip = []
    for t in range(frames):
        image = np.stack([sum(np.sin(2 * np.pi * (f[0] * (xx + v * t) + f[1] * yy) + p + c) for f, p, v in waves)
                          for c in (0, 1, 2)], axis=-1)
        clip.append(np.round((image - image.min()) / (image.max() - image.min()) * 255))
    return np.stack(clip).astype(np.uint8)


def within(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] - 1e-12 <= value <= bounds[1] + 1e-12


def check_kernel(kernel: real.Kernel, sigma: tuple[float, float]) -> None:
    assert kernel.kind in real.KERNEL_KINDS and kernel.size in real.KERNEL_SIZES
    if kernel.kind == "sinc":
        assert within(kernel.omega, real.omega_range(kernel.size))
    else:
        assert within(kernel.sigma_x, sigma) and within(kernel.sigma_y, sigma)
        assert within(kernel.angle, real.ANGLE)
        if kernel.isotropic:
            assert kernel.sigma_x == kernel.sigma_y and kernel.angle == 0
        if kernel.family in real.BETA:
            assert within(kernel.beta, real.BETA[kernel.family])
    weights = kernel.weights()
    assert weights.shape == (kernel.size, kernel.size) and math.isclose(weights.sum(), 1.0)


def check_stage(stage: Stage, ranges: real.Ranges) -> None:
    if stage.blur is not None:
        check_kernel(stage.blur, ranges.sigma)
    assert stage.resize == 1.0 or within(stage.resize, ranges.up) or within(stage.resize, ranges.down)
    assert stage.method in real.RESIZE_METHODS
    assert stage.noise.kind in ("gaussian", "poisson")
    assert within(stage.noise.level, getattr(ranges, stage.noise.kind))
    assert within(stage.jpeg, real.JPEG_QUALITY) and isinstance(stage.jpeg, int)


def check_params(params: RealParams) -> None:
    check_stage(params.first, FIRST)
    check_stage(params.second, SECOND)
    if params.sinc is not None:
        check_kernel(params.sinc, FIRST.sigma)
        assert params.sinc.kind == "sinc"
    assert params.method in real.RESIZE_METHODS
    video = params.video
    assert video.gop in real.KEYINTS
    if video.codec == "libx264":
        assert within(video.crf, real.CRF) and video.preset in real.PRESETS_DRAWN
    else:
        assert video.codec == "mpeg4" and within(video.qscale, real.QSCALE)


def test_drawn_parameters_and_their_drift_respect_the_documented_ranges() -> None:
    rng = np.random.default_rng(0)
    draws = [draw_params(rng) for _ in range(400)]
    for params in draws:
        check_params(params)
    # Every option is drawn, at about its documented rate.
    codecs = [p.video.codec for p in draws]
    assert 0.7 < codecs.count("libx264") / len(draws) < 0.9
    assert {p.first.blur.kind for p in draws} == set(real.KERNEL_KINDS)
    assert {p.video.preset for p in draws} - {None} == set(real.PRESETS_DRAWN)
    assert {p.first.method for p in draws} == set(real.RESIZE_METHODS)
    assert 0.7 < sum(p.second.blur is not None for p in draws) / len(draws) < 0.9
    # Per frame: inside the same ranges, each step no larger than its drift, and some drift.
    for params in draws[:40]:
        frames = params.frames(60)
        assert frames[0] == params
        for before, after in zip(frames, frames[1:], strict=False):
            check_params(after)
            assert after.video == params.video and after.first.noise.kind == params.first.noise.kind
            step = real.DRIFT[before.first.noise.kind]
            assert abs(after.first.noise.level - before.first.noise.level) <= step + 1e-12
            assert abs(after.second.resize - before.second.resize) <= real.DRIFT["resize"] + 1e-12
            assert abs(after.first.jpeg - before.first.jpeg) <= real.DRIFT["jpeg"]
            if before.first.blur.kind != "sinc":
                assert abs(after.first.blur.sigma_x - before.first.blur.sigma_x) <= real.DRIFT["sigma"] + 1e-12
        assert frames[-1].first.noise.level != params.first.noise.level


def test_the_same_seed_gives_the_same_clip() -> None:
    gt = moving_clip()
    lr = degrade_real(gt, 4, draw_params(np.random.default_rng(5)))
    assert lr.shape == (8, 16, 16, 3) and lr.dtype == np.uint8
    np.testing.assert_array_equal(degrade_real(gt, 4, draw_params(np.random.default_rng(5))), lr)
    assert not np.array_equal(degrade_real(gt, 4, draw_params(np.random.default_rng(6))), lr)
    # A clip's parameters come from (seed, clip name), the same in every process.
    assert clip_params(3, "walk") == clip_params(3, "walk")
    assert clip_params(3, "walk") != clip_params(4, "walk") != clip_params(3, "city")


def test_x3_and_sizes_that_are_not_a_multiple_of_the_scale() -> None:
    gt = moving_clip(frames=3, size=50)
    assert degrade_real(gt, 3, clip_params(0, "a")).shape == (3, 16, 16, 3)
    assert degrade_real(gt, 4, clip_params(0, "a")).shape == (3, 12, 12, 3)


def test_compression_really_happens_and_the_bitrate_falls_as_crf_rises() -> None:
    lr = degrade_uint8(moving_clip(frames=8, size=128), 4, "bi")
    sizes = []
    for crf in (18, 28, 38):
        encoded = compress_clip(lr, VideoCodec("libx264", crf, "medium"))
        assert encoded.frames.shape == lr.shape and not np.array_equal(encoded.frames, lr)
        assert f"crf={crf}.0" in encoded.encoder and "threads=1" in encoded.encoder
        sizes.append(encoded.bytes)
    assert sizes[0] > sizes[1] > sizes[2] > 0
    # MPEG-4 part 2 at a fixed quantiser: coarser quantiser, smaller stream.
    coarse, fine = (compress_clip(lr, VideoCodec("mpeg4", None, None, q)) for q in (20, 3))
    assert fine.bytes > coarse.bytes and not np.array_equal(coarse.frames, lr)
    assert coarse.encoder == ""
    # The same input and settings give the same stream (timestamps, one thread).
    again = compress_clip(lr, VideoCodec("libx264", 28, "medium"))
    assert again.bytes == sizes[1]
    np.testing.assert_array_equal(again.frames, compress_clip(lr, VideoCodec("libx264", 28, "medium")).frames)


def test_the_round_trip_is_repeatable_after_decodes() -> None:
    # x264's AVX-512 kernels gave other streams on some calls once a stream had been decoded
    # in the process (real.x264_asm caps them): 30 calls on a 96-pixel-wide clip, one stream.
    base = np.random.default_rng(0).integers(0, 255, (1, 64, 96, 3), dtype=np.uint8)
    frames = np.concatenate([np.roll(base, shift, axis=2) for shift in range(20)])
    codec = VideoCodec("libx264", 33, "medium")
    first = compress_clip(frames, codec)
    for _ in range(29):
        again = compress_clip(frames, codec)
        assert again.bytes == first.bytes
        np.testing.assert_array_equal(again.frames, first.frames)
    if real.x264_asm() is not None:
        assert codec.options()["x264-params"] == "asm=AVX2" and codec.settings()["x264_asm"] == "AVX2"


def test_odd_sizes_survive_the_yuv420p_round_trip() -> None:
    lr = np.ascontiguousarray(degrade_uint8(moving_clip(frames=3, size=128), 4, "bi")[:, :31, :29])
    encoded = compress_clip(lr, VideoCodec("libx264", 18, "ultrafast"))
    assert encoded.frames.shape == (3, 31, 29, 3)
    psnr = [frame_metrics(a, b)["psnr_y"] for a, b in zip(encoded.frames, lr, strict=True)]
    assert min(psnr) > 35  # in place: padded to 32x30, cropped back


def test_bad_codec_settings_are_clear_errors() -> None:
    with pytest.raises(VidsrError, match="CRF must be an integer from 0 to 51, not 52"):
        VideoCodec("libx264", 52)
    with pytest.raises(VidsrError, match="unknown x264 preset 'quick'"):
        VideoCodec("libx264", 23, "quick")
    with pytest.raises(VidsrError, match="mpeg4 quantiser must be an integer from 1 to 31"):
        VideoCodec("mpeg4", None, None, 0)
    with pytest.raises(VidsrError, match="libvpx-vp9 CRF must be an integer from 0 to 63, not 64"):
        VideoCodec("libvpx-vp9", 64, None)
    with pytest.raises(VidsrError, match="unknown video codec 'vp9'"):
        VideoCodec("vp9")


def test_real_lr_sits_on_the_centre_grid_of_bi() -> None:
    """With blur, noise and resampling switched off, "real" is a centred area average: within
    a rounding of BI, far from BD's corner grid (LR_GRID["real"] is "centre")."""
    gt = moving_clip()
    still = Stage(None, 1.0, "area", Noise("gaussian", 0.0, False), 95)
    mild = RealParams(still, still, None, "area", False, VideoCodec("libx264", 0, "medium"), 0)
    lr = degrade_real(gt, 4, mild)

    def psnr(reference: np.ndarray) -> float:
        return float(np.mean([frame_metrics(a, b)["psnr_y"] for a, b in zip(lr, reference, strict=True)]))

    assert psnr(degrade_uint8(gt, 4, "bi")) > 35
    assert psnr(degrade_uint8(gt, 4, "bd")) < 25
    assert LR_GRID["real"] == "centre"


def test_training_makes_real_lr_once_and_caches_it_under_the_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "train" / "swan"
    for index, frame in enumerate(moving_clip(frames=6)):
        write_frame(folder / f"{index:05d}.png", frame)
    cache = tmp_path / "cache"
    clip = training_data.load_clip("swan", folder, 4, "real", 1.6, cache, seed=3)
    assert clip.lr.shape == (6, 16, 16, 3) and len(list(cache.iterdir())) == 1
    np.testing.assert_array_equal(clip.lr, degrade_real(clip.gt, 4, clip_params(3, "swan")))
    # The same as `vidsr degrade --degradation real --seed 3` of the same clip.
    assert main(["degrade", str(folder), str(tmp_path / "lr"), "--degradation", "real", "--seed", "3", "--quiet"]) == 0
    np.testing.assert_array_equal(read_clip(tmp_path / "lr"), clip.lr)
    # Cached: the second load does not degrade; another seed is another file and another LR.
    monkeypatch.setattr(real, "degrade_real", lambda *args: pytest.fail("degraded twice"))
    np.testing.assert_array_equal(training_data.load_clip("swan", folder, 4, "real", 1.6, cache, seed=3).lr, clip.lr)
    monkeypatch.undo()
    other = training_data.load_clip("swan", folder, 4, "real", 1.6, cache, seed=4)
    assert len(list(cache.iterdir())) == 2 and not np.array_equal(other.lr, clip.lr)
    # BI and BD keys do not depend on the seed (existing caches stay valid).
    key = training_data._cache_key
    assert key(folder, 4, "bi", 1.6) == key(folder, 4, "bi", 1.6, 7, "swan")
    assert key(folder, 4, "real", 1.6, 3, "swan") != key(folder, 4, "real", 1.6, 3, "other")
    capsys.readouterr()


def test_config_accepts_real_and_names_the_choices_otherwise() -> None:
    assert config_from_dict({"data": {"degradation": "real"}}).data.degradation == "real"
    with pytest.raises(VidsrError, match="data.degradation must be bi, bd or real, not 'noisy'"):
        config_from_dict({"data": {"degradation": "noisy"}})


def test_cli_degrade_real_writes_frames_and_parameters(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for name in ("a", "b"):
        for index, frame in enumerate(moving_clip(frames=4, seed=ord(name))):
            write_frame(tmp_path / "gt" / name / f"f{index}.png", frame)
    argv = ["degrade", str(tmp_path / "gt"), str(tmp_path / "lr"), "--degradation", "real", "--seed", "9", "--quiet"]
    assert main(argv) == 0
    assert "8 LR frame(s) of 2 clip(s), x4 REAL" in capsys.readouterr().out
    record = json.loads((tmp_path / "lr" / "a" / "real_params.json").read_text())
    assert record["seed"] == 9 and record["clip"] == "a"
    assert record["params"] == clip_params(9, "a").to_dict()
    first = read_clip(tmp_path / "lr" / "a")
    assert first.shape == (4, 16, 16, 3)
    assert main([*argv[:2], str(tmp_path / "again"), *argv[3:]]) == 0
    np.testing.assert_array_equal(read_clip(tmp_path / "again" / "a"), first)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--degradation", "jpeg"], "unknown degradation 'jpeg'; use one of bi, bd, real"),
        (["--seed", "1"], "--seed is for --degradation real"),
    ],
)
def test_cli_degrade_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, extra: list[str], message: str
) -> None:
    write_frame(tmp_path / "gt" / "f.png", moving_clip(frames=1)[0])
    assert main(["degrade", str(tmp_path / "gt"), str(tmp_path / "lr"), "--quiet", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vidsr: error: ") and message in err and err.count("\n") == 1


def test_plain_clips_are_bicubic_then_the_codec_only_at_their_documented_share() -> None:
    rng = np.random.default_rng(1)
    draws = [draw_params(rng) for _ in range(400)]
    share = sum(p.plain for p in draws) / len(draws)
    assert abs(share - real.PLAIN_PROB) < 0.07
    gt = moving_clip()
    plain = next(p for p in draws if p.plain)
    expected = compress_clip(degrade_uint8(gt, 4, "bi"), plain.video).frames
    np.testing.assert_array_equal(degrade_real(gt, 4, plain), expected)
    full = dataclasses.replace(plain, plain=False)  # the same draw through the full chain differs
    assert not np.array_equal(degrade_real(gt, 4, full), expected)


def test_real_variants_share_the_gt_and_draw_other_degradations(tmp_path: Path) -> None:
    folder = tmp_path / "train" / "swan"
    for index, frame in enumerate(moving_clip(frames=6)):
        write_frame(folder / f"{index:05d}.png", frame)
    cache = tmp_path / "cache"
    first = training_data.load_clip("swan", folder, 4, "real", 1.6, cache, seed=3)
    clips = training_data.real_variants([first], {"swan": folder}, 4, 3, cache, progress=False, seed=3)
    assert [clip.name for clip in clips] == ["swan", "swan#1", "swan#2"]
    assert all(clip.gt is first.gt for clip in clips)  # shared, not copied
    for k, clip in enumerate(clips):
        expected = degrade_real(first.gt, 4, clip_params(training_data.variant_seed(3, k), "swan"))
        np.testing.assert_array_equal(clip.lr, expected)
    assert not np.array_equal(clips[1].lr, clips[2].lr)
    assert len(list(cache.iterdir())) == 3
    with pytest.raises(VidsrError, match="real_variants"):
        config_from_dict({"data": {"degradation": "real", "real_variants": 0}})


def test_the_share_of_plain_clips_is_a_setting_that_changes_only_plain(tmp_path: Path) -> None:
    default = [clip_params(5, f"clip{i}") for i in range(300)]
    mostly = [clip_params(5, f"clip{i}", RealMix(plain_prob=0.9)) for i in range(300)]
    share = sum(p.plain for p in mostly) / len(mostly)
    assert abs(share - 0.9) < 0.06
    for a, b in zip(default, mostly, strict=True):  # the rest of each draw is the same
        assert dataclasses.replace(a, plain=False) == dataclasses.replace(b, plain=False)
        assert b.plain or not a.plain  # a larger share only turns clips plain
    folder = tmp_path / "train" / "swan"
    for index, frame in enumerate(moving_clip(frames=4)):
        write_frame(folder / f"{index:05d}.png", frame)
    cache = tmp_path / "cache"
    training_data.load_clip("swan", folder, 4, "real", 1.6, cache, seed=3)
    training_data.load_clip("swan", folder, 4, "real", 1.6, cache, seed=3, mix=RealMix(plain_prob=1.0))
    assert len(list(cache.iterdir())) == 2  # cached apart
    assert config_from_dict({"data": {"real_plain_prob": 0.8}}).data.real_plain_prob == 0.8
    with pytest.raises(VidsrError, match="real_plain_prob"):
        config_from_dict({"data": {"degradation": "real", "real_plain_prob": 1.5}})


def test_the_crf_range_is_a_setting_that_changes_only_the_crf(tmp_path: Path) -> None:
    default = [clip_params(5, f"clip{i}") for i in range(300)]
    strong = [clip_params(5, f"clip{i}", RealMix(crf=(30, 40))) for i in range(300)]
    x264 = [p.video.crf for p in strong if p.video.codec == "libx264"]
    assert len(x264) > 150 and min(x264) == 30 and max(x264) == 40
    for a, b in zip(default, strong, strict=True):  # the rest of each draw is the same
        assert dataclasses.replace(a, video=b.video) == b
        assert [getattr(a.video, k) for k in ("codec", "preset", "qscale", "gop")] == \
            [getattr(b.video, k) for k in ("codec", "preset", "qscale", "gop")]
    assert RealMix().key() == "" and RealMix(crf=[30, 40]).key() == "|crf 30-40"  # default keys unchanged
    folder = tmp_path / "train" / "swan"
    for index, frame in enumerate(moving_clip(frames=4)):
        write_frame(folder / f"{index:05d}.png", frame)
    cache = tmp_path / "cache"
    training_data.load_clip("swan", folder, 4, "real", 1.6, cache, seed=3)
    training_data.load_clip("swan", folder, 4, "real", 1.6, cache, seed=3, mix=RealMix(crf=(30, 40)))
    assert len(list(cache.iterdir())) == 2  # cached apart
    assert config_from_dict({"data": {"real_crf": [28, 40]}}).data.real_crf == [28, 40]
    for bad in ([40, 28], [18], [18, 60], [18.5, 40], "33"):
        with pytest.raises(VidsrError, match="data.real_crf must be two integers"):
            config_from_dict({"data": {"degradation": "real", "real_crf": bad}})
        with pytest.raises(VidsrError, match="CRF range must be two integers"):
            RealMix(crf=bad)
    with pytest.raises(VidsrError, match="share of plain clips"):
        RealMix(plain_prob=1.5)
