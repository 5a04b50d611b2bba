"""The weights shipped in the package: small, loadable, carded, and better than bicubic on Vid4."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import torch

from vidsr.models import create, model_names, registry

SHIPPED = sorted(registry.WEIGHTS_DIR.glob("*.safetensors"))
NAME = re.compile(r"^(?P<model>[a-z_0-9]+)_x(?P<scale>\d)_(?P<degradation>bi|bd|real)$")
CARD_FIELDS = ("model", "scale", "degradation", "parameters", "sha256", "step", "samples_seen",
               "training_time", "data", "optimisation", "hardware", "command", "validation")


def _parts(path: Path) -> tuple[str, int, str]:
    match = NAME.match(path.stem)
    assert match, f"{path.name} does not follow <model>_x<scale>_<bi|bd|real>.safetensors"
    return match["model"], int(match["scale"]), match["degradation"]


def test_weights_are_shipped() -> None:
    assert SHIPPED, f"no weights in {registry.WEIGHTS_DIR}"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_weights_are_small_carded_and_load(path: Path) -> None:
    model, scale, degradation = _parts(path)
    assert model in model_names()
    assert path.stat().st_size < 2 * 1024 * 1024, f"{path.name} is over 2 MB"
    card = json.loads(path.with_suffix(".json").read_text())
    for field in CARD_FIELDS:
        assert card.get(field) is not None, f"{path.with_suffix('.json').name} lacks {field}"
    assert (card["model"], card["scale"], card["degradation"]) == (model, scale, degradation)
    assert card["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), "card of other weights"
    assert path.with_suffix(".md").read_text().startswith(f"# {model} x{scale} {degradation.upper()}")
    net = create(model, scale, degradation=degradation, pretrained=True)
    assert sum(p.numel() for p in net.parameters()) == card["parameters"]
    assert all(torch.isfinite(p).all() for p in net.parameters())


def test_pretrained_without_shipped_weights_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(Exception, match="no shipped weights"):
        create("delta", 4, degradation="bd", pretrained=True)


@pytest.mark.parametrize(("scale", "degradation"), [(4, "bi"), (4, "bd"), (2, "bi")])
def test_shipped_weights_beat_bicubic_on_every_vid4_clip(shared_data: Path, scale: int, degradation: str) -> None:
    """A quick guard (first frames of each clip); the full figures come from benchmarks/results.py."""
    from vidsr.data.datasets import open_dataset
    from vidsr.evaluation import evaluate

    shipped = [_parts(p)[0] for p in SHIPPED if _parts(p)[1:] == (scale, degradation)]
    if not shipped:
        pytest.skip(f"no shipped x{scale} {degradation.upper()} weights")
    models = {"bicubic": create("bicubic", scale)}
    models.update({name: create(name, scale, degradation=degradation, pretrained=True) for name in shipped})
    dataset = open_dataset(shared_data / "vid4" / "GT", None, scale=scale, degradation=degradation)
    result = evaluate(models, dataset, progress=False, max_frames=3)
    baseline = result.models["bicubic"].clips
    assert set(baseline) == {"calendar", "city", "foliage", "walk"}
    for name in shipped:
        for clip, scores in result.models[name].clips.items():
            gain = scores.metrics["psnr_y"] - baseline[clip].metrics["psnr_y"]
            assert gain > 0, f"{name} x{scale} {degradation.upper()} is {gain:.2f} dB below bicubic on {clip}"
