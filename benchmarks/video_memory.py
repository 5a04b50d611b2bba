"""Peak memory of `vidsr upscale` does not grow with the video's length; end-to-end speed.

Makes 320x180 test videos of 1,000 and 10,000 frames (by default), upscales each x4 (to
1280x720 H.264) in a fresh subprocess, and prints each run's peak resident memory (VmHWM
from /proc/self/status) and frames per second; then the model alone on the same frames
(decoded beforehand, no encoding) for comparison. With the default --segment-frames
(2000), the 10,000-frame job runs as a resumable job of 5 segments joined at the end, and
the 1,000-frame one in a single pass: the target is a peak within 10% of each other.

    .venv/bin/python benchmarks/video_memory.py [--model bicubic] [--frames 1000 10000] [--segment-frames N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WIDTH, HEIGHT = 320, 180


def peak_rss_mib() -> float:
    """This process's resident-memory high-water mark (VmHWM), MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def child_upscale(source: str, output: str, model: str, segment_frames: int) -> None:
    from vidsr.video.pipeline import upscale_video

    before = peak_rss_mib()
    result = upscale_video(
        source, output, model=model, force=True, quiet=True, on_warning=lambda m: None, segment_frames=segment_frames
    )
    print(json.dumps({
        "frames": result.frames, "seconds": result.seconds, "fps": result.fps,
        "peak_mib": peak_rss_mib(), "peak_before_mib": before,
    }))  # fmt: skip


def child_model_alone(source: str, model: str, frames: int) -> None:
    import numpy as np
    import torch

    from vidsr.video.inference import ModelStage, load_model
    from vidsr.video.pipeline import DEFAULT_CHUNK
    from vidsr.video.reader import open_video

    with open_video(source) as reader:
        lr = [frame.rgb for _, frame in zip(range(frames), reader)]
    net = load_model(model, 4, on_warning=lambda m: None)
    stage = ModelStage(net.streamer(), torch.device("cpu"))
    started = time.perf_counter()
    count = 0
    for start in range(0, len(lr), DEFAULT_CHUNK):
        count += len(stage.push(lr[start : start + DEFAULT_CHUNK]))
    count += len(stage.flush())
    seconds = time.perf_counter() - started
    assert count == len(lr) and np.asarray(lr).shape[1:] == (HEIGHT, WIDTH, 3)
    print(json.dumps({"frames": count, "seconds": seconds, "fps": count / seconds}))


def run_child(*args: str) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        sys.exit(f"benchmark child failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model name (default: vidsr's DEFAULT_MODEL)")
    parser.add_argument("--frames", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--segment-frames", type=int, default=None,
                        help="segment length of `vidsr upscale` (default: its own, 2000; 0: one pass)")  # fmt: skip
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "upscale":
            child_upscale(rest[0], rest[1], rest[2], int(rest[3]))
        else:
            child_model_alone(rest[0], rest[1], int(rest[2]))
        return

    from vidsr.video.pipeline import DEFAULT_MODEL, DEFAULT_SEGMENT_FRAMES
    from vidsr.video.synthetic import pattern_frames, write_video

    model = args.model or DEFAULT_MODEL
    segment_frames = DEFAULT_SEGMENT_FRAMES if args.segment_frames is None else args.segment_frames
    import torch

    print(f"vidsr video memory benchmark: {WIDTH}x{HEIGHT} -> x4 ({WIDTH * 4}x{HEIGHT * 4} H.264 CRF 18), "
          f"model {model}, {os.cpu_count()} CPUs, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="vidsr-bench-") as scratch:
        folder = Path(scratch)
        rows = []
        for count in sorted(args.frames):
            started = time.perf_counter()
            source = write_video(folder / f"in_{count}.mp4", pattern_frames(count, HEIGHT, WIDTH), fps=25)
            made = time.perf_counter() - started
            output = folder / f"out_{count}.mp4"
            result = run_child("upscale", str(source), str(output), model, str(segment_frames))
            rows.append((count, result))
            how = f"{-(-count // segment_frames)} segments" if 0 < segment_frames < count else "one pass"
            print(f"{count:>6} frames ({how}): peak RSS {result['peak_mib']:7.1f} MiB, "
                  f"{result['seconds']:6.1f} s, {result['fps']:6.1f} fps end to end "
                  f"(input made in {made:.1f} s)", flush=True)  # fmt: skip
            output.unlink()  # (720p H.264 of 10,000 frames: hundreds of MB)
        alone = run_child("model", str(folder / f"in_{max(args.frames)}.mp4"), model, "100")
    peaks = [result["peak_mib"] for _, result in rows]
    spread = (max(peaks) - min(peaks)) / min(peaks) * 100
    verdict = "OK" if spread <= 10 else "TOO MUCH GROWTH"
    print(f"peak RSS spread between {rows[0][0]} and {rows[-1][0]} frames: {spread:.1f}% "
          f"(target <= 10%): {verdict}")  # fmt: skip
    end_to_end = rows[-1][1]["fps"]
    print(f"model alone on 100 decoded frames (no decoding/encoding): {alone['fps']:.1f} fps; "
          f"end to end: {end_to_end:.1f} fps ({end_to_end / alone['fps'] * 100:.0f}% of the model alone)")  # fmt: skip


if __name__ == "__main__":
    main()
