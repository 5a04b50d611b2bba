"""``flow``: the founding plan's "2D + optical flow + 2D3D CNN" model (150,180 parameters at x4).

``delta``, in delta's own shape, with motion compensation of everything it carries from
frame t-1: a small learned optical-flow network estimates, for every LR pixel of frame t,
where it was in frame t-1; the recurrent state and the previous output are warped there
(``F.grid_sample``, bilinear, backward warping) before the recurrent 3D part reads them::

    2D stack (per frame, in encode)  conv3x3 3->W, conv3x3 W->W                   (as delta)
    flow network (LR frames t, t-1)  4-level coarse-to-fine pyramid (SPyNet-like): per level
                                     [frame t, warp(frame t-1), upsampled flow] 8 -> conv3x3
                                     32 -> 32 -> 16 -> 2 (a residual flow), coarsest first
    alignment                        features(t-1) warped at LR with the flow; the previous
                                     output's luma warped at HR with the flow upsampled x s
    recurrent 3D part                conv3x3x3 W->W over [state(t-1), features(t), features(t+1)],
                                     state(t-1) = 4 tanh(warped hidden / 4) + feedback(warped output)
    recurrent 2D part                B residual blocks at width W -> hidden(t)
    head                             conv3x3 W->3*s*s + PixelShuffle, + bicubic(frame t)

with ``W = 28`` and ``B = 3`` at the default size (delta's). Why each choice:

* **Reuse, not a copy.** :class:`Flow` *is* a :class:`~vidsr.models.delta.Delta` (same
  per-frame stack, same :class:`~vidsr.models.layers.RecurrentCore` with fed-back output and
  bounded state, same 8-frame warm-up, same streaming contract); it only overrides ``cell``
  to align the state before delta's own ``cell`` runs. Everything proven on delta (stable
  on long input, streaming equals whole-clip) carries over.
* **Why align at all.** delta's state is a map of the previous frame: under motion it
  arrives displaced, and a small network spends its capacity re-aligning it through 3x3
  convolutions (a few pixels per layer). The flow puts the memory where the content now
  is, so the fed-back sub-pixel detail (the previous output) lines up with frame t.
* **Backward warping** (``out[p] = x[p + flow(p)]``, bilinear, borders replicated): every
  pixel of frame t gets a value, no holes, and it is differentiable in the flow. The grid
  is built in float32 even under bf16 autocast (:func:`~vidsr.models.layers.backward_warp`).
  A warp is a convex combination of its inputs, so the bound on the state still holds.
* **The previous output is warped at HR**: its luma is depth-to-space'd back to HR, warped
  with the flow upsampled (bilinear) and multiplied by ``s``, and space-to-depth'd again.
  Warping the space-to-depth channels at LR would mix the 16 sub-pixel phases.
* **A learned coarse-to-fine estimator**, trained here from scratch (no pretrained flow
  weights are available offline). Four levels (each 2x average-pooled) let small per-level
  corrections add up to about ±15 LR pixels (±60 HR at x4); each level sees frame t, frame
  t-1 warped by the coarser estimate and that estimate, and adds a residual. Estimating at
  LR costs 1 + 1/4 + 1/16 + 1/64 of one level's work per LR pixel (about 22k multiply-adds).
* **Starts as delta.** The last convolution of every level is zero-initialised: an
  untrained ``flow`` warps by zero, i.e. it is delta (and, with delta's zero head, bicubic).
* **The flow network is pre-trained alone** (:mod:`vidsr.training.flow_pretrain`): inside
  the warm-started model it learns slowly (a fine-tune of 150 steps left it explaining 3-5%
  of the frame-to-frame difference on the validation clips), while alone on LR frame pairs,
  with the photometric loss below, it costs a fifth of the model per pixel and reached
  64% / 46% in 3,000 steps (9 minutes on one core). The whole model is then fine-tuned.
* **Auxiliary photometric loss.** The SR loss alone reaches the flow only through the
  state, weakly at first. :meth:`Flow.auxiliary_losses` returns, for the last training call,
  ``warp``: Charbonnier between frame t-1 warped by the flow and frame t (the flow must
  explain the LR motion), and ``smooth``: Charbonnier of the flow's spatial differences
  (first-order smoothness); the trainer weighs them with ``loss.warp_weight`` and
  ``loss.smooth_weight`` (:mod:`vidsr.training.trainer`).
* **delta's shape, started from delta's weights.** ``delta`` (84,188) plus the flow network
  (65,992) is 150,180 parameters and 105,962 multiply-adds per LR pixel, well inside the
  400k budget. A wider trunk (width 48, 5 blocks: 379,816 parameters, 335,206
  multiply-adds) was built first, but it is three times costlier per training step and
  starts from nothing, while this shape loads the shipped, trained delta unchanged
  (:meth:`Flow.adapt_init_state`): with its zero flow the warm-started model *is* that
  delta, so every training step on a CPU goes into learning the motion and using the
  aligned state, not into relearning super-resolution. ``Flow(width=..., blocks=...)``
  still builds the wider one for a GPU run from scratch.

Costs not in the flop counter: ``grid_sample`` (about 4 multiply-adds per warped channel and
pixel: W channels at LR, 1 at HR, 3 per pyramid level).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidsr.models.base import ModelFacts
from vidsr.models.delta import Delta
from vidsr.models.layers import RecurrentState, backward_warp, conv2d, conv_stack

__all__ = ["Flow", "FlowEstimator", "upsample_flow", "warp"]

warp = backward_warp  # the name the tests and the docs use


def upsample_flow(flow: Tensor, scale: int) -> Tensor:
    """A flow in LR pixels ``(B, 2, h, w)`` -> the same motion in HR pixels ``(B, 2, sh, sw)``."""
    if scale == 1:
        return flow
    return F.interpolate(flow, scale_factor=scale, mode="bilinear", align_corners=False) * scale


class FlowEstimator(nn.Module):
    """Coarse-to-fine flow from ``frame`` to ``previous``: ``warp(previous, flow) ~ frame``.

    ``levels`` pyramid levels, coarsest first; per level ``8 -> width -> width -> width/2 -> 2``
    (3x3 convolutions, LeakyReLU), the last one zero-initialised (zero flow at the start).
    The flow is accumulated in float32.
    """

    def __init__(self, levels: int = 4, width: int = 32) -> None:
        super().__init__()
        self.levels = nn.ModuleList()
        for _ in range(levels):
            out = conv2d(width // 2, 2)
            nn.init.zeros_(out.weight)
            nn.init.zeros_(out.bias)
            self.levels.append(nn.Sequential(conv_stack((8, width, width, width // 2)), out))

    def forward(self, frame: Tensor, previous: Tensor) -> Tensor:
        frame, previous = frame - 0.5, previous - 0.5  # centred inputs (the borders replicate)
        pyramid = [(frame, previous)]
        for _ in range(len(self.levels) - 1):
            a, b = pyramid[-1]
            pyramid.append((F.avg_pool2d(a, 2, ceil_mode=True), F.avg_pool2d(b, 2, ceil_mode=True)))
        flow: Tensor | None = None
        for level, (a, b) in zip(self.levels, reversed(pyramid), strict=True):
            if flow is None:
                flow = a.new_zeros(a.shape[0], 2, *a.shape[-2:], dtype=torch.float32)
            else:
                ratio = [a.shape[-1] / flow.shape[-1], a.shape[-2] / flow.shape[-2]]  # x, y
                flow = F.interpolate(flow, size=a.shape[-2:], mode="bilinear", align_corners=False)
                flow = flow * flow.new_tensor(ratio).view(1, 2, 1, 1)
            inputs = torch.cat([a, backward_warp(b, flow), flow.to(a.dtype)], dim=1)
            flow = flow + level(inputs).float()
        assert flow is not None
        return flow


class Flow(Delta):
    """delta + a learned optical flow that aligns the hidden state and the fed-back output."""

    facts: ClassVar[ModelFacts] = ModelFacts(
        single_cnn=True,
        multiple_2d_stacks=True,
        recurrent_2d=True,
        recurrent_3d=True,
        output_range_controlled=False,
    )

    def __init__(self, scale: int = 4, width: int = 28, blocks: int = 3,
                 flow_levels: int = 4, flow_width: int = 32) -> None:
        super().__init__(scale, width, blocks)
        self.flow = FlowEstimator(flow_levels, flow_width)
        # (flow, frame t-1, frame t) of every step of the current forward_sequence call.
        self._steps: list[tuple[Tensor, Tensor, Tensor]] | None = None
        self._recorded: list[tuple[Tensor, Tensor, Tensor]] | None = None  # the last call's steps

    def adapt_init_state(self, state: dict[str, Tensor]) -> dict[str, Tensor]:
        """delta's weights (no ``flow.*`` keys) start a flow model: the flow network keeps
        its own initialisation (a zero flow), so the model starts as exactly that delta."""
        if any(key.startswith("flow.") for key in state):
            return state
        own = {key: value for key, value in self.state_dict().items() if key.startswith("flow.")}
        return {**state, **own}

    def align(self, hidden: Any, motion: Tensor) -> Any:
        """The state of frame t-1 warped onto frame t (``motion``: the flow in LR pixels)."""
        if not isinstance(hidden, RecurrentState):
            return backward_warp(hidden, motion)
        previous = hidden.previous
        if previous is not None:  # (B, s*s, h, w) luma phases -> HR, warp, back to phases
            hr = F.pixel_shuffle(previous, self.scale)
            warped = backward_warp(hr, upsample_flow(motion, self.scale))
            previous = F.pixel_unshuffle(warped, self.scale)
        return RecurrentState(backward_warp(hidden.features, motion), previous)

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        # Window position 0 is the frame processed just before (t-1; t+1 in the warm-up).
        previous, current = window[:, 0, :3], window[:, 1, :3]
        motion = self.flow(current, previous)
        if self._steps is not None:
            self._steps.append((motion, previous, current))
        return super().cell(window, self.align(hidden, motion))

    def forward_sequence(self, lr: Tensor, hidden: Any = None) -> tuple[Tensor, Any]:
        """:meth:`VSRModel.forward_sequence`, keeping each step's flow for :meth:`auxiliary_losses`."""
        self._steps = []
        try:
            return super().forward_sequence(lr, hidden)
        finally:
            steps, self._steps = self._steps, None
            self._recorded = steps

    def flows(self) -> list[tuple[Tensor, Tensor, Tensor]]:
        """``(flow, frame t-1, frame t)`` per step of the last :meth:`forward_sequence` call."""
        return list(self._recorded or [])

    def auxiliary_losses(self) -> dict[str, Tensor]:
        """The trainer's hook: ``warp`` (photometric) and ``smooth`` losses of the flows
        estimated in the last :meth:`forward_sequence` call (then forgotten). Empty when
        there were none."""
        from vidsr.training.losses import flow_smoothness, warping_loss

        steps = self.flows()
        self._recorded = None
        if not steps:
            return {}
        flow = torch.cat([step[0] for step in steps])
        previous = torch.cat([step[1] for step in steps])
        current = torch.cat([step[2] for step in steps])
        return {"warp": warping_loss(previous, current, flow), "smooth": flow_smoothness(flow)}
