"""``train.ema``: a moving average of the weights, updated after every optimiser step,
scored by validation beside the raw weights, the better of the two kept in ``best.pt``
and shipped by ``vidsr export`` and ``--weights run/best.pt``, resumed exactly after a kill."""

from __future__ import annotations

import json
import math
import signal
from pathlib import Path

import pytest
import torch
from test_training_helpers import TINY, make_clips, run_vidsr, tiny_overrides

from vidsr.errors import VidsrError
from vidsr.models.weights import load_weights, read_safetensors
from vidsr.training.checkpoint import KILL_AT, load_checkpoint
from vidsr.training.config import load_config
from vidsr.training.distributed import DistContext
from vidsr.training.export import export_run
from vidsr.training.logbook import read_metrics
from vidsr.training.precision import make_precision
from vidsr.training.trainer import Trainer, build_model, train
from vidsr.training.validation import validate

DECAY = 0.5  # large steps between averages: a wiring fault shows at once


@pytest.fixture(scope="module")
def clips_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clips(tmp_path_factory.mktemp("ema") / "data")


@pytest.fixture(scope="module")
def ema_run(clips_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Trainer, list]:
    """Six steps with ``train.ema=0.5``, recording the weights each update averages in."""
    run_dir = tmp_path_factory.mktemp("ema_run")
    config = load_config(None, tiny_overrides(clips_dir, run_dir, steps=6, **{"train.ema": DECAY}))
    trainer = Trainer(config, DistContext(), run_dir, None, quiet=True)
    seen: list[dict[str, torch.Tensor]] = []
    update = trainer.ema.update_parameters

    def recording(model: torch.nn.Module) -> None:
        seen.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        update(model)

    trainer.ema.update_parameters = recording
    trainer.run()
    return run_dir, trainer, seen


def test_the_average_follows_every_step(ema_run: tuple[Path, Trainer, list]) -> None:
    run_dir, _, seen = ema_run
    checkpoint = load_checkpoint(run_dir / "last.pt")
    assert len(seen) == 6 and checkpoint["ema_updates"] == 6
    expected = seen[0]  # the first update copies the weights
    for weights in seen[1:]:
        expected = {k: DECAY * expected[k] + (1 - DECAY) * weights[k] for k in expected}
    for key, value in expected.items():
        torch.testing.assert_close(checkpoint["ema"][key], value)
        assert torch.equal(checkpoint["model"][key], seen[-1][key])  # raw weights kept to resume
    assert not torch.equal(checkpoint["ema"]["body.weight"], checkpoint["model"]["body.weight"])


def test_validation_scores_both_and_best_pt_ships_the_better(ema_run: tuple[Path, Trainer, list]) -> None:
    run_dir, trainer, _ = ema_run
    rows = [r for r in read_metrics(run_dir / "metrics.jsonl") if r["kind"] == "val"]
    assert [r["step"] for r in rows] == [3, 6]
    assert all(r["ema"] and math.isfinite(r["raw"]["psnr_y"]) for r in rows)
    assert any(r["psnr_y"] != r["raw"]["psnr_y"] for r in rows)
    for row in rows:
        assert row["better"] == ("raw" if row["raw"]["psnr_y"] > row["psnr_y"] else "ema")
    best = load_checkpoint(run_dir / "best.pt")
    shipped = best["best"].get("weights")
    assert shipped in ("ema", "raw") and ("ema" in best) == (shipped == "ema")
    model = load_weights(build_model(TINY, 4), run_dir / "best.pt")  # what --weights run/best.pt loads
    assert torch.equal(model.body.weight, best["ema" if shipped == "ema" else "model"]["body.weight"])
    scores = validate(model, trainer.val_clips, make_precision("fp32", torch.device("cpu")), chunk=3)
    assert scores["psnr_y"] == pytest.approx(best["best"]["psnr_y"], abs=1e-9)


def test_best_pt_ships_the_raw_weights_where_they_validate_better(
    clips_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vidsr.training.trainer as trainer_module

    config = load_config(None, tiny_overrides(clips_dir, tmp_path, steps=3, **{"train.ema": DECAY}))
    trainer = Trainer(config, DistContext(), tmp_path, None, quiet=True)
    real_validate = trainer_module.validate

    def raw_wins(model, *args, **kwargs):  # the raw weights score 1 dB more than the average
        scores = real_validate(model, *args, **kwargs)
        return {**scores, "psnr_y": scores["psnr_y"] + (1.0 if model is trainer.model else 0.0)}

    monkeypatch.setattr(trainer_module, "validate", raw_wins)
    trainer.run()
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["best"]["weights"] == "raw" and "ema" not in best
    assert "ema" in load_checkpoint(tmp_path / "last.pt")  # resuming keeps the average
    card = export_run(tmp_path, tmp_path / "w.safetensors", "best")
    weights, _ = read_safetensors(tmp_path / "w.safetensors")
    assert all(torch.equal(weights[k], best["model"][k]) for k in weights)
    assert card["optimisation"]["ema"] is None and card["validation"]["psnr_y"] == pytest.approx(
        best["best"]["psnr_y"], abs=1e-4)
    (row,) = [r for r in read_metrics(tmp_path / "metrics.jsonl") if r["kind"] == "val"]
    assert row["better"] == "raw" and row["raw"]["psnr_y"] > row["psnr_y"]


def test_export_ships_the_average_and_says_so(ema_run: tuple[Path, Trainer, list], tmp_path: Path) -> None:
    run_dir, _, _ = ema_run
    card = export_run(run_dir, tmp_path / "tiny.safetensors", "last")
    weights, _ = read_safetensors(tmp_path / "tiny.safetensors")
    ema = load_checkpoint(run_dir / "last.pt")["ema"]
    assert all(torch.equal(weights[k], ema[k]) for k in weights)
    assert card["optimisation"]["ema"] == DECAY
    assert json.loads((tmp_path / "tiny.json").read_text())["optimisation"]["ema"] == DECAY
    assert f"weights averaged (EMA {DECAY})" in (tmp_path / "tiny.md").read_text()


def test_a_run_without_ema_keeps_no_average(clips_dir: Path, tmp_path: Path) -> None:
    train(load_config(None, tiny_overrides(clips_dir, tmp_path, steps=3)), quiet=True)
    checkpoint = load_checkpoint(tmp_path / "last.pt")
    assert "ema" not in checkpoint
    rows = [r for r in read_metrics(tmp_path / "metrics.jsonl") if r["kind"] == "val"]
    assert rows and not any("raw" in r for r in rows)
    assert export_run(tmp_path, tmp_path / "w.safetensors")["optimisation"]["ema"] is None


def test_ema_switched_on_for_a_resumed_run_starts_from_its_weights(clips_dir: Path, tmp_path: Path) -> None:
    train(load_config(None, tiny_overrides(clips_dir, tmp_path, steps=4)), quiet=True)
    with pytest.raises(VidsrError, match="differs from the run's in optim.lr"):
        train(load_config(None, tiny_overrides(clips_dir, tmp_path, steps=4, **{"optim.lr": 0.1})),
              resume=True, quiet=True)
    before = load_checkpoint(tmp_path / "last.pt")["model"]
    config = load_config(None, tiny_overrides(clips_dir, tmp_path, steps=8, **{"train.ema": 0.9}))
    trainer = Trainer(config, DistContext(), tmp_path, load_checkpoint(tmp_path / "last.pt"), quiet=True)
    assert all(torch.equal(v, before[k]) for k, v in trainer.ema.module.state_dict().items())
    trainer.run()
    assert load_checkpoint(tmp_path / "last.pt")["ema_updates"] > 0


@pytest.mark.slow
def test_killed_and_resumed_run_has_the_same_average(clips_dir: Path, tmp_path: Path) -> None:
    def args(run_dir: Path) -> list[str]:
        return ["train", *tiny_overrides(clips_dir, run_dir, steps=8, **{"train.ema": 0.9}), "--quiet"]

    straight = run_vidsr(args(tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr
    killed = run_vidsr(args(tmp_path / "killed"), env={KILL_AT: "step:6"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert load_checkpoint(tmp_path / "killed" / "last.pt")["step"] == 4
    resumed = run_vidsr(["train", "--resume", "--run-dir", str(tmp_path / "killed"), "--quiet"])
    assert resumed.returncode == 0, resumed.stderr
    a, b = (load_checkpoint(tmp_path / name / "last.pt") for name in ("straight", "killed"))
    assert a["ema_updates"] == b["ema_updates"] == 8
    for key, value in a["ema"].items():
        assert torch.equal(value, b["ema"][key]), f"EMA {key} differs after resume"
