"""The model side of the video pipeline: loading a model, its (tiled) streamer, a stage."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from vidsr.backends.core import Backend
from vidsr.errors import VidsrError
from vidsr.models.base import VSRModel
from vidsr.video.messages import warn
from vidsr.video.tiling import DEFAULT_OVERLAP, TiledStreamer, choose_tile


def resolve_device(device: str | torch.device) -> torch.device:
    """A torch device, or a clear error when it is not there."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise VidsrError(f"unknown device {device!r}; use cpu or cuda") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise VidsrError("CUDA is not available on this machine; use --device cpu")
    return resolved


def load_model(
    model: str | VSRModel,
    scale: int = 4,
    weights: str | Path | None = None,
    device: str | torch.device = "cpu",
    on_warning: Callable[[str], None] = warn,
    degradation: str = "bi",
) -> VSRModel:
    """A model ready for inference: by name (shipped weights when present) or an instance.

    A named model with parameters and no ``weights`` loads its shipped weights for
    ``degradation`` (:func:`vidsr.models.pretrained_path`: ``"bi"`` weights were trained on
    bicubic-downsampled LR, ``"bd"`` on blurred then subsampled LR) when they exist, and
    warns that it is untrained otherwise. ``degradation`` does not matter with ``weights``.
    """
    from vidsr.data.degradation import TRAINING_DEGRADATIONS as DEGRADATIONS
    from vidsr.models import create, load_weights, model_class, pretrained_path

    if degradation not in DEGRADATIONS:
        raise VidsrError(f"unknown degradation {degradation!r}; use one of {', '.join(DEGRADATIONS)}")
    if isinstance(model, VSRModel):
        net = model
        if scale != net.scale:
            raise VidsrError(f"the model given is x{net.scale}, not x{scale}: pass scale={net.scale} "
                             "(or leave it out)")
        if weights is not None:
            load_weights(net, weights)
    else:
        try:
            model_class(model)
        except ImportError as error:
            raise VidsrError(f"model {model!r} is not available in this installation ({error})") from None
        try:
            with torch.random.fork_rng():
                torch.manual_seed(0)  # untrained models get the same weights every run
                net = create(model, scale, degradation=degradation, weights=weights, pretrained=False)
        except ValueError as error:
            raise VidsrError(f"model {model}: {error}") from None
        if weights is None and any(True for _ in net.parameters()):
            shipped = pretrained_path(model, scale, degradation)
            if shipped.exists():
                load_weights(net, shipped)
            else:
                other = next((d for d in DEGRADATIONS if pretrained_path(model, scale, d).exists()), None)
                hint = f" or --degradation {other} ({other.upper()} weights ship)" if other else ""
                on_warning(
                    f"model {model} has no shipped weights for x{scale} {degradation.upper()} ({shipped.name}); "
                    f"its output is untrained: pass --weights{hint}"
                )
    return net.eval().to(resolve_device(device))


def model_device(model: VSRModel | Backend, fallback: str | torch.device = "cpu") -> torch.device:
    """Where the model's parameters are (``fallback`` for parameter-free models); a backend's device."""
    if isinstance(model, Backend):
        return model.device
    return next((p.device for p in model.parameters()), resolve_device(fallback))


def make_streamer(
    model: VSRModel | Backend,
    height: int,
    width: int,
    tile: int | None,
    *,
    chunk: int,
    device: torch.device,
    overlap: int = DEFAULT_OVERLAP,
    on_warning: Callable[[str], None] = warn,
    scene_cuts: bool = True,
):
    """``(streamer, tile)``: tiled when asked (``tile``) or when a frame would not fit; with
    ``scene_cuts``, a fresh one for each shot (:class:`vidsr.shots.ShotStreamer`).

    ``model`` is a model or a :class:`~vidsr.backends.Backend` (whose streamers it then runs).
    """
    from vidsr.shots import ShotStreamer

    if tile is None:
        net = model.model if isinstance(model, Backend) else model
        tile = choose_tile(net, height, width, chunk=chunk, device=device)
        if tile is not None:
            on_warning(f"{width}x{height} frames do not fit in memory at once; processing in {tile}px tiles")
    if tile is not None and (tile >= height and tile >= width):
        tile = None

    def make():
        return model.streamer() if tile is None else TiledStreamer(model, height, width, tile, overlap)

    return (ShotStreamer(make) if scene_cuts else make()), tile


class ModelStage:
    """Runs a model's streamer (or a tiled one) on uint8 (or uint16) RGB frames."""

    def __init__(self, streamer, device: torch.device) -> None:
        self.streamer = streamer
        self.device = device
        self.dtype: type[np.integer] = np.uint8  # of the frames pushed, for those flushed

    def push(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """LR frames in, the SR frames now complete out (same dtype)."""
        from vidsr.streaming import push_frames

        self.dtype = frames[0].dtype.type if frames else self.dtype
        return push_frames(self.streamer, frames, self.device)

    def flush(self) -> list[np.ndarray]:
        """The remaining SR frames at the end of the video."""
        from vidsr.streaming import flush_frames

        return flush_frames(self.streamer, dtype=self.dtype)
