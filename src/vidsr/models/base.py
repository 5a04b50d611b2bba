"""The contract every vidsr model follows, and the streamer that runs it chunk by chunk.

A model turns ``(B, T, 3, h, w)`` LR frames in [0, 1] into ``(B, T, 3, s*h, s*w)`` SR frames.
It is split into two parts so that any video length runs in constant memory:

* ``encode(lr)``: per-frame work with no mixing across time (a 2D feature stack, an
  upsampled base frame...). Runs on whole chunks at once, so it batches well.
* ``cell(window, hidden)``: produces output frame ``t`` from the encoded frames
  ``t-radius .. t+radius`` and the recurrent ``hidden`` state left by frame ``t-1``.

:class:`Streamer` carries the look-ahead frames and the hidden state across chunk
boundaries and pads both ends of the clip by replication, so streaming in chunks of any
size gives the same result as :meth:`VSRModel.forward` on the whole clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from vidsr.data.degradation import LR_GRID
from vidsr.models.layers import bicubic_upsample


@dataclass(frozen=True)
class ModelFacts:
    """The founding design's comparison rows, declared by each model class."""

    single_cnn: bool
    multiple_2d_stacks: bool
    recurrent_2d: bool
    recurrent_3d: bool
    output_range_controlled: bool


class VSRModel(nn.Module):
    """Base class of all vidsr models (baselines included).

    Subclasses set ``facts`` and ``radius`` and implement :meth:`cell`; they override
    :meth:`encode` and :meth:`init_hidden` when they have per-frame features or state.
    """

    facts: ClassVar[ModelFacts]
    radius: ClassVar[int] = 0
    lr_grid: str = "centre"  # where LR pixels sit on the HR grid: see set_lr_grid
    # Frames run in reverse before a clip starts, to warm the recurrent state (see Streamer).
    warmup: int = 0

    def __init__(self, scale: int = 4) -> None:
        super().__init__()
        if isinstance(scale, bool) or not isinstance(scale, int) or scale not in (1, 2, 3, 4):
            raise ValueError(f"scale must be the integer 1 (a refiner), 2, 3 or 4, not {scale!r}")
        self.scale = scale

    def set_lr_grid(self, grid: str) -> VSRModel:
        """Match the bicubic base of this model (and of every part inside it) to the LR input.

        ``"centre"`` for BI input (LR pixels are block averages), ``"corner"`` for BD input
        (LR pixels are sampled at every s-th HR pixel, 1.5 HR pixels away at x4). A base on
        the wrong grid leaves the network to learn that shift. The baselines ignore it: their
        ``bicubic`` is always MATLAB's, the literature's reference.
        """
        if grid not in LR_GRID.values():
            raise ValueError(f"LR grid must be one of {', '.join(LR_GRID.values())}, not {grid!r}")
        for module in self.modules():
            if hasattr(module, "lr_grid"):  # this model, models inside it, their parts
                module.lr_grid = grid
        return self

    def adapt_init_state(self, state: dict[str, Tensor]) -> dict[str, Tensor]:
        """Weights of a related model -> weights of this one, for a warm start
        (``model.init_weights`` of a training run). The default expects this model's own
        weights; :class:`~vidsr.models.flow.Flow` and :class:`~vidsr.models.two_step.TwoStep`
        also start from the one-step model they build on."""
        return state

    def upsample_base(self, lr: Tensor) -> Tensor:
        """The bicubic base frame(s) the network's residual is added to, on :attr:`lr_grid`."""
        return bicubic_upsample(lr, self.scale, self.lr_grid)

    def encode(self, lr: Tensor) -> Tensor:
        """Per-frame features ``(B, T, F, h', w')`` of LR frames ``(B, T, 3, h, w)``."""
        return lr

    def init_hidden(self, batch: int, height: int, width: int, like: Tensor) -> Any:
        """Recurrent state before the first frame, for LR frames of ``height x width``."""
        return None

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        """Output frame ``(B, 3, s*h, s*w)`` from encoded frames ``(B, 2r+1, F, ...)``."""
        raise NotImplementedError

    def forward_sequence(self, lr: Tensor, hidden: Any = None, features: Tensor | None = None) -> tuple[Tensor, Any]:
        """Training with truncated back-propagation through time.

        ``lr`` ``(B, T + 2r, 3, h, w)`` holds ``T`` frames with ``r = radius`` real frames of
        context on each side (no padding); returns their ``T`` SR frames and the state after
        the last one, which the next call continues from (``hidden=None``: a cold start).
        Detach the state between optimiser steps with :func:`detach_state`. ``features``:
        the frames already encoded (default ``self.encode(lr)``).
        """
        batch, frames, _, height, width = lr.shape
        if frames <= 2 * self.radius:
            raise ValueError(f"need more than {2 * self.radius} frames, got {frames}")
        if hidden is None:
            hidden = self.init_hidden(batch, height, width, lr)
        encoded = self.encode(lr) if features is None else features
        outputs, hidden = run_windows(self, list(encoded.unbind(dim=1)), hidden)
        return torch.stack(outputs, dim=1), hidden

    def forward(self, lr: Tensor) -> Tensor:
        """Super-resolve a whole clip ``(B, T, 3, h, w)`` -> ``(B, T, 3, s*h, s*w)``."""
        streamer = self.streamer()
        head = streamer.push(lr)
        return torch.cat([head, streamer.flush()], dim=1)

    def streamer(self) -> Streamer:
        """A fresh :class:`Streamer` over this model."""
        return Streamer(self)


def run_windows(model: VSRModel, encoded: list[Tensor], hidden: Any) -> tuple[list[Tensor], Any]:
    """Run ``model.cell`` over every full window of ``encoded`` frames (oldest first)."""
    size = 2 * model.radius + 1
    outputs = []
    for start in range(len(encoded) - size + 1):
        frame, hidden = model.cell(torch.stack(encoded[start : start + size], dim=1), hidden)
        outputs.append(frame)
    return outputs, hidden


def detach_state(hidden: Any) -> Any:
    """The recurrent state cut from its autograd graph (tensors inside tuples too)."""
    if isinstance(hidden, Tensor):
        return hidden.detach()
    if isinstance(hidden, tuple):
        items = [detach_state(item) for item in hidden]
        return type(hidden)(*items) if hasattr(hidden, "_fields") else tuple(items)
    return hidden


class Streamer:
    """Runs a :class:`VSRModel` over a video delivered in chunks of any length.

    ``push(chunk)`` returns the output frames that are ready (fewer than pushed while
    look-ahead frames are awaited); ``flush()`` returns the rest at the end of the video.
    Memory holds ``2 * radius + 1`` encoded frames and the hidden state, whatever the length.

    **Warm-up.** With ``model.warmup = W > 0``, the first ``W`` frames (all of them in a
    shorter clip) are first run in reverse, outputs dropped, so that frame 0 starts from a
    state that has seen frames ``0..W-1`` and from a fed-back output of frame 0 itself,
    instead of a cold zero state. ``push`` returns nothing until ``W`` frames have arrived.
    """

    def __init__(self, model: VSRModel) -> None:
        self.model = model
        self.radius = model.radius
        # Encoded frames (B, F, h', w') not yet centred in a window. A list, not one tensor:
        # a window is stacked from its frames, so backpropagating through ``forward`` costs
        # O(window) per frame; slicing one (B, T, ...) tensor would make every window's
        # backward fill a zero gradient of the whole clip (O(T^2) per clip).
        self._pending: list[Tensor] | None = None
        self._preroll: list[Tensor] = []  # LR chunks held until the warm-up has its frames
        self._hidden: Any = None
        self._empty: Tensor | None = None  # (B, 0, 3, sH, sW) template for "no frame ready"
        self._size: tuple[int, int, int] | None = None  # (B, h, w) of the video being run
        parameters = getattr(model, "parameters", None)  # (a backend's graph stands in for some models)
        weight = next(parameters(), None) if callable(parameters) else None
        self._dtype = weight.dtype if weight is not None and weight.is_floating_point() else None
        self.frames_in = 0  # totals over every video this streamer has run (not reset by flush)
        self.frames_out = 0

    def push(self, lr: Tensor) -> Tensor:
        """Feed LR frames ``(B, t, 3, h, w)``, float in [0, 1]; returns the SR frames now
        complete. Float input of another dtype than the model's weights is converted to
        theirs; integer input, NaN or infinity, and a chunk of another batch or frame size
        than the chunks before it in this video are errors."""
        lr = self._checked(lr)
        if lr.shape[1] == 0:
            return self._no_frames(lr)
        self.frames_in += lr.shape[1]
        if self._pending is None:
            self._preroll.append(lr.clone())  # the caller may refill its tensor before the warm-up runs
            held = torch.cat(self._preroll, dim=1) if len(self._preroll) > 1 else lr
            if held.shape[1] < self.model.warmup:
                return self._no_frames(lr)
            self._start(held)
        else:
            self._pending.extend(self.model.encode(lr).unbind(dim=1))
        return self._drain(lr)

    def _checked(self, lr: Tensor) -> Tensor:
        """``lr`` validated (see :meth:`push`) and in the dtype of the model's weights."""
        if not isinstance(lr, Tensor) or lr.dim() != 5 or lr.shape[2] != 3:
            shape = tuple(lr.shape) if isinstance(lr, Tensor) else type(lr).__name__
            raise ValueError(f"expected LR frames (B, T, 3, h, w), got {shape}")
        if not lr.is_floating_point():
            raise ValueError(f"expected float frames in [0, 1], got {lr.dtype} (uint8 frames: "
                             "frames.float() / 255)")
        if 0 in (lr.shape[0], lr.shape[3], lr.shape[4]):
            raise ValueError(f"expected LR frames (B, T, 3, h, w) with B, h, w > 0, got {tuple(lr.shape)}")
        size = (lr.shape[0], *lr.shape[3:])
        if self._size is None:
            self._size = size
        elif size != self._size:
            raise ValueError(f"a chunk of batch {size[0]}, {size[2]}x{size[1]} after chunks of batch "
                             f"{self._size[0]}, {self._size[2]}x{self._size[1]}: a streamer runs one "
                             "video at a time (flush() ends it)")
        if self._dtype is not None and lr.dtype != self._dtype:
            lr = lr.to(self._dtype)
        if lr.shape[1] and not bool(torch.isfinite(lr).all()):
            raise ValueError("LR frames hold NaN or infinity (a recurrent model would carry it into "
                             "every later frame)")
        return lr

    def flush(self) -> Tensor:
        """End of the video: pad the last frame and return the remaining SR frames."""
        if self._pending is None and self._preroll:  # a clip shorter than the warm-up
            self._start(torch.cat(self._preroll, dim=1))
        if self._pending is None:
            if self._empty is None:
                raise RuntimeError("flush() before any frame was pushed")
            return self._empty
        if self.radius:  # (with radius > 0, the last frame is always still pending)
            self._pending.extend([self._pending[-1]] * self.radius)  # replicate the last frame
        out = self._drain(None)
        self._pending = None
        self._hidden = None
        self._size = None
        return out

    def _start(self, lr: Tensor) -> None:
        """First frames of a video: initial state, warm-up, first frame replicated."""
        self._preroll = []
        frames = list(self.model.encode(lr).unbind(dim=1))
        batch, _, _, height, width = lr.shape
        hidden = self.model.init_hidden(batch, height, width, lr)
        if self.model.warmup > 0:
            backwards = frames[: self.model.warmup][::-1]
            padded = [backwards[0]] * self.radius + backwards + [backwards[-1]] * self.radius
            _, hidden = run_windows(self.model, padded, hidden)
        self._hidden = hidden
        self._pending = [frames[0]] * self.radius + frames  # replicate the first frame

    def _drain(self, lr: Tensor | None) -> Tensor:
        assert self._pending is not None
        outputs, self._hidden = run_windows(self.model, self._pending, self._hidden)
        # Keep only what later windows need; copy views so the old chunk can be freed.
        kept = self._pending[len(outputs):]
        self._pending = [frame if frame._base is None else frame.clone() for frame in kept]
        self.frames_out += len(outputs)
        if outputs:
            result = torch.stack(outputs, dim=1)
            # A fresh empty tensor: a view ``result[:, :0]`` would keep this chunk's output
            # (and, under autograd, its whole graph) alive until the next chunk.
            self._empty = result.new_zeros(result.shape[0], 0, *result.shape[2:])
            return result
        return self._no_frames(lr)

    def _no_frames(self, lr: Tensor | None) -> Tensor:
        if self._empty is None and lr is not None:
            batch, _, channels, height, width = lr.shape
            s = self.model.scale
            self._empty = lr.new_zeros(batch, 0, channels, height * s, width * s)
        assert self._empty is not None
        return self._empty
