"""Metrics: hand-worked values, scikit-image's SSIM, and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage.metrics import structural_similarity

from vidsr.metrics import TemporalConsistency, frame_metrics, mse, psnr, rgb_to_y, ssim

C1 = (0.01 * 255) ** 2
C2 = (0.03 * 255) ** 2


def skimage_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """scikit-image's SSIM with the settings that equal BasicSR's 'valid' SSIM.

    Its 11x11 Gaussian (sigma 1.5, truncate 3.5 -> radius 5) filters the padded image, then
    it averages the map without the 5-pixel border: exactly the 'valid' region.
    """
    return structural_similarity(
        a.astype(np.float64),
        b.astype(np.float64),
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=-1 if a.ndim == 3 else None,
    )


def test_mse_and_psnr_hand_worked() -> None:
    a = np.zeros((4, 4, 3), dtype=np.uint8)
    b = np.full((4, 4, 3), 10, dtype=np.uint8)
    assert mse(a, b) == 100.0
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 100))  # 28.1308 dB
    assert psnr(a, b) == pytest.approx(28.130803608679102)
    c = a.copy()
    c[0, 0, 0] = 255  # one pixel of 48 off by 255
    assert mse(a, c) == pytest.approx(255**2 / 48)
    assert psnr(a, c) == pytest.approx(10 * math.log10(48))


def test_identical_images_give_inf_psnr_and_ssim_one() -> None:
    img = np.random.default_rng(0).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    assert psnr(img, img) == math.inf
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-12)
    figures = frame_metrics(img, img)
    assert figures["psnr_y"] == math.inf and figures["psnr_rgb"] == math.inf
    assert figures["mse_rgb"] == 0.0


def test_ssim_of_constant_images_hand_worked() -> None:
    # No variance: SSIM = (2ab + C1) / (a^2 + b^2 + C1) everywhere.
    a = np.full((16, 16), 100, dtype=np.uint8)
    b = np.full((16, 16), 120, dtype=np.uint8)
    expected = (2 * 100 * 120 + C1) / (100**2 + 120**2 + C1)
    assert ssim(a, b) == pytest.approx(expected, abs=1e-12)


def test_ssim_equals_window_by_window_definition(rng: np.random.Generator) -> None:
    # Wang et al. computed directly: one 11x11 Gaussian-weighted window per 'valid' position.
    a = rng.integers(0, 256, (13, 15)).astype(np.float64)
    b = np.clip(a + rng.integers(-30, 31, a.shape), 0, 255)
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    values = []
    for i in range(a.shape[0] - 10):
        for j in range(a.shape[1] - 10):
            x, y = a[i : i + 11, j : j + 11], b[i : i + 11, j : j + 11]
            mx, my = (w * x).sum(), (w * y).sum()
            vx, vy = (w * (x - mx) ** 2).sum(), (w * (y - my) ** 2).sum()
            cov = (w * (x - mx) * (y - my)).sum()
            values.append(((2 * mx * my + C1) * (2 * cov + C2)) / ((mx**2 + my**2 + C1) * (vx + vy + C2)))
    assert len(values) == 3 * 5
    assert ssim(a.astype(np.uint8), b.astype(np.uint8)) == pytest.approx(np.mean(values), abs=1e-12)


@pytest.mark.parametrize("shape", [(32, 40, 3), (48, 33), (11, 11, 3)])
def test_ssim_matches_scikit_image(shape: tuple[int, ...], rng: np.random.Generator) -> None:
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    noise = rng.integers(-40, 41, shape)
    b = np.clip(a.astype(int) + noise, 0, 255).astype(np.uint8)
    assert ssim(a, b) == pytest.approx(skimage_ssim(a, b), abs=1e-12)


def test_ssim_on_y_matches_scikit_image(rng: np.random.Generator) -> None:
    a = rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)
    b = np.roll(a, 1, axis=1)
    ya, yb = rgb_to_y(a), rgb_to_y(b)
    assert frame_metrics(a, b)["ssim_y"] == pytest.approx(skimage_ssim(ya, yb), abs=1e-12)


def test_rgb_to_y_bt601_studio_range() -> None:
    pixels = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], dtype=np.uint8)
    y = rgb_to_y(pixels)
    np.testing.assert_allclose(y[0], [16.0, 235.0, 16 + 65.481, 16 + 128.553, 16 + 24.966])
    assert y.dtype == np.float64  # not rounded


def test_frame_metrics_keys_and_y_figures(rng: np.random.Generator) -> None:
    a = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    figures = frame_metrics(a, b)
    assert set(figures) >= {"psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb", "mse_rgb"}
    ya, yb = rgb_to_y(a), rgb_to_y(b)
    assert figures["psnr_y"] == pytest.approx(10 * math.log10(255**2 / np.mean((ya - yb) ** 2)))
    assert figures["mse_rgb"] == pytest.approx(np.mean((a.astype(float) - b) ** 2))


def test_crop_border(rng: np.random.Generator) -> None:
    a = rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)
    b = a.copy()
    b[:4] = 0  # differences only in the top 4 rows
    assert psnr(a, b) < 100
    figures = frame_metrics(a, b, crop_border=4)
    assert figures["psnr_rgb"] == math.inf and figures["psnr_y"] == math.inf
    assert figures["ssim_rgb"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        mse(a, b, crop_border=15)


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="shape"):
        mse(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="at least"):
        ssim(np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8))


def test_temporal_consistency_hand_worked() -> None:
    gt = np.full((12, 12, 3), 100, dtype=np.uint8)
    tc = TemporalConsistency()
    tc.add(gt, gt)
    assert tc.value is None  # one frame: no change to compare
    # A static scene rendered with flicker +d, -d, +d: every change is 2d on each channel,
    # i.e. 2d * 219/255 on Y (the Y weights sum to 219/255).
    d = 5
    frames = [gt + d, gt - d, gt + d]
    tc = TemporalConsistency()
    for frame in frames:
        tc.add(frame.astype(np.uint8), gt)
    assert tc.value == pytest.approx(2 * d * 219 / 255)
    # Following the GT's own motion exactly gives 0.
    tc = TemporalConsistency()
    for value in (10, 50, 90):
        frame = np.full((12, 12, 3), value, dtype=np.uint8)
        tc.add(frame, frame)
    assert tc.value == 0.0


images = st.integers(11, 20).flatmap(
    lambda n: st.tuples(
        arrays(np.uint8, (n, n, 3), elements=st.integers(0, 255)),
        arrays(np.uint8, (n, n, 3), elements=st.integers(0, 255)),
    )
)


@settings(max_examples=40, deadline=None)
@given(images)
def test_properties_symmetry_and_bounds(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    assert mse(a, b) == mse(b, a)
    assert psnr(a, b) == psnr(b, a)
    assert ssim(a, b) == pytest.approx(ssim(b, a), abs=1e-12)
    assert 0.0 <= mse(a, b) <= 255.0**2
    assert psnr(a, b) >= 0.0
    assert -1.0 - 1e-12 <= ssim(a, b) <= 1.0 + 1e-12


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, (13, 17, 3), elements=st.integers(0, 255)))
def test_properties_identity(img: np.ndarray) -> None:
    assert mse(img, img) == 0.0
    assert psnr(img, img) == math.inf
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-12)
    figures = frame_metrics(img, img)
    assert figures["ssim_y"] == pytest.approx(1.0, abs=1e-12)
