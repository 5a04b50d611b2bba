"""``--backend`` and ``--precision``: shared by upscale, compare and evaluate."""

from __future__ import annotations

import argparse

BACKEND_CHOICES = ("auto", "torch", "onnxruntime", "openvino")
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16", "int8")


def add_backend_options(parser: argparse.ArgumentParser, backend: str = "auto", precision: str = "auto") -> None:
    """Add ``--backend`` and ``--precision`` with these defaults."""
    parser.add_argument(
        "--backend", default=backend, choices=BACKEND_CHOICES,
        help="inference backend: auto (the fastest one here whose output is exact enough, measured once per "
             "model and frame size), torch, onnxruntime or openvino (CPU; pip install vidsr[fast]) "
             f"(default {backend})",
    )  # fmt: skip
    parser.add_argument(
        "--precision", default=precision, choices=PRECISION_CHOICES,
        help="auto: bf16 on CPUs with native bf16 (AVX512-BF16/AMX) and on GPUs that have it, fp16 on other "
             "GPUs, fp32 elsewhere; int8: openvino only, opt-in, NNCF-calibrated once per model and frame size "
             f"(pip install vidsr[int8]) (default {precision})",
    )  # fmt: skip
