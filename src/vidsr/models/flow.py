"""``flow``: the founding plan's "2D + optical flow + 2D3D CNN" model (stretch goal).

``delta`` with motion compensation of its hidden state: a small learned optical-flow network
estimates, for every LR pixel of frame t, where it was in frame t-1, and the hidden state of
t-1 is warped there (``F.grid_sample``, bilinear) before the recurrent 3D part reads it.

    2D stack (per frame, in encode)  conv3x3 3->28, conv3x3 28->28              (as delta)
    flow network                     3-level coarse-to-fine pyramid (SPyNet-like): per level
                                     [frame t, warped frame t-1, upsampled flow] 8 ->
                                     conv3x3 16 -> conv3x3 16 -> conv3x3 2 (residual flow)
    recurrent 3D part                conv3x3x3 28->28 over [warp(hidden(t-1)), features(t), features(t+1)]
    recurrent 2D part                3 residual blocks at width 28 -> hidden(t)
    head                             conv3x3 28->3*s*s + PixelShuffle, + bicubic(frame t)

Why: without alignment the recurrent state smears under motion and a tiny network spends its
capacity re-aligning it; a 3-level pyramid at LR covers ~±7 LR pixels (±28 HR at x4) of
motion for 11k parameters. The flow layers' last convs start at zero (identity warp), so an
untrained ``flow`` behaves like ``delta`` and the flow is learnt end to end from the SR loss;
an auxiliary warping loss on the LR frames (``warp(frame t-1, flow) ~ frame t``) speeds that
up. Costs not in the flop counter: ``grid_sample`` (about 4 MACs per hidden channel and pixel).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidsr.models.base import ModelFacts, VSRModel
from vidsr.models.layers import (
    RecurrentCore,
    conv2d,
    conv_stack,
    fold_time,
    unfold_time,
)


def warp(x: Tensor, flow: Tensor) -> Tensor:
    """Backward warp: ``out[p] = x[p + flow[p]]`` (bilinear, borders replicated); flow in pixels."""
    _, _, height, width = x.shape
    ys = torch.arange(height, device=x.device, dtype=flow.dtype).view(1, height, 1)
    xs = torch.arange(width, device=x.device, dtype=flow.dtype).view(1, 1, width)
    grid_x = 2 * (xs + flow[:, 0]) / max(width - 1, 1) - 1
    grid_y = 2 * (ys + flow[:, 1]) / max(height - 1, 1) - 1
    grid = torch.stack([grid_x, grid_y], dim=-1)
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="border", align_corners=True)


class FlowEstimator(nn.Module):
    """Coarse-to-fine flow from ``frame`` to ``previous``: ``warp(previous, flow) ~ frame``."""

    def __init__(self, levels: int = 3, width: int = 16) -> None:
        super().__init__()
        self.levels = nn.ModuleList()
        for _ in range(levels):
            out = conv2d(width, 2)
            nn.init.zeros_(out.weight)
            nn.init.zeros_(out.bias)
            self.levels.append(nn.Sequential(conv_stack((8, width, width)), out))

    def forward(self, frame: Tensor, previous: Tensor) -> Tensor:
        pyramid = [(frame, previous)]
        for _ in range(len(self.levels) - 1):
            a, b = pyramid[-1]
            pyramid.append((F.avg_pool2d(a, 2, ceil_mode=True), F.avg_pool2d(b, 2, ceil_mode=True)))
        flow: Tensor | None = None
        for level, (a, b) in zip(self.levels, reversed(pyramid), strict=True):
            if flow is None:
                flow = a.new_zeros(a.shape[0], 2, *a.shape[-2:])
            else:
                ratio = [a.shape[-1] / flow.shape[-1], a.shape[-2] / flow.shape[-2]]  # x, y
                flow = F.interpolate(flow, size=a.shape[-2:], mode="bilinear", align_corners=False)
                flow = flow * flow.new_tensor(ratio).view(1, 2, 1, 1)
            flow = flow + level(torch.cat([a, warp(b, flow), flow], dim=1)).to(flow.dtype)
        assert flow is not None
        return flow


class Flow(VSRModel):
    """delta + a learned optical flow that warps the hidden state from t-1 to t."""

    facts: ClassVar[ModelFacts] = ModelFacts(
        single_cnn=True,
        multiple_2d_stacks=True,
        recurrent_2d=True,
        recurrent_3d=True,
        output_range_controlled=False,
    )
    radius: ClassVar[int] = 1

    def __init__(self, scale: int = 4, width: int = 28, blocks: int = 3) -> None:
        super().__init__(scale)
        self.features = conv_stack((3, width, width))
        self.flow = FlowEstimator()
        self.core = RecurrentCore(width, inputs=2, blocks=blocks, scale=scale)

    def encode(self, lr: Tensor) -> Tensor:
        frames = fold_time(lr)
        features = self.features(frames)
        return unfold_time(torch.cat([frames, features.to(frames.dtype)], dim=1), lr.shape[0])

    def init_hidden(self, batch: int, height: int, width: int, like: Tensor) -> Tensor:
        return self.core.init_hidden(batch, height, width, like)

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        previous, current, ahead = window.unbind(dim=1)
        motion = self.flow(current[:, :3], previous[:, :3])
        residual, hidden = self.core(warp(hidden, motion), [current[:, 3:], ahead[:, 3:]])
        base = self.upsample_base(current[:, :3])
        return base + residual.to(base.dtype), hidden
