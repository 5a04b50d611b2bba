"""Which shipped weights a command uses (issue 15): ``NAME:real`` specs, and the default rule
of `vidsr upscale` and `vidsr compare` (real weights for video files when they ship)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from vidsr.cli import upscale as upscale_cli
from vidsr.cli.upscale import resolve_degradation
from vidsr.errors import VidsrError
from vidsr.models import registry
from vidsr.models.registry import split_spec


def test_split_spec() -> None:
    assert split_spec("delta", "bi") == ("delta", "bi")
    assert split_spec("delta:real", "bi") == ("delta", "real")
    assert split_spec("five_parallel:bd", "real") == ("five_parallel", "bd")
    with pytest.raises(VidsrError, match="after ':'"):
        split_spec("delta:noisy", "bi")


def args(degradation: str | None = None, scale: int = 4) -> argparse.Namespace:
    return argparse.Namespace(degradation=degradation, scale=scale, quiet=True)


@pytest.fixture
def real_ships(monkeypatch: pytest.MonkeyPatch) -> None:
    """delta ships real weights and they are listed as the best on compressed input."""
    shipped = registry.shipped_weights
    monkeypatch.setattr(registry, "shipped_weights",
                        lambda name: shipped(name) + ([(4, "real")] if name == "delta" else []))
    monkeypatch.setattr(upscale_cli, "VIDEO_DEFAULT_REAL", frozenset({"delta", "five_parallel"}))


def test_video_files_get_real_weights_when_they_ship(tmp_path: Path, real_ships: None) -> None:
    video, folder = tmp_path / "a.mp4", tmp_path / "frames"
    video.write_bytes(b"x")
    folder.mkdir()
    assert resolve_degradation(args(), [video], ["delta"]) == "real"
    assert resolve_degradation(args(), [video], ["bicubic", "delta"]) == "real"
    # Frame folders (usually lossless), a model without real weights, another scale: BI.
    assert resolve_degradation(args(), [folder], ["delta"]) == "bi"
    assert resolve_degradation(args(), [video, folder], ["delta"]) == "bi"
    assert resolve_degradation(args(), [video], ["five_parallel"]) == "bi"
    assert resolve_degradation(args(), [video], ["delta", "five_parallel"]) == "bi"
    assert resolve_degradation(args(scale=2), [video], ["delta"]) == "bi"
    assert resolve_degradation(args(), [video], ["bicubic"]) == "bi"
    # The user's choice wins.
    assert resolve_degradation(args("bi"), [video], ["delta"]) == "bi"
    assert resolve_degradation(args("bd"), [folder], ["delta"]) == "bd"


def test_without_real_weights_video_files_keep_bi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    video = tmp_path / "a.mp4"
    video.write_bytes(b"x")
    monkeypatch.setattr(upscale_cli, "VIDEO_DEFAULT_REAL", frozenset({"delta"}))
    monkeypatch.setattr(registry, "shipped_weights", lambda name: [(4, "bi"), (4, "bd")])
    assert resolve_degradation(args(), [video], ["delta"]) == "bi"


def test_real_weights_that_do_not_beat_bi_on_compressed_input_are_opt_in(tmp_path: Path) -> None:
    """Today's rule, from results/compressed_x4.md: BI weights for video files too."""
    video = tmp_path / "a.mp4"
    video.write_bytes(b"x")
    for name in registry.model_names():
        if (4, "real") in registry.shipped_weights(name) and name not in upscale_cli.VIDEO_DEFAULT_REAL:
            assert resolve_degradation(args(), [video], [name]) == "bi"
            assert resolve_degradation(args("real"), [video], [name]) == "real"


def test_compare_on_a_compressed_clip_shows_the_real_weights_ahead(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The README's visual proof, small: the demo's photograph, moved, downscaled with BI and
    compressed at CRF 35; `vidsr compare` of bicubic, delta BI and delta real against the GT."""
    if (4, "real") not in registry.shipped_weights("delta"):
        pytest.skip("no delta x4 real weights ship in this checkout")
    import importlib.util

    from vidsr.cli.main import main
    from vidsr.data.degradation import degrade_uint8
    from vidsr.data.frames import read_clip, write_frame
    from vidsr.video.demo import make_clip

    spec = importlib.util.spec_from_file_location("real_proof", Path(__file__).parents[1] / "benchmarks" / "real_proof.py")
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
