"""Building blocks shared by the vidsr networks.

Every network here works at LR resolution and upsamples only at the end, with a
conv + PixelShuffle head (faster on CPU than a transposed convolution)
whose output is a residual added to a fixed bicubic upsampling of the centre frame.
The head starts at zero, so an untrained network equals the bicubic baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidsr.data.resize import cubic, fold_symmetric

LRELU_SLOPE = 0.1


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (trainable or not) of a module."""
    return sum(p.numel() for p in module.parameters())


def activation() -> nn.Module:
    """The non-linearity of all vidsr networks: LeakyReLU(0.1) (no dead units, no params)."""
    return nn.LeakyReLU(LRELU_SLOPE)


def conv2d(in_channels: int, out_channels: int, kernel: int = 3, groups: int = 1) -> nn.Conv2d:
    """A 'same'-padded 2D convolution with bias."""
    return nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, groups=groups)


def init_conv_(conv: nn.Module, scale: float = 1.0) -> None:
    """He (Kaiming) normal init for a conv followed by LeakyReLU(0.1), times ``scale``; zero bias."""
    nn.init.kaiming_normal_(conv.weight, a=LRELU_SLOPE, mode="fan_in", nonlinearity="leaky_relu")
    conv.weight.data.mul_(scale)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


def conv_stack(channels: Sequence[int], first_kernel: int = 3, groups: int = 1) -> nn.Sequential:
    """Convolutions ``channels[0] -> channels[1] -> ...``, each followed by LeakyReLU.

    With ``groups = g`` every convolution is grouped: ``g`` independent stacks side by side
    in one module, stack k reading only the k-th ``1/g`` of the input channels.
    """
    layers: list[nn.Module] = []
    for index, (cin, cout) in enumerate(zip(channels[:-1], channels[1:], strict=True)):
        conv = conv2d(cin, cout, first_kernel if index == 0 else 3, groups)
        init_conv_(conv)
        layers += [conv, activation()]
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    """``x + conv(act(conv(x)))`` (EDSR-style, no normalisation); starts close to identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = conv2d(channels, channels)
        self.act = activation()
        self.conv2 = conv2d(channels, channels)
        init_conv_(self.conv1)
        init_conv_(self.conv2, scale=0.1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class TemporalConv3d(nn.Conv3d):
    """A 3D convolution ``(T, k, k)`` over a stack of ``T`` feature maps -> one feature map.

    The kernel spans the whole stack in time (no temporal padding), so the output has one
    time step and every weight is used once per pixel. That is exactly a 2D convolution
    over the time slices concatenated along channels, which is what :meth:`fuse` computes,
    faster on CPU than ``nn.Conv3d`` (``benchmarks/bench_models.py --layers``). The weights
    keep the ``nn.Conv3d`` layout ``(out, in, T, k, k)``; ``forward`` on a ``(B, C, T, H, W)``
    tensor is the plain 3D convolution, and the two agree (tested).
    """

    def __init__(self, in_channels: int, out_channels: int, depth: int, kernel: int = 3) -> None:
        super().__init__(
            in_channels, out_channels, (depth, kernel, kernel), padding=(0, kernel // 2, kernel // 2)
        )
        init_conv_(self)

    def fuse(self, slices: Sequence[Tensor]) -> Tensor:
        """Slices ``T x (B, C, H, W)`` (oldest first) -> ``(B, out, H, W)``."""
        depth = self.kernel_size[0]
        if len(slices) != depth:
            raise ValueError(f"expected {depth} time slices, got {len(slices)}")
        dtype = slices[-1].dtype
        stacked = torch.cat([piece.to(dtype) for piece in slices], dim=1)
        out_channels, in_channels, _, kh, kw = self.weight.shape
        weight = self.weight.transpose(1, 2).reshape(out_channels, depth * in_channels, kh, kw)
        return F.conv2d(stacked, weight, self.bias, padding=self.padding[1:])


class SubPixelHead(nn.Module):
    """``(N, C, h, w)`` features -> ``(N, 3, s*h, s*w)`` residual: conv3x3 to ``3*s*s``, PixelShuffle.

    Zero-initialised, so that an untrained network outputs its base upsampling exactly.
    """

    def __init__(self, channels: int, scale: int) -> None:
        super().__init__()
        self.conv = conv2d(channels, 3 * scale * scale)
        self.shuffle = nn.PixelShuffle(scale)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.shuffle(self.conv(x))


LR_GRIDS = ("centre", "corner")


@lru_cache(maxsize=16)
def _phase_weights(scale: int, grid: str = "centre") -> np.ndarray:
    """``(scale, 5)`` bicubic weights of input taps ``i-2 .. i+2`` for output ``s*i + p``.

    ``grid`` says where LR pixel ``i`` sits on the HR grid: ``"centre"`` at ``s*i + (s-1)/2``
    (the centre of the block it was averaged from: BI, MATLAB ``imresize``), ``"corner"`` at
    ``s*i`` (the pixel it was sampled from: BD, blur then every s-th pixel).
    """
    if grid not in LR_GRIDS:
        raise ValueError(f"grid must be one of {LR_GRIDS}, not {grid!r}")
    steps = np.arange(scale, dtype=np.float64)
    phase = (steps + 0.5) / scale - 0.5 if grid == "centre" else steps / scale  # output p from i
    weights = cubic(phase[:, None] - np.arange(-2, 3, dtype=np.float64)[None, :])
    return weights / weights.sum(axis=1, keepdims=True)


def _upsample_axis(x: Tensor, scale: int, dim: int, grid: str = "centre") -> Tensor:
    """Upsample ``(N, 1, H, W)`` along ``dim`` (2 = rows, 3 = columns) with the 5-tap polyphase filter."""
    length = x.shape[dim]
    index = torch.from_numpy(fold_symmetric(np.arange(-2, length + 2), length)).to(x.device)
    padded = x.index_select(dim, index)
    taps = torch.from_numpy(_phase_weights(scale, grid)).to(x.device, x.dtype)  # (s, 5)
    weight = taps.view(scale, 1, 5, 1) if dim == 2 else taps.view(scale, 1, 1, 5)
    phases = F.conv2d(padded, weight)  # (N, s, H, W): output row/col s*i + p in channel p
    n, _, height, width = phases.shape
    if dim == 2:
        return phases.permute(0, 2, 1, 3).reshape(n, 1, height * scale, width)
    return phases.permute(0, 2, 3, 1).reshape(n, 1, height, width * scale)


def bicubic_upsample(x: Tensor, scale: int, grid: str = "centre") -> Tensor:
    """MATLAB ``imresize(x, scale, 'bicubic')`` for an integer upscale, in float32 (or float64).

    ``(..., H, W)`` -> ``(..., s*H, s*W)``. Same weights and symmetric borders as
    :func:`vidsr.data.resize.imresize` (equal to ~1e-6, tested), but as a 5-tap polyphase
    filter: O(s^2) work per pixel instead of dense matrices whose cost grows with the frame
    size. Runs with autocast off in float32 (float64 for float64 input), so a bf16 network
    still adds its residual to an exact base frame.

    ``grid="corner"`` interpolates for LR pixels that were sampled at HR pixel ``s*i`` (BD)
    instead of averaged around ``s*i + (s-1)/2`` (BI): every s-th output pixel is then the LR
    pixel itself, and the result is ``(s-1)/2`` HR pixels shifted from MATLAB's.
    """
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    if scale == 1:
        return x.to(dtype)
    *lead, height, width = x.shape
    with torch.autocast(device_type=x.device.type, enabled=False):
        planes = x.to(dtype).reshape(-1, 1, height, width)
        planes = _upsample_axis(planes, scale, dim=2, grid=grid)
        planes = _upsample_axis(planes, scale, dim=3, grid=grid)
    return planes.reshape(*lead, height * scale, width * scale)


def soft_clamp01(x: Tensor, margin: float = 1 / 32) -> Tensor:
    """A smooth map of any real ``x`` into [0, 1]: identity on ``[margin, 1 - margin]``.

    Outside, it bends exponentially towards the bound (value and slope continuous):
    ``margin * exp((x - margin) / margin)`` below, its mirror above. Unlike a sigmoid on
    logits, mid-tones pass unchanged (an untrained network still equals bicubic there) and
    the slope near the bounds stays ``distance_to_bound / margin`` instead of vanishing;
    unlike ``clamp``, gradients never stop. ±inf and huge values map to exactly 0 or 1.
    """
    low, high = margin, 1.0 - margin
    below = margin * torch.exp((torch.clamp(x, max=low) - low) / margin)
    above = 1.0 - margin * torch.exp((high - torch.clamp(x, min=high)) / margin)
    return torch.where(x < low, below, torch.where(x > high, above, x))


def fold_time(x: Tensor) -> Tensor:
    """``(B, T, C, H, W)`` -> ``(B*T, C, H, W)`` for per-frame 2D layers."""
    return x.reshape(-1, *x.shape[2:])


def unfold_time(x: Tensor, batch: int) -> Tensor:
    """``(B*T, C, H, W)`` -> ``(B, T, C, H, W)``."""
    return x.reshape(batch, -1, *x.shape[1:])


class RecurrentCore(nn.Module):
    """Recurrent 3D part + recurrent 2D part + sub-pixel head, shared by delta and five_parallel.

    Per output frame: a :class:`TemporalConv3d` fuses the time stack
    ``[hidden(t-1), inputs...]`` (the recurrent 3D part: the previous hidden state is one
    of its time slices); a 2D trunk of residual blocks refines the result into the new
    hidden state (the recurrent 2D part: its output is fed back at t+1); the head turns
    the hidden state into an HR residual. Everything stays at LR resolution.
    """

    def __init__(self, width: int, inputs: int, blocks: int, scale: int) -> None:
        super().__init__()
        self.width = width
        self.temporal = TemporalConv3d(width, width, depth=inputs + 1)
        self.act = activation()
        self.trunk = nn.Sequential(*[ResidualBlock(width) for _ in range(blocks)])
        self.head = SubPixelHead(width, scale)

    def init_hidden(self, batch: int, height: int, width: int, like: Tensor) -> Tensor:
        """The state before the first frame: zeros ``(B, width, h, w)``."""
        return like.new_zeros(batch, self.width, height, width)

    def forward(self, hidden: Tensor, inputs: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        """``(residual (B, 3, sh, sw), new hidden (B, width, h, w))``."""
        state = self.trunk(self.act(self.temporal.fuse([hidden, *inputs])))
        return self.head(state), state
