"""Image and video quality metrics (BasicSR / VSR-paper conventions); see :mod:`.image`."""

from vidsr.metrics.image import SSIM_WINDOW, crop, frame_metrics, mse, psnr, psnr_from_mse, rgb_to_y, ssim
from vidsr.metrics.temporal import TemporalConsistency

__all__ = [
    "SSIM_WINDOW",
    "TemporalConsistency",
    "crop",
    "frame_metrics",
    "mse",
    "psnr",
    "psnr_from_mse",
    "rgb_to_y",
    "ssim",
]
