"""`vidsr upscale` and `vidsr compare` refuse a trained model that has no weights for the
asked scale and degradation, unless --weights is given (issue 17: x2 ran an untrained delta)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidsr.cli.main import main
from vidsr.data.frames import write_frame
from vidsr.models import create, save_weights
from vidsr.video.synthetic import pattern_frame

pytestmark = pytest.mark.usefixtures("tiny_tensors")


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lr") / "clip"
    for index in range(2):
        write_frame(folder / f"{index}.png", pattern_frame(index, 16, 16))
    return folder


def argv(command: str, frames: Path, out: Path, *extra: str) -> list[str]:
    models = ["--models", "bicubic,delta"] if command == "compare" else []
    return [command, str(frames), str(out), *models, "-q", *extra]


@pytest.mark.parametrize("command", ["upscale", "compare"])
def test_a_scale_without_shipped_weights_is_a_one_line_error(command, frames, tmp_path, capsys):
    out = tmp_path / "out"
    model = ["--model", "five_parallel"] if command == "upscale" else ["--models", "bicubic,five_parallel"]
    assert main([*argv(command, frames, out, "--scale", "2"), *model]) == 2
    option = "--model" if command == "upscale" else "--models"
    assert capsys.readouterr().err == (
        "vidsr: error: five_parallel has no shipped weights for x2 BI (shipped: x4 BI, x4 BD); "
        f"use --scale 4, {option} bicubic or --weights FILE\n"
    )
    assert not out.exists()


@pytest.mark.parametrize("command", ["upscale", "compare"])
def test_a_degradation_without_shipped_weights_is_a_one_line_error(command, frames, tmp_path, capsys):
    out = tmp_path / "out"
    model = ["--model", "fsrcnn"] if command == "upscale" else ["--models", "bicubic,fsrcnn"]
    assert main([command, str(frames), str(out), "-q", *model, "--degradation", "bd"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vidsr: error: fsrcnn has no shipped weights for x4 BD (shipped: x4 BI); ")
    assert "use --degradation bi, " in err and err.count("\n") == 1 and not out.exists()


def test_given_weights_or_a_parameter_free_model_run_at_x2(frames, tmp_path, capsys):
    weights = save_weights(create("fsrcnn", 2, pretrained=False), tmp_path / "fsrcnn_x2.safetensors")
    assert main(["upscale", str(frames), str(tmp_path / "a"), "-q", "--scale", "2", "--model", "fsrcnn",
                 "--weights", str(weights)]) == 0
    assert main(["upscale", str(frames), str(tmp_path / "b"), "-q", "--scale", "2", "--model", "bicubic"]) == 0
    assert main(["compare", str(frames), str(tmp_path / "c"), "-q", "--scale", "2", "--models", "raw,fsrcnn",
                 "--weights", f"fsrcnn={weights}"]) == 0
    assert capsys.readouterr().err == ""
