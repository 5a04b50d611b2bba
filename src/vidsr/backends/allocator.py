"""glibc malloc settings for inference and CPU training, set by vidsr itself (no environment needed).

Every step allocates and frees a few large tensors (the stacked window, the HR frame: 10-30
MB at 720p). With glibc's defaults they come from fresh ``mmap`` calls whose pages the
kernel zeroes at first touch, or the heap is trimmed and grown again, every frame. Keeping
such blocks on the heap (mmap threshold 32 MiB), never trimming it (trim threshold 2 GiB)
and growing it in 256 MiB steps removes that work: the same settings as
``MALLOC_MMAP_THRESHOLD_=32M MALLOC_TRIM_THRESHOLD_=4G MALLOC_TOP_PAD_=256M``, applied
with ``mallopt`` at run time, so no re-exec is needed (the environment variables are only
read at process start). The price is memory kept by the process after a peak, bounded by
those thresholds. ``VIDSR_MALLOC=default`` leaves glibc's settings alone, and so do the
user's own ``MALLOC_*`` or ``GLIBC_TUNABLES`` malloc settings; other C libraries are left
alone. Measured (benchmarks/inference.py, README): delta at 180x320 on a 2-core AMD EPYC,
OpenVINO bf16 56-61 -> 42-45 ms per frame, torch bf16 63-69 -> 46-48 ms (medians). Training
(`vidsr train` on the CPU applies them too), delta in the recurrence regime, bf16, 1 thread
(`benchmarks/train_speed.py --models delta --precisions bf16 --window 30 --chunk 10
--gt-patch 256 --batch 8 --warmup 3 --steps 6`): 1.23 and 1.13 -> 1.35 and 1.28 samples/s.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
SETTINGS = {M_MMAP_THRESHOLD: 32 << 20, M_TRIM_THRESHOLD: (2 << 30) - 1, M_TOP_PAD: 256 << 20}
_applied: bool | None = None


def tune_allocator() -> bool:
    """Apply :data:`SETTINGS` once per process; True when they are in force (glibc, not disabled)."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get("VIDSR_MALLOC", "").lower() == "default":
        return False
    if any(key.startswith("MALLOC_") and key.endswith("_") for key in os.environ) or "glibc.malloc" in os.environ.get(
        "GLIBC_TUNABLES", ""
    ):
        return False  # the user's own settings win
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl, macOS, Windows)
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _applied = all(mallopt(option, value) == 1 for option, value in SETTINGS.items())
    return _applied
