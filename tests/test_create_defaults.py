"""`create` gives shipped weights by default (in eval mode), warns when there are none, and
callers that need an untrained network ask for one (issue 17)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

from vidsr.errors import VidsrError
from vidsr.models import create, load_weights, registry, save_weights
from vidsr.models.registry import pretrained_path

pytestmark = pytest.mark.usefixtures("tiny_tensors")


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_shipped_weights_are_the_default_and_the_model_is_in_eval_mode() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = create("fsrcnn", scale=4)
    reference = load_weights(create("fsrcnn", 4, pretrained=False), pretrained_path("fsrcnn", 4, "bi"))
    assert same_weights(model, reference)
    assert not model.training


def test_the_degradation_picks_its_shipped_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    saved = {}
    for seed, degradation in enumerate(("bi", "bd")):
        torch.manual_seed(seed)
        saved[degradation] = create("fsrcnn", 4, degradation=degradation, pretrained=False)
        save_weights(saved[degradation], tmp_path / f"fsrcnn_x4_{degradation}.safetensors")
    bd = create("fsrcnn", 4, degradation="bd")
    assert same_weights(bd, saved["bd"]) and not same_weights(bd, saved["bi"])
    assert bd.lr_grid == "corner" and not bd.training


def test_given_weights_are_loaded_and_the_model_is_in_eval_mode(tmp_path: Path) -> None:
    torch.manual_seed(3)
    mine = create("fsrcnn", 4, pretrained=False)
    path = save_weights(mine, tmp_path / "mine.safetensors")
    loaded = create("fsrcnn", 4, weights=path)
    assert same_weights(loaded, mine) and not loaded.training


def test_no_shipped_weights_for_the_scale_warns_naming_what_exists() -> None:
    with pytest.warns(UserWarning, match=r"five_parallel has no shipped weights for x2 BI.*x4 BI, x4 BD"):
        model = create("five_parallel", scale=2)
    assert model.training  # untrained: left as torch builds it
    assert not create("delta", scale=2).training  # x2 ships for delta: loaded, in eval mode


def test_model_without_any_shipped_weights_warns_with_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)  # every model with parameters ships some now
    with pytest.warns(UserWarning, match=r"two_step_five_parallel has no shipped weights for x4 BI \(shipped: none\)"):
        create("two_step_five_parallel", 4)


def test_untrained_on_request_is_silent_and_seeded() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch.manual_seed(0)
        first = create("delta", 2, pretrained=False)
        torch.manual_seed(0)
        again = create("delta", 4, pretrained=False)
        torch.manual_seed(0)
        shipped_shape = create("delta", 4, pretrained=False)
        create("bicubic", 2)  # no parameters: nothing to warn about
    assert first.training and same_weights(again, shipped_shape)
    assert not same_weights(create("fsrcnn", 4, pretrained=False), create("fsrcnn", 4))


def test_pretrained_true_without_shipped_weights_is_an_error_naming_what_exists() -> None:
    with pytest.raises(VidsrError, match=r"fsrcnn has no shipped weights for x4 BD \(shipped: x4 BI\)"):
        create("fsrcnn", 4, degradation="bd", pretrained=True)


def test_shipped_weights_lists_scale_and_degradation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert registry.shipped_weights("delta") == [(2, "bi"), (2, "real"), (4, "bi"), (4, "bd"), (4, "real")]
    assert registry.shipped_weights("fsrcnn") == [(4, "bi")]
    assert registry.shipped_weights("flow") == [(2, "bi"), (4, "bi"), (4, "bd")]
    assert registry.shipped_weights("two_step") == [(4, "bi")]
    assert registry.shipped_weights("two_step_five_parallel") == [(4, "bi")]
    assert registry.shipped_weights("bicubic") == []
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    for stem in ("delta_x2_bd", "delta_x4_bi", "delta_x2_bi", "delta_flow_x4_bi", "delta_x4_zz"):
        (tmp_path / f"{stem}.safetensors").write_bytes(b"")
    assert registry.shipped_weights("delta") == [(2, "bi"), (2, "bd"), (4, "bi")]
    with pytest.raises(VidsrError, match="unknown model"):
        registry.shipped_weights("nosuch")


def test_trainer_builds_an_untrained_model_silently() -> None:
    from vidsr.training.trainer import build_model

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch.manual_seed(0)
        model = build_model("delta", 4)
        build_model("delta", 2, degradation="bd")
    torch.manual_seed(0)
    assert same_weights(model, create("delta", 4, pretrained=False))
    assert model.training


def test_model_facts_build_untrained_models_silently() -> None:
    from vidsr.models.facts import summarize

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert summarize("delta", 2).params > 0
        assert summarize("two_step", 4).params > 0


def test_video_load_model_warns_once_through_its_own_channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vidsr.video.inference import load_model

    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model("fsrcnn", 4, on_warning=notes.append)
    assert len(notes) == 1 and "untrained" in notes[0]
