"""Temporal consistency: how much an output flickers compared with the ground truth."""

from __future__ import annotations

import numpy as np

from vidsr.metrics.image import crop, rgb_to_y

__all__ = ["TemporalConsistency"]


class TemporalConsistency:
    """Accumulates the TC figure of one clip frame by frame (lower is less flicker).

    TC = mean absolute difference between the output's and the ground truth's
    frame-to-frame changes, on Y in 0..255 units, averaged over the T-1 frame pairs;
    ``None`` for a one-frame clip.
    """

    def __init__(self, crop_border: int = 0) -> None:
        self.crop_border = crop_border
        self._prev_sr_y: np.ndarray | None = None
        self._prev_gt_y: np.ndarray | None = None
        self._total = 0.0
        self._pairs = 0

    def add(self, sr: np.ndarray, gt: np.ndarray) -> None:
        """Add the next frame (uint8 RGB) of the output and of the ground truth."""
        sr_y, gt_y = rgb_to_y(sr), rgb_to_y(gt)
        if sr_y.shape != gt_y.shape:
            raise ValueError(f"output and ground truth differ in shape: {np.shape(sr)} vs {np.shape(gt)}")
        if self._prev_sr_y is not None and self._prev_gt_y is not None:
            diff = (sr_y - self._prev_sr_y) - (gt_y - self._prev_gt_y)
            self._total += float(np.mean(np.abs(crop(diff, self.crop_border))))
            self._pairs += 1
        self._prev_sr_y, self._prev_gt_y = sr_y, gt_y

    @property
    def value(self) -> float | None:
        """Mean over frame pairs so far, or ``None`` with fewer than two frames."""
        return self._total / self._pairs if self._pairs else None
