"""``delta``: the founding design's second generation, one recurrent 2D+3D CNN (84,188 parameters at x4).

Budget 83,702 (within 0.6%). Layers, all at LR resolution, width 28::

    2D stack 1 (per frame, in encode)   conv3x3 3->28, conv3x3 28->28          (LeakyReLU)
    feedback                            conv1x1 16->28 over the previous output's luma,
                                        space-to-depth to LR (16 sub-pixel phases at x4)
    recurrent 3D part                   conv3x3x3 28->28 over the time stack
                                        [state(t-1), features(t), features(t+1)],
                                        state(t-1) = 4 tanh(hidden(t-1) / 4) + feedback
    recurrent 2D part (2D stack 2)      3 residual blocks (6 x conv3x3 28->28) -> hidden(t)
    head                                conv3x3 28->3*s*s + PixelShuffle
    output                              + MATLAB bicubic upsampling of frame t (not clamped)

Why this shape:

* **Cost = parameters.** Every weight is used once per LR pixel (per-frame features are
  computed once per frame in :meth:`Delta.encode`; the 3D kernel spans its whole time stack),
  so the 84k multiply-adds per LR pixel are what training on a CPU pays for.
* **Where the frames come from.** Frame t+1 arrives as look-ahead (radius 1: one frame of
  latency); frames <= t-1 arrive through the recurrent state, which at t-1 already saw frame
  t as look-ahead. Feeding frame t-1 again would cost 7k parameters for information the
  state already carries, so window position t-1 is only kept by the streamer, never read.
* **The previous output is fed back** (as in RLSP and FRVSR): LR features cannot hold the
  sub-pixel detail that frame t-1 already reconstructed, its HR output can. Luma only, 476
  parameters (:class:`~vidsr.models.layers.RecurrentCore` says why), added to the state
  slice of the 3D part, so weights trained without it still load and compute the same.
* **Bounded state.** The fed-back features are bounded by ``4 tanh(x / 4)`` and the
  fed-back output clamped to [0, 1]: every step is a fixed function of bounded inputs, so
  the state cannot run away on long input. Training runs 30-frame sequences with the state
  carried across optimiser steps (truncated back-propagation), so the network learns to
  use a state that has run long, not only one started from zeros.
* **Warm-up.** ``warmup = 8``: a clip's first 8 frames are first run in reverse (outputs
  dropped; :class:`~vidsr.models.base.Streamer`), so frame 0 starts from a state that has
  seen its neighbours and from a fed-back output of frame 0 itself, not from zeros.
* **Depth over width.** Ten 3x3 layers from frame to output (a 21x21 LR receptive field per
  step, unbounded through the state) at width 28, rather than fewer wider layers: in this size class
  depth buys more PSNR per FLOP, and residual blocks keep it easy to train.
* **Residual on bicubic**, head zero-initialised: untrained ``delta`` equals bicubic, and the
  network only learns the missing detail. Output range not limited (founding design).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from vidsr.models.base import ModelFacts, VSRModel
from vidsr.models.layers import RecurrentCore, conv_stack, fold_time, unfold_time


class Delta(VSRModel):
    """One CNN: per-frame 2D stack, recurrent 3D fusion, recurrent 2D trunk, residual on bicubic."""

    facts: ClassVar[ModelFacts] = ModelFacts(
        single_cnn=True,
        multiple_2d_stacks=True,
        recurrent_2d=True,
        recurrent_3d=True,
        output_range_controlled=False,
    )
    radius: ClassVar[int] = 1
    warmup = 8  # frames run in reverse before a clip starts (Streamer): see the module doc

    def __init__(self, scale: int = 4, width: int = 28, blocks: int = 3) -> None:
        super().__init__(scale)
        self.features = conv_stack((3, width, width))
        self.core = RecurrentCore(width, inputs=2, blocks=blocks, scale=scale, feedback=True)

    def encode(self, lr: Tensor) -> Tensor:
        """Per frame: the LR frame itself (for the bicubic base) and its 2D features."""
        frames = fold_time(lr)
        features = self.features(frames)
        return unfold_time(torch.cat([frames, features.to(frames.dtype)], dim=1), lr.shape[0])

    def init_hidden(self, batch: int, height: int, width: int, like: Tensor) -> Any:
        return self.core.init_hidden(batch, height, width, like)

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        _, current, ahead = window.unbind(dim=1)  # frame t-1 reaches the cell via the hidden state
        base = self.upsample_base(current[:, :3])
        residual, features = self.core(hidden, [current[:, 3:], ahead[:, 3:]], base)
        output = base + residual.to(base.dtype)
        return output, self.core.next_state(features, output)
