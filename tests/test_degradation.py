"""BI and BD degradations: the MATLAB reference frames, BasicSR's duf_downsample, properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from vidsr.data.degradation import (
    _degrade_255,
    crop_to_multiple,
    degrade,
    degrade_uint8,
    gaussian_kernel,
)
from vidsr.data.frames import list_frames, read_frame, to_tensor


def basicsr_duf_downsample(x: torch.Tensor, kernel_size: int = 13, scale: int = 4) -> torch.Tensor:
    """BasicSR ``duf_downsample`` (basicsr/data/data_util.py), reproduced for comparison."""
    from scipy.ndimage import gaussian_filter

    b, t, c, h, w = x.size()
    x = x.view(-1, 1, h, w)
    pad_w, pad_h = kernel_size // 2 + scale * 2, kernel_size // 2 + scale * 2
    x = F.pad(x, (pad_w, pad_w, pad_h, pad_h), "reflect")
    delta = np.zeros((kernel_size, kernel_size))
    delta[kernel_size // 2, kernel_size // 2] = 1
    kernel = torch.from_numpy(gaussian_filter(delta, 0.4 * scale)).type_as(x).unsqueeze(0).unsqueeze(0)
    x = F.conv2d(x, kernel, stride=scale)
    x = x[:, :, 2:-2, 2:-2]
    return x.view(b, t, c, x.size(2), x.size(3))


@pytest.mark.shared_data
def test_bi_reproduces_matlab_reference_calendar(shared_data: Path) -> None:
    gt_frames = list_frames(shared_data / "vid4" / "GT" / "calendar")
    ref_frames = list_frames(shared_data / "vid4" / "BIx4_matlab_reference" / "calendar")
    assert [p.name for p in gt_frames] == [p.name for p in ref_frames]
    assert len(gt_frames) == 41
    for gt_path, ref_path in zip(gt_frames, ref_frames):
        lr = degrade_uint8(read_frame(gt_path), 4, "bi")
        np.testing.assert_array_equal(lr, read_frame(ref_path), err_msg=gt_path.name)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bd_matches_basicsr_duf_downsample(scale: int, rng: np.random.Generator) -> None:
    gt = rng.integers(0, 256, (1, 2, 3, 12 * scale, 10 * scale)).astype(np.float64) / 255
    reference = basicsr_duf_downsample(torch.from_numpy(gt), scale=scale)
    ours = degrade(torch.from_numpy(gt), scale, "bd", sigma=0.4 * scale)
    assert ours.shape == reference.shape
    # The same uint8 levels, except where BasicSR's value sits on a rounding tie (k + 0.5),
    # where float error decides.
    reference_255 = reference * 255
    tie = (reference_255 - reference_255.floor() - 0.5).abs() < 1e-9
    same = (ours * 255 - torch.floor(reference_255 + 0.5)).abs() < 1e-6
    assert bool((same | tie).all())
    assert tie.float().mean() < 0.01
    # And the unrounded values agree to float precision.
    unrounded = _degrade_255(torch.from_numpy(gt) * 255, scale, "bd", 0.4 * scale)
    torch.testing.assert_close(unrounded, reference_255, atol=1e-9, rtol=0)


def test_bd_samples_kernel_centres_at_multiples_of_scale() -> None:
    # A single bright pixel at (8, 8) lands on LR pixel (2, 2) at x4 and nowhere else at full weight.
    gt = np.zeros((32, 32, 3), dtype=np.uint8)
    gt[8, 8] = 255
    lr = degrade_uint8(gt, 4, "bd")
    peak = np.unravel_index(np.argmax(lr[..., 0]), lr.shape[:2])
    assert peak == (2, 2)
    assert lr[2, 2, 0] == round(255 * gaussian_kernel(1.6)[6] ** 2)


def test_gaussian_kernel_shape_and_sum() -> None:
    assert len(gaussian_kernel(1.6)) == 13
    assert len(gaussian_kernel(0.8)) == 7  # scipy's truncation at int(4 * sigma + 0.5)
    assert len(gaussian_kernel(1.2)) == 11
    assert len(gaussian_kernel(3.0)) == 25
    assert gaussian_kernel(2.0).sum() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        gaussian_kernel(0)


@pytest.mark.parametrize("kind", ["bi", "bd"])
def test_float_degrade_equals_uint8_degrade(kind: str, rng: np.random.Generator) -> None:
    gt = rng.integers(0, 256, (3, 40, 48, 3), dtype=np.uint8)
    lr_uint8 = degrade_uint8(gt, 4, kind)
    lr_float = degrade(to_tensor(gt), 4, kind)
    assert lr_float.dtype == torch.float32
    levels = lr_float.double() * 255
    torch.testing.assert_close(levels, levels.round(), atol=1e-4, rtol=0)  # multiples of 1/255
    np.testing.assert_array_equal(
        levels.round().to(torch.uint8).movedim(-3, -1).numpy(), lr_uint8
    )


def test_sizes_not_multiple_of_scale_are_cropped() -> None:
    gt = np.zeros((35, 38, 3), dtype=np.uint8)
    assert degrade_uint8(gt, 4, "bi").shape == (8, 9, 3)
    assert degrade_uint8(gt, 3, "bd").shape == (11, 12, 3)
    assert crop_to_multiple(gt, 4, channels_last=True).shape == (32, 36, 3)
    assert crop_to_multiple(torch.zeros(3, 35, 38), 4).shape == (3, 32, 36)


def test_bad_arguments() -> None:
    gt = np.zeros((16, 16, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="degradation"):
        degrade_uint8(gt, 4, "nearest")
    with pytest.raises(ValueError, match="scale"):
        degrade_uint8(gt, 5)
    with pytest.raises(ValueError, match="uint8"):
        degrade_uint8(gt.astype(np.float32), 4)


@settings(max_examples=25, deadline=None)
@given(
    value=st.integers(0, 255),
    scale=st.sampled_from([2, 3, 4]),
    kind=st.sampled_from(["bi", "bd"]),
    height=st.integers(1, 6),
    width=st.integers(1, 6),
)
def test_constant_frames_stay_constant(value: int, scale: int, kind: str, height: int, width: int) -> None:
    gt = np.full((height * scale, width * scale, 3), value, dtype=np.uint8)
    lr = degrade_uint8(gt, scale, kind)
    assert lr.shape == (height, width, 3)
    assert (lr == value).all()
