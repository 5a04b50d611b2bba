"""vidsr: compact recurrent 2D+3D CNNs for video super-resolution.

Frames inside the package are ``(B, T, C, H, W)`` float tensors in [0, 1];
uint8 RGB arrays appear only at the edges (decoders, encoders, image files).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "upscale_video"]


def upscale_video(*args: Any, **kwargs: Any) -> Any:
    """Upscale a video file or frame folder; see :func:`vidsr.video.pipeline.upscale_video`."""
    from vidsr.video.pipeline import upscale_video as _upscale_video

    return _upscale_video(*args, **kwargs)
