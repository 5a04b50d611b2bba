"""Building blocks shared by the vidsr networks.

Every network here works at LR resolution and upsamples only at the end, with a
conv + PixelShuffle head (faster on CPU than a transposed convolution)
whose output is a residual added to a fixed bicubic upsampling of the centre frame.
The head starts at zero, so an untrained network equals the bicubic baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidsr.data.degradation import LR_GRID
from vidsr.data.resize import cubic, fold_symmetric
from vidsr.errors import VidsrError

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


@lru_cache(maxsize=16)
def _phase_weights(scale: int, grid: str = "centre") -> np.ndarray:
    """``(scale, 5)`` bicubic weights of input taps ``i-2 .. i+2`` for output ``s*i + p``.

    ``grid`` says where LR pixel ``i`` sits on the HR grid: ``"centre"`` at ``s*i + (s-1)/2``
    (the centre of the block it was averaged from: BI, MATLAB ``imresize``), ``"corner"`` at
    ``s*i`` (the pixel it was sampled from: BD, blur then every s-th pixel).
    """
    if grid not in LR_GRID.values():
        raise ValueError(f"grid must be one of {', '.join(LR_GRID.values())}, not {grid!r}")
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


STATE_BOUND = 4.0  # |fed-back state| < 4; trained states sit well inside (99.9% below 0.8)


def bounded(x: Tensor, limit: float = STATE_BOUND) -> Tensor:
    """``limit * tanh(x / limit)``: near identity for small ``x``, never beyond ``±limit``."""
    return limit * torch.tanh(x / limit)


def luma(rgb: Tensor) -> Tensor:
    """BT.601 luma Y in [16/255, 235/255] of RGB ``(N, 3, H, W)`` in [0, 1] -> ``(N, 1, H, W)``.

    The same Y as the metrics (:mod:`vidsr.metrics`), so the fed-back detail is the detail
    that PSNR-Y scores.
    """
    weights = rgb.new_tensor([65.481, 128.553, 24.966]).view(1, 3, 1, 1) / 255.0
    return (rgb * weights).sum(dim=1, keepdim=True) + 16.0 / 255.0


class RecurrentState(NamedTuple):
    """What a recurrent core carries from frame t-1 to frame t.

    ``features``: the 2D trunk's output at LR, ``(B, width, h, w)``, read through
    :func:`bounded`. ``previous``: the luma of the previous output frame clamped to [0, 1],
    space-to-depth to LR, ``(B, s*s, h, w)``; None before the first frame.
    """

    features: Tensor
    previous: Tensor | None


class RecurrentCore(nn.Module):
    """Recurrent 3D part + recurrent 2D part + sub-pixel head, shared by the recurrent models.

    Per output frame: a :class:`TemporalConv3d` fuses the time stack
    ``[state(t-1), inputs...]`` (the recurrent 3D part: the previous state is one of its
    time slices); a 2D trunk of residual blocks refines the result into the new hidden
    features (the recurrent 2D part: fed back at t+1); the head turns them into an HR
    residual. Everything stays at LR resolution.

    ``state(t-1)`` is ``bounded(features(t-1)) + feedback(previous output)`` where, with
    ``feedback=True``, the previous output frame's luma, space-to-depth to LR (``s*s``
    channels: every HR sub-pixel phase), goes through a 1x1 convolution (RLSP and FRVSR
    feed back their previous HR estimate the same way). Why:

    * **Feedback of the output.** LR features cannot hold the sub-pixel detail that frame
      t-1 already reconstructed; its HR output can. Luma only: HR detail (and PSNR-Y) lives
      in Y, and the 1x1 costs ``(s*s + 1) * width`` parameters (476 at x4 for delta), while
      RGB would cost three times as much and push the founding budgets past 1%.
    * **Bounded state.** The fed-back features pass through ``STATE_BOUND * tanh(x /
      STATE_BOUND)`` and the fed-back output is clamped to [0, 1], so every step is a fixed
      function of bounded inputs: the state cannot run away however long the video is.
      The bound is loose (trained states stay below 1), so it does not limit what the
      state can say; long training sequences teach the network to stay stable within it.
    * The feedback convolution starts at zero: a core loaded with weights trained without
      it computes what it computed before, up to the (near-identity) bound.
    """

    def __init__(self, width: int, inputs: int, blocks: int, scale: int, feedback: bool = False) -> None:
        super().__init__()
        self.width = width
        self.scale = scale
        self.temporal = TemporalConv3d(width, width, depth=inputs + 1)
        self.act = activation()
        self.trunk = nn.Sequential(*[ResidualBlock(width) for _ in range(blocks)])
        self.head = SubPixelHead(width, scale)
        self.feedback: nn.Conv2d | None = None
        if feedback:
            self.feedback = nn.Conv2d(scale * scale, width, 1)
            nn.init.zeros_(self.feedback.weight)
            nn.init.zeros_(self.feedback.bias)

    def init_hidden(self, batch: int, height: int, width: int, like: Tensor) -> Tensor | RecurrentState:
        """The state before the first frame: zero features (and no previous output yet)."""
        zeros = like.new_zeros(batch, self.width, height, width)
        return RecurrentState(zeros, None) if self.feedback is not None else zeros

    def forward(self, hidden: Tensor | RecurrentState, inputs: Sequence[Tensor],
                base: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(residual (B, 3, sh, sw), new features (B, width, h, w))``.

        ``base`` (the frame's bicubic base) stands in for the previous output at the first
        frame of a feedback core. Models with feedback pass the returned features and their
        output frame to :meth:`next_state`.
        """
        if isinstance(hidden, RecurrentState):
            state = bounded(hidden.features)
            if self.feedback is not None:
                previous = hidden.previous
                if previous is None:
                    if base is None:
                        raise ValueError("a feedback core needs the base frame at the first frame")
                    previous = self.space_to_depth_luma(base)
                state = state + self.feedback(previous.to(self.feedback.weight.dtype))
        else:
            state = bounded(hidden)
        features = self.trunk(self.act(self.temporal.fuse([state, *inputs])))
        return self.head(features), features

    def space_to_depth_luma(self, frame: Tensor) -> Tensor:
        """HR RGB ``(B, 3, sh, sw)`` -> clamped luma at LR ``(B, s*s, h, w)``."""
        return F.pixel_unshuffle(luma(frame.clamp(0.0, 1.0)), self.scale)

    def next_state(self, features: Tensor, output: Tensor) -> Tensor | RecurrentState:
        """The state handed to the next frame: the features, plus the output with feedback."""
        if self.feedback is None:
            return features
        return RecurrentState(features, self.space_to_depth_luma(output))


def backward_warp(x: Tensor, flow: Tensor) -> Tensor:
    """Backward warp ``out[p] = x[p + flow[p]]``: bilinear, borders replicated, flow in pixels.

    ``x`` ``(B, C, H, W)``, ``flow`` ``(B, 2, H, W)`` with channel 0 along x (columns) and
    channel 1 along y (rows). The sampling grid is built and sampled in float32 with autocast
    off (bf16 cannot hold a pixel coordinate beyond 256 to sub-pixel precision); the result
    has ``x``'s dtype. Zero flow is the identity (up to float32 rounding), an integer flow a
    shift, and bilinear sampling is exact on images that are affine in x and y.
    """
    _, _, height, width = x.shape
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    with torch.autocast(device_type=x.device.type, enabled=False):
        flow = flow.to(dtype)
        ys = torch.arange(height, device=x.device, dtype=dtype).view(1, height, 1)
        xs = torch.arange(width, device=x.device, dtype=dtype).view(1, 1, width)
        grid_x = 2 * (xs + flow[:, 0]) / max(width - 1, 1) - 1
        grid_y = 2 * (ys + flow[:, 1]) / max(height - 1, 1) - 1
        grid = torch.stack([grid_x, grid_y], dim=-1)
        out = F.grid_sample(x.to(dtype), grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.to(x.dtype)


def rescale_subpixel_state(state: dict[str, Tensor], target: dict[str, Tensor]) -> dict[str, Tensor]:
    """Weights trained at one scale, mapped to start a model of another (x4 -> x2, x2 -> x4).

    Only the layers whose shape depends on the scale change: every sub-pixel head
    (``...head.conv``, ``3*s*s`` outputs in PixelShuffle order) and every feedback 1x1
    (``...feedback.weight``, ``s*s`` luma phases in). Going down by ``r`` (x4 -> x2), a new
    phase gets the mean of the ``r x r`` old phases it covers (head) or their sum (feedback:
    the same luma now arrives once, not ``r*r`` times); going up, each old phase is repeated
    (head) or shared out (feedback). Everything else is at LR and loads as it is. A layer
    whose shape differs otherwise is left alone, for the strict load to report.
    """
    out = dict(state)
    for key, value in state.items():
        want = target.get(key)
        if want is None or want.shape == value.shape:
            continue
        if key.endswith(("head.conv.weight", "head.conv.bias")):
            old, new = _phases(value.shape[0] // 3), _phases(want.shape[0] // 3)
            if old and new:
                grid = value.reshape(3, old, old, *value.shape[1:])
                out[key] = _resample_phases(grid, old, new, dim=1, mean=True).reshape(want.shape)
        elif key.endswith("feedback.weight"):
            old, new = _phases(value.shape[1]), _phases(want.shape[1])
            if old and new:
                grid = value.reshape(value.shape[0], old, old, *value.shape[2:])
                out[key] = _resample_phases(grid, old, new, dim=1, mean=False).reshape(want.shape)
    return out


def _phases(count: int) -> int:
    """The scale s of ``count == s*s`` phases (0 if not a square)."""
    side = int(round(count ** 0.5))
    return side if side * side == count else 0


def _resample_phases(grid: Tensor, old: int, new: int, dim: int, mean: bool) -> Tensor:
    """Phase axes ``dim, dim+1`` (``old x old``) -> ``new x new``, for scales that divide."""
    if old % new == 0:  # down: pool each r x r block
        r = old // new
        shape = (*grid.shape[:dim], new, r, new, r, *grid.shape[dim + 2:])
        blocks = grid.reshape(shape)
        pooled = blocks.mean(dim=(dim + 1, dim + 3)) if mean else blocks.sum(dim=(dim + 1, dim + 3))
        return pooled
    if new % old == 0:  # up: repeat each phase r x r times
        r = new // old
        grown = grid.repeat_interleave(r, dim=dim).repeat_interleave(r, dim=dim + 1)
        return grown if mean else grown / (r * r)
    raise VidsrError(f"weights for x{old} cannot start an x{new} model (only scales that divide "
                     "each other map: x4 -> x2, x2 -> x4)")
