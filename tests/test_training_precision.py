"""Precision modes: fp32 and bf16 train on CPU with finite losses; fp16 works or says why."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from test_training_helpers import TinyVSR, make_clips, tiny_overrides

from vidsr.errors import VidsrError
from vidsr.training import precision as precision_module
from vidsr.training.checkpoint import load_checkpoint
from vidsr.training.config import load_config
from vidsr.training.precision import make_precision, resolve_precision
from vidsr.training.trainer import train

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def clips_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clips(tmp_path_factory.mktemp("clips") / "data", clips=2, frames=5, size=64)


def _run(clips_dir: Path, run_dir: Path, mode: str):
    overrides = tiny_overrides(clips_dir, run_dir, steps=3, **{
        "train.precision": mode, "train.val_interval": 3, "val.max_frames": 2})
    return train(load_config(None, overrides), quiet=True)


@pytest.mark.parametrize("mode", ["fp32", "bf16"])
def test_cpu_modes_train_with_finite_loss(mode: str, clips_dir: Path, tmp_path: Path) -> None:
    result = _run(clips_dir, tmp_path, mode)
    assert result.step == 3 and math.isfinite(result.loss)
    checkpoint = load_checkpoint(tmp_path / "last.pt")
    assert checkpoint["precision"] == mode
    assert all(torch.isfinite(v).all() for v in checkpoint["model"].values())
    assert all(v.dtype == torch.float32 for v in checkpoint["model"].values())  # fp32 masters


def test_fp16_on_cpu_trains_or_fails_clearly(clips_dir: Path, tmp_path: Path) -> None:
    try:
        result = _run(clips_dir, tmp_path, "fp16")
    except VidsrError as error:  # acceptable: a one-line reason
        assert "fp16" in str(error)
    else:
        assert math.isfinite(result.loss)
        assert load_checkpoint(tmp_path / "last.pt")["scaler"]["scale"] > 0  # scaler state saved


@pytest.mark.parametrize("mode, dtype", [("fp32", torch.float32), ("bf16", torch.bfloat16),
                                         ("fp16", torch.float16)])
def test_autocast_runs_convolutions_in_the_chosen_dtype(mode: str, dtype: torch.dtype) -> None:
    model = TinyVSR(4)
    seen: list[torch.dtype] = []
    model.body.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    chosen = make_precision(mode, CPU)
    with chosen.autocast():
        model(torch.rand(1, 2, 3, 8, 8))
    assert set(seen) == {dtype}
    assert chosen.make_scaler().is_enabled() == (mode == "fp16")


def test_auto_precision_follows_the_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: False)
    assert resolve_precision("auto", CPU) == "fp32"  # emulated bf16 is slower than fp32
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: True)
    assert resolve_precision("auto", CPU) == "bf16"
    assert resolve_precision("fp16", CPU) == "fp16"
    with pytest.raises(VidsrError, match="precision"):
        resolve_precision("fp8", CPU)
