"""A recurrent model's step kept at LR resolution up to its last operation, for inference.

The recurrent networks (:class:`~vidsr.models.layers.RecurrentCore`: delta, five_parallel)
compute, per output frame, a bicubic base frame at HR, a residual at HR (conv + PixelShuffle),
their sum, and the luma of that sum unshuffled back to LR for the next step. At 720p those
HR passes cost more than half of a bf16 step (OpenVINO's per-layer counters, 2-core AMD
EPYC). Every one of them is per pixel, so the same numbers come out of the *depth* form,
``3 * s * s`` channels at LR (channel ``c*s*s + p*s + q`` is colour c at HR offset (p, q),
PixelShuffle's order):

* the base: one 5x5 convolution per colour (the bicubic filter's ``s*s`` phases, read off
  the model's own :meth:`~vidsr.models.base.VSRModel.upsample_base` as an impulse response),
  always in float32;
* the residual: the head's convolution without its PixelShuffle;
* the fed-back luma: :func:`~vidsr.models.layers.luma` of the depth channels, no unshuffle;
* one PixelShuffle at the very end.

:func:`lowres_model` returns a patched copy of a model that runs this way, or None when
the model does not have that structure; :func:`check_lowres` compares both on a small
random clip, so a model whose ``cell`` uses these parts otherwise is never run patched.
The models are not changed (a copy is patched): a model-side ``cell`` in depth form would
make this module unnecessary (see the backends' README notes).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidsr.data.resize import fold_symmetric
from vidsr.models.base import Streamer, VSRModel
from vidsr.models.layers import RecurrentCore, luma

TAPS = 5  # the bicubic filter's taps per phase (support of the cubic kernel: |x| < 2)


class DepthBase(nn.Module):
    """The bicubic base of a model in depth form: ``(B, 3, h, w)`` -> ``(B, 3*s*s, h, w)``.

    Equal (up to float rounding) to ``pixel_unshuffle(model.upsample_base(lr), s)``, with the
    same symmetric borders, in float32 with autocast off (float64 for float64 input).
    """

    def __init__(self, model: VSRModel) -> None:
        super().__init__()
        s = self.scale = model.scale
        size, centre = 2 * TAPS - 1, TAPS - 1
        impulse = torch.zeros(1, 1, size, size, dtype=torch.float64)
        impulse[..., centre, centre] = 1.0
        with torch.no_grad():
            response = model.upsample_base(impulse)[0, 0]
        kernel = torch.empty(s * s, 1, TAPS, TAPS, dtype=torch.float64)
        for a in range(TAPS):  # output at LR i reads input i + a - 2: the impulse is tap a at i = centre + 2 - a
            for b in range(TAPS):
                i, j = centre + TAPS // 2 - a, centre + TAPS // 2 - b
                kernel[:, 0, a, b] = response[s * i : s * i + s, s * j : s * j + s].reshape(-1)
        self.register_buffer("weight", kernel.repeat(3, 1, 1, 1), persistent=False)
        self._borders: dict[tuple[int, torch.device], Tensor] = {}

    def border(self, length: int, device: torch.device) -> Tensor:
        """Indices of a row (or column) of ``length`` pixels padded symmetrically by 2, cached
        per device (so that a CUDA graph capture copies nothing from the host)."""
        key = (length, device)
        if key not in self._borders:
            pad = TAPS // 2
            indices = fold_symmetric(np.arange(-pad, length + pad), length)
            self._borders[key] = torch.from_numpy(indices).to(device)
        return self._borders[key]

    def forward(self, lr: Tensor) -> Tensor:
        dtype = torch.float64 if lr.dtype == torch.float64 else torch.float32
        height, width = lr.shape[-2:]
        rows, cols = self.border(height, lr.device), self.border(width, lr.device)
        with torch.autocast(device_type=lr.device.type, enabled=False):
            padded = lr.to(dtype).index_select(-2, rows).index_select(-1, cols)
            return F.conv2d(padded, self.weight.to(dtype), groups=3)


def depth_luma(frame: Tensor, scale: int) -> Tensor:
    """``RecurrentCore.space_to_depth_luma`` of a frame given in depth form ``(B, 3*s*s, h, w)``.

    :func:`~vidsr.models.layers.luma`'s weights and offset (read from it) applied to the
    three colour blocks, with no reshape: runtimes keep their blocked layouts.
    """
    offset = luma(frame.new_zeros(1, 3, 1, 1))
    weights = (luma(torch.eye(3, dtype=frame.dtype, device=frame.device).view(3, 3, 1, 1)) - offset).flatten()
    red, green, blue = frame.clamp(0.0, 1.0).split(scale * scale, dim=1)
    return red * weights[0] + green * weights[1] + blue * weights[2] + offset.flatten()[0]


class LowResModel(nn.Module):
    """A patched copy of a recurrent model whose ``cell`` works in depth form inside.

    Has what :class:`~vidsr.models.base.Streamer` needs (``scale``, ``radius``, ``warmup``,
    ``encode``, ``init_hidden``, ``cell``); ``cell`` returns the HR frame as the model does.
    ``depth_cell`` returns it in depth form (what the exported graphs compute before their
    last PixelShuffle).
    """

    def __init__(self, model: VSRModel) -> None:
        super().__init__()
        net = copy.deepcopy(model)
        core: RecurrentCore = net.core
        scale = net.scale
        net.depth_base = DepthBase(model)  # registered: moves with .to()
        object.__setattr__(net, "upsample_base", net.depth_base)  # shadows the method
        core.head = core.head.conv  # no PixelShuffle
        object.__setattr__(core, "space_to_depth_luma", lambda frame: depth_luma(frame, scale))
        self.net = net
        self.scale, self.radius, self.warmup = scale, model.radius, model.warmup

    def encode(self, lr: Tensor) -> Tensor:
        return self.net.encode(lr)

    def init_hidden(self, batch: int, height: int, width: int, like: Tensor) -> Any:
        return self.net.init_hidden(batch, height, width, like)

    def depth_cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        return self.net.cell(window, hidden)

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        output, hidden = self.net.cell(window, hidden)
        return F.pixel_shuffle(output, self.scale), hidden

    def streamer(self) -> Streamer:
        return Streamer(self)  # type: ignore[arg-type]  # duck-typed: what Streamer reads


def lowres_model(model: VSRModel) -> LowResModel | None:
    """The depth-form copy of ``model``, or None when it has no recurrent core with feedback
    or when the copy does not give the model's output (:func:`check_lowres`)."""
    core = getattr(model, "core", None)
    if not isinstance(core, RecurrentCore) or core.feedback is None:
        return None
    if not hasattr(core.head, "conv") or not hasattr(core.head, "shuffle"):
        return None
    patched = LowResModel(model).eval()
    return patched if check_lowres(model, patched) else None


def check_lowres(model: VSRModel, patched: LowResModel, tolerance: float = 1e-4) -> bool:
    """Whether ``patched`` streams what ``model`` streams on a small random clip (float32)."""
    generator = torch.Generator().manual_seed(0)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    clip = torch.rand(1, 4, 3, 11, 13, generator=generator).to(device)
    with torch.inference_mode():
        expected = model.streamer()
        got = patched.streamer()
        a = torch.cat([expected.push(clip), expected.flush()], dim=1)
        b = torch.cat([got.push(clip), got.flush()], dim=1)
    return a.shape == b.shape and bool((a - b).abs().max() <= tolerance)
