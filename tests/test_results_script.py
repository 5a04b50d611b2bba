"""benchmarks/results.py: the README Results section from generated clips (fast, no speed)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from vidsr.data.datasets import open_dataset
from vidsr.data.frames import write_frame
from vidsr.evaluation import EvaluationResult, evaluate, format_number
from vidsr.models import create, registry, save_weights

pytestmark = pytest.mark.usefixtures("tiny_tensors")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "results.py"
CLIPS = {"alpha": 3, "beta": 2}


@pytest.fixture(scope="module")
def results() -> Iterator[ModuleType]:
    """The script, imported by path (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("results_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it runs
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two clips of smooth, slowly moving 48x48 frames (so bicubic beats nearest)."""
    root = tmp_path_factory.mktemp("vid")
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:48, 0:48].astype(np.float64)
    for clip, (name, frames) in enumerate(CLIPS.items()):
        for t in range(frames):
            base = 128 + 90 * np.sin(0.21 * (xx + 2 * t) + clip) * np.cos(0.17 * yy)
            frame = base[..., None] + rng.normal(0, 4, (48, 48, 3))
            write_frame(root / name / f"{t:03d}.png", np.clip(frame, 0, 255).astype(np.uint8))
    return root


def expected(data: Path, degradation: str, max_frames: int | None = None) -> EvaluationResult:
    """What the library gives for raw and bicubic."""
    models = {name: create(name, 4) for name in ("raw", "bicubic")}
    dataset = open_dataset(data, scale=4, degradation=degradation, notify=None)
    return evaluate(models, dataset, progress=False, max_frames=max_frames)


def average_row(result: EvaluationResult, name: str) -> str:
    """The founding-format row the script should print for ``name``."""
    average = result.models[name].average
    cells = [format_number(average[f"{kind}_y"], kind) for kind in ("mse", "ssim", "psnr")]
    cells.append(format_number(average["tc"], "tc"))
    cells += [format_number(average[f"{kind}_rgb"], kind) for kind in ("mse", "ssim", "psnr")]
    return f"| {name} | " + " | ".join(cells) + " |"


def test_markdown_tables_match_the_library(
    results: ModuleType, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "figures.json"
    argv = ["--data", str(data), "--models", "raw,bicubic", "--no-speed", "--quiet", "--json", str(out)]
    assert results.main(argv) == 0
    captured = capsys.readouterr()
    markdown = captured.out
    assert markdown.startswith("## Results\n\nProduced by `python ")
    assert "--models raw,bicubic" in markdown and "torch " in markdown and "CPU" in markdown
    for degradation in ("bi", "bd"):
        result = expected(data, degradation)
        section = markdown.split(f"### Vid4 x4 {degradation.upper()} ")[1].split("### ")[0]
        assert "| | MSE (Y) | SSIM (Y) | PSNR (Y) | TC | MSE (RGB) | SSIM (RGB) | PSNR (RGB) |" in section
        for name in ("raw", "bicubic"):
            assert average_row(result, name) in section
        # Per clip: raw is below bicubic everywhere, so every raw figure is marked.
        raw_clip = result.models["raw"].clips["alpha"].metrics
        bicubic_clip = result.models["bicubic"].clips["beta"].metrics
        assert f"| raw | {raw_clip['psnr_y']:.2f}* / {raw_clip['ssim_y']:.4f}* |" in section
        assert f" {bicubic_clip['psnr_y']:.2f} / {bicubic_clip['ssim_y']:.4f} |" in section
        assert "| | alpha | beta | Average |" in section
        assert "`*`: not above bicubic" in section
        assert "| raw | - | - | - | 0 | 0 | - |" in section
        assert "Published, not measured here" in section
        document = json.loads(out.read_text())["degradations"][degradation]
        assert document["evaluation"] == json.loads(json.dumps(result.to_json()))
    bi = markdown.split("### Vid4 x4 BD ")[0]
    for row in ("Bicubic (published) | 0.6347 | 23.78", "VESPCN (published) | 0.7557 | 25.35",
                "SPMC (published) | 0.7752 | 25.88", "TOFlow (published) | 0.7651 | 25.89"):
        assert row in bi
    assert "Bicubic (published) | 0.5246 | 21.80" in markdown.split("### Vid4 x4 BD ")[1]
    assert "Traceback" not in captured.err


def test_max_frames_markdown_file_and_skipped_models(
    results: ModuleType, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path / "no-weights")
    out = tmp_path / "results.md"
    argv = ["--data", str(data), "--degradations", "bd", "--models", "raw,bicubic,delta",
            "--max-frames", "2", "--no-speed", "--quiet", "--markdown", str(out), "--plots", str(tmp_path / "plots")]
    assert results.main(argv) == 0
    assert capsys.readouterr().out == ""
    # The per-frame plot of each degradation evaluated, of the plotted models among those.
    assert [path.name for path in (tmp_path / "plots").iterdir()] == ["vid4_x4_bd_frames.png"]
    markdown = out.read_text()
    assert "### Vid4 x4 BI" not in markdown
    # No shipped weights here: delta is skipped, never evaluated untrained.
    assert "skipped (never evaluated untrained): BD: delta." in markdown
    assert "| delta |" not in markdown
    assert "A slice, not the full benchmark" in markdown and "4 frames" in markdown
    result = expected(data, "bd", max_frames=2)
    assert result.models["bicubic"].frames == 4
    assert average_row(result, "bicubic") in markdown


def test_speed_column(
    results: ModuleType, data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(results, "measure_fps", lambda model, frames: 12.345)
    argv = ["--data", str(data), "--degradations", "bi", "--models", "raw", "--clips", "beta", "--quiet"]
    assert results.main(argv) == 0
    markdown = capsys.readouterr().out
    assert "| raw | - | - | - | 0 | 0 | 12.3 |" in markdown
    assert "fps: 20 LR frames streamed in chunks of 5" in markdown and "load average" in markdown


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--models", "raw,nosuch"], "unknown model 'nosuch'"),
        (["--degradations", "bx"], "unknown degradation 'bx'"),
        (["--clips", "gamma"], "no clip gamma"),
        (["--max-frames", "0"], "--max-frames must be >= 1"),
        (["--scale", "2", "--degradations", "bi,bd"], "BD (sigma 1.6) is benchmarked at x4 only"),
    ],
)
def test_errors_are_one_line(
    results: ModuleType, data: Path, capsys: pytest.CaptureFixture, extra: list[str], message: str
) -> None:
    assert results.main(["--data", str(data), "--models", "raw", "--no-speed", "--quiet", *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("results: error: ") and message in captured.err
    assert captured.err.count("\n") == 1


def ship_fsrcnn(folder: Path, monkeypatch: pytest.MonkeyPatch, card: dict) -> None:
    """Untrained fsrcnn x4 BI weights with ``card`` as their model card, shipped from ``folder``."""
    monkeypatch.setattr(registry, "WEIGHTS_DIR", folder)
    save_weights(create("fsrcnn", 4, pretrained=False), folder / "fsrcnn_x4_bi.safetensors")
    (folder / "fsrcnn_x4_bi.json").write_text(json.dumps(card))


def test_cards_get_the_vid4_section_once(
    results: ModuleType, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    ship_fsrcnn(tmp_path, monkeypatch, {"model": "fsrcnn", "step": 7})
    (tmp_path / "fsrcnn_x4_bi.md").write_text("# fsrcnn x4 BI\n\nTrained for a test.\n")
    argv = ["--data", str(data), "--degradations", "bi", "--models", "bicubic,fsrcnn",
            "--no-speed", "--quiet", "--cards"]
    for _ in range(2):  # the second run replaces the section
        assert results.main(argv) == 0
    assert "model card updated" in capsys.readouterr().err
    card = json.loads((tmp_path / "fsrcnn_x4_bi.json").read_text())
    scores = card["vid4_x4_bi"]
    assert card["step"] == 7 and scores["degradation"] == "bi" and set(scores["clips"]) == set(CLIPS)
    models = {name: create(name, 4, weights=tmp_path / "fsrcnn_x4_bi.safetensors") if name == "fsrcnn"
              else create(name, 4) for name in ("bicubic", "fsrcnn")}
    library = evaluate(models, open_dataset(data, scale=4, degradation="bi", notify=None), progress=False)
    assert scores["average"]["psnr_y"] == pytest.approx(library.models["fsrcnn"].average["psnr_y"])
    assert scores["bicubic"]["psnr_y"] == pytest.approx(library.models["bicubic"].average["psnr_y"])
    markdown = (tmp_path / "fsrcnn_x4_bi.md").read_text()
    assert markdown.startswith("# fsrcnn x4 BI\n\nTrained for a test.\n")
    assert markdown.count("## Vid4 x4 BI") == 1 and "| **average** |" in markdown
    assert results.main([*argv, "--max-frames", "1"]) == 2
    assert "drop --clips and --max-frames" in capsys.readouterr().err


def test_training_column_counts_every_run_of_a_chain(
    results: ModuleType, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    card = {"model": "fsrcnn", "weights": "fsrcnn_x4_bi.safetensors", "step": 6500, "steps_planned": 6500,
            "initialised_from": [{"step": 1000}, {"step": 5000}],
            "training_time": "0h 42m 45s", "total_training_time": "1h 44m 35s"}
    ship_fsrcnn(tmp_path, monkeypatch, card)
    argv = ["--data", str(data), "--degradations", "bi", "--models", "fsrcnn", "--no-speed", "--quiet"]
    assert results.main(argv) == 0
    assert "| fsrcnn | `fsrcnn_x4_bi.safetensors` | 12,500 (3 runs) | 1h 44m 35s |" in capsys.readouterr().out
    # A single run: its own steps and time, no run count.
    del card["initialised_from"], card["total_training_time"]
    (tmp_path / "fsrcnn_x4_bi.json").write_text(json.dumps(card))
    assert results.main(argv) == 0
    assert "| fsrcnn | `fsrcnn_x4_bi.safetensors` | 6,500 | 0h 42m 45s |" in capsys.readouterr().out


def test_x2_measures_bi_with_the_x2_weights_and_cards(
    results: ModuleType, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    save_weights(create("fsrcnn", 2, pretrained=False), tmp_path / "fsrcnn_x2_bi.safetensors")
    (tmp_path / "fsrcnn_x2_bi.json").write_text(json.dumps({"model": "fsrcnn", "step": 3}))
    argv = ["--data", str(data), "--scale", "2", "--models", "bicubic,fsrcnn,delta",
            "--no-speed", "--quiet", "--cards"]
    assert results.main(argv) == 0
    markdown = capsys.readouterr().out
    assert "### Vid4 x2 BI" in markdown and "x4" not in markdown and "BD" not in markdown
    assert "skipped (never evaluated untrained): BI: delta." in markdown  # no x2 delta weights here
    fsrcnn = create("fsrcnn", 2, weights=tmp_path / "fsrcnn_x2_bi.safetensors")
    models = {"bicubic": create("bicubic", 2), "fsrcnn": fsrcnn}
    library = evaluate(models, open_dataset(data, scale=2, degradation="bi", notify=None), progress=False)
    assert average_row(library, "fsrcnn") in markdown
    card = json.loads((tmp_path / "fsrcnn_x2_bi.json").read_text())
    assert card["vid4_x2_bi"]["scale"] == 2
    assert card["vid4_x2_bi"]["average"]["psnr_y"] == pytest.approx(library.models["fsrcnn"].average["psnr_y"])
