"""INT8 for the OpenVINO backend (``--backend openvino --precision int8``): opt-in.

NNCF's post-training quantization (``nncf.quantize``, the mixed preset: symmetric weights,
asymmetric activations) turns each exported graph (encode, cell) into an INT8 OpenVINO IR;
the operations it leaves in float run in fp32. Its calibration data are the inputs that the
graphs really see: the fp32 graphs are streamed over two built-in clips at the frame size
being compiled (a pan and zoom over the demo photograph and the moving test pattern of
:mod:`vidsr.video.synthetic`), through the same streamer as inference, and every encode
input and cell feed (window and recurrent state) is kept. The quantized IR is cached beside
the export (``int8-v1/``), so calibration runs once per model, frame size and weights.

It is opt-in: on Vid4 x4 BI it costs under 0.01 dB Y-PSNR (the bar is 0.05), but where it
was measured it ran only 10-13% faster than OpenVINO bf16, which is not worth a calibration
per model and frame size as a default (README: "Inference backends and speed").
NNCF is an extra (``pip install vidsr[int8]``): without it, int8 is a one-line error.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from vidsr.backends.core import BackendUnavailable
from vidsr.backends.graph import openvino_core

CALIBRATION_FRAMES = 12  # frames of each calibration clip
VERSION = "int8-v1"  # the cache folder: change it when the calibration changes


def nncf_installed() -> bool:
    return importlib.util.find_spec("nncf") is not None


def require_nncf() -> None:
    """A one-line error when NNCF is missing."""
    if not nncf_installed():
        raise BackendUnavailable(
            "--precision int8 needs the nncf package, not installed here: pip install -c constraints.txt nncf "
            "(or vidsr[int8]), or use --precision bf16/fp32"
        )


def calibration_clips(height: int, width: int) -> list[Tensor]:
    """The calibration clips at ``height x width``: ``(1, T, 3, h, w)`` float in [0, 1]."""
    from vidsr.video.demo import make_clip
    from vidsr.video.synthetic import pattern_frames

    photo = make_clip(CALIBRATION_FRAMES, height, width)
    pattern = np.stack(list(pattern_frames(CALIBRATION_FRAMES, height, width)))
    return [torch.from_numpy(clip).permute(0, 3, 1, 2).float().div(255).unsqueeze(0) for clip in (photo, pattern)]


class Recorder:
    """Stands in for a compiled graph pair: runs ``inner`` and keeps every input it is given."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.encodes: list[dict[str, np.ndarray]] = []
        self.cells: list[dict[str, np.ndarray]] = []

    def encode(self, lr: Tensor) -> Tensor:
        self.encodes.append({"lr": lr.detach().float().contiguous().numpy().copy()})
        return self.inner.encode(lr)

    def cell(self, feeds: dict[str, Tensor]) -> list[Tensor]:
        self.cells.append({k: v.detach().float().contiguous().numpy().copy() for k, v in feeds.items()})
        return self.inner.cell(feeds)


def record(stream: Callable[[Tensor], None], recorder: Recorder, height: int, width: int) -> Recorder:
    """Stream the calibration clips with ``stream`` (which runs through ``recorder``)."""
    for clip in calibration_clips(height, width):
        stream(clip)
    if not recorder.encodes or not recorder.cells:
        raise BackendUnavailable("int8 calibration saw no frames; use --precision bf16/fp32")
    return recorder


def quantize(source: Path, samples: list[dict[str, np.ndarray]], target: Path) -> Path:
    """NNCF-quantize the ONNX graph ``source`` on ``samples`` and save the IR as ``target`` (.xml)."""
    import nncf
    import openvino as ov

    nncf.set_log_level(logging.ERROR)  # no progress bars or notes in vidsr's output
    model = openvino_core().read_model(str(source))
    with contextlib.redirect_stdout(io.StringIO()):  # NNCF's progress bars (rich, on stdout)
        quantized = nncf.quantize(
            model, nncf.Dataset(samples), preset=nncf.QuantizationPreset.MIXED, subset_size=len(samples),
        )  # fmt: skip
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"partial-{os.getpid()}-{target.name}")  # (ranks may calibrate at once)
    ov.save_model(quantized, str(partial), compress_to_fp16=False)
    partial.with_suffix(".bin").replace(target.with_suffix(".bin"))
    partial.replace(target)  # the .xml last: it marks the pair complete
    return target
