"""Two processes on a batch: `torchrun --nproc-per-node=2 -m vidsr upscale` against one process.

Makes 4 equal test videos (320x180, 150 frames, by default), upscales the batch with one
process, then with torchrun and 2 ranks (gloo), each with one thread (``--threads 1``:
torch, decoder and encoder), and prints both wall times, start-up included, and their
ratio. Target on a 2-core machine: at most 0.6x the one-process time. The outputs of both
runs are checked to be the same packets. Needs a quiet machine: other work on the cores
changes both times.

    .venv/bin/python benchmarks/batch_scaling.py [--videos 4] [--frames 150] [--model delta]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

WIDTH, HEIGHT = 320, 180


def upscale(sources: list[Path], output: Path, model: str, ranks: int) -> float:
    """Wall seconds of one `vidsr upscale` run on the batch (``ranks`` processes)."""
    command = [sys.executable, "-m", "vidsr", "upscale", *map(str, sources), str(output), "--model", model,
               "--threads", "1", "-q"]  # fmt: skip
    if ranks > 1:
        command[1:3] = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={ranks}", "-m", "vidsr"]
    started = time.perf_counter()
    completed = subprocess.run(command, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{completed.stderr[-3000:]}")
    return seconds


def packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(packet) for packet in container.demux(video=0) if packet.size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--frames", type=int, default=150, help="frames per video")
    parser.add_argument("--model", default=None, help="model name (default: vidsr's DEFAULT_MODEL)")
    args = parser.parse_args()

    from vidsr.video.pipeline import DEFAULT_MODEL
    from vidsr.video.synthetic import pattern_frames, write_video

    model = args.model or DEFAULT_MODEL
    print(f"vidsr batch scaling: {args.videos} videos of {args.frames} frames {WIDTH}x{HEIGHT} -> x4, model "
          f"{model}, 1 thread per process, {os.cpu_count()} CPUs", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="vidsr-batch-") as scratch:
        folder = Path(scratch)
        first = write_video(folder / "v0.mp4", pattern_frames(args.frames, HEIGHT, WIDTH), fps=25, audio_seconds=1.0)
        sources = [first]
        for index in range(1, args.videos):  # equal videos: copies of the first
            sources.append(folder / f"v{index}.mp4")
            sources[-1].write_bytes(first.read_bytes())
        one = upscale(sources, folder / "one", model, ranks=1)
        print(f"1 process:   {one:7.1f} s", flush=True)
        two = upscale(sources, folder / "two", model, ranks=2)
        print(f"2 processes: {two:7.1f} s", flush=True)
        same = all(packets(folder / "one" / s.name) == packets(folder / "two" / s.name) for s in sources)
    ratio = two / one
    print(f"ratio {ratio:.2f}x (target <= 0.60x): {'OK' if ratio <= 0.6 else 'SLOWER THAN TARGET'}; "
          f"outputs {'identical' if same else 'DIFFER'}")  # fmt: skip


if __name__ == "__main__":
    main()
