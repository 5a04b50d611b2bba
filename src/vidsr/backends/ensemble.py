"""Self-ensemble (test-time augmentation): a model run on the 8 flips and transposes of a
video, each output turned back and the 8 averaged.

The geometric self-ensemble of single-image SR (Timofte et al., "Seven ways to improve
example-based single image super resolution", CVPR 2016; EDSR+, RCAN+), for video: one
transform applies to every frame of the clip, so each of the 8 runs is an ordinary video
through its own streamer (its own recurrent state, warm-up and look-ahead), and the 8
outputs of a frame come out together. They are averaged in float, before the one rounding
to 8 or 10 bits. 8 times the compute and 8 recurrent states; the output of each run has
errors of its own (the network is not equivariant to flips), and averaging them cancels
part of them. Measured on Vid4 x4 (``vidsr evaluate --self-ensemble``; README, Results).

**BD input** (LR pixels sampled on the ``corner`` grid, LR pixel ``i`` at HR pixel
``s*i``): a flip moves LR pixel ``i`` to HR pixel ``s*i + s-1`` of the flipped frame, while
the model puts it at ``s*i``: the turned-back output of a flipped run is the image moved by
``s-1`` HR pixels along that axis. It is moved back, and its last ``s-1`` rows or columns,
which it does not have, are averaged over the runs that have them. A transpose keeps
either grid.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from vidsr.backends.core import Backend

# (flip rows, flip columns, transpose): the 8 symmetries of the square; the identity first.
TRANSFORMS: tuple[tuple[bool, bool, bool], ...] = tuple(
    (flip_y, flip_x, transpose) for transpose in (False, True) for flip_y in (False, True) for flip_x in (False, True)
)


def apply_transform(frames: Tensor, transform: tuple[bool, bool, bool]) -> Tensor:
    """``frames (..., H, W)`` flipped (rows, then columns), then transposed."""
    flip_y, flip_x, transpose = transform
    if flip_y:
        frames = frames.flip(-2)
    if flip_x:
        frames = frames.flip(-1)
    return frames.transpose(-1, -2) if transpose else frames


def undo_transform(frames: Tensor, transform: tuple[bool, bool, bool]) -> Tensor:
    """The inverse of :func:`apply_transform`."""
    flip_y, flip_x, transpose = transform
    if transpose:
        frames = frames.transpose(-1, -2)
    if flip_x:
        frames = frames.flip(-1)
    return frames.flip(-2) if flip_y else frames


def _moved_back(frames: Tensor, weight: Tensor, dim: int, shift: int) -> tuple[Tensor, Tensor]:
    """``frames`` moved ``shift`` pixels towards index 0 along ``dim`` (``out[i] = in[i + shift]``);
    ``weight`` (1 where the value is known) moved with them, 0 on the ``shift`` pixels at the end."""
    size = frames.shape[dim]
    frames = torch.cat([frames.narrow(dim, shift, size - shift), frames.narrow(dim, size - shift, shift)], dim=dim)
    weight = torch.cat([weight.narrow(dim, shift, size - shift), torch.zeros_like(weight.narrow(dim, 0, shift))],
                       dim=dim)  # fmt: skip
    return frames, weight


class EnsembleStreamer:
    """Pushes every chunk through one streamer per transform and averages what comes back."""

    def __init__(self, streamers: list[Any], transforms: tuple[tuple[bool, bool, bool], ...], shift: int) -> None:
        self.streamers, self.transforms, self.shift = streamers, transforms, shift

    def push(self, lr: Tensor) -> Tensor:
        """Feed LR frames ``(B, t, 3, h, w)``; returns the SR frames now complete."""
        return self._average([s.push(apply_transform(lr, t)) for s, t in zip(self.streamers, self.transforms)])

    def flush(self) -> Tensor:
        """End of the video: the remaining SR frames."""
        return self._average([s.flush() for s in self.streamers])

    def _average(self, outputs: list[Tensor]) -> Tensor:
        if outputs[0].shape[1] == 0:  # the identity run's empty output has the right shape
            return outputs[0]
        turned = [undo_transform(out.float(), t) for out, t in zip(outputs, self.transforms)]
        if not self.shift:  # BI: every run has every pixel
            total = turned[0].clone()
            for out in turned[1:]:
                total += out
            return (total / len(turned)).to(outputs[0].dtype)
        # BD: a flipped axis moves the image by s-1 HR pixels (module doc); ``weights`` counts
        # the runs that have each pixel.
        total = torch.zeros_like(turned[0])
        weights = torch.zeros(1, 1, 1, *total.shape[-2:], device=total.device)
        for out, transform in zip(turned, self.transforms):
            weight = torch.ones_like(weights)
            for flipped, dim in ((transform[0], -2), (transform[1], -1)):
                if flipped:
                    out, weight = _moved_back(out, weight, dim, self.shift)
            total += out * weight
            weights += weight
        return (total / weights).to(outputs[0].dtype)


class SelfEnsemble(Backend):
    """A backend whose streamers run ``inner`` on the 8 flips and transposes of the video and average them."""

    def __init__(self, inner: Backend, transforms: int = 8) -> None:
        super().__init__(inner.model, inner.device, inner.precision)
        if transforms not in (2, 4, 8):
            raise ValueError(f"a self-ensemble has 2, 4 or 8 transforms, not {transforms}")
        self.inner = inner
        self.name = inner.name
        # 2: the identity and the transpose; 4: the flips; 8: all (the identity is always first).
        picks = {2: (0, 4), 4: (0, 1, 2, 3), 8: tuple(range(8))}[transforms]
        self.transforms = tuple(TRANSFORMS[i] for i in picks)
        self.shift = inner.scale - 1 if getattr(inner.model, "lr_grid", "centre") == "corner" else 0

    def streamer(self) -> EnsembleStreamer:
        """A fresh streamer: one of ``inner`` per transform."""
        return EnsembleStreamer([self.inner.streamer() for _ in self.transforms], self.transforms, self.shift)

    def describe(self) -> str:
        """E.g. ``torch fp32 (cpu, 2 threads), x8 self-ensemble``."""
        return f"{self.inner.describe()}, x{len(self.transforms)} self-ensemble"


def unwrap_ensemble(backend: Backend) -> Backend:
    """The backend a :class:`SelfEnsemble` runs (any other backend: itself)."""
    return backend.inner if isinstance(backend, SelfEnsemble) else backend
