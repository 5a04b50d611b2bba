"""uint8 (or uint16) frames through a model's streamer: the one chunk loop that evaluation,
validation during training and the video pipeline share.

A streamer (:meth:`vidsr.models.VSRModel.streamer`, or the video pipeline's tiled one)
takes LR chunks ``(1, T, 3, h, w)`` in [0, 1] and returns the SR frames that are complete;
``flush()`` returns the rest at the end of the clip. These helpers convert uint8 frames
``(T, h, w, 3)`` in and out, run without gradients, and take an optional ``autocast``
(a callable returning a context manager, such as :meth:`Precision.autocast`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import torch

from vidsr.data.frames import to_integer, to_tensor

__all__ = ["flush_frames", "push_frames", "super_resolve"]

Autocast = Callable[[], AbstractContextManager]


def push_frames(
    streamer: Any, frames: np.ndarray | Sequence[np.ndarray], device: str | torch.device = "cpu",
    autocast: Autocast = nullcontext,
) -> list[np.ndarray]:
    """Push LR frames ``(T, h, w, 3)``; the SR frames now complete, of the same dtype (uint8 or uint16)."""
    frames = np.asarray(frames)
    lr = to_tensor(frames)[None].to(device)
    with torch.inference_mode(), autocast():
        return list(to_integer(streamer.push(lr)[0], frames.dtype.type))


def flush_frames(
    streamer: Any, autocast: Autocast = nullcontext, dtype: type[np.integer] = np.uint8
) -> list[np.ndarray]:
    """The remaining SR frames at the end of the clip, as ``dtype`` (that of the pushed frames)."""
    with torch.inference_mode(), autocast():
        return list(to_integer(streamer.flush()[0], dtype))


def super_resolve(
    model: Any, lr: np.ndarray, device: str | torch.device = "cpu", chunk: int = 8,
    autocast: Autocast = nullcontext, scene_cuts: bool = True,
) -> Iterator[np.ndarray]:
    """Yield the uint8 SR frames ``(sH, sW, 3)`` of uint8 LR frames ``(T, h, w, 3)``.

    Batch 1, in chunks of ``chunk`` frames through a fresh ``model.streamer()``, so memory
    holds one chunk whatever the clip length; gives what ``model.forward`` on the whole
    clip gives (on each shot: with ``scene_cuts``, each shot runs as a clip of its own,
    :class:`vidsr.shots.ShotStreamer`, as in ``vidsr upscale``).
    """
    from vidsr.shots import ShotStreamer

    streamer = ShotStreamer(model.streamer) if scene_cuts else model.streamer()
    for start in range(0, len(lr), chunk):
        yield from push_frames(streamer, lr[start : start + chunk], device, autocast)
    yield from flush_frames(streamer, autocast, np.asarray(lr).dtype.type)
