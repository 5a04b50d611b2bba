"""``five_parallel``: the founding design's third generation (260,685 parameters at x4).

Budget 259,938 (within 0.3%). Layers, all at LR resolution, width 41::

    five parallel 2D stacks        stack k for window position t-2+k (k = 0..4), each
    (per frame, in encode)         conv5x5 3->41, conv3x3 41->41 (LeakyReLU); own weights
    recurrent 3D part              conv6x3x3 41->41 over the time stack
                                   [hidden(t-1), stack0(t-2), stack1(t-1), ..., stack4(t+2)]
    recurrent 2D part              2 residual blocks (4 x conv3x3 41->41) -> hidden(t)
    head                           conv3x3 41->3*s*s + PixelShuffle
    output                         soft_clamp01(bicubic(frame t) + residual), inside [0, 1]

Why this shape:

* **Five stacks, one per position.** A frame two steps away needs different features (more
  motion to absorb, less weight) than the centre frame, so each position has its own stack.
  Every frame passes through all five stacks once, in :meth:`FiveParallel.encode` (one conv
  and one 5-group conv: the five stacks side by side), and the window then picks stack k's
  features of the frame at position k. That is the same work as running five stacks per
  window, without recomputation, and it streams.
* **Cost = parameters.** Each weight is used once per LR pixel (the 3D kernel spans its whole
  time stack), so the model costs ~261k multiply-adds per LR pixel. The 5x5 first layers
  widen what each stack sees before fusion (implicit alignment of moving content).
* **Range control by construction.** Inputs are clamped to [0, 1] on entry; the output is
  :func:`~vidsr.models.layers.soft_clamp01` of bicubic + residual: identity on [1/32, 31/32]
  (an untrained model equals bicubic on mid-tones), an exponential bend into [0, 1] outside,
  whose slope never reaches zero (unlike clamp) and stays far larger near black/white than a
  sigmoid's. Any finite or infinite pre-activation lands inside [0, 1].
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from vidsr.models.base import ModelFacts, VSRModel
from vidsr.models.layers import (
    RecurrentCore,
    bicubic_upsample,
    conv_stack,
    fold_time,
    soft_clamp01,
    unfold_time,
)


class FiveParallel(VSRModel):
    """Five parallel 2D stacks (frames t-2..t+2) feeding recurrent 3D and 2D parts; output in [0, 1]."""

    facts: ClassVar[ModelFacts] = ModelFacts(
        single_cnn=True,
        multiple_2d_stacks=True,
        recurrent_2d=True,
        recurrent_3d=True,
        output_range_controlled=True,
    )
    radius: ClassVar[int] = 2

    def __init__(self, scale: int = 4, width: int = 41, blocks: int = 2) -> None:
        super().__init__(scale)
        self.width = width
        stacks = 2 * self.radius + 1
        self.stacks = conv_stack((3, stacks * width, stacks * width), first_kernel=5, groups=stacks)
        self.core = RecurrentCore(width, inputs=stacks, blocks=blocks, scale=scale)

    def encode(self, lr: Tensor) -> Tensor:
        """Per frame: the clamped LR frame and its features from all five stacks (5 x width)."""
        frames = fold_time(lr).clamp(0.0, 1.0)
        features = self.stacks(frames)
        return unfold_time(torch.cat([frames, features.to(frames.dtype)], dim=1), lr.shape[0])

    def init_hidden(self, batch: int, height: int, width: int, like: Tensor) -> Tensor:
        return self.core.init_hidden(batch, height, width, like)

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        w = self.width
        inputs = [window[:, k, 3 + k * w : 3 + (k + 1) * w] for k in range(window.shape[1])]
        residual, hidden = self.core(hidden, inputs)
        base = bicubic_upsample(window[:, self.radius, :3], self.scale)
        return soft_clamp01(base + residual.to(base.dtype)), hidden
