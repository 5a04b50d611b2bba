"""Is the x264 round trip of vidsr.data.real.compress_clip repeatable? Encodes one 20-frame
clip 20 times in one process and prints the stream sizes (all equal if it is).

    .venv/bin/python benchmarks/x264_repeatability.py
"""

from __future__ import annotations

import numpy as np

from vidsr.data.real import VideoCodec, compress_clip


def main() -> None:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (1, 64, 96, 3), dtype=np.uint8)
    frames = np.concatenate([np.roll(base, shift, axis=2) for shift in range(20)])
    sizes = [compress_clip(frames, VideoCodec("libx264", 33, "medium")).bytes for _ in range(20)]
    print("stream bytes per call:", sizes)
    print("repeatable" if len(set(sizes)) == 1 else f"NOT repeatable: {len(set(sizes))} different sizes")


if __name__ == "__main__":
    main()
