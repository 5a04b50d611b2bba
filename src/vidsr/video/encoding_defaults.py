"""Encoder settings shared by the writer, the pipeline and the degradations (a leaf module: no imports)."""

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
# x265's AVX (and AVX2, AVX-512) kernels corrupt the heap on frames narrower than one 64-pixel
# CTU at some widths (8, 40 and 48 wide at heights up to 64: the process aborts, "corrupted
# size vs. prev_size"; python benchmarks/x265_width.py): below that width x265 is kept to
# SSE4.2 (the writer, and the compressed degradation of vidsr.data.real).
X265_SAFE_WIDTH = 64
X265_NARROW_ASM = "sse4.2"
