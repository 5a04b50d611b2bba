"""MATLAB-compatible bicubic resize: kernel, weights, a loop-by-loop reference, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vidsr.data.resize import cubic, imresize, imresize_uint8, matlab_round, resize_matrix


def matlab_resize_1d(signal: np.ndarray, scale: float, out_length: int) -> np.ndarray:
    """Line-by-line transcription of MATLAB imresize.m ``contributions`` + ``resizeAlongDim``."""
    in_length = len(signal)
    kernel_width = 4.0
    antialias = scale < 1
    out = np.zeros(out_length)
    aux = list(range(1, in_length + 1)) + list(range(in_length, 0, -1))  # symmetric, 1-based
    for x in range(1, out_length + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        width = kernel_width / scale if antialias else kernel_width
        left = math.floor(u - width / 2)
        taps = math.ceil(width) + 2
        weights, indices = [], []
        for j in range(taps):
            index = left + j
            distance = u - index
            w = scale * cubic(np.array(scale * distance)) if antialias else cubic(np.array(distance))
            weights.append(float(w))
            indices.append(aux[(index - 1) % len(aux)])  # MATLAB: aux(mod(indices-1, end)+1)
        total = sum(weights)
        out[x - 1] = sum(w / total * signal[i - 1] for w, i in zip(weights, indices))
    return out


def test_cubic_kernel_hand_values() -> None:
    # Keys cubic with a = -0.5: 1.5|x|^3 - 2.5|x|^2 + 1 on [0,1]; -0.5|x|^3 + 2.5|x|^2 - 4|x| + 2 on (1,2]
    values = cubic(np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, -0.5]))
    np.testing.assert_allclose(values, [1.0, 0.5625, 0.0, -0.0625, 0.0, 0.0, 0.5625])


@pytest.mark.parametrize(
    ("in_length", "scale"), [(16, 0.25), (17, 0.5), (12, 1 / 3), (5, 4.0), (7, 2.0), (9, 3.0), (3, 0.25)]
)
def test_matrix_matches_loop_reference(in_length: int, scale: float) -> None:
    rng = np.random.default_rng(in_length)
    signal = rng.uniform(0, 255, in_length)
    out_length = math.ceil(in_length * scale)
    expected = matlab_resize_1d(signal, scale, out_length)
    got = resize_matrix(in_length, out_length, scale).numpy() @ signal
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(
    length=st.integers(1, 40),
    scale=st.sampled_from([0.25, 1 / 3, 0.5, 2.0, 3.0, 4.0]),
)
def test_weights_rows_sum_to_one(length: int, scale: float) -> None:
    out_length = math.ceil(length * scale)
    matrix = resize_matrix(length, out_length, scale)
    assert matrix.shape == (out_length, length)
    torch.testing.assert_close(matrix.sum(1), torch.ones(out_length, dtype=torch.float64))


def test_constant_image_stays_constant() -> None:
    x = torch.full((2, 3, 20, 28), 0.37, dtype=torch.float64)
    for scale in (0.25, 0.5, 2.0, 4.0):
        torch.testing.assert_close(imresize(x, scale), torch.full_like(imresize(x, scale), 0.37))


def test_upscale_reproduces_linear_ramp_away_from_borders() -> None:
    ramp = torch.arange(16, dtype=torch.float64).view(1, 16).expand(4, 16)  # varies along width
    up = imresize(ramp, 4.0)
    u = (torch.arange(1, 65, dtype=torch.float64) / 4 + 0.5 * (1 - 1 / 4)) - 1  # 0-based sample points
    inner = slice(8, 56)
    torch.testing.assert_close(up[0, inner], u[inner])


def test_output_sizes_and_size_argument() -> None:
    x = torch.rand(3, 30, 41)
    assert imresize(x, 0.25).shape == (3, 8, 11)  # ceil(30/4), ceil(41/4), like MATLAB
    assert imresize(x, size=(12, 20)).shape == (3, 12, 20)
    with pytest.raises(ValueError):
        imresize(x)
    with pytest.raises(ValueError):
        imresize(x, 2.0, size=(4, 4))
    with pytest.raises(TypeError):
        imresize(torch.zeros(4, 4, dtype=torch.uint8), 2.0)


def test_no_antialias_uses_plain_kernel() -> None:
    signal = np.arange(16, dtype=np.float64) ** 2
    plain = resize_matrix(16, 4, 0.25, antialias=False).numpy() @ signal
    smooth = resize_matrix(16, 4, 0.25, antialias=True).numpy() @ signal
    assert not np.allclose(plain, smooth)
    assert np.count_nonzero(resize_matrix(16, 4, 0.25, antialias=False)[1]) == 4


def test_differentiable() -> None:
    x = torch.rand(1, 6, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: imresize(t, 0.5), (x,))
    assert torch.autograd.gradcheck(lambda t: imresize(t, 2.0), (x,))


def test_float32_close_to_float64() -> None:
    x = torch.rand(2, 3, 16, 20, dtype=torch.float64)
    torch.testing.assert_close(imresize(x.float(), 4.0).double(), imresize(x, 4.0), atol=1e-5, rtol=0)


def test_matlab_round_half_away_from_zero() -> None:
    values = torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999])
    assert matlab_round(values).tolist() == [1.0, 2.0, 3.0, -1.0, -2.0, 2.0]


def test_imresize_uint8_rounds_and_saturates() -> None:
    # A hard edge overshoots with the cubic kernel: MATLAB saturates to 0..255.
    img = np.zeros((8, 8, 3), dtype=np.uint8)
    img[:, 4:] = 255
    up = imresize_uint8(img, 2.0)
    assert up.dtype == np.uint8 and up.shape == (16, 16, 3)
    exact = imresize(torch.from_numpy(img).double().permute(2, 0, 1), 2.0)
    assert exact.min() < 0 and exact.max() > 255  # overshoot really happens
    expected = matlab_round(exact).clamp(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()
    np.testing.assert_array_equal(up, expected)
    gray = imresize_uint8(img[..., 0], 0.5)
    assert gray.shape == (4, 4)
