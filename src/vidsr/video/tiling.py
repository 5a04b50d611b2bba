"""Large frames in overlapping tiles, each with its own streamer (look-ahead and state).

A frame is cut into a grid of "core" rectangles of at most ``tile`` LR pixels a side;
each tile runs on its core plus ``overlap`` pixels of context on every side (less at the
frame's edges), and only the core's part of its output is kept. For models whose
receptive field (per frame, and through the recurrent state over time) fits in the
overlap, tiled output equals untiled output up to float rounding; for recurrent models
the influence of far pixels fades with distance, and the overlap keeps the difference
below the uint8 rounding step (tested).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch
from torch import Tensor

from vidsr.errors import VidsrError
from vidsr.models.base import VSRModel

DEFAULT_OVERLAP = 16
MIN_TILE = 8
# Rough working-set multiplier over the encoded features and outputs of a chunk (the
# activations inside ``cell``); used only to decide when tiling is needed.
ACTIVATION_FACTOR = 6


@dataclass(frozen=True)
class Tile:
    """One tile: the LR ``crop`` it reads and the LR ``core`` it is responsible for."""

    crop_y: tuple[int, int]
    crop_x: tuple[int, int]
    core_y: tuple[int, int]
    core_x: tuple[int, int]


def _segments(length: int, tile: int) -> list[tuple[int, int]]:
    count = max(1, math.ceil(length / tile))
    bounds = [round(i * length / count) for i in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def plan_tiles(height: int, width: int, tile: int, overlap: int = DEFAULT_OVERLAP) -> list[Tile]:
    """Tiles covering an ``height x width`` LR frame, cores at most ``tile`` a side."""
    if tile < MIN_TILE:
        raise VidsrError(f"--tile must be at least {MIN_TILE} pixels, not {tile}")
    tiles = []
    for y0, y1 in _segments(height, tile):
        for x0, x1 in _segments(width, tile):
            tiles.append(
                Tile(
                    crop_y=(max(0, y0 - overlap), min(height, y1 + overlap)),
                    crop_x=(max(0, x0 - overlap), min(width, x1 + overlap)),
                    core_y=(y0, y1),
                    core_x=(x0, x1),
                )
            )
    return tiles


class TiledStreamer:
    """Same interface as :class:`vidsr.models.Streamer`, one streamer per tile."""

    def __init__(self, model: VSRModel, height: int, width: int, tile: int, overlap: int = DEFAULT_OVERLAP) -> None:
        self.scale = model.scale
        self.size = (height, width)
        self.tiles = plan_tiles(height, width, tile, overlap)
        self.streamers = [model.streamer() for _ in self.tiles]

    def push(self, lr: Tensor) -> Tensor:
        """Feed LR frames ``(B, t, 3, h, w)``; returns the SR frames now complete."""
        outputs = [
            streamer.push(lr[..., t.crop_y[0] : t.crop_y[1], t.crop_x[0] : t.crop_x[1]])
            for t, streamer in zip(self.tiles, self.streamers)
        ]
        return self._stitch(outputs)

    def flush(self) -> Tensor:
        """End of the video: the remaining SR frames."""
        return self._stitch([streamer.flush() for streamer in self.streamers])

    def _stitch(self, outputs: list[Tensor]) -> Tensor:
        s = self.scale
        first = outputs[0]
        batch, frames = first.shape[:2]
        height, width = self.size
        result = first.new_empty(batch, frames, first.shape[2], height * s, width * s)
        for tile, out in zip(self.tiles, outputs):
            (cy0, _), (cx0, _) = tile.crop_y, tile.crop_x
            (y0, y1), (x0, x1) = tile.core_y, tile.core_x
            result[..., y0 * s : y1 * s, x0 * s : x1 * s] = out[
                ..., (y0 - cy0) * s : (y1 - cy0) * s, (x0 - cx0) * s : (x1 - cx0) * s
            ]
        return result


def available_memory(device: torch.device) -> int:
    """Free memory on ``device`` in bytes (MemAvailable for the CPU)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def estimate_bytes(model: VSRModel, height: int, width: int, chunk: int) -> int:
    """Rough working set of the untiled model on ``chunk`` frames of ``height x width``."""
    probe = torch.zeros(1, 1, 3, 16, 16)
    with torch.inference_mode():
        encoded = model.encode(probe)
    per_pixel_features = encoded[0, 0].numel() / (16 * 16)
    window = 2 * model.radius + chunk
    out_channels = 3 * model.scale**2
    per_pixel = window * per_pixel_features + chunk * out_channels
    per_pixel += ACTIVATION_FACTOR * (per_pixel_features + out_channels)
    return int(4 * height * width * per_pixel)


def choose_tile(
    model: VSRModel,
    height: int,
    width: int,
    *,
    chunk: int,
    device: torch.device,
    budget: int | None = None,
) -> int | None:
    """A tile size when the untiled frame would not fit in half the free memory, else None."""
    budget = budget if budget is not None else available_memory(device) // 2
    needed = estimate_bytes(model, height, width, chunk)
    if needed <= budget:
        return None
    side = int(math.sqrt(budget / needed * height * width)) - 2 * DEFAULT_OVERLAP
    if side < MIN_TILE * 4:
        raise VidsrError(
            f"a {width}x{height} frame needs about {needed >> 20} MiB with this model and even small "
            f"tiles do not fit in the {budget >> 20} MiB available"
        )
    return side
