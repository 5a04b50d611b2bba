"""The PyTorch backend: eager PyTorch, tuned for inference (CPU and CUDA).

* ``torch.inference_mode`` around every push (no autograd bookkeeping).
* The recurrent models run their step in depth form (:mod:`vidsr.backends.lowres`): the
  HR passes of the bicubic base, PixelShuffle and fed-back luma become one at the end.
* ``channels_last`` weights on the CPU (oneDNN's blocked kernels, no reorders between
  layers) and autocast at ``bf16`` (or ``fp16`` on CUDA) when asked; the bicubic base and
  the output sum stay float32 inside the models whatever the autocast.
* On CUDA, optionally CUDA graphs for the recurrent step (:mod:`vidsr.backends.cuda_graphs`).

The model given is never changed: the backend works on a copy when it patches anything.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from vidsr.backends.core import Backend
from vidsr.models.baselines import BicubicUpscaler
from vidsr.models.base import VSRModel
from vidsr.models.layers import bicubic_upsample
from vidsr.training.precision import Precision


def channels_last_(module: nn.Module) -> nn.Module:
    """4-D convolution weights to channels_last, in place (other tensors as they are)."""
    for child in module.modules():
        if isinstance(child, (nn.Conv2d, nn.ConvTranspose2d)):
            child.to(memory_format=torch.channels_last)
    return module


class Float32Bicubic(BicubicUpscaler):
    """MATLAB bicubic in float32 for videos (the ``bicubic`` model itself is float64: exact, for evaluation)."""

    def upscale(self, lr: Tensor) -> Tensor:
        return bicubic_upsample(lr.to(torch.float32), self.scale).to(lr.dtype)


class ContextStreamer:
    """A streamer whose ``push``/``flush`` run on ``device`` under inference mode and autocast."""

    def __init__(self, streamer: Any, device: torch.device, precision: Precision) -> None:
        self.inner, self.device, self.precision = streamer, device, precision

    def push(self, lr: Tensor) -> Tensor:
        with torch.inference_mode(), self.precision.autocast():
            return self.inner.push(lr.to(self.device))

    def flush(self) -> Tensor:
        with torch.inference_mode(), self.precision.autocast():
            return self.inner.flush()


class TorchBackend(Backend):
    """Eager PyTorch with inference mode, the depth-form step, channels_last and autocast."""

    name = "torch"

    def __init__(
        self, model: VSRModel, device: torch.device, precision: str, *, lowres: bool = True,
        channels_last: bool | None = None, cuda_graphs: bool = False, note: Callable[[str], None] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(model, device, precision)
        from vidsr.backends.lowres import lowres_model

        net: Any = model
        if lowres:
            net = lowres_model(model) or model
        self.lowres = net is not model
        if channels_last is None:  # measured: pays on the CPU (oneDNN), not needed on CUDA
            channels_last = device.type == "cpu" and any(True for _ in model.parameters())
        if channels_last:
            net = channels_last_(net if net is not model else copy.deepcopy(model))
        self.channels_last = channels_last
        self.net = net.to(device)
        self.autocast = Precision(precision, device)
        self.cuda_graphs = None
        if cuda_graphs and device.type == "cuda":
            from vidsr.backends.cuda_graphs import GraphedSteps

            self.cuda_graphs = GraphedSteps(self.net, self.autocast, note)

    def streamer(self) -> ContextStreamer:
        if self.cuda_graphs is not None:
            return ContextStreamer(self.cuda_graphs.streamer(), self.device, self.autocast)
        return ContextStreamer(self.net.streamer(), self.device, self.autocast)

    def describe(self) -> str:
        extras = [name for name, on in (("depth-form step", self.lowres), ("channels_last", self.channels_last),
                                        ("CUDA graphs", self.cuda_graphs is not None)) if on]  # fmt: skip
        return super().describe() + (f" [{', '.join(extras)}]" if extras else "")
