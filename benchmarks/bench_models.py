"""Speed of the founding models on this machine: inference (streaming) and training steps.

    .venv/bin/python benchmarks/bench_models.py                 # all networks, x4, fp32
    .venv/bin/python benchmarks/bench_models.py --models delta --bf16

Prints, per model: parameters, multiply-adds per LR pixel (torch flop counter), streaming
inference speed on Vid4-sized LR frames (180x144 -> 720x576, batch 1, chunks of 5 frames)
and the time of one training step (forward + backward, L1 loss) on a (4, 5, 3, 64, 64) batch.
``--bf16`` repeats both under CPU bf16 autocast (slow on CPUs without native bf16 kernels).
``--layers`` also times two layer choices: FSRCNN's upsampling head as conv3x3 56->48 +
PixelShuffle(4) (ours) against the paper's 9x9 stride-4 transposed convolution 56->3 on a
180x144 map, and delta's 3x3x3 temporal convolution as ``nn.Conv3d`` against
:meth:`TemporalConv3d.fuse` (the same operator as one 2D convolution over stacked slices).
"""

from __future__ import annotations

import argparse
import time

import torch

from vidsr.models import create
from vidsr.models.facts import summarize
from vidsr.models.layers import TemporalConv3d

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


def time_call(function, repeats: int = 5) -> float:
    """Milliseconds per call, after one warm-up call."""
    with torch.no_grad():
        function()
        start = time.perf_counter()
        for _ in range(repeats):
            function()
    return (time.perf_counter() - start) / repeats * 1e3


def time_layers() -> None:
    """The two layer choices the model docstrings rely on, timed side by side."""
    features = torch.rand(1, 56, 144, 180)
    subpixel = torch.nn.Sequential(torch.nn.Conv2d(56, 48, 3, padding=1), torch.nn.PixelShuffle(4))
    transposed = torch.nn.ConvTranspose2d(56, 3, 9, stride=4, padding=4, output_padding=3)
    print(f"FSRCNN head conv3x3+PixelShuffle  {time_call(lambda: subpixel(features)):7.1f} ms")
    print(f"FSRCNN head ConvTranspose2d 9x9/4 {time_call(lambda: transposed(features)):7.1f} ms")
    temporal = TemporalConv3d(28, 28, depth=3)
    slices = [torch.rand(1, 28, 144, 180) for _ in range(3)]
    stacked = torch.stack(slices, dim=2)
    print(f"3x3x3 over 3 slices nn.Conv3d     {time_call(lambda: temporal(stacked)):7.1f} ms")
    print(f"3x3x3 over 3 slices fuse (2D)     {time_call(lambda: temporal.fuse(slices)):7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default=",".join(NETWORKS))
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--frames", type=int, default=10, help="frames streamed for inference timing")
    parser.add_argument("--bf16", action="store_true", help="also time under bf16 autocast")
    parser.add_argument("--layers", action="store_true", help="also time two layer choices both ways")
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
        model = create(name, args.scale, pretrained=False).eval()
        line = f"{name:<14}{summary.params:>10,}{summary.macs_per_lr_pixel:>10,}"
        for _, autocast in modes:
            per_frame = time_inference(model, args.frames, 144, 180, chunk=5, autocast=autocast)
            step = time_training_step(model, batch=4, frames=5, size=64, autocast=autocast)
            line += f"{per_frame * 1e3:>18.1f}{step:>15.2f}"
        print(line, flush=True)
    print("inference: 180x144 LR frames, batch 1, chunks of 5; step: batch 4 x 5 frames of 64x64 LR")
    if args.layers:
        time_layers()


if __name__ == "__main__":
    main()
