"""`vidsr export RUN_DIR OUT.safetensors`: weights without pickle, and a model card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from test_training_helpers import TINY, make_clips, tiny_overrides

from vidsr.cli.main import main
from vidsr.models.weights import load_weights
from vidsr.training.checkpoint import load_checkpoint
from vidsr.training.config import load_config
from vidsr.training.trainer import build_model, train


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export")
    data = make_clips(root / "data", clips=3, frames=5, size=64)
    run = root / "run"
    train(load_config(None, tiny_overrides(data, run, steps=4, **{
        "data.degradation": "bd", "train.val_interval": 2, "train.checkpoint_interval": 2})),
        quiet=True)
    return run


def test_export_writes_weights_and_cards(run_dir: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "tiny_x4_bd.safetensors"
    assert main(["export", str(run_dir), str(out)]) == 0
    assert "tiny_x4_bd.safetensors" in capsys.readouterr().out
    best = load_checkpoint(run_dir / "best.pt")
    model = load_weights(build_model(TINY, 4), out)  # safetensors: no pickle involved
    for key, value in model.state_dict().items():
        assert torch.equal(value, best["model"][key])
    with safe_open(str(out), "pt") as weights:
        meta = weights.metadata()
    assert meta["model"] == TINY and meta["scale"] == "4" and meta["degradation"] == "bd"
    assert meta["lr_grid"] == "corner" and model.lr_grid == "corner"  # BD: every 4th pixel

    card = json.loads(out.with_suffix(".json").read_text())
    assert card["model"] == TINY and card["scale"] == 4 and card["degradation"] == "bd"
    assert card["sigma"] == 1.6 and card["checkpoint"] == "best.pt"
    assert card["step"] == best["step"] and card["steps_planned"] == 4
    assert card["parameters"] == sum(p.numel() for p in model.parameters())
    assert card["validation"]["psnr_y"] == pytest.approx(best["best"]["psnr_y"], abs=1e-4)
    assert card["data"]["train_clips"] == ["clip0", "clip2"]
    assert card["data"]["val_clips"] == ["clip1"]
    for field in ("hardware", "command", "training_time", "git_commit", "sha256", "samples_seen"):
        assert field in card
    markdown = out.with_suffix(".md").read_text()
    assert markdown.startswith(f"# {TINY} x4 BD") and "PSNR-Y" in markdown


def test_export_last_checkpoint_and_errors(run_dir: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "last.safetensors"
    assert main(["export", str(run_dir), str(out), "--checkpoint", "last"]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["step"] == 4
    assert main(["export", str(run_dir), str(tmp_path / "w.pt")]) == 2
    assert ".safetensors" in capsys.readouterr().err
    (tmp_path / "fresh").mkdir()
    assert main(["export", str(tmp_path / "fresh"), str(out)]) == 2
    assert "no best.pt or last.pt" in capsys.readouterr().err
    env = (run_dir / "env.json").read_bytes()
    cases = [(run_dir / "env.safetensors", "over the run's own env.json"),
             (tmp_path / "folder.safetensors", "is a folder"),
             (tmp_path / "afile" / "w.safetensors", "a file stands where its folder should be")]  # fmt: skip
    for target, says in cases:
        (tmp_path / "folder.safetensors").mkdir(exist_ok=True)
        (tmp_path / "afile").write_text("x")
        assert main(["export", str(run_dir), str(target)]) == 2
        err = capsys.readouterr().err
        assert says in err and err.count("\n") == 1
    assert (run_dir / "env.json").read_bytes() == env


def test_an_unreadable_env_json_gives_a_card_without_hardware(run_dir: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "env.json").write_text("{not json")
    assert main(["export", str(copy), str(tmp_path / "w.safetensors")]) == 0
    assert "env.json is unreadable" in capsys.readouterr().err
    card = json.loads((tmp_path / "w.json").read_text())
    assert card["hardware"] is None and card["command"] is None


def test_card_of_a_run_started_from_another_lists_the_earlier_run(run_dir: Path, tmp_path: Path) -> None:
    data = run_dir.parent / "data"
    second = tmp_path / "second"
    train(load_config(None, tiny_overrides(data, second, steps=2, **{
        "data.degradation": "bd", "model.init_weights": str(run_dir / "best.pt")})), quiet=True)
    out = tmp_path / "second.safetensors"
    assert main(["export", str(second), str(out)]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    first = load_checkpoint(run_dir / "best.pt")
    [stage] = card["initialised_from"]
    assert stage["weights"] == str(run_dir / "best.pt") and stage["step"] == first["step"]
    assert stage["samples_seen"] == first["samples"] and stage["degradation"] == "bd"
    assert card["total_training_time_s"] == pytest.approx(
        card["training_time_s"] + stage["training_time_s"], abs=0.2)
    markdown = out.with_suffix(".md").read_text()
    assert "earlier runs" in markdown and str(run_dir / "best.pt") in markdown


def test_card_of_a_run_from_scratch_has_no_earlier_runs(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "w.safetensors"
    assert main(["export", str(run_dir), str(out)]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["initialised_from"] == [] and card["total_training_time_s"] == card["training_time_s"]
    assert "earlier runs" not in out.with_suffix(".md").read_text()


def test_a_run_exported_over_the_weights_it_started_from_keeps_their_lineage(
        run_dir: Path, tmp_path: Path) -> None:
    shipped = tmp_path / "shipped.safetensors"
    assert main(["export", str(run_dir), str(shipped)]) == 0
    original = json.loads(shipped.with_suffix(".json").read_text())
    second = tmp_path / "second"
    train(load_config(None, tiny_overrides(run_dir.parent / "data", second, steps=2, **{
        "data.degradation": "bd", "model.init_weights": str(shipped)})), quiet=True)
    for _ in range(2):  # each export overwrites the file the run started from
        assert main(["export", str(second), str(shipped), "--checkpoint", "last"]) == 0
    card = json.loads(shipped.with_suffix(".json").read_text())
    [stage] = card["initialised_from"]  # the weights as they were when the run started, not itself
    assert stage["weights"] == str(shipped) and stage["sha256"] == original["sha256"] != card["sha256"]
    assert stage["step"] == original["step"] and stage["command"] == original["command"]
    assert f"(sha256 `{original['sha256'][:16]}...`)" in shipped.with_suffix(".md").read_text()
