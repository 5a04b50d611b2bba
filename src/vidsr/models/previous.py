"""``previous``: the founding design's first generation, two separate networks.

1. :class:`Upscaler2D` (10,580 parameters at x4; budget 10,577): a 2D CNN that super-resolves
   each frame on its own, FSRCNN-like (wide feature extraction, then a shrunk mapping)::

       conv3x3 3->20, conv3x3 20->12, 2 x conv3x3 12->12   (LeakyReLU after each)
       conv3x3 12->3*s*s + PixelShuffle, + bicubic upsampling of the frame

2. :class:`Refiner3D` (62,992 parameters at x4; budget 63,129): a 3D CNN that refines a
   window of five 2D outputs (frames t-2..t+2) into a better frame t::

       per frame   space-to-depth of the 2D output (3 x s x s HR pixels -> 3*s*s channels
                   at each LR position: lossless, no HR-resolution convolutions),
                   conv1x1x1 48->28 + LeakyReLU
       over time   conv5x3x3 28->28 (the five frames -> one) + LeakyReLU
                   residual block (2 x conv3x3 28->28)
                   conv3x3 28->3*s*s + PixelShuffle, + the 2D output of frame t

Why: the 3D network works on the LR grid (the pixel-unshuffled 2D outputs) so its cost per
LR pixel equals its parameter count, instead of 16x that at HR resolution; the 1x1x1 embedding
runs once per frame (in :meth:`Previous.encode`), and the temporal kernel spans the whole
window, so each weight is used once per output pixel. Five frames rather than three: this
network has no recurrence, so the window is its only source of temporal detail. Both heads
start at zero: an untrained ``previous`` equals bicubic, and the 3D network first learns to
keep the 2D output. No hidden state and no range control, as in the founding design.

Parameter counts depend on the scale through the heads and the 48 = 3*4*4 unshuffled
channels; the budgets above are at x4.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidsr.models.base import ModelFacts, VSRModel
from vidsr.models.layers import (
    ResidualBlock,
    SubPixelHead,
    TemporalConv3d,
    activation,
    bicubic_upsample,
    conv2d,
    conv_stack,
    count_parameters,
    fold_time,
    init_conv_,
    unfold_time,
)


class Upscaler2D(nn.Module):
    """The first-generation 2D CNN: one LR frame ``(N, 3, h, w)`` -> SR frame ``(N, 3, sh, sw)``."""

    lr_grid: str = "centre"  # set by Previous.set_lr_grid

    def __init__(self, scale: int, widths: tuple[int, ...] = (20, 12, 12, 12)) -> None:
        super().__init__()
        self.scale = scale
        self.body = conv_stack((3, *widths))
        self.head = SubPixelHead(widths[-1], scale)

    def forward(self, lr: Tensor) -> Tensor:
        base = bicubic_upsample(lr, self.scale, self.lr_grid)
        return base + self.head(self.body(lr)).to(base.dtype)


class Refiner3D(nn.Module):
    """The first-generation 3D CNN over a window of 2D outputs (on the LR grid, see module doc)."""

    def __init__(self, scale: int, frames: int = 5, width: int = 28, blocks: int = 1) -> None:
        super().__init__()
        self.scale = scale
        self.embed = conv2d(3 * scale * scale, width, 1)  # a 1x1x1 3D conv, applied per frame
        init_conv_(self.embed)
        self.temporal = TemporalConv3d(width, width, depth=frames)
        self.act = activation()
        self.trunk = nn.Sequential(*[ResidualBlock(width) for _ in range(blocks)])
        self.head = SubPixelHead(width, scale)

    def embed_frames(self, sr2d: Tensor) -> tuple[Tensor, Tensor]:
        """SR frames ``(N, 3, sh, sw)`` -> (unshuffled frames ``(N, 3s², h, w)``, embeddings)."""
        unshuffled = F.pixel_unshuffle(sr2d, self.scale)
        return unshuffled, self.act(self.embed(unshuffled))

    def forward(self, embeddings: list[Tensor], centre: Tensor) -> Tensor:
        """Embeddings of the window's frames (oldest first) + unshuffled centre 2D output -> SR frame."""
        features = self.trunk(self.act(self.temporal.fuse(embeddings)))
        base = F.pixel_shuffle(centre, self.scale)
        return base + self.head(features).to(base.dtype)


class Previous(VSRModel):
    """2D CNN per frame, then a separate 3D CNN over frames t-2..t+2 (no recurrence)."""

    facts: ClassVar[ModelFacts] = ModelFacts(
        single_cnn=False,
        multiple_2d_stacks=False,
        recurrent_2d=False,
        recurrent_3d=False,
        output_range_controlled=False,
    )
    radius: ClassVar[int] = 2

    def __init__(self, scale: int = 4) -> None:
        super().__init__(scale)
        self.net2d = Upscaler2D(scale)
        self.net3d = Refiner3D(scale, frames=2 * self.radius + 1)

    def parts(self) -> dict[str, int]:
        """Parameter counts of the two separate networks."""
        return {"2d": count_parameters(self.net2d), "3d": count_parameters(self.net3d)}

    def encode(self, lr: Tensor) -> Tensor:
        """Per frame: the 2D CNN's output (unshuffled to the LR grid) and its 3D-CNN embedding."""
        unshuffled, embedding = self.net3d.embed_frames(self.net2d(fold_time(lr)))
        return unfold_time(torch.cat([unshuffled, embedding.to(unshuffled.dtype)], dim=1), lr.shape[0])

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        split = 3 * self.scale * self.scale
        frames = window.unbind(dim=1)
        embeddings = [frame[:, split:] for frame in frames]
        return self.net3d(embeddings, frames[self.radius][:, :split]), hidden
