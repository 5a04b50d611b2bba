"""`vidsr evaluate --degradation bi+h264 --crf N` (issue 15): BI, then an x264 yuv420p round
trip, the settings in the JSON, BI weights for the models, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_real_degradation import moving_clip

from vidsr.cli.main import main
from vidsr.data.datasets import open_dataset
from vidsr.data.degradation import degrade_uint8
from vidsr.data.frames import to_tensor, to_uint8, write_frame
from vidsr.data.real import VideoCodec, compress_clip
from vidsr.evaluation import evaluate
from vidsr.metrics import frame_metrics
from vidsr.models import create

pytestmark = pytest.mark.usefixtures("tiny_tensors")


def make_dataset(root: Path, clips: int = 2, frames: int = 4, size: int = 64) -> Path:
    for index in range(clips):
        for number, frame in enumerate(moving_clip(frames, size, seed=index)):
            write_frame(root / f"clip{index}" / f"{number:03d}.png", frame)
    return root


def run_json(tmp_path: Path, *extra: str, models: str = "bicubic") -> dict:
    out = tmp_path / f"figures{len(list(tmp_path.glob('*.json')))}.json"
    argv = ["evaluate", "--data", str(tmp_path / "data"), "--models", models, "--quiet", "--json", str(out)]
    assert main([*argv, *extra]) == 0
    return json.loads(out.read_text())


def test_bi_h264_scores_the_decoded_bi_frames_and_writes_the_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    make_dataset(tmp_path / "data")
    plain = run_json(tmp_path)
    document = run_json(tmp_path, "--degradation", "bi+h264", "--crf", "33", models="bicubic,fsrcnn")
    printed = capsys.readouterr().out
    assert "# Evaluation: x4 BI+H264" in printed and "libx264 CRF 33, preset medium, yuv420p" in printed
    assert document["degradation"] == "bi+h264" and "compression" not in plain
    settings = document["compression"]
    assert {key: settings[key] for key in ("codec", "crf", "preset", "pix_fmt", "rate", "threads")} == {
        "codec": "libx264", "crf": 33, "preset": "medium", "pix_fmt": "yuv420p", "rate": 25, "threads": 1}
    assert settings["encoder"].startswith("x264 - core ")
    assert "crf=33.0" in settings["x264_params"] and "threads=1" in settings["x264_params"]
    assert set(settings["clips"]) == {"clip0", "clip1"} and settings["clips"]["clip0"]["bytes"] > 0
    # Compression costs quality; fsrcnn ran with its BI weights (it ships no others).
    bicubic = document["models"]["bicubic"]["average"]
    assert bicubic["psnr_y"] < plain["models"]["bicubic"]["average"]["psnr_y"]
    assert "fsrcnn" in document["models"]
    # The figures are those of bicubic on the decoded BI frames.
    model = create("bicubic", 4)
    for clip in open_dataset(tmp_path / "data", scale=4):
        lr = compress_clip(degrade_uint8(clip.gt, 4, "bi"), VideoCodec("libx264", 33, "medium")).frames
        sr = to_uint8(model(to_tensor(lr)[None])[0])
        expected = np.mean([frame_metrics(s, g)["psnr_y"] for s, g in zip(sr, clip.gt, strict=True)])
        assert document["models"]["bicubic"]["clips"][clip.name]["psnr_y"] == pytest.approx(expected, abs=1e-9)


def test_the_default_crf_is_23_and_the_bitrate_falls_as_crf_rises(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    make_dataset(tmp_path / "data", clips=1, size=128)
    default = run_json(tmp_path, "--degradation", "bi+h264")["compression"]
    assert default["crf"] == 23 and default["preset"] == "medium"
    streams = [run_json(tmp_path, "--degradation", "bi+h264", "--crf", str(crf))["compression"]["clips"]
               for crf in (18, 23, 40)]
    rates = [clips["clip0"]["kbit_s"] for clips in streams]
    assert rates[0] > rates[1] > rates[2]
    assert rates[1] == default["clips"]["clip0"]["kbit_s"]
    qps = [clips["clip0"]["mean_qp"] for clips in streams]  # and the quantiser rises
    assert qps[0] < qps[1] < qps[2]
    capsys.readouterr()


def test_the_evaluate_api_compresses_each_clip_once_for_all_models(tmp_path: Path) -> None:
    dataset = open_dataset(make_dataset(tmp_path / "data", clips=1), scale=4)
    models = {"raw": create("raw", 4), "bicubic": create("bicubic", 4)}
    result = evaluate(models, dataset, progress=False, compression=VideoCodec("libx264", 40, "ultrafast"))
    assert result.degradation == "bi+h264" and result.compression["preset"] == "ultrafast"
    assert list(result.compression["clips"]) == ["clip0"]
    assert result.to_json()["compression"] == result.compression


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--degradation", "h264"], "unknown degradation 'h264'; use one of bi, bd, bi+h264"),
        (["--degradation", "bi+h264", "--crf", "52"], "--crf must be an integer from 0 to 51 (x264's range), not '52'"),
        (["--degradation", "bi+h264", "--crf", "-1"], "--crf must be an integer from 0 to 51"),
        (["--degradation", "bi+h264", "--crf", "high"], "--crf must be an integer from 0 to 51"),
        (["--crf", "23"], "--crf and --preset are for --degradation bi+h264, not bi"),
        (["--degradation", "bd", "--preset", "fast"], "--crf and --preset are for --degradation bi+h264, not bd"),
        (["--degradation", "bi+h264", "--preset", "quick"], "unknown --preset 'quick'; use one of ultrafast"),
    ],
)
def test_bad_input_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture, extra: list[str], message: str
) -> None:
    make_dataset(tmp_path / "data", clips=1, frames=1)
    assert main(["evaluate", "--data", str(tmp_path / "data"), "--quiet", *extra]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("vidsr: error: ") and message in captured.err
    assert captured.err.count("\n") == 1 and not captured.out
