"""Encoder settings shared by the writer and the pipeline (a leaf module: no imports)."""

from __future__ import annotations

# Quality of H.264/VP9 output (x264/libvpx CRF): visually near-lossless, lower is better.
DEFAULT_CRF = 18
# x264's speed/size trade-off (--preset), chosen by measurement (benchmarks/inference.py
# --presets; README): at CRF 18 on 720p model output, veryfast encodes 2.6x faster than
# medium (15 vs 40 ms/frame on 2 EPYC cores) into files of the same size, 0.2 dB lower in
# PSNR-Y against the model's output (43.2 vs 43.4 dB); in `vidsr upscale` the encoder's
# time adds to the model's, so the faster preset raises the end-to-end rate by half.
DEFAULT_PRESET = "veryfast"
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
