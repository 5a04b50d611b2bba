"""What keeping 10 bits costs: `vidsr upscale` of a 10-bit video with `--bit-depth auto`
(10-bit through the model, yuv420p10le out) against `--bit-depth 8`.

Makes a 10-bit H.264 test video (the moving pattern of :mod:`vidsr.video.synthetic`,
yuv420p10le, 320x180 and 48 frames by default), upscales it x4 with each setting
(``--repeats`` times each, alternating; the first run of each is a warm-up and not shown
unless it is the only one) and prints the end-to-end frames per second, the output's pixel
format and the distinct 16-bit levels of one output row (more levels: finer steps).
The CPU comes from /proc/cpuinfo; pause your trainings while it runs.

    .venv/bin/python benchmarks/bit_depth.py [--model delta] [--size 320x180] [--frames 48]
        [--threads 1] [--repeats 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from vidsr.training.environment import cpu_name
from vidsr.video.pipeline import upscale_video
from vidsr.video.synthetic import pattern_frames, write_video


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="delta")
    parser.add_argument("--size", default="320x180", help="WIDTHxHEIGHT of the 10-bit input")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "ten.mkv"
        frames = (frame.astype(np.uint16) * 257 for frame in pattern_frames(args.frames, height, width))
        write_video(source, frames, pix_fmt="yuv420p10le")
        speeds: dict[str, list[float]] = {"auto": [], "8": []}
        formats: dict[str, tuple[str, int]] = {}
        for _ in range(args.repeats):
            for depth in speeds:
                output = Path(scratch) / f"out_{depth}.mkv"
                started = time.perf_counter()
                result = upscale_video(source, output, model=args.model, quiet=True, threads=args.threads,
                                       force=True, bit_depth=depth, on_warning=lambda message: None)
                speeds[depth].append(result.frames / (time.perf_counter() - started))
                with av.open(str(output)) as container:
                    stream = container.streams.video[0]
                    frame = next(container.decode(stream)).to_ndarray(format="rgb48le")
                    formats[depth] = (stream.codec_context.pix_fmt, len(np.unique(frame[frame.shape[0] // 2, :, 1])))
    print(f"{args.model} x4, {args.frames} frames {width}x{height} 10-bit H.264 in, {args.threads} thread(s), "
          f"{cpu_name()}, {time.strftime('%Y-%m-%d %H:%M')}")
    print("| --bit-depth | output | levels in one row | fps (each run after the first) |")
    print("|---|---|---:|---|")
    for depth, values in speeds.items():
        shown = values[1:] or values
        print(f"| {depth} | {formats[depth][0]} | {formats[depth][1]} | {', '.join(f'{v:.2f}' for v in shown)} |")


if __name__ == "__main__":
    main()
