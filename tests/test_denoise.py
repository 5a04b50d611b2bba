"""Denoise strength (issue 15): weights between a model's BI and real weights, in the Python
API (``create(..., denoise=S)``), model specs (``delta@0.5``) and ``--denoise`` on the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from vidsr.cli.main import main
from vidsr.errors import VidsrError
from vidsr.models import create, denoise_weights, pretrained_path
from vidsr.models.denoise import blend_states, check_strength
from vidsr.models.registry import shipped_weights, spec_weights
from vidsr.video.synthetic import pattern_frames, write_video

pytestmark = pytest.mark.usefixtures("tiny_tensors")

needs_real = pytest.mark.skipif((4, "real") not in shipped_weights("delta"), reason="no delta x4 real weights ship")


@pytest.fixture(autouse=True)
def weights_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "weights-cache"
    monkeypatch.setenv("VIDSR_WEIGHTS_CACHE", str(cache))
    return cache


def test_blend_is_the_straight_line_between_the_two_weights() -> None:
    half_float = torch.bfloat16
    clean = {"w": torch.tensor([0.0, 2.0, -4.0]), "n": torch.tensor([3]), "h": torch.tensor([1.0], dtype=half_float)}
    real = {"w": torch.tensor([1.0, 0.0, 4.0]), "n": torch.tensor([3]), "h": torch.tensor([3.0], dtype=half_float)}
    assert torch.equal(blend_states(clean, real, 0.0)["w"], clean["w"])
    assert torch.equal(blend_states(clean, real, 1.0)["w"], real["w"])
    half = blend_states(clean, real, 0.25)
    assert torch.allclose(half["w"], torch.tensor([0.25, 1.5, -2.0]))
    assert half["h"].dtype == torch.bfloat16 and half["h"].item() == 1.5
    assert torch.equal(half["n"], clean["n"])  # integer buffers are not blended
    with pytest.raises(VidsrError, match="same tensors"):
        blend_states(clean, {"w": real["w"]}, 0.5)


@pytest.mark.parametrize("bad", [-0.1, 1.01, float("nan"), "strong"])
def test_strength_outside_zero_to_one_is_an_error(bad) -> None:
    with pytest.raises(VidsrError, match="denoise strength"):
        check_strength(bad)
    assert check_strength(0.333) == 0.33


@needs_real
def test_ends_are_the_shipped_files_and_mid_strengths_are_blended_once(weights_cache: Path) -> None:
    assert denoise_weights("delta", 4, 0) == pretrained_path("delta", 4, "bi")
    assert denoise_weights("delta", 4, 1) == pretrained_path("delta", 4, "real")
    path = denoise_weights("delta", 4, 0.5)
    assert path.parent == weights_cache and "denoise0.50" in path.name
    ends = (pretrained_path("delta", 4, "bi"), pretrained_path("delta", 4, "real"))
    bi, real, mid = (load_file(str(p)) for p in (*ends, path))
    for key in bi:
        assert torch.allclose(mid[key], (bi[key] + real[key]) / 2, atol=1e-6), key
    written = path.stat().st_mtime_ns
    assert denoise_weights("delta", 4, 0.5) == path and path.stat().st_mtime_ns == written  # cached
    assert [p.name for p in weights_cache.iterdir()] == [path.name]  # no partial files left


@needs_real
def test_create_with_denoise_runs_between_the_bi_and_real_models() -> None:
    torch.manual_seed(0)
    lr = torch.rand(1, 3, 3, 12, 16)
    with torch.inference_mode():
        out = {s: create("delta", denoise=s)(lr) for s in (0.0, 0.5, 1.0)}
        bi = create("delta")(lr)
    assert torch.equal(out[0.0], bi)
    assert not torch.equal(out[0.5], out[0.0]) and not torch.equal(out[0.5], out[1.0])
    with pytest.raises(VidsrError, match="not both"):
        create("delta", denoise=0.5, weights=pretrained_path("delta"))


def test_a_model_without_real_weights_says_what_ships() -> None:
    with pytest.raises(VidsrError, match=r"five_parallel has no shipped (BI or )?REAL weights for x4 \(shipped: x4 BI"):
        create("five_parallel", denoise=0.5)
    with pytest.raises(VidsrError, match="bicubic has no shipped BI or REAL"):
        denoise_weights("bicubic", 4, 0.5)


@needs_real
def test_specs_name_a_strength() -> None:
    name, degradation, weights = spec_weights("delta@0.5", "bi", 4)
    assert (name, degradation) == ("delta", "real") and weights == denoise_weights("delta", 4, 0.5)
    assert spec_weights("delta:real", "bi", 4) == ("delta", "real", None)
    assert spec_weights("delta", "bd", 4) == ("delta", "bd", None)
    with pytest.raises(VidsrError, match="drop the ':'"):
        spec_weights("delta:bd@0.5", "bi", 4)
    with pytest.raises(VidsrError, match="denoise strength"):
        spec_weights("delta@2", "bi", 4)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("in") / "clip.mp4", pattern_frames(6, 24, 32))


@needs_real
def test_upscale_and_compare_take_denoise(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out.mp4"
    assert main(["upscale", str(clip), str(out), "--denoise", "0.5", "--backend", "torch", "-q"]) == 0
    assert out.is_file()
    assert main(["compare", str(clip), str(tmp_path / "cmp"), "--models", "bicubic,delta", "--denoise", "0.25",
                 "--gt", str(tmp_path / "cmp-gt-missing"), "-q"]) == 2  # a missing GT is still an error
    assert "ground truth not found" in capsys.readouterr().err
    assert main(["compare", str(clip), str(tmp_path / "cmp"), "--models", "bicubic,delta,delta:real",
                 "--denoise", "0.25", "--backend", "torch", "-q"]) == 0
    assert len(list((tmp_path / "cmp").iterdir())) == 6


@pytest.mark.parametrize(("extra", "expected"), [
    (["--denoise", "0.5", "--weights", "x.safetensors"], "leave out --weights"),
    (["--denoise", "0.5", "--degradation", "bd"], "leave out --degradation"),
    (["--denoise", "1.5"], "denoise strength must be from 0"),
    (["--denoise", "0.5", "--model", "five_parallel"], "five_parallel has no shipped"),
])
def test_upscale_denoise_errors_are_one_line(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                             extra: list[str], expected: str) -> None:
    code = main(["upscale", str(clip), str(tmp_path / "o.mp4"), *extra, "-q"])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("vidsr: error:")]
    assert code == 2 and len(errors) == 1 and expected in errors[0], err
    assert not (tmp_path / "o.mp4").exists()


@needs_real
def test_evaluate_scores_a_strength_beside_the_ends(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import argparse
    import json

    from vidsr.cli.evaluate import build_models
    from vidsr.data.frames import write_frame

    for index, frame in enumerate(pattern_frames(4, 48, 64)):
        write_frame(tmp_path / "gt" / "clip" / f"{index:03d}.png", frame)
    assert main(["evaluate", "--data", str(tmp_path / "gt"), "--models", "delta,delta@0.5,delta:real",
                 "--json", str(tmp_path / "scores.json"), "--quiet"]) == 0
    models = json.loads((tmp_path / "scores.json").read_text())["models"]
    psnr = {name: models[name]["average"]["psnr_y"] for name in ("delta", "delta@0.5", "delta:real")}
    assert len(set(psnr.values())) == 3, psnr  # three different models
    args = argparse.Namespace(weights="delta@0.5=x.safetensors", degradation="bi", scale=4, pretrained=True)
    with pytest.raises(VidsrError, match="leave it out of --weights"):
        build_models(args, ["delta@0.5"])
