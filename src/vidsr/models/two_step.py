"""``two_step``: the founding plan's two steps as one model (stretch goal).

Step 1 is :class:`~vidsr.models.fsrcnn.FSRCNN`, per frame (35,312 parameters at x4). Step 2
is a delta-style recurrent refiner of the step-1 frames (95,052 parameters at x4):

    per frame (in encode)   step-1 SR frame -> space-to-depth to the LR grid (3*s*s channels,
                            lossless), conv3x3 48->28, conv3x3 28->28 (LeakyReLU)
    recurrent 3D part       conv3x3x3 28->28 over [hidden(t-1), features(t), features(t+1)]
    recurrent 2D part       3 residual blocks at width 28 -> hidden(t)
    head                    conv3x3 28->3*s*s + PixelShuffle, + the step-1 frame t

Why: refining at HR resolution (scale 1 on the step-1 frames, as first planned) costs s*s =
16x the compute at x4 for the same layers; the step-1 frame unshuffled back onto the LR grid
keeps every HR pixel and lets step 2 run at LR cost. The LR frame is not fed separately: the
step-1 frame (bicubic + residual) already carries it. Step 2's head starts at zero, so an
untrained ``two_step`` equals its step 1 (and bicubic, when step 1 is untrained too); train
step 1 first (``vidsr train`` on fsrcnn), load it, then train both or step 2 alone.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from vidsr.models.base import ModelFacts, VSRModel
from vidsr.models.fsrcnn import FSRCNN
from vidsr.models.layers import RecurrentCore, conv_stack, count_parameters, fold_time, unfold_time


class TwoStep(VSRModel):
    """FSRCNN per frame (step 1), then a recurrent 2D+3D refiner on the LR grid (step 2)."""

    facts: ClassVar[ModelFacts] = ModelFacts(
        single_cnn=False,
        multiple_2d_stacks=True,
        recurrent_2d=True,
        recurrent_3d=True,
        output_range_controlled=False,
    )
    radius: ClassVar[int] = 1

    def __init__(self, scale: int = 4, width: int = 28, blocks: int = 3) -> None:
        super().__init__(scale)
        self.step1 = FSRCNN(scale)
        self.features = conv_stack((3 * scale * scale, width, width))
        self.core = RecurrentCore(width, inputs=2, blocks=blocks, scale=scale)

    def parts(self) -> dict[str, int]:
        """Parameter counts of step 1 (FSRCNN) and step 2 (the refiner)."""
        step1 = count_parameters(self.step1)
        return {"step1": step1, "step2": count_parameters(self) - step1}

    def encode(self, lr: Tensor) -> Tensor:
        """Per frame: the step-1 SR frame unshuffled to the LR grid, and step 2's features of it."""
        unshuffled = F.pixel_unshuffle(self.step1.upscale(fold_time(lr)), self.scale)
        features = self.features(unshuffled)
        return unfold_time(torch.cat([unshuffled, features.to(unshuffled.dtype)], dim=1), lr.shape[0])

    def init_hidden(self, batch: int, height: int, width: int, like: Tensor) -> Tensor:
        return self.core.init_hidden(batch, height, width, like)

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        split = 3 * self.scale * self.scale
        _, current, ahead = window.unbind(dim=1)
        residual, hidden = self.core(hidden, [current[:, split:], ahead[:, split:]])
        base = F.pixel_shuffle(current[:, :split], self.scale)
        return base + residual.to(base.dtype), hidden
