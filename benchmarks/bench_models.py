"""Speed of the founding models on this machine: inference (streaming) and training steps.

    .venv/bin/python benchmarks/bench_models.py                 # all networks, x4, fp32
    .venv/bin/python benchmarks/bench_models.py --models delta --bf16

Prints, per model: parameters, multiply-adds per LR pixel (torch flop counter), streaming
inference speed on Vid4-sized LR frames (180x144 -> 720x576, batch 1, chunks of 5 frames)
and the time of one training step (forward + backward, L1 loss) on a (4, 5, 3, 64, 64) batch.
``--bf16`` repeats both under CPU bf16 autocast (slow on CPUs without native bf16 kernels).
"""

from __future__ import annotations

import argparse
import time

import torch

from vidsr.models import create
from vidsr.models.facts import summarize

NETWORKS = ["fsrcnn", "previous", "delta", "five_parallel"]


def time_inference(model, frames: int, height: int, width: int, chunk: int, autocast: bool) -> float:
    """Seconds per output frame, streaming ``frames`` frames in chunks (after one warm-up chunk)."""
    lr = torch.rand(1, frames, 3, height, width)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        warm = model.streamer()
        warm.push(lr[:, :chunk])
        warm.flush()
        streamer = model.streamer()
        start = time.perf_counter()
        for index in range(0, frames, chunk):
            streamer.push(lr[:, index : index + chunk])
        streamer.flush()
    return (time.perf_counter() - start) / frames


def time_training_step(model, batch: int, frames: int, size: int, autocast: bool, steps: int = 3) -> float:
    """Seconds per optimiser step (forward, L1 loss, backward, Adam), after one warm-up step."""
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
    lr = torch.rand(batch, frames, 3, size, size)
    target = torch.rand(batch, frames, 3, size * model.scale, size * model.scale)
    model.train()
    timings = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        optimiser.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            out = model(lr)
        (out.float() - target).abs().mean().backward()
        optimiser.step()
        timings.append(time.perf_counter() - start)
    model.eval()
    return min(timings[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(NETWORKS))
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--frames", type=int, default=10, help="frames streamed for inference timing")
    parser.add_argument("--bf16", action="store_true", help="also time under bf16 autocast")
    args = parser.parse_args()

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, x{args.scale}")
    modes = [("fp32", False)] + ([("bf16", True)] if args.bf16 else [])
    header = f"{'model':<14}{'params':>10}{'MACs/px':>10}"
    for mode, _ in modes:
        header += f"{'ms/frame ' + mode:>18}{'s/step ' + mode:>15}"
    print(header)
    for name in args.models.split(","):
        summary = summarize(name, args.scale)
        torch.manual_seed(0)
        model = create(name, args.scale).eval()
        line = f"{name:<14}{summary.params:>10,}{summary.macs_per_lr_pixel:>10,}"
        for _, autocast in modes:
            per_frame = time_inference(model, args.frames, 144, 180, chunk=5, autocast=autocast)
            step = time_training_step(model, batch=4, frames=5, size=64, autocast=autocast)
            line += f"{per_frame * 1e3:>18.1f}{step:>15.2f}"
        print(line, flush=True)
    print("inference: 180x144 LR frames, batch 1, chunks of 5; step: batch 4 x 5 frames of 64x64 LR")


if __name__ == "__main__":
    main()
