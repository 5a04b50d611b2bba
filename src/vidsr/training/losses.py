"""Pixel losses between SR and GT frames: Charbonnier (default), L1 and MSE; and the
auxiliary losses of a flow (photometric warping, smoothness)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from vidsr.errors import VidsrError

LossFn = Callable[[Tensor, Tensor], Tensor]

# Auxiliary losses a model may return from ``auxiliary_losses()`` (a dict by these names);
# the trainer weighs each with ``loss.<name>_weight``.
AUXILIARY_LOSSES = ("warp", "smooth")


def charbonnier(sr: Tensor, gt: Tensor, eps: float = 1e-3) -> Tensor:
    """Mean of ``sqrt((sr - gt)^2 + eps^2)``: a smooth L1 (Lai et al., LapSRN)."""
    return torch.sqrt((sr - gt).square() + eps * eps).mean()


def l1(sr: Tensor, gt: Tensor) -> Tensor:
    """Mean absolute error."""
    return (sr - gt).abs().mean()


def mse(sr: Tensor, gt: Tensor) -> Tensor:
    """Mean squared error."""
    return (sr - gt).square().mean()


def make_loss(name: str, eps: float = 1e-3) -> LossFn:
    """The loss called ``name`` (charbonnier, l1 or mse), computed in float32."""
    if name == "charbonnier":
        return lambda sr, gt: charbonnier(sr.float(), gt.float(), eps)
    if name == "l1":
        return lambda sr, gt: l1(sr.float(), gt.float())
    if name == "mse":
        return lambda sr, gt: mse(sr.float(), gt.float())
    raise VidsrError(f"unknown loss {name!r}; choose charbonnier, l1 or mse")


def warping_loss(previous: Tensor, current: Tensor, flow: Tensor, eps: float = 1e-3) -> Tensor:
    """Photometric loss of a flow: Charbonnier between ``previous`` warped by ``flow`` (backward
    warping, :func:`vidsr.models.layers.backward_warp`) and ``current``, in float32."""
    from vidsr.models.layers import backward_warp

    return charbonnier(backward_warp(previous.float(), flow.float()), current.float(), eps)


def flow_smoothness(flow: Tensor, eps: float = 1e-3) -> Tensor:
    """First-order smoothness of a flow ``(B, 2, H, W)``: mean Charbonnier of its differences
    between horizontal and vertical neighbours (in pixels per pixel)."""
    flow = flow.float()
    dx = flow[..., :, 1:] - flow[..., :, :-1]
    dy = flow[..., 1:, :] - flow[..., :-1, :]
    zero = flow.new_zeros(())
    return 0.5 * (charbonnier(dx, zero.expand_as(dx), eps) + charbonnier(dy, zero.expand_as(dy), eps))
