"""Evaluation: averaging, TC, inf handling, JSON, tables, the CLI, and the Vid4 bicubic figure."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from vidsr.cli.main import main
from vidsr.data.datasets import open_dataset
from vidsr.data.frames import to_tensor, to_uint8, write_frame
from vidsr.errors import VidsrError
from vidsr.evaluation import evaluate, format_tables, super_resolve
from vidsr.metrics import frame_metrics
from vidsr.models import create, registry, save_weights
from vidsr.models.base import ModelFacts, VSRModel

JSON_KEYS = {"psnr_y", "ssim_y", "mse_y", "psnr_rgb", "ssim_rgb", "mse_rgb", "tc"}


def make_dataset(root: Path, lengths: dict[str, int], size: int = 64) -> Path:
    """Smooth random clips (so that bicubic beats nearest) of ``size`` x ``size``."""
    rng = np.random.default_rng(7)
    for name, frames in lengths.items():
        for index in range(frames):
            small = rng.integers(0, 256, (size // 4, size // 4, 3), dtype=np.uint8)
            frame = create("bicubic", 4)(to_tensor(small)[None, None])  # smooth content
            write_frame(root / name / f"f{index}.png", to_uint8(frame[0, 0]))
    return root


class Tiny(VSRModel):
    """A one-parameter model: bicubic upscale times a learnable gain."""

    facts: ClassVar[ModelFacts] = ModelFacts(True, False, False, False, False)

    def __init__(self, scale: int = 4) -> None:
        super().__init__(scale)
        self.gain = nn.Parameter(torch.tensor(0.5))

    def encode(self, lr: torch.Tensor) -> torch.Tensor:
        return create("bicubic", self.scale).upscale(lr) * self.gain

    def cell(self, window: torch.Tensor, hidden: Any) -> tuple[torch.Tensor, Any]:
        return window[:, 0], hidden


@pytest.fixture
def tiny_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Registers model "tiny" (trained, with parameters); returns its shipped-weights folder."""
    module = types.ModuleType("vidsr_test_tiny")
    module.Tiny = Tiny  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vidsr_test_tiny", module)
    monkeypatch.setitem(registry.MODELS, "tiny", "vidsr_test_tiny:Tiny")
    weights_dir = tmp_path / "shipped"
    weights_dir.mkdir()
    monkeypatch.setattr(registry, "WEIGHTS_DIR", weights_dir)
    return weights_dir


def test_averages_per_frame_then_per_clip_then_mean_of_clips(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", {"long": 3, "short": 1})
    dataset = open_dataset(data, scale=4)
    models = {"raw": create("raw", 4), "bicubic": create("bicubic", 4)}
    result = evaluate(models, dataset, progress=False)
    for name, model in models.items():
        clip_means = {}
        for clip in dataset:
            sr = to_uint8(model(to_tensor(clip.lr)[None])[0])
            frames = [frame_metrics(s, g) for s, g in zip(sr, clip.gt)]
            clip_means[clip.name] = {k: np.mean([f[k] for f in frames]) for k in frames[0]}
            for key, value in clip_means[clip.name].items():
                assert result.models[name].clips[clip.name].metrics[key] == pytest.approx(value, abs=1e-12)
        average = result.models[name].average
        for key in ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb", "mse_rgb"):
            assert average[key] == pytest.approx(np.mean([m[key] for m in clip_means.values()]), abs=1e-12)
    # Each clip counts once: the 1-frame clip weighs as much as the 3-frame one.
    assert result.models["raw"].frames == 4
    raw, bicubic = result.models["raw"].average, result.models["bicubic"].average
    assert bicubic["psnr_y"] > raw["psnr_y"]


def test_max_frames_scores_the_first_frames_of_each_clip(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", {"long": 3, "short": 1})
    for index in range(2):  # the same clips cut to their first two frames
        for name in ("long", "short"):
            frame = data / name / f"f{index}.png"
            if frame.exists():
                (tmp_path / "cut" / name).mkdir(parents=True, exist_ok=True)
                (tmp_path / "cut" / name / frame.name).write_bytes(frame.read_bytes())
    models = {"bicubic": create("bicubic", 4)}
    sliced = evaluate(models, open_dataset(data), progress=False, max_frames=2).models["bicubic"]
    cut = evaluate(models, open_dataset(tmp_path / "cut"), progress=False).models["bicubic"]
    assert {name: clip.frames for name, clip in sliced.clips.items()} == {"long": 2, "short": 1}
    assert sliced.clips == cut.clips
    with pytest.raises(VidsrError, match="max frames"):
        evaluate(models, open_dataset(data), progress=False, max_frames=0)


def test_tc_is_null_for_one_frame_clips(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", {"long": 3, "short": 1})
    result = evaluate({"bicubic": create("bicubic", 4)}, open_dataset(data), progress=False)
    scores = result.models["bicubic"]
    assert scores.clips["short"].tc is None
    assert scores.clips["long"].tc is not None and scores.clips["long"].tc > 0
    assert scores.average["tc"] == scores.clips["long"].tc
    document = result.to_json()
    assert document["models"]["bicubic"]["clips"]["short"]["tc"] is None
    table = format_tables(result)
    assert "| short | bicubic | 1 |" in table and " - |" in table


def test_json_format_and_inf_for_exact_output(tmp_path: Path) -> None:
    # GT = nearest-neighbour upscale of the given LR, so "raw" reproduces it exactly.
    rng = np.random.default_rng(3)
    lr = rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    gt = lr.repeat(4, axis=1).repeat(4, axis=2)
    for index in range(2):
        write_frame(tmp_path / "gt" / "clip" / f"{index}.png", gt[index])
        write_frame(tmp_path / "lr" / "clip" / f"{index}.png", lr[index])
    dataset = open_dataset(tmp_path / "gt", tmp_path / "lr", scale=4)
    result = evaluate({"raw": create("raw", 4), "bicubic": create("bicubic", 4)}, dataset, progress=False)
    document = json.loads(json.dumps(result.to_json()))  # valid JSON: no bare Infinity
    assert set(document) == {"scale", "degradation", "crop_border", "models"}
    assert (document["scale"], document["degradation"], document["crop_border"]) == (4, "bi", 0)
    raw = document["models"]["raw"]
    assert raw["params"] == 0
    assert set(raw["average"]) == JSON_KEYS
    assert set(raw["clips"]["clip"]) == JSON_KEYS | {"frames"}
    assert raw["clips"]["clip"]["frames"] == 2
    assert raw["average"]["psnr_y"] == "inf" and raw["average"]["psnr_rgb"] == "inf"
    assert raw["average"]["ssim_y"] == pytest.approx(1.0)
    assert isinstance(document["models"]["bicubic"]["average"]["psnr_y"], float)
    table = format_tables(result)
    assert "| raw | 0 | 0.00 | 1.0000 | inf |" in table
    assert "PSNR is infinite" in table


@pytest.mark.parametrize("chunk", [1, 2, 5])
def test_streamed_output_equals_whole_clip(chunk: int) -> None:
    lr = np.random.default_rng(0).integers(0, 256, (5, 8, 9, 3), dtype=np.uint8)
    model = create("bicubic", 4)
    whole = to_uint8(model(to_tensor(lr)[None])[0])
    streamed = np.stack(list(super_resolve(model, lr, chunk=chunk)))
    np.testing.assert_array_equal(streamed, whole)


def test_crop_border_too_large_is_a_clear_error(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", {"c": 1}, size=32)
    with pytest.raises(Exception, match="too small for SSIM"):
        evaluate({"raw": create("raw", 4)}, open_dataset(data), crop_border=12, progress=False)


def test_cli_evaluate_prints_tables_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = make_dataset(tmp_path / "data", {"a": 2, "b": 2})
    out = tmp_path / "out" / "figures.json"
    assert main(["evaluate", "--data", str(data), "--json", str(out), "--quiet", "--crop-border", "2"]) == 0
    printed = capsys.readouterr().out
    for heading in ("Per clip, Y", "Average over clips, Y", "Per clip, RGB", "Average over clips, RGB"):
        assert heading in printed
    assert "| Model | Params | MSE | SSIM | PSNR (dB) | TC |" in printed
    document = json.loads(out.read_text())
    assert list(document["models"]) == ["raw", "bicubic"]
    assert document["crop_border"] == 2
    assert set(document["models"]["raw"]["clips"]) == {"a", "b"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--data", "{tmp}/missing"], "data folder not found"),
        (["--data", "{tmp}/data", "--models", "nosuch"], "unknown model 'nosuch'"),
        (["--data", "{tmp}/data", "--models", "raw,raw"], "listed twice"),
        (["--data", "{tmp}/data", "--weights", "bicubic=x.pt", "--models", "raw"], "not in --models"),
        (["--data", "{tmp}/data", "--crop-border", "-1"], "crop-border"),
        (["--data", "{tmp}/data", "--lr", "{tmp}/nolr"], "LR folder not found"),
        (["--data", "{tmp}/data", "--json", "{tmp}/data/a/f0.png/r.json"], "a file stands where its folder should be"),
        (["--data", "{tmp}/data", "--plot", "{tmp}/data/a/f0.png/x/p.png"], "a file stands where its folder"),
        (["--data", "{tmp}/data", "--json", "{tmp}/data"], "is a folder: give a file name"),
    ],
)
def test_cli_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str], message: str
) -> None:
    make_dataset(tmp_path / "data", {"a": 1}, size=32)
    args = [item.format(tmp=tmp_path) for item in argv]
    assert main(["evaluate", "--quiet", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vidsr: error: ") and message in err
    assert "Traceback" not in err


def test_trained_model_weights_shipped_given_or_untrained_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture, tiny_model: Path
) -> None:
    data = make_dataset(tmp_path / "data", {"a": 1}, size=32)
    out = tmp_path / "r.json"
    argv = ["evaluate", "--data", str(data), "--models", "tiny", "--quiet", "--json", str(out)]

    def gain_run(*extra: str) -> tuple[float, str]:
        assert main([*argv, *extra]) == 0
        err = capsys.readouterr().err
        return json.loads(out.read_text())["models"]["tiny"]["average"]["mse_rgb"], err

    # No shipped weights and no --weights: an error, not an untrained evaluation.
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vidsr: error: tiny has no shipped weights for x4 BI")
    assert "(shipped: none)" in err and "--models bicubic" in err and "--weights FILE" in err
    assert "--no-pretrained" in err and not out.exists()
    untrained, err = gain_run("--no-pretrained")  # asked for explicitly
    assert "UNTRAINED" in err
    model = Tiny(4)
    with torch.no_grad():
        model.gain.fill_(1.0)
    save_weights(model, tiny_model / "tiny_x4_bi.safetensors")
    shipped, err = gain_run()
    assert "UNTRAINED" not in err and shipped < untrained
    again, err = gain_run("--no-pretrained")
    assert "UNTRAINED" in err and again == untrained
    given_file = save_weights(model, tmp_path / "mine.safetensors")
    given, err = gain_run("--no-pretrained", "--weights", str(given_file))
    assert "UNTRAINED" not in err and given == shipped
    assert gain_run("--weights", f"tiny={given_file}")[0] == shipped
    assert main(["evaluate", "--data", str(data), "--models", "raw", "--weights", str(given_file)]) == 2
    assert "exactly one trained model" in capsys.readouterr().err


def test_scale_without_shipped_weights_is_an_error_naming_what_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = make_dataset(tmp_path / "data", {"a": 1}, size=32)
    assert main(["evaluate", "--data", str(data), "--models", "bicubic,five_parallel", "--scale", "2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("vidsr: error: five_parallel has no shipped weights for x2 BI (shipped: x4 BI, x4 BD); ")
    assert "use --scale 4, --models bicubic, --no-pretrained (untrained) or --weights FILE" in err
    assert main(["evaluate", "--data", str(data), "--models", "fsrcnn", "--degradation", "bd", "--quiet"]) == 2
    assert "fsrcnn has no shipped weights for x4 BD (shipped: x4 BI); use --degradation bi" in capsys.readouterr().err


def test_json_has_mse_y_and_per_frame_figures_on_request(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = make_dataset(tmp_path / "data", {"a": 3, "b": 1}, size=32)
    out = tmp_path / "r.json"
    argv = ["evaluate", "--data", str(data), "--models", "bicubic", "--quiet", "--json", str(out)]
    assert main(argv) == 0
    plain = json.loads(out.read_text())["models"]["bicubic"]
    assert "per_frame" not in plain["clips"]["a"]
    assert main([*argv, "--per-frame"]) == 0
    capsys.readouterr()
    scores = json.loads(out.read_text())["models"]["bicubic"]
    model = create("bicubic", 4)
    for clip in open_dataset(data, scale=4):
        sr = to_uint8(model(to_tensor(clip.lr)[None])[0])
        frames = [frame_metrics(s, g) for s, g in zip(sr, clip.gt, strict=True)]
        figures = scores["clips"][clip.name]
        assert figures["mse_y"] == pytest.approx(np.mean([f["mse_y"] for f in frames]), abs=1e-9)
        assert figures["mse_y"] == plain["clips"][clip.name]["mse_y"]
        assert set(figures["per_frame"]) == {"psnr_y", "ssim_y"}
        for key in ("psnr_y", "ssim_y"):
            assert figures["per_frame"][key] == pytest.approx([f[key] for f in frames], abs=1e-9)
    # Y MSE on the 0-255 scale, like the RGB one; PSNR-Y follows from it.
    a = scores["clips"]["a"]
    assert a["mse_y"] > 1 and a["mse_y"] < a["mse_rgb"] * 2
    assert math.isclose(scores["average"]["mse_y"], np.mean([scores["clips"][c]["mse_y"] for c in "ab"]))
    assert main(["evaluate", "--data", str(data), "--models", "bicubic", "--quiet", "--per-frame"]) == 2
    assert "--per-frame" in capsys.readouterr().err


@pytest.mark.shared_data
def test_vid4_bicubic_matches_published_figure(shared_data: Path, tmp_path: Path) -> None:
    # The real command in its own process; passive OpenMP waiting keeps it fast on a busy machine.
    out = tmp_path / "vid4.json"
    argv = [sys.executable, "-m", "vidsr", "evaluate", "--data", str(shared_data / "vid4" / "GT"),
            "--models", "bicubic", "--scale", "4", "--degradation", "bi", "--json", str(out), "--quiet"]
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "| bicubic | 0 |" in done.stdout
    bicubic = json.loads(out.read_text())["models"]["bicubic"]
    # Published: Bicubic 23.78 dB / 0.6347 (Y, no crop, mean of the 4 clips).
    assert bicubic["average"]["psnr_y"] == pytest.approx(23.78, abs=0.01)
    assert bicubic["average"]["ssim_y"] == pytest.approx(0.6347, abs=0.001)
    # Per-clip figures measured with this code (see the foundation report).
    measured = {
        "calendar": (20.3945, 0.57204, 41),
        "city": (25.1648, 0.60279, 34),
        "foliage": (23.4713, 0.56660, 49),
        "walk": (26.1037, 0.79744, 47),
    }
    for clip, (psnr_y, ssim_y, frames) in measured.items():
        figures = bicubic["clips"][clip]
        assert figures["frames"] == frames
        assert figures["psnr_y"] == pytest.approx(psnr_y, abs=1e-3)
        assert figures["ssim_y"] == pytest.approx(ssim_y, abs=1e-4)
    assert not math.isinf(bicubic["average"]["psnr_rgb"])


def test_plot_draws_each_frame_of_each_model_and_the_gain_over_bicubic(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from vidsr.evaluation.plot import per_frame_figure

    data = make_dataset(tmp_path / "data", {"a": 3, "b": 2}, size=32)
    plot = tmp_path / "plots" / "frames.png"
    argv = ["evaluate", "--data", str(data), "--models", "bicubic,raw", "--quiet", "--json", str(tmp_path / "r.json"),
            "--per-frame", "--plot", str(plot)]  # fmt: skip
    assert main(argv) == 0
    assert f"Per-frame plot written to {plot}" in capsys.readouterr().out
    with Image.open(plot) as image:
        assert image.format == "PNG" and image.size[0] > 500
    scores = json.loads((tmp_path / "r.json").read_text())["models"]
    models = {"bicubic": create("bicubic", 4), "raw": create("raw", 4)}
    figure = per_frame_figure(evaluate(models, open_dataset(data, scale=4), progress=False), "t")
    axes = figure.axes  # row-major: PSNR of clips a, b; then the gains over bicubic
    assert len(axes) == 4 and [axis.get_title() for axis in axes[:2]] == ["a", "b"]
    for column, clip in enumerate("ab"):
        drawn = {line.get_label(): list(line.get_ydata()) for line in axes[column].get_lines()}
        for name in models:
            assert drawn[name] == pytest.approx(scores[name]["clips"][clip]["per_frame"]["psnr_y"], abs=1e-9)
        (gain, zero) = axes[2 + column].get_lines()
        expected = np.subtract(scores["raw"]["clips"][clip]["per_frame"]["psnr_y"],
                               scores["bicubic"]["clips"][clip]["per_frame"]["psnr_y"])  # fmt: skip
        assert list(gain.get_ydata()) == pytest.approx(expected, abs=1e-9) and max(expected) < 0  # raw is worse
    # Without bicubic: one row. A name that is no PNG: a one-line error before any work.
    assert len(per_frame_figure(evaluate({"raw": models["raw"]}, open_dataset(data, scale=4), progress=False),
                                "t").axes) == 2  # fmt: skip
    assert main(["evaluate", "--data", str(data), "--quiet", "--plot", str(tmp_path / "frames.pdf")]) == 2
    assert "--plot writes a PNG" in capsys.readouterr().err
