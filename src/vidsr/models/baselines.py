"""Parameter-free baselines: nearest-neighbour ("raw") and MATLAB bicubic upscaling."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from vidsr.models.layers import bicubic_upsample
from vidsr.models.base import ModelFacts, VSRModel

__all__ = ["BicubicUpscaler", "NearestUpscaler"]

_NO_NETWORK = ModelFacts(
    single_cnn=False,
    multiple_2d_stacks=False,
    recurrent_2d=False,
    recurrent_3d=False,
    output_range_controlled=False,
)


class _PerFrameUpscaler(VSRModel):
    """An upscaler with no time context: the work is done per frame in :meth:`encode`."""

    facts: ClassVar[ModelFacts] = _NO_NETWORK
    radius: ClassVar[int] = 0

    def upscale(self, lr: Tensor) -> Tensor:
        """``(..., 3, h, w)`` -> ``(..., 3, s*h, s*w)``."""
        raise NotImplementedError

    def encode(self, lr: Tensor) -> Tensor:
        return self.upscale(lr)

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        return window[:, 0], hidden


class NearestUpscaler(_PerFrameUpscaler):
    """The founding table's "Raw" row: every LR pixel repeated ``s x s`` times."""

    def upscale(self, lr: Tensor) -> Tensor:
        s = self.scale
        return lr.repeat_interleave(s, dim=-2).repeat_interleave(s, dim=-1)


class BicubicUpscaler(_PerFrameUpscaler):
    """MATLAB ``imresize(lr, s, 'bicubic')``, computed in float64, not clamped.

    Uses the polyphase form (:func:`vidsr.models.layers.bicubic_upsample`, equal to the
    dense :func:`vidsr.data.resize.imresize` to 1e-12, tested), whose cost per pixel does
    not grow with the frame size.

    Evaluation rounds the output to uint8 (with clamping), as MATLAB's uint8 result does.
    """

    def upscale(self, lr: Tensor) -> Tensor:
        return bicubic_upsample(lr.to(torch.float64), self.scale).to(lr.dtype)
