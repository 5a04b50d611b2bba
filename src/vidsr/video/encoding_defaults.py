"""Encoder settings shared by the writer and the pipeline (a leaf module: no imports)."""

from __future__ import annotations

# Quality of H.264/VP9 output (x264/libvpx CRF): visually near-lossless, lower is better.
DEFAULT_CRF = 18
