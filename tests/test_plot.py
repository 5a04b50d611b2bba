"""`vidsr plot RUN_DIR` draws loss, learning rate and validation PSNR to a PNG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidsr.cli.main import main
from vidsr.errors import VidsrError
from vidsr.training.plot import plot_run, smooth


def _write_run(run_dir: Path, val: bool = True) -> None:
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("name: demo\n")
    rows = [{"kind": "train", "step": s, "loss": 0.1 / s + 0.01, "lr": 1e-3 * (1 - s / 200),
             "samples_per_s": 10.0, "elapsed_s": s} for s in range(10, 201, 10)]
    if val:
        rows += [{"kind": "val", "step": s, "psnr_y": 25 + s / 100, "ssim_y": 0.8, "clips": {},
                  "best": True} for s in (100, 200)]
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_plot_writes_a_png_with_three_panels(tmp_path: Path) -> None:
    _write_run(tmp_path / "run")
    out = plot_run(tmp_path / "run")
    assert out == tmp_path / "run" / "training.png"
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape[0] > image.shape[1] > 300  # tall: three panels stacked
    assert (image < 250).any(axis=2).mean() > 0.02  # something is drawn


def test_plot_cli_output_option_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _write_run(tmp_path / "run", val=False)
    assert main(["plot", str(tmp_path / "run"), "-o", str(tmp_path / "x" / "p.png")]) == 0
    assert (tmp_path / "x" / "p.png").is_file()
    assert str(tmp_path / "x" / "p.png") in capsys.readouterr().out
    assert main(["plot", str(tmp_path / "missing")]) == 2
    assert "run folder not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    with pytest.raises(VidsrError, match="no metrics log"):
        plot_run(tmp_path / "empty")


def test_smoothing_is_a_bias_corrected_moving_average() -> None:
    assert smooth([2.0, 2.0, 2.0]).tolist() == pytest.approx([2.0, 2.0, 2.0])
    values = smooth([0.0, 10.0], weight=0.5)
    assert values.tolist() == pytest.approx([0.0, 10 * 0.5 / 0.75])
    assert smooth([1.0, 5.0], weight=0.0).tolist() == [1.0, 5.0]
