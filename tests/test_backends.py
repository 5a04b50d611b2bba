"""Inference backends (vidsr.backends): same frames as the torch model, streaming, export, failures.

Tiny frames throughout; the graph backends' tests skip with a reason when their package is
not installed, and the CUDA test without a GPU.
"""

from __future__ import annotations

import importlib.util
import json
import math

import pytest
import torch

from vidsr.backends import BackendUnavailable, available_backends, make_backend
from vidsr.backends.export import ExportError, export_onnx
from vidsr.backends.lowres import lowres_model
from vidsr.models import create
from vidsr.training.precision import cpu_has_native_bf16

HAS = {name: name in available_backends() for name in ("onnxruntime", "openvino")}  # runtime + onnx
HAS["onnx"] = importlib.util.find_spec("onnx") is not None
needs = {
    name: pytest.mark.skipif(not HAS[name], reason=f"{name} (and onnx, for the export) not installed") for name in HAS
}
needs_bf16 = pytest.mark.skipif(not cpu_has_native_bf16(), reason="this CPU has no native bf16")

# (backend, precision, max abs difference from the fp32 torch model on [0, 1] outputs)
CONFIGS = [
    pytest.param("torch", "fp32", 1e-4, id="torch-fp32"),
    pytest.param("torch", "bf16", 0.05, id="torch-bf16", marks=needs_bf16),
    pytest.param("onnxruntime", "fp32", 1e-4, id="onnxruntime-fp32", marks=needs["onnxruntime"]),
    pytest.param("openvino", "fp32", 1e-4, id="openvino-fp32", marks=needs["openvino"]),
    pytest.param("openvino", "bf16", 0.05, id="openvino-bf16", marks=[needs["openvino"], needs_bf16]),
]


@pytest.fixture(autouse=True)
def onnx_cache(tmp_path_factory, monkeypatch):
    """Exports and auto choices in one folder for this module, not in ~/.cache."""
    monkeypatch.setenv("VIDSR_ONNX_CACHE", str(tmp_path_factory.getbasetemp() / "onnx-cache"))


def clip(frames: int = 11, height: int = 14, width: int = 18) -> torch.Tensor:
    return torch.rand(1, frames, 3, height, width, generator=torch.Generator().manual_seed(1))


def stream(backend, lr: torch.Tensor, chunk: int) -> torch.Tensor:
    streamer = backend.streamer()
    parts = [streamer.push(lr[:, start : start + chunk]) for start in range(0, lr.shape[1], chunk)]
    return torch.cat([*parts, streamer.flush()], dim=1)


@pytest.mark.parametrize("name", ["delta", "five_parallel", "fsrcnn"])
@pytest.mark.parametrize(("backend", "precision", "tolerance"), CONFIGS)
def test_backend_equals_torch_model_and_streams_like_whole_clip(name, backend, precision, tolerance):
    model = create(name)
    lr = clip()
    with torch.inference_mode():
        expected = model(lr)
    runner = make_backend(model, backend, "cpu", precision)
    whole = stream(runner, lr, chunk=lr.shape[1])
    parts = stream(runner, lr, chunk=3)
    assert whole.shape == parts.shape == expected.shape  # same frame count from every backend
    assert (whole - parts).abs().max() <= 1e-5  # streaming in chunks == the whole clip
    assert (whole - expected).abs().max() <= tolerance


@pytest.mark.parametrize("name", ["delta", "five_parallel"])
def test_depth_form_step_equals_model(name):
    for degradation in ("bi", "bd"):
        model = create(name, degradation=degradation)
        patched = lowres_model(model)
        assert patched is not None
        lr = clip(frames=6)
        with torch.inference_mode():
            assert (stream(patched, lr, 2) - model(lr)).abs().max() <= 1e-5


def test_depth_form_is_only_for_recurrent_cores():
    assert lowres_model(create("fsrcnn")) is None
    assert lowres_model(create("bicubic")) is None


def test_upscale_bicubic_runs_fast_float32_path_evaluation_stays_exact():
    model = create("bicubic")
    fast = make_backend(model, "torch", "cpu", "fp32", fast_bicubic=True)
    exact = make_backend(model, "torch", "cpu", "fp32")
    lr = clip(frames=2).double()
    with torch.inference_mode():
        reference = model(lr)
    assert (stream(exact, lr, 2) - reference).abs().max() == 0
    assert stream(fast, lr.float(), 2).dtype == torch.float32
    assert (stream(fast, lr.float(), 2).double() - reference).abs().max() <= 1e-5
    # Graph backends have nothing to speed up without a network: torch runs it.
    assert make_backend(model, "openvino" if HAS["openvino"] else "torch", "cpu", "fp32").name == "torch"


@needs["onnxruntime"]
def test_tiles_with_a_graph_backend():
    from vidsr.video.inference import make_streamer

    model = create("delta")
    lr = clip(frames=5, height=24, width=30)
    outputs = []
    for backend in ("onnxruntime", "torch"):
        runner = make_backend(model, backend, "cpu", "fp32")
        tiled, tile = make_streamer(runner, 24, 30, 12, chunk=4, device=torch.device("cpu"), overlap=6)
        assert tile == 12
        outputs.append(torch.cat([tiled.push(lr), tiled.flush()], dim=1))  # tiles of three sizes: three exports
    assert outputs[0].shape == (1, 5, 3, 96, 120)
    assert (outputs[0] - outputs[1]).abs().max() <= 1e-4  # tiled onnxruntime == tiled torch


@needs["openvino"]
def test_openvino_backends_share_one_core():
    first = make_backend(create("delta"), "openvino", "cpu", "fp32")
    second = make_backend(create("fsrcnn"), "openvino", "cpu", "fp32")
    assert first.core is second.core  # one Core per process, as OpenVINO advises


@needs["onnx"]
def test_export_writes_one_step_with_explicit_state_and_is_cached(tmp_path):
    import onnx

    model = create("delta")
    first = export_onnx(model, 12, 16, "onnxruntime")
    cell = onnx.load(str(first.cell))
    onnx.checker.check_model(cell)
    assert [i.name for i in cell.graph.input] == ["window", "features", "previous"]
    assert [o.name for o in cell.graph.output] == ["sr", "features_out", "previous_out"]
    assert [i.name for i in onnx.load(str(first.encode)).graph.input] == ["lr"]
    stamp = first.cell.stat().st_mtime_ns
    again = export_onnx(model, 12, 16, "onnxruntime")  # cached: the same files, not rewritten
    assert again.folder == first.folder and again.cell.stat().st_mtime_ns == stamp
    assert export_onnx(model, 12, 16, "openvino").folder != first.folder  # per backend
    assert export_onnx(model, 12, 18, "onnxruntime").folder != first.folder  # per shape
    meta = json.loads((first.folder / "meta.json").read_text())
    assert meta["state_inputs"] == ["features", "previous"] and meta["size"] == [12, 16]


@needs["onnx"]
def test_export_cli(tmp_path, capsys):
    from vidsr.cli.main import main

    assert main(["export", "--onnx", "delta", str(tmp_path / "out"), "--size", "12x16"]) == 0
    assert (tmp_path / "out" / "cell.onnx").is_file() and (tmp_path / "out" / "encode.onnx").is_file()
    assert "window, features, previous -> sr, features_out, previous_out" in capsys.readouterr().out
    assert main(["export", "--onnx", "delta", str(tmp_path / "bad"), "--size", "12"]) == 2
    assert "--size must be HxW" in capsys.readouterr().err


def test_missing_backend_package_is_a_one_line_error(monkeypatch, capsys):
    import vidsr.backends as backends
    import vidsr.backends.core as core

    monkeypatch.setattr(backends, "available_backends", lambda: ["torch"])
    monkeypatch.setattr(core, "missing_packages", lambda name: ["openvino"])
    with pytest.raises(BackendUnavailable, match=r"needs the openvino package.*pip install.*--backend torch"):
        make_backend(create("delta"), "openvino", "cpu", "fp32")
    # auto leaves it out and runs torch
    runner = make_backend(create("delta"), "auto", "cpu", "auto")
    assert [name for name, _ in runner.candidates] == ["torch"]
    lr = clip(frames=3, height=130, width=130)
    assert stream(runner, lr, 3).shape[1] == 3 and runner.chosen.name == "torch"


def test_upscale_cli_names_the_remedy(monkeypatch, tmp_path, capsys):
    import vidsr.backends as backends
    from vidsr.cli.main import main
    from vidsr.data.frames import write_frame
    from vidsr.video.synthetic import pattern_frame

    for index in range(3):
        write_frame(tmp_path / "lr" / f"{index}.png", pattern_frame(index, 12, 16))
    monkeypatch.setattr(backends, "available_backends", lambda: ["torch"])
    code = main(["upscale", str(tmp_path / "lr"), str(tmp_path / "sr"), "--backend", "onnxruntime", "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "onnxruntime" in err and "pip install" in err and not (tmp_path / "sr").exists()


def test_failed_export_gives_a_clear_error_and_auto_falls_back_with_a_note(monkeypatch):
    import vidsr.backends.graph as graph

    def broken(*args, **kwargs):
        raise ExportError("ONNX export of Delta failed (simulated); use --backend torch")

    monkeypatch.setattr(graph, "export_onnx", broken)
    backend = "onnxruntime" if HAS["onnxruntime"] else "openvino" if HAS["openvino"] else None
    if backend is None:
        pytest.skip("no graph backend installed")
    explicit = make_backend(create("delta"), backend, "cpu", "fp32")
    with pytest.raises(ExportError, match="use --backend torch"):
        stream(explicit, clip(frames=2), 2)
    notes: list[str] = []
    auto = make_backend(create("delta"), "auto", "cpu", "fp32", note=notes.append)
    out = stream(auto, clip(frames=3, height=130, width=130), 3)
    assert out.shape[1] == 3 and auto.chosen.name == "torch"
    assert any("left out" in note and "simulated" in note for note in notes)


def test_auto_uses_torch_fp32_on_tiny_frames_and_records_its_choice(tmp_path):
    runner = make_backend(create("delta"), "auto", "cpu", "auto")
    stream(runner, clip(frames=2), 2)
    assert runner.chosen.name == "torch" and runner.chosen.precision == "fp32"
    assert "auto: torch fp32" in runner.describe()


def test_unknown_names_and_impossible_precisions():
    from vidsr.errors import VidsrError

    with pytest.raises(VidsrError, match="unknown backend"):
        make_backend(create("delta"), "tensorrt")
    with pytest.raises(VidsrError, match="unknown precision"):
        make_backend(create("delta"), "torch", precision="int4")
    with pytest.raises(BackendUnavailable, match="fp16 runs on CUDA only"):
        make_backend(create("delta"), "torch", "cpu", "fp16")
    if HAS["onnxruntime"]:
        with pytest.raises(BackendUnavailable, match="fp32 only"):
            make_backend(create("delta"), "onnxruntime", "cpu", "bf16")
        assert make_backend(create("delta"), "onnxruntime", "cpu", "auto").precision == "fp32"


@needs["onnxruntime"]
def test_evaluate_with_a_backend_gives_the_same_scores(tmp_path):
    from vidsr.data.datasets import open_dataset
    from vidsr.data.frames import write_frame
    from vidsr.evaluation import evaluate
    from vidsr.video.synthetic import pattern_frame

    for index in range(4):
        write_frame(tmp_path / "gt" / "clip" / f"{index}.png", pattern_frame(index, 48, 64))
    dataset = open_dataset(tmp_path / "gt", None, scale=4, degradation="bi")
    models = {"delta": create("delta"), "bicubic": create("bicubic")}
    reference = evaluate(models, dataset, progress=False)
    other = evaluate(models, dataset, progress=False, backend="onnxruntime")
    for name in models:
        a = reference.models[name].average["psnr_y"]
        b = other.models[name].average["psnr_y"]
        assert abs(a - b) < 0.01
        assert reference.models[name].frames == other.models[name].frames == 4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("graphs", [False, True])
def test_cuda_autocast_and_graphs_match_cpu(graphs):
    model = create("delta")
    lr = clip(frames=9, height=32, width=40)
    with torch.inference_mode():
        expected = model(lr)
    precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    runner = make_backend(create("delta"), "torch", "cuda", precision, cuda_graphs=graphs)
    out = stream(runner, lr.cuda(), 3)
    assert out.device.type == "cuda" and out.shape == expected.shape
    assert (out.float().cpu() - expected).abs().max() <= 0.05
    if graphs:
        assert runner.cuda_graphs is not None and runner.cuda_graphs.enabled


def test_available_backends_lists_torch_first():
    found = available_backends()
    assert found[0] == "torch" and set(found) <= {"torch", "onnxruntime", "openvino"}
    assert all(HAS["onnx"] and importlib.util.find_spec(name) for name in found[1:])


GRAPH_OR_TORCH = [
    pytest.param("torch", id="torch"),
    pytest.param("onnxruntime", id="onnxruntime", marks=needs["onnxruntime"]),
    pytest.param("openvino", id="openvino", marks=needs["openvino"]),
]


@pytest.mark.parametrize("backend", GRAPH_OR_TORCH)
def test_upscale_keeps_frame_count_and_timestamps_with_every_backend(backend, tmp_path_factory):
    from fractions import Fraction

    from video_support import probe

    from vidsr.video.pipeline import upscale_video
    from vidsr.video.synthetic import pattern_frames, write_video

    folder = tmp_path_factory.mktemp("vfr")
    pts = [0, 40, 80, 200, 240, 260, 400, 440, 480, 600, 640]
    source = folder / "vfr.mp4"
    if not source.exists():
        write_video(source, pattern_frames(len(pts), 16, 24), pts=pts, time_base=Fraction(1, 1000), fps=25)
    out = upscale_video(source, folder / f"{backend}.mp4", model="delta", backend=backend, precision="fp32",
                        quiet=True, on_warning=lambda message: None)  # fmt: skip
    got, original = probe(folder / f"{backend}.mp4", decode_rgb=False), probe(source, decode_rgb=False)
    assert out.frames == len(pts) and got.times == original.times


HAS["nncf"] = importlib.util.find_spec("nncf") is not None
needs_int8 = pytest.mark.skipif(not (HAS["openvino"] and HAS["nncf"]), reason="openvino and nncf (vidsr[int8]) needed")


@needs_int8
def test_int8_is_calibrated_once_close_to_fp32_and_streams_like_whole_clip(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDSR_ONNX_CACHE", str(tmp_path))
    model = create("delta")
    lr = clip(frames=9, height=24, width=32)
    with torch.inference_mode():
        expected = model(lr).clamp(0, 1)
    notes: list[str] = []
    runner = make_backend(model, "openvino", "cpu", "int8", note=notes.append)
    assert runner.describe().startswith("openvino int8")
    whole = stream(runner, lr, chunk=lr.shape[1])
    assert len(notes) == 1 and "calibrating delta for 32x24" in notes[0]  # says why the first frame waits
    ir = sorted(tmp_path.glob("delta-24x32-openvino-*/int8-v1/*.xml"))
    assert [p.name for p in ir] == ["cell.xml", "encode.xml"]  # quantized graphs cached beside the export
    stamps = [p.stat().st_mtime_ns for p in ir]
    again = make_backend(model, "openvino", "cpu", "int8", note=notes.append)
    parts = stream(again, lr, chunk=4)
    assert len(notes) == 1
    assert [p.stat().st_mtime_ns for p in ir] == stamps  # no second calibration
    assert whole.shape == parts.shape == expected.shape
    assert (whole - parts).abs().max() <= 1e-5
    mse = (whole.clamp(0, 1) - expected).square().mean().item()
    assert mse > 0 and -10 * math.log10(mse) > 30  # quantized: close (32 dB on noise, never calibrated on), not equal


def test_int8_is_opt_in_openvino_only_and_names_its_remedies(monkeypatch):
    import vidsr.backends.int8 as int8

    with pytest.raises(BackendUnavailable, match="openvino backend .* only"):
        make_backend(create("delta"), "torch", "cpu", "int8")
    with pytest.raises(BackendUnavailable, match="no network to quantize"):
        make_backend(create("bicubic"), "openvino", "cpu", "int8")
    runner = make_backend(create("delta"), "auto", "cpu", "auto")
    assert all(precision != "int8" for _, precision in runner.candidates)  # auto never quantizes
    if HAS["openvino"]:
        monkeypatch.setattr(int8, "nncf_installed", lambda: False)
        with pytest.raises(BackendUnavailable, match=r"needs the nncf package.*pip install.*vidsr\[int8\]"):
            make_backend(create("delta"), "openvino", "cpu", "int8")
