"""Optimisers (Adam, AdamW, SGD) and learning-rate schedules (cosine with warm-up, step)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from vidsr.errors import VidsrError
from vidsr.training.config import OptimConfig, ScheduleConfig


def param_groups(
    params: Iterable[nn.Parameter] | nn.Module, lr: float, lr_scale: dict[str, float] | None = None,
) -> list[dict]:
    """Trainable parameters in groups: ``lr_scale`` maps a parameter-name prefix (of a module's
    ``named_parameters``) to a multiple of ``lr`` for the parameters under it (the first
    matching prefix counts); the rest, first, at ``lr``. A prefix that matches nothing is an
    error (a typo would silently train at the base rate)."""
    lr_scale = lr_scale or {}
    if isinstance(params, nn.Module):
        named = [(n, p) for n, p in params.named_parameters() if p.requires_grad]
    elif lr_scale:
        raise VidsrError("optim.lr_scale needs the model's parameter names")
    else:
        named = [(str(i), p) for i, p in enumerate(params) if p.requires_grad]
    if not named:
        raise VidsrError("the model has no trainable parameters")
    groups: dict[str, list[nn.Parameter]] = {"": []} | {prefix: [] for prefix in lr_scale}
    for name, param in named:
        plain = name.removeprefix("module.")  # under DDP
        match = next((x for x in lr_scale if plain == x or plain.startswith(f"{x}.")), "")
        groups[match].append(param)
    unmatched = [prefix for prefix in lr_scale if not groups[prefix]]
    if unmatched:
        raise VidsrError(f"optim.lr_scale: no trainable parameter under {', '.join(unmatched)}")
    return [{"params": group, "lr": lr * (lr_scale[prefix] if prefix else 1.0)}
            for prefix, group in groups.items() if group]


def make_optimizer(params: Iterable[nn.Parameter] | nn.Module, config: OptimConfig) -> torch.optim.Optimizer:
    """Adam or AdamW (lr, betas, weight decay) or SGD (lr, momentum, weight decay) over
    ``params`` (a model: ``config.lr_scale`` may give parts of it their own rate)."""
    groups = param_groups(params, config.lr, config.lr_scale)
    if config.name == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    kwargs = dict(lr=config.lr, betas=tuple(config.betas), weight_decay=config.weight_decay)
    if config.name == "adam":
        return torch.optim.Adam(groups, **kwargs)
    if config.name == "adamw":
        return torch.optim.AdamW(groups, **kwargs)
    raise VidsrError(f"unknown optimizer {config.name!r}; choose adam, adamw or sgd")


def lr_factor(step: int, total: int, config: ScheduleConfig, base_lr: float) -> float:
    """Multiplier of the base learning rate used for the update after ``step`` updates.

    * ``cosine``: linear warm-up from ``1/warmup`` to 1 over ``warmup_steps``, then a cosine
      from the base rate down to ``min_lr`` at ``total`` steps.
    * ``step``: linear warm-up, then multiplied by ``gamma`` at each milestone passed.
    * ``constant``: linear warm-up, then the base rate.
    """
    warmup = config.warmup_steps
    if step < warmup:
        return (step + 1) / warmup
    if config.name == "cosine":
        span = max(1, total - warmup)
        progress = min(1.0, (step - warmup) / span)
        floor = min(config.min_lr / base_lr, 1.0)
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    if config.name == "step":
        return config.gamma ** sum(1 for milestone in config.milestones if step >= milestone)
    if config.name == "constant":
        return 1.0
    raise VidsrError(f"unknown schedule {config.name!r}; choose cosine, step or constant")


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: ScheduleConfig, total_steps: int
) -> LambdaLR:
    """A per-step :class:`LambdaLR` following :func:`lr_factor` (its state is one counter)."""
    base_lr = optimizer.param_groups[0]["lr"]
    return LambdaLR(optimizer, lambda step: lr_factor(step, total_steps, config, base_lr))
