"""`vidsr plot RUN_DIR` draws loss, learning rate and validation PSNR to a PNG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidsr.cli.main import main
from vidsr.errors import VidsrError
from vidsr.training.checkpoint import save_checkpoint
from vidsr.training.config import Config
from vidsr.training.plot import history_rows, plot_run, run_history, smooth


def _write_run(run_dir: Path, val: bool = True, init: Path | None = None,
               degradation: str | None = None) -> None:
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text(
        "name: demo\n" + (f"model:\n  init_weights: {init}\n" if init else "")
        + (f"data:\n  degradation: {degradation}\n" if degradation else ""))
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
    assert plot_run(tmp_path / "run", tmp_path / "nosuffix") == tmp_path / "nosuffix.png"
    assert (tmp_path / "nosuffix.png").is_file()
    assert plot_run(tmp_path / "run", tmp_path / "x") == tmp_path / "x" / "training.png"  # a folder
    with pytest.raises(VidsrError, match=r"cannot draw into p.txt: give a file name ending in .*\.png"):
        plot_run(tmp_path / "run", tmp_path / "p.txt")
    with pytest.raises(VidsrError, match="a file stands where its folder should be"):
        plot_run(tmp_path / "run", tmp_path / "nosuffix.png" / "p.png")


def test_rows_of_another_shape_are_not_drawn_and_a_list_row_is_an_error(tmp_path: Path) -> None:
    _write_run(tmp_path / "run")
    with (tmp_path / "run" / "metrics.jsonl").open("a") as log:
        log.write('{"kind": "train", "step": 210, "loss": 0.01}\n{"kind": "val", "step": 210}\n')
    assert plot_run(tmp_path / "run").is_file()  # the rows without lr / psnr_y left out
    with (tmp_path / "run" / "metrics.jsonl").open("a") as log:
        log.write('[1, 2]\n{"kind": "train", "step": 220, "loss": 0.01, "lr": 0.001}\n')
    with pytest.raises(VidsrError, match="line 25 is not a JSON object"):
        plot_run(tmp_path / "run")


def test_smoothing_is_a_bias_corrected_moving_average() -> None:
    assert smooth([2.0, 2.0, 2.0]).tolist() == pytest.approx([2.0, 2.0, 2.0])
    values = smooth([0.0, 10.0], weight=0.5)
    assert values.tolist() == pytest.approx([0.0, 10 * 0.5 / 0.75])
    assert smooth([1.0, 5.0], weight=0.0).tolist() == [1.0, 5.0]


def test_a_run_started_from_another_is_drawn_after_its_history(tmp_path: Path) -> None:
    _write_run(tmp_path / "first")
    save_checkpoint({"step": 150, "config": Config().to_dict(), "elapsed_s": 60.0},
                    tmp_path / "first" / "best.pt")
    _write_run(tmp_path / "second", init=tmp_path / "first" / "best.pt")
    history = run_history(tmp_path / "second")
    assert history == [(tmp_path / "first", 150), (tmp_path / "second", None)]
    rows, starts = history_rows(history)
    assert starts == [(0, "first"), (150, "second")]
    steps = [r["step"] for r in rows if r["kind"] == "train"]
    assert steps == [*range(10, 151, 10), *range(160, 351, 10)]  # first's rows up to its step 150
    assert [r["step"] for r in rows if r["kind"] == "val"] == [100, 250, 350]
    assert main(["plot", str(tmp_path / "second"), "-o", str(tmp_path / "whole.png")]) == 0
    assert main(["plot", str(tmp_path / "second"), "--no-history", "-o", str(tmp_path / "own.png")]) == 0
    assert Image.open(tmp_path / "whole.png").size == Image.open(tmp_path / "own.png").size
    # Weights that are not a run's checkpoint (or a missing one) end the history.
    _write_run(tmp_path / "third", init=tmp_path / "elsewhere.safetensors")
    assert run_history(tmp_path / "third") == [(tmp_path / "third", None)]


def _has_colour(path: Path, rgb: tuple[int, int, int]) -> bool:
    image = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return bool((np.abs(image - np.array(rgb)).sum(axis=2) < 30).sum() > 20)


def test_a_bd_run_from_bi_weights_draws_one_validation_line_per_input(tmp_path: Path) -> None:
    _write_run(tmp_path / "bi", degradation="bi")
    save_checkpoint({"step": 200, "config": Config().to_dict(), "elapsed_s": 60.0}, tmp_path / "bi" / "best.pt")
    _write_run(tmp_path / "bd", init=tmp_path / "bi" / "best.pt", degradation="bd")
    rows, _ = history_rows(run_history(tmp_path / "bd"))
    assert [(r["step"], r["degradation"]) for r in rows if r["kind"] == "val"] == [
        (100, "bi"), (200, "bi"), (300, "bd"), (400, "bd")]
    purple = (0x94, 0x67, 0xBD)  # the second input's line (tab:purple)
    assert _has_colour(plot_run(tmp_path / "bd", tmp_path / "both.png"), purple)
    assert not _has_colour(plot_run(tmp_path / "bi", tmp_path / "one.png"), purple)


def test_a_run_with_ema_draws_the_raw_weights_beside_the_average(tmp_path: Path) -> None:
    _write_run(tmp_path / "run")
    plain = np.asarray(Image.open(plot_run(tmp_path / "run", tmp_path / "plain.png")).convert("RGB"))
    log = tmp_path / "run" / "metrics.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    for row in rows:
        if row["kind"] == "val":
            row.update(ema=True, raw={"psnr_y": row["psnr_y"] - 0.5, "ssim_y": 0.8})
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ema = np.asarray(Image.open(plot_run(tmp_path / "run", tmp_path / "ema.png")).convert("RGB"))
    assert plain.shape == ema.shape
    # The title, loss and rate panels are the same; the validation panel has a second line.
    half = plain.shape[0] // 2
    assert np.array_equal(plain[:half], ema[:half])
    assert (plain[2 * plain.shape[0] // 3:] != ema[2 * plain.shape[0] // 3:]).any(axis=2).mean() > 0.005


def _results_document() -> dict:
    costs = {"raw": (0, 0, 900.0), "bicubic": (0, 300, 180.0), "fsrcnn": (35312, 35220, 52.0),
             "delta": (84188, 84160, 17.0), "flow": (150180, 105962, 11.0)}  # fmt: skip
    scores = {"bi": {"raw": 22.8, "bicubic": 23.8, "fsrcnn": 24.6, "delta": 25.0, "flow": 25.1},
              "bd": {"raw": 21.3, "bicubic": 21.8, "delta": 24.7, "flow": 25.0}}  # fmt: skip
    return {
        "scale": 4, "hardware": "CPU: test", "date": "2026-12-05T10:00:00+00:00",
        "models": {name: {"params": p, "macs_per_lr_pixel": m, "fps": f} for name, (p, m, f) in costs.items()},
        "degradations": {d: {"evaluation": {"models": {n: {"average": {"psnr_y": v}} for n, v in s.items()}}}
                         for d, s in scores.items()},
    }  # fmt: skip


def test_cost_plot_draws_every_trained_model_by_degradation(tmp_path: Path) -> None:
    from matplotlib.colors import to_rgb

    from vidsr.evaluation.plot import cost_figure, model_colour, plot_cost

    figure = cost_figure(_results_document())
    left, right = figure.axes
    # 3 trained models at BI and 2 at BD, in each panel (the baselines are left out)
    points = [sum(len(c.get_offsets()) for c in axis.collections) for axis in (left, right)]
    assert points == [5, 5]
    legend = [text.get_text() for text in figure.legends[0].get_texts()]  # every model, then the markers
    assert legend == ["fsrcnn", "delta", "flow", "BI input", "BD input"]
    delta = [c for c in left.collections if tuple(c.get_facecolor()[0][:3]) == to_rgb(model_colour("delta"))]
    assert len(delta) == 2  # BI and BD, in delta's colour in every figure
    assert left.get_xscale() == "log" and "multiply-adds" in left.get_xlabel()
    path = plot_cost(_results_document(), tmp_path / "cost.png")
    assert Image.open(path).size[0] > 500
    with pytest.raises(VidsrError, match="no models or no scores"):
        cost_figure({"models": {}, "degradations": {}})


def test_cost_plot_script_reads_a_results_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import runpy

    script = runpy.run_path(str(Path(__file__).resolve().parents[1] / "benchmarks" / "cost_plot.py"))
    document = tmp_path / "results.json"
    document.write_text(json.dumps(_results_document()))
    assert script["main"]([str(document), "-o", str(tmp_path / "out.png")]) == 0
    assert (tmp_path / "out.png").exists()
    assert script["main"]([str(tmp_path / "missing.json"), "-o", str(tmp_path / "x.png")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_the_title_says_what_the_run_trains_and_not_where(tmp_path: Path) -> None:
    from vidsr.training.plot import run_title

    run = tmp_path / "flow_x2_run"
    run.mkdir()  # the x4 config with scale=2 as an override: its own name says x4
    (run / "config.yaml").write_text("name: flow_x4_bi\nmodel:\n  name: flow\n  scale: 2\ndata:\n  degradation: bi\n")
    assert run_title(run) == "flow x2 BI: run flow_x2_run"
    assert run_title(tmp_path / "gone") == "run gone"


def test_a_model_keeps_its_colour_in_every_figure() -> None:
    from vidsr.evaluation.plot import MODEL_COLOURS, model_colour, model_line

    assert len(set(MODEL_COLOURS.values())) == len(MODEL_COLOURS)  # no two models alike
    assert model_colour("delta") == model_colour("delta:real") == model_colour("delta@0.5") == MODEL_COLOURS["delta"]
    assert model_colour("my_model") == model_colour("my_model")  # unknown names: fixed too
    assert model_line("bicubic")["linestyle"] == "--" and model_line("delta:real")["linestyle"] == ":"
