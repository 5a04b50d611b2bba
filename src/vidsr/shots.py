"""Scene cuts: where a video's shots change, and a streamer that starts the model afresh at each.

A recurrent model carries its state, and feeds back its last output, from one frame to the
next; across a cut that memory belongs to another shot, and the frame before a cut looks
ahead into the next shot. On the held-out clips cut into four shots
(``benchmarks/scene_cuts.py``, x4 BI) that cost the first frame of a shot 0.10 dB (delta,
five_parallel) to 0.24 dB (flow), and the frame before it 0.02-0.03 dB, against each shot run
as a clip of its own. :class:`ShotStreamer` therefore flushes the model's streamer at a cut,
as at the end of a video, and starts a fresh one, with its warm-up, on the new shot: its
output is then exactly that of each shot on its own.

A cut is two consecutive LR frames whose colour histograms (16 bins per RGB channel) differ
by more than :data:`HISTOGRAM_CUT` (half the L1 distance, 0-1) and whose 16x16 grids of mean
luma differ by more than :data:`GRID_CUT` on average (0-1). Measured on the 16 DAVIS clips
at x4 LR (``benchmarks/scene_cuts.py``): between consecutive frames of a clip (fast motion,
no cut) the histogram distance is at most 0.116; across the 240 joins of one clip's last
frame to another's first, at least 0.190, and the grid difference at least 0.103 (within
clips it reaches 0.169: motion alone moves the grid, so it only confirms). A cut between two
shots of one place in one light can go unseen; a flash can be taken for one (a fresh start
costs little: the warm-up).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

HISTOGRAM_CUT = 0.15
GRID_CUT = 0.05
_BINS, _GRID = 16, 16


def frame_signature(frame: Tensor) -> tuple[Tensor, Tensor]:
    """A ``(3, h, w)`` frame in [0, 1] as (16x16 grid of mean luma, per-channel colour histogram)."""
    frame = frame.float().clamp(0, 1)
    luma = 0.299 * frame[0] + 0.587 * frame[1] + 0.114 * frame[2]
    grid = F.adaptive_avg_pool2d(luma[None, None], (_GRID, _GRID)).flatten()
    pixels = frame.shape[1] * frame.shape[2]
    histogram = torch.cat([torch.histc(frame[c], bins=_BINS, min=0.0, max=1.0) for c in range(3)]) / pixels
    return grid, histogram


def cut_scores(before: tuple[Tensor, Tensor], after: tuple[Tensor, Tensor]) -> tuple[float, float]:
    """(histogram distance, grid difference) between two frame signatures, each 0-1."""
    (grid_a, hist_a), (grid_b, hist_b) = before, after
    return float((hist_a - hist_b).abs().sum() / 6), float((grid_a - grid_b).abs().mean())


def is_cut(before: tuple[Tensor, Tensor], after: tuple[Tensor, Tensor]) -> bool:
    """Whether a shot ends between two frames of these signatures (module doc)."""
    histogram, grid = cut_scores(before, after)
    return histogram > HISTOGRAM_CUT and grid > GRID_CUT


class ShotStreamer:
    """A streamer (``push``/``flush`` of ``(1, t, 3, h, w)`` LR chunks) that runs each shot
    through its own streamer from ``make``: at a cut, the current one is flushed (its last
    frames as at the end of a video) and a fresh one, with the model's warm-up, takes over.
    Batches of several videos (B > 1) are passed through without looking for cuts.
    ``cuts`` counts the cuts found."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make
        self.streamer = make()
        self.cuts = 0
        self._last: tuple[Tensor, Tensor] | None = None  # signature of the last frame pushed

    def push(self, lr: Tensor) -> Tensor:
        if lr.shape[0] != 1 or lr.shape[1] == 0:
            return self.streamer.push(lr)
        outputs, start = [], 0
        for index in range(lr.shape[1]):
            signature = frame_signature(lr[0, index])
            if self._last is not None and is_cut(self._last, signature):
                if index > start:
                    outputs.append(self.streamer.push(lr[:, start:index]))
                outputs.append(self.streamer.flush())
                self.streamer, start = self.make(), index
                self.cuts += 1
            self._last = signature
        outputs.append(self.streamer.push(lr[:, start:]))
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=1)

    def flush(self) -> Tensor:
        self._last = None
        return self.streamer.flush()
