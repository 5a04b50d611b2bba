"""ONNX Runtime and OpenVINO backends: the exported graphs run inside the torch streamer.

:class:`GraphModel` stands in for the model inside :class:`vidsr.models.base.Streamer`:
its ``encode`` and ``cell`` run the exported graphs (:mod:`vidsr.backends.export`), so the
chunking, warm-up, padding and look-ahead are the torch streamer's own and every backend
gives the same frames in the same order. Graphs are exported and compiled per LR frame
size on first use (each tile size of a tiled frame is one more). The very first step of a
recurrent core (no previous output yet) runs in the torch model, whose fed-back luma of
the bicubic base starts the graph's explicit ``previous`` state.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from vidsr.backends import core
from vidsr.backends.core import Backend, BackendUnavailable, missing_package
from vidsr.backends.export import Export, ExportError, export_onnx, state_kind
from vidsr.models.base import Streamer, VSRModel
from vidsr.models.layers import RecurrentState


class Compiled:
    """One frame size's encode and cell graphs, compiled by a runtime (torch tensors in and out)."""

    def encode(self, lr: Tensor) -> Tensor:
        """``(1, 1, 3, h, w)`` float32 -> the encoded frame."""
        raise NotImplementedError

    def cell(self, feeds: dict[str, Tensor]) -> list[Tensor]:
        """``window`` and the state -> ``[sr, *new state]``."""
        raise NotImplementedError


class GraphModel:
    """The duck-typed model that :class:`Streamer` runs: graphs per frame size, torch for the first step."""

    def __init__(self, backend: GraphBackend) -> None:
        self.backend = backend
        reference = backend.reference
        self.reference = reference
        self.scale, self.radius, self.warmup = reference.scale, reference.radius, reference.warmup
        self.kind = state_kind(reference)
        self._by_window: dict[tuple[int, ...], Compiled] = {}

    def encode(self, lr: Tensor) -> Tensor:
        batch, frames, _, height, width = lr.shape
        if batch != 1:
            raise BackendUnavailable(f"the {self.backend.name} backend runs one video at a time (batch 1), not {batch}")
        compiled = self.backend.compiled(height, width)
        pixels = lr.detach().to("cpu", torch.float32).contiguous()
        encoded = [compiled.encode(pixels[:, t : t + 1]) for t in range(frames)]
        self._by_window.setdefault(tuple(encoded[0].shape[-3:]), compiled)
        return torch.cat(encoded, dim=1)

    def init_hidden(self, batch: int, height: int, width: int, like: Tensor) -> Any:
        return self.reference.init_hidden(batch, height, width, like)

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        if self.kind == "recurrent" and hidden.previous is None:
            with torch.autocast("cpu", enabled=False):  # starts the explicit `previous` state
                return self.reference.cell(window.float(), hidden)
        compiled = self._by_window[tuple(window.shape[-3:])]
        feeds = {"window": window}
        if self.kind == "recurrent":
            feeds["features"], feeds["previous"] = hidden.features, hidden.previous
        elif self.kind == "tensor":
            feeds["state"] = hidden
        outputs = compiled.cell(feeds)
        if self.kind == "recurrent":
            return outputs[0], RecurrentState(outputs[1], outputs[2])
        return outputs[0], outputs[1] if self.kind == "tensor" else None

    def streamer(self) -> Streamer:
        return Streamer(self)  # type: ignore[arg-type]  # duck-typed: what Streamer reads


class _GraphStreamer:
    """Inference mode around the torch streamer over a :class:`GraphModel`; output on the input's device."""

    def __init__(self, model: GraphModel) -> None:
        self.inner = Streamer(model)  # type: ignore[arg-type]

    def push(self, lr: Tensor) -> Tensor:
        with torch.inference_mode():
            return self.inner.push(lr.detach().to("cpu", torch.float32)).to(lr.device)

    def flush(self) -> Tensor:
        with torch.inference_mode():
            return self.inner.flush()


class GraphBackend(Backend):
    """Shared by the ONNX Runtime and OpenVINO backends: exports and compiled graphs per frame size."""

    def __init__(self, model: VSRModel, device: torch.device, precision: str, *, lowres: bool = True) -> None:
        if device.type != "cpu":
            raise BackendUnavailable(f"the {self.name} backend runs on the CPU here; use --backend torch for {device}")
        super().__init__(model, device, precision)
        from vidsr.backends.lowres import lowres_model

        patched = lowres_model(model) if lowres else None
        self.reference: Any = patched if patched is not None else model
        self.lowres = patched is not None
        self.threads = torch.get_num_threads()
        self._compiled: dict[tuple[int, int], Compiled] = {}
        self._graph_model = GraphModel(self)

    def compiled(self, height: int, width: int) -> Compiled:
        """The compiled graphs for ``height x width`` LR frames (exported and compiled once)."""
        key = (height, width)
        if key not in self._compiled:
            export = export_onnx(self.model, height, width, self.name, lowres=self.lowres)
            try:
                self._compiled[key] = self.compile(export)
            except (BackendUnavailable, ExportError):
                raise
            except Exception as error:  # noqa: BLE001 - runtimes raise their own types
                reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                raise ExportError(
                    f"{self.name} cannot load the exported graphs ({reason}); use --backend torch"
                ) from None
        return self._compiled[key]

    def compile(self, export: Export) -> Compiled:
        raise NotImplementedError

    def streamer(self) -> _GraphStreamer:
        return _GraphStreamer(self._graph_model)

    def describe(self) -> str:
        return super().describe() + (" [depth-form step]" if self.lowres else "")


def _numpy(tensor: Tensor) -> np.ndarray:
    return tensor.detach().to(torch.float32).contiguous().numpy()


class _OrtCompiled(Compiled):
    def __init__(self, export: Export, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        self._encode = ort.InferenceSession(str(export.encode), options, providers=providers)
        self._cell = ort.InferenceSession(str(export.cell), options, providers=providers)

    def encode(self, lr: Tensor) -> Tensor:
        return torch.from_numpy(self._encode.run(None, {"lr": _numpy(lr)})[0])

    def cell(self, feeds: dict[str, Tensor]) -> list[Tensor]:
        return [torch.from_numpy(a) for a in self._cell.run(None, {k: _numpy(v) for k, v in feeds.items()})]


class OnnxRuntimeBackend(GraphBackend):
    """ONNX Runtime's CPU execution provider, fp32."""

    name = "onnxruntime"
    precisions = ("fp32",)

    def __init__(self, model: VSRModel, device: torch.device, precision: str, **options: Any) -> None:
        if core.missing_packages(self.name):  # looked up now (tests replace it)
            raise missing_package(self.name)
        if precision != "fp32":
            raise BackendUnavailable(
                f"the onnxruntime backend runs fp32 only on the CPU, not {precision}; use --precision fp32 "
                "or --backend openvino"
            )
        super().__init__(model, device, precision, **options)

    def compile(self, export: Export) -> Compiled:
        return _OrtCompiled(export, self.threads)


class _OvCompiled(Compiled):
    """OpenVINO's compiled graphs. In bf16, everything between the graphs (encoded frames, the
    state) crosses as bf16, which the plugin computes in anyway: half the bytes to stack and
    copy, and no conversions at its inputs and outputs. ``lr`` and ``sr`` stay float32."""

    def __init__(
        self, core: Any, export: Export, config: dict[str, Any], bf16: bool, graphs: tuple[Any, Any] | None = None,
    ) -> None:  # fmt: skip
        self.bf16 = bf16
        encode, cell = graphs or (export.encode, export.cell)  # (INT8: the quantized IRs instead of the ONNX)
        self._encode = self._compile(core, encode, config, (), ("encoded",))
        self._cell = self._compile(core, cell, config, ("window", *export.state_inputs), export.state_outputs)

    def _compile(self, core: Any, path: Any, config: dict[str, Any], inputs: tuple, outputs: tuple) -> Any:
        model = core.read_model(str(path))
        if self.bf16:
            import openvino as ov
            from openvino.preprocess import PrePostProcessor

            steps = PrePostProcessor(model)
            for name in inputs:
                steps.input(name).tensor().set_element_type(ov.Type.bf16)
            for name in outputs:
                steps.output(name).tensor().set_element_type(ov.Type.bf16)
            model = steps.build()
        return core.compile_model(model, "CPU", config).create_infer_request()

    def _feed(self, tensor: Tensor) -> Any:
        if tensor.dtype == torch.float32 and not self.bf16:
            return tensor.detach().contiguous().numpy()
        import openvino as ov

        raw = tensor.detach().to(torch.bfloat16).contiguous().view(torch.int16).numpy()
        return ov.Tensor(raw, list(tensor.shape), ov.Type.bf16)

    @staticmethod
    def _take(array: np.ndarray) -> Tensor:
        if array.dtype == np.float32:
            return torch.from_numpy(array)
        return torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)  # bf16 bits

    def encode(self, lr: Tensor) -> Tensor:
        return self._take(self._encode.infer({"lr": lr.contiguous().numpy()}, share_inputs=True)[0])

    def cell(self, feeds: dict[str, Tensor]) -> list[Tensor]:
        results = self._cell.infer({k: self._feed(v) for k, v in feeds.items()}, share_inputs=True)
        return [self._take(results[index]) for index in range(len(results))]


@functools.cache
def openvino_core() -> Any:
    """The process's one OpenVINO ``Core``, shared by every backend, calibration and benchmark.

    OpenVINO's maintainers advise one ``Core`` per application (its methods are thread-safe),
    and a second ``Core`` in one process has crashed some OpenVINO 2026 builds
    (openvinotoolkit/openvino#35338). Compile settings go with each ``compile_model`` call,
    so sharing changes nothing else."""
    import openvino

    return openvino.Core()


class OpenVINOBackend(GraphBackend):
    """OpenVINO's CPU plugin, fp32 or bf16 (bf16 only on CPUs with native bf16), or INT8
    (opt-in, NNCF post-training quantization: :mod:`vidsr.backends.int8`)."""

    name = "openvino"
    precisions = ("fp32", "bf16", "int8")

    def __init__(
        self, model: VSRModel, device: torch.device, precision: str, note: Callable[[str], None] | None = None,
        **options: Any,
    ) -> None:  # fmt: skip
        if core.missing_packages(self.name):  # looked up now (tests replace it)
            raise missing_package(self.name)
        self.note = note  # (int8: says when it calibrates)
        if precision not in self.precisions:
            raise BackendUnavailable(f"the openvino backend runs fp32, bf16 or int8 on the CPU, not {precision}")
        if precision == "int8":
            from vidsr.backends.int8 import require_nncf

            require_nncf()
        self.core = openvino_core()
        if precision == "bf16" and "BF16" not in self.core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
            raise BackendUnavailable("this CPU has no native bf16 for openvino; use --precision fp32")
        super().__init__(model, device, precision, **options)
        from vidsr.backends.export import cache_root

        self.config = {  # (int8: what NNCF leaves in float runs in fp32)
            "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
            "INFERENCE_NUM_THREADS": self.threads,
            "PERFORMANCE_HINT": "LATENCY",
            "CACHE_DIR": str(cache_root() / "openvino-blobs"),
            # OpenVINO pins its threads to cores from the first one: two processes of one
            # thread each (a batch under torchrun) then share core 0 and each runs at half
            # speed. Pin only when this process uses every core it may run on.
            "ENABLE_CPU_PINNING": self.threads >= len(os.sched_getaffinity(0)),
        }

    def compile(self, export: Export) -> Compiled:
        if self.precision == "int8":
            return self._compile_int8(export)
        return _OvCompiled(self.core, export, self.config, self.precision == "bf16")

    def _compile_int8(self, export: Export) -> Compiled:
        """The quantized graphs (calibrated on first use, then cached beside the export)."""
        from vidsr.backends import int8

        folder = export.folder / int8.VERSION
        encode, cell = folder / "encode.xml", folder / "cell.xml"
        if not (encode.is_file() and cell.is_file()):
            height, width = json.loads((export.folder / "meta.json").read_text())["size"]
            if self.note is not None:
                self.note(f"int8: calibrating {type(self.model).__name__.lower()} for {width}x{height} frames "
                          "(once per model and frame size, a few seconds; cached)")  # fmt: skip
            recorder = int8.Recorder(_OvCompiled(self.core, export, self.config, bf16=False))
            self._compiled[(height, width)] = recorder  # the calibration streams through it
            try:
                int8.record(lambda clip: _stream_all(GraphModel(self), clip), recorder, height, width)
            finally:
                del self._compiled[(height, width)]
            int8.quantize(export.encode, recorder.encodes, encode)
            int8.quantize(export.cell, recorder.cells, cell)
        return _OvCompiled(self.core, export, self.config, bf16=False, graphs=(encode, cell))


def _stream_all(model: GraphModel, clip: Tensor) -> None:
    """Run ``model`` over the whole ``clip`` (outputs dropped)."""
    streamer = model.streamer()
    with torch.inference_mode():
        streamer.push(clip)
        streamer.flush()
