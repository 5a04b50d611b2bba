"""vidsr: compact recurrent 2D+3D CNNs for video super-resolution.

Frames inside the package are ``(B, T, C, H, W)`` float tensors in [0, 1];
uint8 RGB arrays appear only at the edges (decoders, encoders, image files).
"""

from __future__ import annotations

import os
from typing import Any

# With more OpenMP threads than free cores, busy-waiting threads slow PyTorch down 5-20x
# on small machines; passive waiting costs nothing when cores are free. Set before torch
# is imported (a user's own setting wins).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# PyTorch's CPU allocator asks for transparent huge pages on blocks of 2 MB and more: the
# many fresh 10-60 MB blocks of a training step then fault in 2 MB at a time, not 4 kB.
# CPU training of delta in the recurrence regime (benchmarks/train_speed.py, bf16, 1
# thread, AMD EPYC, three interleaved runs each): median 1.32 -> 1.42 samples/s (the
# runs spread by 0.1-0.25). THP_MEM_ALLOC_ENABLE=0 turns it off. Read once, when torch starts.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

__version__ = "0.1.0"

__all__ = ["__version__", "upscale_video"]


def upscale_video(*args: Any, **kwargs: Any) -> Any:
    """Upscale a video file or frame folder; see :func:`vidsr.video.pipeline.upscale_video`."""
    from vidsr.video.pipeline import upscale_video as _upscale_video

    return _upscale_video(*args, **kwargs)
