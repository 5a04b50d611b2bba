"""`vidsr evaluate --outputs NAME=DIR`: frames made elsewhere, scored beside the models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_evaluate import make_dataset

from vidsr.cli.main import main
from vidsr.data.datasets import open_dataset
from vidsr.data.frames import to_tensor, to_uint8, write_frame
from vidsr.errors import VidsrError
from vidsr.evaluation import evaluate
from vidsr.models import create


def write_outputs(root: Path, data: Path, model: str, pad: int = 0) -> Path:
    """``model``'s outputs of every clip of ``data`` as PNG frames under ``root/<clip>/``
    (``pad`` extra rows and columns at the bottom right, as from uncropped LR)."""
    for clip in open_dataset(data, scale=4):
        sr = to_uint8(create(model, 4)(to_tensor(clip.lr)[None])[0])
        for index, frame in enumerate(sr):
            frame = np.pad(frame, ((0, pad), (0, pad), (0, 0)), mode="edge")
            write_frame(root / clip.name / f"out_{index:04d}.png", frame)
    return root


def test_outputs_score_as_the_model_that_made_them(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", {"a": 3, "b": 2})
    outputs = write_outputs(tmp_path / "made_elsewhere", data, "bicubic", pad=3)  # cut back to the GT
    result = evaluate({"bicubic": create("bicubic", 4)}, open_dataset(data, scale=4), progress=False,
                      outputs={"theirs": outputs})  # fmt: skip
    ours, theirs = result.models["bicubic"], result.models["theirs"]
    assert theirs.params is None
    for name in ("a", "b"):
        assert theirs.clips[name].metrics == ours.clips[name].metrics
        assert theirs.clips[name].tc == ours.clips[name].tc
    sliced = evaluate({}, open_dataset(data, scale=4), progress=False, outputs={"theirs": outputs}, max_frames=1)
    assert sliced.models["theirs"].frames == 2


def test_wrong_outputs_are_one_line_errors(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", {"a": 3, "b": 2})
    dataset = open_dataset(data, scale=4)
    outputs = write_outputs(tmp_path / "out", data, "raw")
    (outputs / "b" / "out_0001.png").unlink()
    with pytest.raises(VidsrError, match="has 1 frames, clip b has 2"):
        evaluate({}, dataset, progress=False, outputs={"x": outputs})
    with pytest.raises(VidsrError, match="no frames for clip"):
        evaluate({}, dataset, progress=False, outputs={"x": outputs / "a"})
    big = tmp_path / "big"
    for clip in ("a", "b"):
        for index in range(3 if clip == "a" else 2):
            write_frame(big / clip / f"{index}.png", np.zeros((80, 80, 3), np.uint8))
    with pytest.raises(VidsrError, match="x output 80x80 does not match GT 64x64"):
        evaluate({}, dataset, progress=False, outputs={"x": big})
    with pytest.raises(VidsrError, match="named both as a model and as outputs"):
        evaluate({"raw": create("raw", 4)}, dataset, progress=False, outputs={"raw": outputs})


def test_cli_outputs_rows_in_tables_and_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = make_dataset(tmp_path / "data", {"clip": 2})
    outputs = write_outputs(tmp_path / "out", data, "bicubic")
    one_clip = outputs / "clip"  # a one-clip --data: the frames themselves
    argv = ["evaluate", "--data", str(data / "clip"), "--models", "raw", "--outputs", f"elsewhere={one_clip}",
            "--json", str(tmp_path / "r.json"), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| elsewhere | - |" in printed
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["models"]["elsewhere"]["params"] is None
    assert document["models"]["elsewhere"]["average"]["psnr_y"] > document["models"]["raw"]["average"]["psnr_y"]
    for bad, says in [(["--outputs", "raw=" + str(outputs)], "already a row"),
                      (["--outputs", "nameonly"], "use NAME=DIR"),
                      (["--outputs", f"x={tmp_path / 'missing'}"], "no folder")]:  # fmt: skip
        assert main(["evaluate", "--data", str(data), "--models", "raw", "--quiet", *bad]) == 2
        assert says in capsys.readouterr().err
