"""Temporal consistency: how much an output flickers compared with the ground truth."""

from __future__ import annotations

import numpy as np

from vidsr.metrics.image import crop, rgb_to_y

__all__ = ["TemporalConsistency", "temporal_change_error"]


def temporal_change_error(
    sr_prev: np.ndarray, sr: np.ndarray, gt_prev: np.ndarray, gt: np.ndarray, crop_border: int = 0
) -> float:
    """Mean ``|(Y_sr[t] - Y_sr[t-1]) - (Y_gt[t] - Y_gt[t-1])|`` on Y, 0..255 units."""
    change_sr = rgb_to_y(sr) - rgb_to_y(sr_prev)
    change_gt = rgb_to_y(gt) - rgb_to_y(gt_prev)
    return float(np.mean(np.abs(crop(change_sr - change_gt, crop_border))))


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
        if self._prev_sr_y is not None and self._prev_gt_y is not None:
            diff = (sr_y - self._prev_sr_y) - (gt_y - self._prev_gt_y)
            self._total += float(np.mean(np.abs(crop(diff, self.crop_border))))
            self._pairs += 1
        self._prev_sr_y, self._prev_gt_y = sr_y, gt_y

    @property
    def value(self) -> float | None:
        """Mean over frame pairs so far, or ``None`` with fewer than two frames."""
        return self._total / self._pairs if self._pairs else None
