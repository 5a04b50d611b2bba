"""The two degradations of the video SR literature, LR = D(GT), exactly as published.

* ``"bi"``: MATLAB ``imresize(gt, 1/s, 'bicubic')`` (antialiased cubic, a = -0.5, symmetric
  borders), computed in float64 and rounded to uint8 once (half away from zero). This
  reproduces the Vid4 MATLAB reference frames bit for bit.
* ``"bd"``: Gaussian blur then every s-th pixel, as DUF's ``DUF_downsample`` / BasicSR's
  ``duf_downsample``: a 13x13 Gaussian (``scipy.ndimage.gaussian_filter`` of a delta, i.e.
  a normalised separable kernel of radius 6 for sigma 1.6) applied with 'reflect' padding
  (mirror, edge not repeated), then the pixels ``(s*i, s*j)``: BasicSR's padding of
  ``6 + 2s``, stride ``s`` and ``[2:-2]`` crop keep exactly the kernel centres at multiples
  of ``s`` starting from 0. The kernel radius is scipy's ``int(4 * sigma + 0.5)`` (6 for
  sigma 1.6). The result is rounded to uint8 like the BI frames.
  DUF used sigma = 0.4 * s (1.6 for x4, 0.8 for x2, 1.2 for x3); the default here is 1.6.

Frames whose size is not a multiple of ``s`` are cropped to one (bottom and right) first,
so that LR is exactly ``H/s x W/s``; see :func:`crop_to_multiple`.

Two more names: ``"real"``, the random training degradation of :mod:`vidsr.data.real`
(blur, resizing, noise, JPEG and a video codec, drawn per clip), and ``"bi+h264"``, the
compressed-input benchmark of ``vidsr evaluate`` (BI, then an H.264 round trip).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from vidsr.data.resize import fold_reflect, imresize, to_uint8_matlab

__all__ = [
    "COMPRESSED",
    "DEGRADATIONS",
    "LR_GRID",
    "REAL",
    "TRAINING_DEGRADATIONS",
    "crop_to_multiple",
    "degrade",
    "degrade_uint8",
    "gaussian_kernel",
]

DEGRADATIONS = ("bi", "bd")  # the published ones, computed here
REAL = "real"  # the random real-world mix (vidsr.data.real), for training
TRAINING_DEGRADATIONS = (*DEGRADATIONS, REAL)
# Benchmarks of compressed input: name -> the degradation before the H.264 round trip.
COMPRESSED = {"bi+h264": "bi"}
# Where an LR pixel sits on the HR grid after each degradation (see VSRModel.set_lr_grid):
# BI averages a block around s*i + (s-1)/2, BD keeps the pixel s*i; "real" resizes are
# centred (align_corners=False), like BI.
LR_GRID = {"bi": "centre", "bd": "corner", REAL: "centre"}


def gaussian_kernel(sigma: float) -> np.ndarray:
    """The normalised 1-D Gaussian of DUF/BasicSR, radius ``int(4 * sigma + 0.5)``.

    That is scipy's ``gaussian_filter`` truncation, which BasicSR's 13x13 kernel inherits:
    radius 6 (13 taps) for sigma 1.6, 3 for 0.8, 5 for 1.2. (For sigma > 1.625 BasicSR's
    13x13 box would fold the tails back; here the kernel simply grows.)
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    radius = int(4.0 * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


@lru_cache(maxsize=32)
def _blur_subsample_matrix(length: int, scale: int, sigma: float) -> np.ndarray:
    """``(length // scale, length)`` matrix: reflect-padded Gaussian blur, then every s-th."""
    kernel = gaussian_kernel(sigma)
    radius = len(kernel) // 2
    centres = np.arange(length // scale) * scale
    indices = fold_reflect(centres[:, None] + np.arange(-radius, radius + 1)[None, :], length)
    matrix = np.zeros((len(centres), length), dtype=np.float64)
    rows = np.repeat(np.arange(len(centres)), len(kernel))
    np.add.at(matrix, (rows, indices.ravel()), np.tile(kernel, len(centres)))
    matrix.setflags(write=False)
    return matrix


def crop_to_multiple(x: Tensor | np.ndarray, scale: int, channels_last: bool = False):
    """Crop height and width (bottom/right) down to multiples of ``scale``."""
    h_axis, w_axis = (-3, -2) if channels_last else (-2, -1)
    height, width = x.shape[h_axis], x.shape[w_axis]
    new_h, new_w = height - height % scale, width - width % scale
    if (new_h, new_w) == (height, width):
        return x
    if channels_last:
        return x[..., :new_h, :new_w, :]
    return x[..., :new_h, :new_w]


def _check(scale: int, kind: str) -> None:
    if kind not in DEGRADATIONS:
        raise ValueError(f"degradation must be one of {DEGRADATIONS}, not {kind!r}")
    if scale not in (2, 3, 4):
        raise ValueError(f"scale must be 2, 3 or 4, not {scale}")


def _degrade_255(x: Tensor, scale: int, kind: str, sigma: float) -> Tensor:
    """Degrade float64 frames in 0..255 units ``(..., H, W)``; returns unrounded values."""
    if x.shape[-2] < scale or x.shape[-1] < scale:
        raise ValueError(f"frames of {x.shape[-1]}x{x.shape[-2]} are smaller than the scale {scale}")
    x = crop_to_multiple(x, scale)
    if kind == "bi":
        return imresize(x, 1.0 / scale)
    height, width = x.shape[-2:]
    rows = torch.tensor(_blur_subsample_matrix(height, scale, float(sigma)), device=x.device)
    cols = torch.tensor(_blur_subsample_matrix(width, scale, float(sigma)), device=x.device)
    return torch.matmul(torch.matmul(rows, x), cols.T)


def degrade(gt: Tensor, scale: int, kind: str = "bi", sigma: float = 1.6) -> Tensor:
    """LR frames of GT frames ``(..., 3, H, W)`` float in [0, 1].

    Computed in float64 on ``gt * 255``, rounded to uint8 levels, returned in ``gt``'s
    dtype as multiples of 1/255: exactly the uint8 LR frames, divided by 255.
    Not differentiable (it is data preparation). Sizes not a multiple of ``scale`` are
    cropped first.
    """
    _check(scale, kind)
    if not torch.is_floating_point(gt):
        raise ValueError(f"expected float frames in [0, 1], got {gt.dtype} (uint8 frames: degrade_uint8, "
                         "or frames.float() / 255)")
    if gt.numel() and float(gt.max()) > 1.5:
        raise ValueError(f"expected float frames in [0, 1], got values up to {float(gt.max()):.4g} "
                         "(0..255 frames: divide by 255)")
    x = gt.detach().to(torch.float64) * 255.0
    lr = to_uint8_matlab(_degrade_255(x, scale, kind, sigma))
    return (lr / 255.0).to(gt.dtype if torch.is_floating_point(gt) else torch.float32)


def degrade_uint8(
    frames: np.ndarray, scale: int, kind: str = "bi", sigma: float = 1.6
) -> np.ndarray:
    """LR uint8 frames ``(..., h, w, 3)`` of uint8 GT frames ``(..., H, W, 3)``."""
    _check(scale, kind)
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim < 3 or frames.shape[-1] != 3:
        raise ValueError(f"expected uint8 frames (..., H, W, 3), got {frames.dtype} {frames.shape}")
    x = torch.from_numpy(np.array(frames, dtype=np.float64)).movedim(-1, -3)
    lr = to_uint8_matlab(_degrade_255(x, scale, kind, sigma))
    return lr.movedim(-3, -1).to(torch.uint8).numpy()

