"""Inference backends behind one interface: ``make_backend(model, name, device, precision)``.

* ``torch``: eager PyTorch with inference mode, the depth-form recurrent step,
  channels_last and bf16/fp16 autocast (:mod:`.torch_backend`); CPU and CUDA.
* ``onnxruntime``: ONNX Runtime on the CPU, fp32 (:mod:`.graph`).
* ``openvino``: OpenVINO on the CPU, fp32 or bf16 (:mod:`.graph`).
* ``auto``: the fastest of those whose output is exact enough here, measured (:mod:`.auto`).

Every backend's ``streamer()`` pushes and flushes like :class:`vidsr.models.base.Streamer`
and gives the same frame count and order. The graph backends run ONNX exports of one
recurrent step with its state as explicit inputs and outputs (:mod:`.export`, ``vidsr
export --onnx``), cached per model, frame size and backend.

``precision``: ``auto`` is bf16 on CPUs with native bf16 (AVX512-BF16 or AMX) and fp32 on
other CPUs; on CUDA, bf16 where the GPU has it, else fp16 (:mod:`vidsr.training.precision`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from vidsr.backends.allocator import tune_allocator
from vidsr.backends.core import BACKENDS, PRECISIONS, Backend, BackendUnavailable, missing_package, missing_packages
from vidsr.backends.ensemble import SelfEnsemble
from vidsr.errors import VidsrError
from vidsr.models.base import VSRModel

__all__ = [
    "BACKENDS",
    "PRECISIONS",
    "Backend",
    "BackendUnavailable",
    "SelfEnsemble",
    "available_backends",
    "make_backend",
]


def available_backends() -> list[str]:
    """The backends whose packages are installed (torch always)."""
    return ["torch"] + [name for name in BACKENDS[1:] if not missing_packages(name)]


def fast_baseline(model: VSRModel) -> VSRModel:
    """The ``bicubic`` model computed in float32 instead of float64; other models as they are."""
    from vidsr.models.baselines import BicubicUpscaler

    if type(model) is not BicubicUpscaler:
        return model
    from vidsr.backends.torch_backend import Float32Bicubic

    return Float32Bicubic(model.scale)


def _classes() -> dict[str, type[Backend]]:
    from vidsr.backends.graph import OnnxRuntimeBackend, OpenVINOBackend
    from vidsr.backends.torch_backend import TorchBackend

    return {"torch": TorchBackend, "onnxruntime": OnnxRuntimeBackend, "openvino": OpenVINOBackend}


def _build(model: VSRModel, name: str, device: torch.device, precision: str, **options) -> Backend:
    if name not in available_backends():
        raise missing_package(name)
    return _classes()[name](model, device, precision, **options)


def make_backend(
    model: VSRModel | Backend,
    name: str = "auto",
    device: str | torch.device | None = None,
    precision: str = "auto",
    *,
    note: Callable[[str], None] | None = None,
    fast_bicubic: bool = False,
    self_ensemble: int = 1,
    **options,
) -> Backend:
    """``model`` ready for inference with backend ``name`` (auto, torch, onnxruntime, openvino).

    ``device`` defaults to the model's; ``precision`` is auto, fp32, bf16, fp16 or int8
    (openvino only, opt-in: :mod:`vidsr.backends.int8`). A backend
    that cannot run here (its package missing, a precision it lacks) raises
    :class:`BackendUnavailable` with a one-line remedy; ``auto`` never does, it leaves such
    backends out, with a ``note`` when one fails. A :class:`Backend` given as ``model`` is
    returned as it is (in a self-ensemble when asked). ``options`` go to the backend class (e.g. ``lowres=False``).

    Models without parameters (raw, bicubic) always run on torch: a graph runtime has no
    network to speed up there. ``fast_bicubic`` runs the ``bicubic`` model in float32
    (`vidsr upscale`) instead of its float64, MATLAB's to 1e-12 (evaluation, comparisons).

    ``self_ensemble`` 2, 4 or 8 runs the model on that many flips and transposes of the
    video and averages the outputs (:mod:`vidsr.backends.ensemble`; that many times the
    work); 1, the default, runs it once. Models without parameters always run once.
    """
    if self_ensemble not in (1, 2, 4, 8):
        raise VidsrError(f"self-ensemble takes 1 (off), 2, 4 or 8 transforms, not {self_ensemble}")
    backend = _make_backend(model, name, device, precision, note=note, fast_bicubic=fast_bicubic, **options)
    if self_ensemble == 1 or isinstance(backend, SelfEnsemble) or not any(True for _ in backend.model.parameters()):
        return backend
    return SelfEnsemble(backend, self_ensemble)


def _make_backend(
    model: VSRModel | Backend,
    name: str,
    device: str | torch.device | None,
    precision: str,
    *,
    note: Callable[[str], None] | None,
    fast_bicubic: bool,
    **options,
) -> Backend:
    from vidsr.training.precision import resolve_precision
    from vidsr.video.inference import model_device, resolve_device
    from vidsr.video.messages import warn

    if isinstance(model, Backend):
        return model
    tune_allocator()  # measured to pay for every backend (vidsr.backends.allocator)
    if name not in ("auto", *BACKENDS):
        raise VidsrError(f"unknown backend {name!r}; use auto, {', '.join(BACKENDS)}")
    if precision not in PRECISIONS:
        raise VidsrError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")
    where = resolve_device(device) if device is not None else model_device(model)
    model = model.eval().to(where)
    if precision == "int8":  # opt-in, never auto's choice: openvino's NNCF-quantized graphs
        if name not in ("auto", "openvino") or where.type != "cpu":
            raise BackendUnavailable("--precision int8 runs on the openvino backend (CPU) only; use --backend openvino")
        if not any(True for _ in model.parameters()):
            raise BackendUnavailable(f"{type(model).__name__} has no network to quantize; use --precision fp32")
        return _build(model, "openvino", where, "int8", note=note or warn, **options)
    resolved = resolve_precision(precision, where)
    if resolved == "fp16" and where.type == "cpu":
        raise BackendUnavailable("fp16 runs on CUDA only; use --precision bf16 or fp32 on the CPU")
    if not any(True for _ in model.parameters()):
        name = "torch"
        if fast_bicubic:
            model = fast_baseline(model)
    if name != "auto":
        if precision == "auto" and resolved not in _classes()[name].precisions:
            resolved = "fp32"  # auto: the best precision that backend has
        return _build(model, name, where, resolved, **options)
    if where.type != "cpu":
        return _build(model, "torch", where, resolved, **options)
    from vidsr.backends.auto import AutoBackend

    installed = available_backends()
    candidates = [("openvino", resolved), ("onnxruntime", "fp32"), ("torch", resolved)]
    candidates = [c for c in candidates if c[0] in installed]
    return AutoBackend(
        model, where, resolved, candidates, lambda n, p: _build(model, n, where, p, **options), note or warn,
        small_precision="fp32" if precision == "auto" else resolved,
    )
