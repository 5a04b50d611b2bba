"""Is the x264 round trip of vidsr.data.real.compress_clip repeatable? Encodes one 20-frame
clip (CRF 33, medium) 30 times in one process, at two frame widths, and prints how many calls
gave each stream size: with the instruction sets vidsr allows x264 (``x264_asm``: AVX2 on
CPUs with AVX-512) and with x264's own choice (AVX-512 where the CPU has it).

    .venv/bin/python benchmarks/x264_repeatability.py
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from unittest import mock

import numpy as np

import vidsr.data.real as real
from vidsr.data.real import VideoCodec, compress_clip
from vidsr.training.environment import cpu_name


def sizes(width: int, calls: int) -> Counter[int]:
    """Stream sizes of ``calls`` round trips of one 64 x ``width`` clip (a random image panning)."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (1, 64, width, 3), dtype=np.uint8)
    frames = np.concatenate([np.roll(base, shift, axis=2) for shift in range(20)])
    return Counter(compress_clip(frames, VideoCodec("libx264", 33, "medium")).bytes for _ in range(calls))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--widths", default="96,214")
    args = parser.parse_args()
    print(f"CPU: {cpu_name()}; vidsr's x264 cap: {real.x264_asm() or 'none (x264 chooses)'}")
    variants: dict[str, Callable[[], str | None]] = {"vidsr": real.x264_asm, "x264's own choice": lambda: None}
    for label, asm in variants.items():
        for width in (int(w) for w in args.widths.split(",")):
            with mock.patch.object(real, "x264_asm", asm):
                counts = sizes(width, args.calls)
            verdict = "repeatable" if len(counts) == 1 else "NOT repeatable"
            shown = ", ".join(f"{size} bytes x{n}" for size, n in sorted(counts.items()))
            print(f"{label:>18}, width {width}: {verdict}: {shown}")


if __name__ == "__main__":
    main()
