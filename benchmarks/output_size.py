"""What ``--size`` costs: the resize after the model, per frame, beside the model's own time.

    .venv/bin/python benchmarks/output_size.py                  # delta, the default cases
    .venv/bin/python benchmarks/output_size.py --model bicubic --runs 5

Each case is an input a user brings and the size asked for; the scale is the one ``vidsr
upscale --size`` picks (the smallest shipped scale that reaches the size), then every output
frame is resized (:func:`vidsr.video.output_size.resize_frame`: torch bicubic, antialiased when
it shrinks). Prints milliseconds per frame for the model (the stream's steady state: 6 frames
less 2, torch fp32) and for the resize (median of ``--runs``), and the
resize's share of the two. Pause trainings on this machine while it runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial

import numpy as np
import torch

from vidsr.models import create
from vidsr.streaming import super_resolve
from vidsr.training.environment import hardware_summary
from vidsr.video.output_size import choose_scale, resize_frame

# (name, LR width, LR height, output width, output height)
CASES = [
    ("DVD 720x480 -> 1080p", 720, 480, 1620, 1080),
    ("720p -> 1080p", 1280, 720, 1920, 1080),
    ("480p 854x480 -> 4k", 854, 480, 3840, 2160),
]


def timed(function, runs: int) -> float:
    """Median seconds of ``runs`` calls of ``function``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def seconds_per_frame(net: torch.nn.Module, lr: np.ndarray) -> float:
    """The model's seconds per frame in a stream: all of ``lr`` less its first two frames, so
    that the warm-up and the start-up cancel out."""
    with torch.inference_mode():
        whole = timed(partial(list, super_resolve(net, lr)), 1)
        start = timed(partial(list, super_resolve(net, lr[:2])), 1)
    return (whole - start) / (len(lr) - 2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="delta", help="model run before the resize (default delta)")
    parser.add_argument("--runs", type=int, default=3, help="timed resizes per case (median)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(hardware_summary(torch.device("cpu")))
    print("| input -> size | scale | model output | model ms/frame | resize ms/frame | resize share |")
    print("|---|---:|---|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for name, width, height, out_w, out_h in CASES:
        scale = choose_scale(out_h / height, (2, 4))
        net = create(args.model, scale=scale).eval()
        model_s = seconds_per_frame(net, rng.integers(0, 256, (6, height, width, 3), dtype=np.uint8))
        hr = rng.integers(0, 256, (height * scale, width * scale, 3), dtype=np.uint8)
        resize_s = timed(partial(resize_frame, hr, out_w, out_h), args.runs)
        share = resize_s / (resize_s + model_s)
        print(f"| {name} | x{scale} | {width * scale}x{height * scale} -> {out_w}x{out_h} "
              f"| {model_s * 1e3:.0f} | {resize_s * 1e3:.0f} | {share:.0%} |")  # fmt: skip


if __name__ == "__main__":
    main()
