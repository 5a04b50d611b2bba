"""Peak memory of `vidsr upscale` does not grow with the video's length (issue 16).

Makes 320x180 test videos of 1,000 and 10,000 frames (by default; 25 fps H.264, the moving
test pattern of :mod:`vidsr.video.synthetic`), and upscales each x4 (to 1280x720 H.264)
with the real command line, ``python -m vidsr upscale IN OUT --model M --force -q``, in a
fresh subprocess. The peak resident memory is the child's own ``ru_maxrss`` (``os.wait4``
on that child: its high-water mark, interpreter and torch included; not this script's
memory, nor that of any other child). With vidsr's default ``--segment-frames`` (2000)
the 10,000-frame job runs as a resumable job of 5 segments joined at the end, and the
1,000-frame one in a single pass. The target: the largest peak within 10% of the
smallest. Prints a Markdown table, with the CPU (``lscpu``) and the versions above it.

    .venv/bin/python benchmarks/video_memory.py [--model bicubic] [--frames 1000 10000]
        [--segment-frames N] [--threads N] [--model-alone]

``--model-alone`` also times the model on 100 decoded frames (no decoding, no encoding),
for comparison with the end-to-end speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WIDTH, HEIGHT = 320, 180
TARGET_PERCENT = 10.0


def cpu_model() -> str:
    """The CPU's model name as ``lscpu`` gives it (else /proc/cpuinfo), and the CPUs this process may use."""
    name = None
    try:
        env = {**os.environ, "LC_ALL": "C"}
        listing = subprocess.run(["lscpu"], capture_output=True, text=True, check=True, env=env)
        name = next((line.split(":", 1)[1].strip() for line in listing.stdout.splitlines()
                     if line.startswith("Model name:")), None)  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        pass
    if name is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as info:
                name = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), None)
        except OSError:
            pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{name or platform.processor() or 'unknown CPU'} ({usable} CPUs usable)"


def upscale_command(
    source: Path, output: Path, model: str, segment_frames: int | None, threads: int | None
) -> list[str]:
    """The `vidsr upscale` command line the benchmark runs."""
    command = [sys.executable, "-m", "vidsr", "upscale", str(source), str(output), "--model", model, "--force", "-q"]
    if segment_frames is not None:
        command += ["--segment-frames", str(segment_frames)]
    if threads is not None:
        command += ["--threads", str(threads)]
    return command


def run_measured(command: list[str]) -> dict:
    """Run ``command``; its wall time and peak RSS (the child's ``ru_maxrss``, MiB)."""
    with tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own resource usage
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            errors.seek(0)
            sys.exit(f"`{shlex.join(command)}` failed ({child.returncode}):\n{errors.read()}")
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return {"seconds": seconds, "peak_mib": usage.ru_maxrss * scale / 2**20}


def video_frames(path: Path) -> int:
    """Video frames in ``path`` (its packets; no decoding)."""
    import av

    with av.open(str(path)) as container:
        return sum(1 for packet in container.demux(video=0) if packet.size)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model name (default: vidsr's DEFAULT_MODEL)")
    parser.add_argument("--frames", type=int, nargs="+", default=[1000, 10000],
                        help="video lengths (default 1000 10000)")  # fmt: skip
    parser.add_argument("--segment-frames", type=int, default=None,
                        help="--segment-frames of `vidsr upscale` (default: its own, 2000; 0: one pass)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=None, help="--threads of `vidsr upscale` (default: its own)")
    parser.add_argument("--model-alone", action="store_true", help="also time the model alone on 100 decoded frames")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_model_alone(args.child[0], args.child[1], int(args.child[2]))
        return

    import torch

    from vidsr import __version__
    from vidsr.video.pipeline import DEFAULT_MODEL, DEFAULT_SEGMENT_FRAMES
    from vidsr.video.synthetic import pattern_frames, write_video

    model = args.model or DEFAULT_MODEL
    segment_frames = DEFAULT_SEGMENT_FRAMES if args.segment_frames is None else args.segment_frames
    print(f"vidsr video memory benchmark: {WIDTH}x{HEIGHT} -> x4 ({WIDTH * 4}x{HEIGHT * 4} H.264), model {model}")
    print(f"CPU: {cpu_model()}; vidsr {__version__}, torch {torch.__version__}, Python {platform.python_version()}; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory(prefix="vidsr-bench-") as scratch:
        folder = Path(scratch)
        for count in sorted(args.frames):
            started = time.perf_counter()
            source = write_video(folder / f"in_{count}.mp4", pattern_frames(count, HEIGHT, WIDTH), fps=25)
            made = time.perf_counter() - started
            output = folder / f"out_{count}.mp4"
            command = upscale_command(source, output, model, args.segment_frames, args.threads)
            if not rows:
                print(f"command: {shlex.join(command)}  (per length: IN and OUT change)", flush=True)
            result = run_measured(command)
            written = video_frames(output)
            if written != count:
                sys.exit(f"{output} has {written} frames, not {count}")
            how = f"{-(-count // segment_frames)} segments" if 0 < segment_frames < count else "one pass"
            rows.append({"frames": count, "how": how, **result, "fps": count / result["seconds"], "made": made})
            print(f"  {count} frames done: peak RSS {result['peak_mib']:.1f} MiB, {result['seconds']:.1f} s "
                  f"(input made in {made:.1f} s)", flush=True)  # fmt: skip
            output.unlink()  # (720p H.264 of 10,000 frames: hundreds of MB)
        alone = None
        if args.model_alone:
            completed = subprocess.run([sys.executable, __file__, "--child", str(source), model, str(min(100, count))],
                                       capture_output=True, text=True, check=False)  # fmt: skip
            if completed.returncode != 0:
                sys.exit(f"model-alone child failed:\n{completed.stderr}")
            alone = json.loads(completed.stdout.strip().splitlines()[-1])
    print()
    print("| frames | job | peak RSS (MiB) | wall time (s) | fps end to end |")
    print("|---:|---|---:|---:|---:|")
    for row in rows:
        print(f"| {row['frames']:,} | {row['how']} | {row['peak_mib']:.1f} | {row['seconds']:.1f} | {row['fps']:.1f} |")
    print()
    peaks = [row["peak_mib"] for row in rows]
    spread = (max(peaks) - min(peaks)) / min(peaks) * 100
    verdict = "OK" if spread <= TARGET_PERCENT else "TOO MUCH GROWTH"
    print(f"peak RSS, largest vs smallest ({rows[peaks.index(max(peaks))]['frames']:,} vs "
          f"{rows[peaks.index(min(peaks))]['frames']:,} frames): +{spread:.1f}% (target <= {TARGET_PERCENT:.0f}%): "
          f"{verdict}")  # fmt: skip
    if alone is not None:
        end_to_end = rows[-1]["fps"]
        print(f"model alone on {alone['frames']} decoded frames (no decoding/encoding): {alone['fps']:.1f} fps; "
              f"end to end: {end_to_end:.1f} fps "
              f"({end_to_end / alone['fps'] * 100:.0f}% of the model alone)")  # fmt: skip


if __name__ == "__main__":
    main()
