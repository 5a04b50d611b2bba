"""Two processes on a batch (`vidsr upscale --jobs 2`, and `torchrun --nproc-per-node=2 -m vidsr
upscale`) against one process.

Makes 4 equal test videos (320x180, 150 frames, by default) and upscales the batch four
ways, each process with one thread (``--threads 1``: torch, decoder and encoder):

1. one process;
2. one process held to one core (``sched_setaffinity``): "one thread" taken literally;
3. torchrun with 2 ranks (gloo); with ``--threads 1`` each rank holds itself to a CPU of
   its own (``vidsr.video.batch.hold_to_own_cpus``);
4. ``--jobs 2``: the same sharing, in a forked copy of the process instead of torchrun's
   launcher and two fresh interpreters (``vidsr.video.batch.run_as_jobs``).

It prints each run's wall time (start-up included) and CPU time (user + system), and the
ratio of each two-process kind to each kind of one-process run (medians of ``--repeats``
runs of each kind, interleaved). Target on a 2-core machine: at most 0.6x.
One process with ``--threads 1`` still decodes, runs the model and encodes in three
overlapping threads, so it keeps more than one core busy; two such processes cannot beat
``cores used by one / 2`` (printed as the floor), however well the ranks share the work.
The outputs of all runs are checked to be the same packets. Needs a quiet machine: other
work on the cores changes every time.

    .venv/bin/python benchmarks/batch_scaling.py [--videos 4] [--frames 150] [--repeats 3] [--model delta]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

WIDTH, HEIGHT = 320, 180


def upscale(sources: list[Path], output: Path, model: str, kind: str) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one `vidsr upscale` run on the batch, as
    ``kind`` (a key of :data:`LABELS`; ``pinned``: held to the first CPU it may use)."""
    command = [sys.executable, "-m", "vidsr", "upscale", *map(str, sources), str(output), "--model", model,
               "--threads", "1", "-q"]  # fmt: skip
    if kind == "two":
        command[1:3] = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "vidsr"]
    elif kind == "jobs":
        command.extend(["--jobs", "2"])
    one_core = kind == "pinned"
    cpus = sorted(os.sched_getaffinity(0))

    def hold_to_one_core() -> None:
        os.sched_setaffinity(0, {cpus[0]})

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(command, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True,
                               preexec_fn=hold_to_one_core if one_core else None)  # fmt: skip
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{completed.stderr[-3000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return seconds, cpu


LABELS = {"one": "1 process", "pinned": "1 process, one core", "two": "2 ranks (torchrun)", "jobs": "--jobs 2"}
TWO = ("two", "jobs")


def median_run(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """The run of median wall time (its wall and CPU seconds)."""
    return sorted(runs)[len(runs) // 2]


def packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(packet) for packet in container.demux(video=0) if packet.size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--frames", type=int, default=150, help="frames per video")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each kind (the median counts)")
    parser.add_argument("--model", default=None, help="model name (default: vidsr's DEFAULT_MODEL)")
    args = parser.parse_args()

    from vidsr.video.pipeline import DEFAULT_MODEL
    from vidsr.video.synthetic import pattern_frames, write_video

    model = args.model or DEFAULT_MODEL
    print(f"vidsr batch scaling: {args.videos} videos of {args.frames} frames {WIDTH}x{HEIGHT} -> x4, model "
          f"{model}, 1 thread per process, {os.cpu_count()} CPUs", flush=True)  # fmt: skip
    same = True
    with tempfile.TemporaryDirectory(prefix="vidsr-batch-") as scratch:
        folder = Path(scratch)
        first = write_video(folder / "v0.mp4", pattern_frames(args.frames, HEIGHT, WIDTH), fps=25, audio_seconds=1.0)
        sources = [first]
        for index in range(1, args.videos):  # equal videos: copies of the first
            sources.append(folder / f"v{index}.mp4")
            sources[-1].write_bytes(first.read_bytes())
        runs: dict[str, list[tuple[float, float]]] = {kind: [] for kind in LABELS}
        for repeat in range(args.repeats):  # interleaved, so that a noisy minute hits every kind alike
            for kind in runs:
                output = folder / f"{kind}{repeat}"
                runs[kind].append(upscale(sources, output, model, kind))
                wall, cpu = runs[kind][-1]
                print(f"  {LABELS[kind]:<20} {wall:6.1f} s wall, {cpu:6.1f} s CPU ({cpu / wall:.2f} cores)", flush=True)
                if repeat or kind != "one":
                    same = same and all(packets(folder / "one0" / s.name) == packets(output / s.name) for s in sources)
        (one, one_cpu), (pinned, _) = (median_run(runs[kind]) for kind in ("one", "pinned"))
    print(f"medians of {args.repeats}: " + ", ".join(f"{LABELS[k]} {median_run(v)[0]:.1f} s" for k, v in runs.items()))
    cores = len(os.sched_getaffinity(0))
    floor = max(1 / cores, one_cpu / one / cores)
    for kind in TWO:
        two = median_run(runs[kind])[0]
        for name, base in (("1 process", one), ("1 process on one core", pinned)):
            ratio = two / base
            verdict = "OK" if ratio <= 0.6 else "SLOWER THAN TARGET"
            print(f"{LABELS[kind]} / {name}: {ratio:.2f}x (target <= 0.60x): {verdict}")
    print(f"floor against 1 process: {floor:.2f}x (the cores one process keeps busy / {cores} cores); "
          f"outputs {'identical' if same else 'DIFFER'}")  # fmt: skip


if __name__ == "__main__":
    main()
