"""What every inference backend offers, and the errors they raise.

A :class:`Backend` wraps one loaded model for inference on one device at one precision.
``backend.streamer()`` has the interface of :class:`vidsr.models.base.Streamer`:
``push(lr)`` with LR frames ``(1, T, 3, h, w)`` (float in [0, 1], any device) returns the
SR frames now complete, ``flush()`` the rest; chunking, warm-up and look-ahead are those of
the torch streamer, so every backend gives the same frame count and order. A backend also
has the model's ``scale``, ``radius`` and ``warmup``, so the tiled streamer and the video
jobs take it where they take a model.
"""

from __future__ import annotations

from typing import Any

import torch

from vidsr.errors import VidsrError
from vidsr.models.base import VSRModel

BACKENDS = ("torch", "onnxruntime", "openvino")  # what --backend names, besides auto
PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")  # int8: openvino only, opt-in
# The PyPI packages each graph backend needs: its runtime, and onnx for the export (pinned in
# constraints.txt; the `fast` extra, which `make demo` and `make test` install).
PACKAGES = {"onnxruntime": ("onnxruntime", "onnx"), "openvino": ("openvino", "onnx")}


def missing_packages(name: str) -> list[str]:
    """The packages of backend ``name`` that are not installed."""
    import importlib.util

    return [package for package in PACKAGES.get(name, ()) if importlib.util.find_spec(package) is None]


class BackendUnavailable(VidsrError):
    """The asked-for backend cannot run here (package missing, wrong device, no such precision)."""


def missing_package(name: str) -> BackendUnavailable:
    """The one-line error for a backend whose packages are not (all) installed."""
    missing = missing_packages(name) or list(PACKAGES[name][:1])
    return BackendUnavailable(
        f"backend {name} needs the {' and '.join(missing)} package{'s' if len(missing) > 1 else ''}, not installed "
        f"here: pip install -c constraints.txt {' '.join(missing)} (or vidsr[fast]), or use --backend torch"
    )


class Backend:
    """One model ready for inference (subclasses: torch, onnxruntime, openvino, auto)."""

    name = "torch"
    precisions: tuple[str, ...] = ("fp32", "bf16", "fp16")  # what it can run

    def __init__(self, model: VSRModel, device: torch.device, precision: str) -> None:
        self.model = model
        self.device = device
        self.precision = precision
        self.scale, self.radius, self.warmup = model.scale, model.radius, model.warmup

    def streamer(self) -> Any:
        """A fresh streamer (``push``/``flush``) over this backend."""
        raise NotImplementedError

    def describe(self) -> str:
        """E.g. ``openvino bf16, 2 threads``."""
        threads = torch.get_num_threads()
        where = f"{self.device}, {threads} thread{'s' if threads > 1 else ''}" if self.device.type == "cpu" else str(
            self.device
        )
        return f"{self.name} {self.precision} ({where})"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"
