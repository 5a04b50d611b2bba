"""Which shipped weights a command uses (issue 15): ``NAME:real`` specs, and the default rule
of `vidsr upscale` and `vidsr compare` (video files: the model's video denoise strength, between
its BI and real weights, when both ship)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from vidsr.cli import upscale as upscale_cli
from vidsr.cli.upscale import video_default_denoise
from vidsr.errors import VidsrError
from vidsr.models import registry
from vidsr.models.registry import split_spec


def test_split_spec() -> None:
    assert split_spec("delta", "bi") == ("delta", "bi")
    assert split_spec("delta:real", "bi") == ("delta", "real")
    assert split_spec("five_parallel:bd", "real") == ("five_parallel", "bd")
    with pytest.raises(VidsrError, match="after ':'"):
        split_spec("delta:noisy", "bi")


def args(degradation: str | None = None, scale: int = 4, denoise: float | None = None) -> argparse.Namespace:
    return argparse.Namespace(degradation=degradation, scale=scale, quiet=True, denoise=denoise)


@pytest.fixture
def real_ships(monkeypatch: pytest.MonkeyPatch) -> None:
    """delta ships BI and real weights and has a video strength; five_parallel has one but no real weights."""
    shipped = registry.shipped_weights
    both = {(4, "bi"), (4, "real")}
    monkeypatch.setattr(registry, "shipped_weights",
                        lambda name: sorted(set(shipped(name)) | (both if name == "delta" else set())))
    monkeypatch.setattr(upscale_cli, "VIDEO_DEFAULT_DENOISE", {"delta": 0.5, "five_parallel": 0.5})


def test_video_files_get_the_video_strength(tmp_path: Path, real_ships: None) -> None:
    video, folder = tmp_path / "a.mp4", tmp_path / "frames"
    video.write_bytes(b"x")
    folder.mkdir()
    assert video_default_denoise(args(), [video], ["delta"]) == 0.5
    assert video_default_denoise(args(), [video], ["bicubic", "delta"]) == 0.5
    # Frame folders (usually lossless), a model without real weights, another scale: BI.
    assert video_default_denoise(args(), [folder], ["delta"]) is None
    assert video_default_denoise(args(), [video, folder], ["delta"]) is None
    assert video_default_denoise(args(), [video], ["five_parallel"]) is None
    assert video_default_denoise(args(), [video], ["delta", "five_parallel"]) is None
    assert video_default_denoise(args(scale=3), [video], ["delta"]) is None
    assert video_default_denoise(args(), [video], ["bicubic"]) is None
    # The user's choice wins.
    assert video_default_denoise(args("bi"), [video], ["delta"]) is None
    assert video_default_denoise(args(denoise=0.2), [video], ["delta"]) is None


def test_a_scale_without_real_weights_says_it_uses_bi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture) -> None:
    video = tmp_path / "a.mp4"
    video.write_bytes(b"x")
    monkeypatch.setattr(registry, "shipped_weights", lambda name: [(3, "bi")] if name == "delta" else [])
    monkeypatch.setattr(upscale_cli, "VIDEO_DEFAULT_DENOISE", {"delta": 0.5})
    loud = argparse.Namespace(degradation=None, scale=3, quiet=False, denoise=None)
    assert video_default_denoise(loud, [video], ["delta"]) is None
    assert "delta ships no real-footage weights at x3; using the BI weights" in capsys.readouterr().err
    assert video_default_denoise(args(scale=3), [video], ["delta"]) is None
    assert capsys.readouterr().err == ""  # --quiet
    loud.scale = 2  # neither BI nor real at x2 here: nothing said (loading the BI weights will)
    assert video_default_denoise(loud, [video], ["delta"]) is None
    assert capsys.readouterr().err == ""


def test_models_without_a_video_strength_keep_bi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    video = tmp_path / "a.mp4"
    video.write_bytes(b"x")
    monkeypatch.setattr(upscale_cli, "VIDEO_DEFAULT_DENOISE", {})
    assert video_default_denoise(args(), [video], ["delta"]) is None


def test_todays_video_default_ships_both_ends() -> None:
    """Every model with a video strength ships the BI and real weights it blends."""
    for name in upscale_cli.VIDEO_DEFAULT_DENOISE:
        assert {(4, "bi"), (4, "real")} <= set(registry.shipped_weights(name)), name


def test_upscale_says_which_weights_it_chose(tmp_path: Path, capsys: pytest.CaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDSR_WEIGHTS_CACHE", str(tmp_path / "cache"))
    if "delta" not in upscale_cli.VIDEO_DEFAULT_DENOISE:
        pytest.skip("delta has no video strength in this checkout")
    from vidsr.cli.main import main
    from vidsr.video.synthetic import pattern_frames, write_video

    clip = write_video(tmp_path / "in.mp4", pattern_frames(4, 16, 24))
    assert main(["upscale", str(clip), str(tmp_path / "out.mp4"), "--backend", "torch", "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert f"delta at denoise strength {upscale_cli.VIDEO_DEFAULT_DENOISE['delta']:g}" in err, err


def test_compare_on_a_compressed_clip_shows_the_real_weights_ahead(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The README's visual proof, small: the demo's photograph, moved, downscaled with BI and
    compressed at CRF 35; `vidsr compare` of bicubic, delta BI and delta real against the GT."""
    if (4, "real") not in registry.shipped_weights("delta"):
        pytest.skip("no delta x4 real weights ship in this checkout")
    import importlib.util

    from vidsr.cli.main import main
    from vidsr.data.degradation import degrade_uint8
    from vidsr.data.frames import read_clip, write_frame
    from vidsr.video.demo import make_clip

    script = Path(__file__).parents[1] / "benchmarks" / "real_proof.py"
    spec = importlib.util.spec_from_file_location("real_proof", script)
    proof = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(proof)
    gt = make_clip(frames=8, height=192, width=256)
    for index, frame in enumerate(gt):
        write_frame(tmp_path / "gt" / f"{index:05d}.png", frame)
    proof.write_h264(degrade_uint8(gt, 4, "bi"), tmp_path / "lr.mp4", crf=35)
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "lr.mp4"), str(tmp_path / "out"), "--models",
                 "bicubic,delta:bi,delta:real", "--gt", str(tmp_path / "gt"), "--quiet"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if ": mean PSNR" in line]
    psnr = {line.split(": mean PSNR")[0]: float(line.rsplit(":", 1)[1].split()[0]) for line in lines}
    assert psnr["delta:real"] > psnr["delta:bi"] and psnr["delta:real"] > psnr["bicubic"], psnr
    frames = read_clip(tmp_path / "out")
    assert frames.shape == (8, 2 * 192, 2 * 256, 3)  # a 2x2 grid: three models and the GT
