"""Validation during training: whole held-out clips through the streaming path, no gradients.

PSNR and SSIM are measured on the Y channel of the uint8 outputs (BasicSR convention, as
in :mod:`vidsr.metrics`), averaged over the frames of each clip, then over the clips.
Under DDP every rank takes a share of the clips and the results are gathered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from vidsr.models.base import VSRModel
from vidsr.streaming import super_resolve
from vidsr.training.data import ValClip
from vidsr.training.distributed import DistContext, all_gather
from vidsr.training.precision import Precision


@torch.inference_mode()
def validate_clip(
    model: VSRModel, clip: ValClip, precision: Precision, chunk: int = 10
) -> dict[str, float]:
    """Mean Y-channel PSNR/SSIM of one clip, streamed ``chunk`` frames at a time."""
    from vidsr.metrics import frame_metrics

    scores: list[tuple[float, float]] = []
    # (validation clips are single shots: no cut detection, so that the protocol stays as it was)
    frames = super_resolve(model, clip.lr, precision.device, chunk, precision.autocast, scene_cuts=False)
    for index, frame in enumerate(frames):
        if index == len(clip.gt):
            raise RuntimeError(f"streaming returned more than the {len(clip.gt)} frames of the clip")
        metrics = frame_metrics(frame, clip.gt[index])
        scores.append((metrics["psnr_y"], metrics["ssim_y"]))
    if len(scores) != len(clip.gt):
        raise RuntimeError(f"streaming returned {len(scores)} frames for {len(clip.gt)}")
    psnr, ssim = np.mean(scores, axis=0)
    return {"psnr_y": float(psnr), "ssim_y": float(ssim), "frames": len(scores)}


def validate(
    model: VSRModel,
    clips: Sequence[ValClip],
    precision: Precision,
    context: DistContext = DistContext(),
    chunk: int = 10,
) -> dict[str, Any]:
    """Scores of every clip and their means; the model is left in the mode it was in."""
    was_training = model.training
    model.eval()
    try:
        mine = {clip.name: validate_clip(model, clip, precision, chunk)
                for clip in clips[context.rank :: context.world_size]}
    finally:
        model.train(was_training)
    per_clip: dict[str, dict[str, float]] = {}
    for part in all_gather(mine, context):
        per_clip.update(part)
    per_clip = {clip.name: per_clip[clip.name] for clip in clips}
    return {
        "psnr_y": float(np.mean([c["psnr_y"] for c in per_clip.values()])),
        "ssim_y": float(np.mean([c["ssim_y"] for c in per_clip.values()])),
        "clips": per_clip,
    }
