"""Per-image quality metrics with the conventions of BasicSR and the video SR papers.

Images are uint8 (or already-rounded float) arrays ``(H, W, 3)`` RGB or ``(H, W)``;
everything is computed in float64 on the 0..255 scale.

* MSE: mean squared difference. PSNR: ``10 * log10(255**2 / MSE)``; ``inf`` when equal.
* SSIM: Wang et al. with an 11x11 Gaussian window (sigma 1.5), 'valid' filtering (no
  padding: the map is 10 pixels smaller each way), ``C1 = (0.01*255)**2``,
  ``C2 = (0.03*255)**2``, population (co)variances; on colour images the mean over channels.
* Y: BT.601 studio-range luma, ``16 + (65.481 R + 128.553 G + 24.966 B) / 255`` for
  R, G, B in 0..255, not rounded (BasicSR's ``bgr2ycbcr(y_only=True)``).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "SSIM_WINDOW",
    "crop",
    "frame_metrics",
    "mse",
    "psnr",
    "psnr_from_mse",
    "rgb_to_y",
    "ssim",
]

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64) / 255.0


def _as_float(img: np.ndarray) -> np.ndarray:
    array = np.asarray(img)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (1, 3)) or 0 in array.shape[:2]:
        raise ValueError(f"expected an image (H, W) or (H, W, 3), got shape {array.shape}")
    return _on_255_scale(array).astype(np.float64, copy=False)


def _on_255_scale(array: np.ndarray) -> np.ndarray:
    """``array``, after checking that it is on the 0..255 scale the metrics use: a float
    image with NaN or infinity, or one whose values all lie in [0, 1] with some strictly
    between (a [0, 1] image: its PSNR would come out ~48 dB too high) is a ``ValueError``.
    An image of only 0s and 1s is a dark 0..255 image and passes."""
    if array.dtype.kind != "f" or array.size == 0:
        return array
    if not np.isfinite(array).all():
        raise ValueError("image holds NaN or infinity")
    if array.min() >= 0 and array.max() <= 1 and ((array > 0) & (array < 1)).any():
        raise ValueError("image values lie in [0, 1]; the metrics take 0..255 (uint8, or float "
                         "multiplied by 255 and rounded)")
    return array


def _pair(a: np.ndarray, b: np.ndarray, crop_border: int) -> tuple[np.ndarray, np.ndarray]:
    x, y = _as_float(a), _as_float(b)
    if x.shape != y.shape:
        raise ValueError(f"images differ in shape: {x.shape} vs {y.shape}")
    return crop(x, crop_border), crop(y, crop_border)


def crop(img: np.ndarray, border: int) -> np.ndarray:
    """Remove ``border`` pixels from each side of ``(H, W[, C])``."""
    if border < 0:
        raise ValueError(f"crop border must be >= 0, got {border}")
    if border == 0:
        return img
    if img.shape[0] <= 2 * border or img.shape[1] <= 2 * border:
        raise ValueError(f"crop border {border} leaves nothing of a {img.shape[1]}x{img.shape[0]} image")
    return img[border:-border, border:-border, ...]


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 studio-range Y (16..235) of RGB ``(..., 3)`` in 0..255, float64, not rounded."""
    array = np.asarray(img)
    if array.shape[-1] != 3:
        raise ValueError(f"expected RGB (..., 3), got shape {array.shape}")
    x = _on_255_scale(array).astype(np.float64, copy=False)
    # Elementwise, not a BLAS product: the result must not depend on the memory layout
    # (identical frames must give exactly MSE 0).
    return x[..., 0] * _Y_WEIGHTS[0] + x[..., 1] * _Y_WEIGHTS[1] + x[..., 2] * _Y_WEIGHTS[2] + 16.0


def mse(a: np.ndarray, b: np.ndarray, crop_border: int = 0) -> float:
    """Mean squared error on the 0..255 scale."""
    x, y = _pair(a, b, crop_border)
    return float(np.mean((x - y) ** 2))


def psnr_from_mse(value: float) -> float:
    """``10 * log10(255**2 / mse)``; ``inf`` for ``mse == 0``."""
    if not value >= 0:  # negative or NaN
        raise ValueError(f"an MSE is a number >= 0, not {value}")
    return math.inf if value == 0 else 10.0 * math.log10(255.0**2 / value)


def psnr(a: np.ndarray, b: np.ndarray, crop_border: int = 0) -> float:
    """Peak signal-to-noise ratio in dB (peak 255); ``inf`` for identical images."""
    return psnr_from_mse(mse(a, b, crop_border))


@lru_cache(maxsize=1)
def _window_1d() -> tuple[float, ...]:
    x = np.arange(SSIM_WINDOW, dtype=np.float64) - SSIM_WINDOW // 2
    g = np.exp(-(x**2) / (2 * SSIM_SIGMA**2))
    return tuple(float(v) for v in g / g.sum())


def _filter_valid(maps: Tensor) -> Tensor:
    """Separable 11x11 Gaussian filtering of ``(N, H, W)`` float64 maps, 'valid' region.

    A weighted sum of 11 shifted views per axis: exact float64 and, on CPU, much
    faster than a float64 convolution.
    """
    g = _window_1d()
    rows = maps.shape[-2] - SSIM_WINDOW + 1
    out = maps[..., 0:rows, :] * g[0]
    for k in range(1, SSIM_WINDOW):
        out.add_(maps[..., k : k + rows, :], alpha=g[k])
    cols = maps.shape[-1] - SSIM_WINDOW + 1
    result = out[..., 0:cols] * g[0]
    for k in range(1, SSIM_WINDOW):
        result.add_(out[..., k : k + cols], alpha=g[k])
    return result


def ssim_map(x: Tensor, y: Tensor) -> Tensor:
    """SSIM maps ``(C, H-10, W-10)`` of float64 planes ``(C, H, W)`` on the 0..255 scale."""
    c = x.shape[0]
    # Only var_x + var_y is needed, so x*x and y*y are filtered as one sum.
    stats = _filter_valid(torch.cat([x, y, x * x + y * y, x * y], dim=0))
    mu_x, mu_y, squares, xy = stats.split(c, dim=0)
    mu_xy = mu_x * mu_y
    mu_sq = mu_x * mu_x + mu_y * mu_y
    numerator = (2 * mu_xy + _C1) * (2 * (xy - mu_xy) + _C2)
    return numerator / ((mu_sq + _C1) * (squares - mu_sq + _C2))


_BLOCK_ROWS = 48  # output rows per block: keeps the working set in cache


def ssim_per_channel(x: Tensor, y: Tensor) -> Tensor:
    """Mean SSIM of each channel of float64 planes ``(C, H, W)``, computed in row blocks."""
    rows = x.shape[-2] - SSIM_WINDOW + 1
    total = torch.zeros(x.shape[0], dtype=torch.float64)
    for start in range(0, rows, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, rows) + SSIM_WINDOW - 1
        total += ssim_map(x[:, start:stop], y[:, start:stop]).sum(dim=(1, 2))
    return total / (rows * (x.shape[-1] - SSIM_WINDOW + 1))


def ssim(a: np.ndarray, b: np.ndarray, crop_border: int = 0) -> float:
    """Structural similarity, BasicSR convention; colour images: mean over channels."""
    x, y = _pair(a, b, crop_border)
    if x.shape[0] < SSIM_WINDOW or x.shape[1] < SSIM_WINDOW:
        raise ValueError(
            f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {x.shape[1]}x{x.shape[0]}"
        )
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    tx = torch.tensor(x.transpose(2, 0, 1))
    ty = torch.tensor(y.transpose(2, 0, 1))
    return float(ssim_per_channel(tx, ty).mean())


def frame_metrics(sr: np.ndarray, gt: np.ndarray, crop_border: int = 0) -> dict[str, float]:
    """All per-frame figures of uint8 RGB frames ``(H, W, 3)``.

    Keys: ``psnr_y, ssim_y, mse_y, psnr_rgb, ssim_rgb, mse_rgb``.
    """
    sr, gt = np.asarray(sr), np.asarray(gt)
    if sr.shape != gt.shape or sr.ndim != 3 or sr.shape[-1] != 3:
        raise ValueError(f"expected two RGB frames (H, W, 3) of one size, got {sr.shape} and {gt.shape}")
    sr_y, gt_y = rgb_to_y(sr), rgb_to_y(gt)
    mse_y = mse(sr_y, gt_y, crop_border)
    mse_rgb = mse(sr, gt, crop_border)
    return {
        "psnr_y": psnr_from_mse(mse_y),
        "ssim_y": ssim(sr_y, gt_y, crop_border),
        "mse_y": mse_y,
        "psnr_rgb": psnr_from_mse(mse_rgb),
        "ssim_rgb": ssim(sr, gt, crop_border),
        "mse_rgb": mse_rgb,
    }
