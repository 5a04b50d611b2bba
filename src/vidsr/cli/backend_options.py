"""``--backend``, ``--self-ensemble``, ``--precision`` and ``--scene-cuts``: shared by upscale, compare and evaluate."""

from __future__ import annotations

import argparse

BACKEND_CHOICES = ("auto", "torch", "onnxruntime", "openvino")
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16", "int8")


def add_backend_options(parser: argparse.ArgumentParser, backend: str = "auto", precision: str = "auto") -> None:
    """Add ``--backend``, ``--self-ensemble``, ``--precision`` (backend and precision with these
    defaults) and ``--scene-cuts``/``--no-scene-cuts``."""
    parser.add_argument(
        "--backend", default=backend, choices=BACKEND_CHOICES,
        help="inference backend: auto (the fastest one here whose output is exact enough, measured once per "
             "model and frame size), torch, onnxruntime or openvino (CPU; pip install vidsr[fast]) "
             f"(default {backend})",
    )  # fmt: skip
    parser.add_argument(
        "--self-ensemble", type=int, nargs="?", const=8, default=1, choices=(1, 2, 4, 8), metavar="N",
        help="run the model on the 8 flips and transposes of the video (or N of them: 2, 4) and average the "
             "outputs: +0.06 to +0.13 dB Y-PSNR on Vid4 x4 and less flicker, for up to N times the time "
             "(README: Self-ensemble) (default 1: once)",
    )  # fmt: skip
    parser.add_argument(
        "--precision", default=precision, choices=PRECISION_CHOICES,
        help="auto: bf16 on CPUs with native bf16 (AVX512-BF16/AMX) and on GPUs that have it, fp16 on other "
             "GPUs, fp32 elsewhere; int8: openvino only, opt-in, NNCF-calibrated once per model and frame size "
             f"(pip install vidsr[int8]) (default {precision})",
    )  # fmt: skip
    parser.add_argument(
        "--scene-cuts", action=argparse.BooleanOptionalAction, default=True,
        help="start the model afresh at each cut between shots, as at the start of a video, so that no "
             "memory of one shot reaches the next (README: Scene cuts); --no-scene-cuts runs every frame "
             "through one state (default on)",
    )  # fmt: skip
