"""Mixed precision: autocast dtype per device, and the gradient scaler for fp16.

``auto`` picks bf16 on GPUs that have it (else fp16 with a :class:`torch.amp.GradScaler`)
and, on CPUs, bf16 only where oneDNN has native bf16 kernels (AVX512-BF16 / AMX); on
other CPUs bf16 autocast is emulated and many times slower than fp32, so ``auto`` keeps
fp32 there. An explicit ``bf16`` or ``fp16`` is always honoured.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from vidsr.errors import VidsrError

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN runs bf16 convolutions natively on this CPU."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` -> the best mode for ``device``; explicit modes pass through (checked)."""
    if precision == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if device.type == "cpu":
            return "bf16" if cpu_has_native_bf16() else "fp32"
        return "fp32"
    if precision not in ("fp32", "bf16", "fp16"):
        raise VidsrError(f"precision must be auto, fp32, bf16 or fp16, not {precision!r}")
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise VidsrError("this GPU has no bf16; use --precision fp16 or fp32")
    return precision


@dataclass
class Precision:
    """Autocast and loss scaling for one resolved mode on one device."""

    mode: str
    device: torch.device

    def autocast(self) -> contextlib.AbstractContextManager:
        """Context in which the forward pass runs."""
        if self.mode == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=_DTYPES[self.mode])

    def make_scaler(self) -> torch.amp.GradScaler:
        """A gradient scaler, enabled only for fp16 (bf16 has fp32's exponent range)."""
        return torch.amp.GradScaler(self.device.type, enabled=self.mode == "fp16")


def make_precision(precision: str, device: torch.device) -> Precision:
    """Resolve ``precision`` for ``device``."""
    return Precision(resolve_precision(precision, device), device)
