"""Pixel losses between SR and GT frames: Charbonnier (default), L1 and MSE."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from vidsr.errors import VidsrError

LossFn = Callable[[Tensor, Tensor], Tensor]


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
