"""Denoise strength: weights between a model's clean (BI) and real-footage weights.

The real weights were fine-tuned from the BI weights, so the two lie in one basin and every
point on the straight line between them is a working model (network interpolation, as
ESRGAN's and Real-ESRGAN's ``-dn``). Strength 0 is the BI weights (sharpest, for clean
sources), 1 the real weights (strongest clean-up of compression artefacts and noise). On
the held-out clips, mid strengths beat both ends at moderate compression (README,
"Denoise strength"), so the choice is the user's, per video.

The blend is written once per model, scale and strength as a ``.safetensors`` file in
``$VIDSR_WEIGHTS_CACHE`` (default ``~/.cache/vidsr-weights``), so that everything that
takes a weights file (backends and their export cache, resumable jobs, torchrun ranks)
takes a blend unchanged. Strengths are rounded to 0.01.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from safetensors.torch import save_file

from vidsr.errors import VidsrError

ENDS = ("bi", "real")  # strength 0, strength 1


def cache_dir() -> Path:
    """Where blended weights are kept: ``$VIDSR_WEIGHTS_CACHE`` or ``~/.cache/vidsr-weights``."""
    return Path(os.environ.get("VIDSR_WEIGHTS_CACHE") or Path.home() / ".cache" / "vidsr-weights")


def check_strength(strength: float) -> float:
    """``strength`` rounded to 0.01, or a one-line error when it is not a number in [0, 1]."""
    try:
        value = float(strength)
    except (TypeError, ValueError):
        raise VidsrError(f"denoise strength must be a number from 0 to 1, not {strength!r}") from None
    if not 0.0 <= value <= 1.0:  # also rejects nan
        raise VidsrError(f"denoise strength must be from 0 (clean, BI weights) to 1 (real weights), not {strength}")
    return round(value, 2)


def blend_states(clean: dict[str, torch.Tensor], real: dict[str, torch.Tensor],
                 strength: float) -> dict[str, torch.Tensor]:
    """``(1 - strength) * clean + strength * real``, tensor by tensor, computed in float32
    (float64 tensors in float64) and stored in each tensor's own dtype."""
    if clean.keys() != real.keys() or any(clean[k].shape != real[k].shape for k in clean):
        raise VidsrError("the BI and real weights do not have the same tensors; they cannot be blended")
    out = {}
    for key, a in clean.items():
        b = real[key]
        if not a.is_floating_point():
            out[key] = a.clone()
            continue
        work = torch.float64 if a.dtype == torch.float64 else torch.float32
        out[key] = torch.lerp(a.to(work), b.to(work), strength).to(a.dtype).contiguous()
    return out


def denoise_weights(name: str, scale: int, strength: float) -> Path:
    """The weights file of model ``name`` at x``scale`` with denoise ``strength`` (0..1).

    0 and 1 are the shipped BI and real files themselves; other strengths are blended once
    and cached (written atomically, so parallel processes may ask at the same time). A model
    without both shipped files is a one-line error that says which ship.
    """
    from vidsr.models.registry import format_shipped, pretrained_path, shipped_weights
    from vidsr.models.weights import read_safetensors

    strength = check_strength(strength)
    paths = {end: pretrained_path(name, scale, end) for end in ENDS}
    missing = [end.upper() for end, path in paths.items() if not path.is_file()]
    if missing:
        raise VidsrError(
            f"--denoise blends the BI and real weights of a model; {name} has no shipped "
            f"{' or '.join(missing)} weights for x{scale} (shipped: {format_shipped(shipped_weights(name))})"
        )
    if strength in (0.0, 1.0):
        return paths[ENDS[int(strength)]]
    digest = hashlib.sha256(b"".join(paths[end].read_bytes() for end in ENDS)).hexdigest()[:12]
    out = cache_dir() / f"{name}_x{scale}_denoise{strength:.2f}_{digest}.safetensors"
    if out.is_file():
        return out
    (clean, meta), (real, real_meta) = read_safetensors(paths["bi"]), read_safetensors(paths["real"])
    if meta.get("lr_grid") != real_meta.get("lr_grid"):
        raise VidsrError(f"the BI and real weights of {name} x{scale} were trained on different LR grids; "
                         "they cannot be blended")
    metadata = {**meta, "degradation": "real", "denoise": f"{strength:.2f}", "blend_of": digest}
    metadata.pop("step", None)
    part = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        save_file(blend_states(clean, real, strength), str(part), metadata=metadata)
        os.replace(part, out)
    except OSError as error:
        part.unlink(missing_ok=True)
        raise VidsrError(f"cannot write the blended weights to {out.parent}: {error} "
                         "(set VIDSR_WEIGHTS_CACHE to a writable folder)") from None
    return out
