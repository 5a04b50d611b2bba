"""Does x265 survive narrow frames? (why vidsr keeps x265 to SSE4.2 below 64 pixels wide)

    .venv/bin/python benchmarks/x265_width.py                       # widths 8-96 at heights 32, 64, 120
    .venv/bin/python benchmarks/x265_width.py --widths 40 48 --runs 10

Each cell encodes 4 frames three times with libx265 (CRF 24, FFmpeg through PyAV) in a child
process, ``--runs`` times, and counts the children killed by a signal (x265 corrupting the
heap makes glibc abort: "corrupted size vs. prev_size"); "-" where x265 refuses the size (an
FFmpeg error, below 16 pixels). Rows: x265's own choice of kernels, the SSE4.2 ones
(``asm=sse4.2``) that vidsr uses below ``X265_SAFE_WIDTH``, and SSE4.2 asked for after a
96-pixel video was encoded in the same process ("after 96"): x265 sets its kernels up once per
process, so that request comes too late (why vidsr refuses a narrow x265 output then). Prints
the CPU.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys

CHILD = """
import sys
import av
import numpy as np
height, width, asm = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]


def encode(height, width, asm):
    params = "log-level=error" + (f":asm={asm}" if asm != "auto" else "")
    with av.open("/dev/null", "w", format="matroska") as container:
        stream = container.add_stream("libx265", rate=25, options={"crf": "24", "x265-params": params})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(4):
            ramp = np.clip(np.arange(width) * 5 + index * 3, 0, 255).astype(np.uint8)
            rgb = np.ascontiguousarray(np.repeat(np.repeat(ramp[None, :, None], height, 0), 3, 2))
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


if asm == "after 96":
    encode(height, 96, "auto")
for _ in range(3):
    encode(height, width, "sse4.2" if asm == "after 96" else asm)
"""


def cpu_name() -> str:
    """The CPU's model name (lscpu's), or the platform's word for it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16, 32, 40, 48, 56, 64, 96])
    parser.add_argument("--heights", type=int, nargs="+", default=[32, 64, 120])
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    print(f"libx265 through PyAV, {cpu_name()}: children that died of {args.runs}")
    print(f"{'kernels':>8} {'height':>6} " + " ".join(f"{width:>4}" for width in args.widths))
    for asm in ("auto", "sse4.2", "after 96"):
        for height in args.heights:
            cells = []
            for width in args.widths:
                codes = [subprocess.run([sys.executable, "-c", CHILD, str(height), str(width), asm],
                                        capture_output=True, check=False).returncode for _ in range(args.runs)]
                refused = all(code > 0 for code in codes)
                cells.append(f"{'-' if refused else sum(code < 0 for code in codes):>4}")
            print(f"{asm:>8} {height:>6} " + " ".join(cells), flush=True)


if __name__ == "__main__":
    main()
