"""Denoise strength on a long flat sky: does any strength fall below bicubic?

    .venv/bin/python benchmarks/denoise_sky.py [--model delta] [--strengths 0,0.25,0.5,0.75,1]

The clip is the one of ``tests/test_stability.py`` (:func:`temporal_memory.flat_sky_clip`:
300 frames, 96x128 GT, a large flat blue sky with slow motion), downscaled with MATLAB
bicubic x4, clean and through x264 CRF 28 (preset medium, as a web video would be). For
each strength (:mod:`vidsr.models.denoise`: 0 = BI weights, 1 = real weights) it prints the
model's PSNR-Y minus bicubic's, mean over the frames and worst frame. A strength that
``vidsr upscale`` uses by default for video files must stay above bicubic on every frame.
About 2 minutes per strength on one core.
"""

from __future__ import annotations

import argparse
import sys

import temporal_memory  # the sibling benchmark: its clip and its long-sequence check
import torch

from vidsr.data.degradation import degrade_uint8
from vidsr.data.real import VideoCodec, compress_clip
from vidsr.errors import VidsrError
from vidsr.models import create


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="delta")
    parser.add_argument("--strengths", default="0,0.25,0.5,0.75,1", help="comma-separated, 0 to 1")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--crf", type=int, default=28)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    gt = temporal_memory.flat_sky_clip(args.frames, 96, 128)
    clean = degrade_uint8(gt, 4, "bi")
    compressed = compress_clip(clean, VideoCodec("libx264", args.crf, "medium")).frames
    print(f"{args.model} x4, flat sky {args.frames} frames 96x128 GT, model minus bicubic PSNR-Y (dB), "
          f"mean / worst frame")
    print(f"{'strength':>8} {f'CRF {args.crf}':>16} {'clean':>16}")
    try:
        for text in args.strengths.split(","):
            model = create(args.model, 4, denoise=float(text)).eval()
            lossy = temporal_memory.stability(model, compressed, gt)
            lossless = temporal_memory.stability(model, clean, gt)
            print(f"{float(text):>8g} {lossy['mean']:+7.2f} / {lossy['worst']:+6.2f} "
                  f"{lossless['mean']:+7.2f} / {lossless['worst']:+6.2f}", flush=True)
    except (VidsrError, ValueError) as error:
        print(f"denoise_sky: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
