"""Model lookup: ``create(name, ...)`` in the style of timm's ``create_model``.

The table below is the one place that names every model; builders are imported on
first use, so ``vidsr models`` or ``create("raw")`` do not import every architecture.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from vidsr.errors import VidsrError
from vidsr.models.base import VSRModel

# name -> "module:ClassName"; each class takes ``scale`` as its first argument.
MODELS: dict[str, str] = {
    "raw": "vidsr.models.baselines:NearestUpscaler",
    "bicubic": "vidsr.models.baselines:BicubicUpscaler",
    "fsrcnn": "vidsr.models.fsrcnn:FSRCNN",
    "previous": "vidsr.models.previous:Previous",
    "delta": "vidsr.models.delta:Delta",
    "five_parallel": "vidsr.models.five_parallel:FiveParallel",
    "two_step": "vidsr.models.two_step:TwoStep",
    "flow": "vidsr.models.flow:Flow",
}

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


def model_names() -> list[str]:
    """Every model name that :func:`create` accepts."""
    return list(MODELS)


def model_class(name: str) -> type[VSRModel]:
    """The class behind a model name."""
    try:
        target = MODELS[name]
    except KeyError:
        known = ", ".join(MODELS)
        raise VidsrError(f"unknown model {name!r}; known models: {known}") from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def pretrained_path(name: str, scale: int = 4, degradation: str = "bi") -> Path:
    """Where the shipped weights of a model would be (the file may not exist)."""
    return WEIGHTS_DIR / f"{name}_x{scale}_{degradation}.safetensors"


def create(
    name: str,
    scale: int = 4,
    *,
    degradation: str = "bi",
    weights: str | Path | None = None,
    pretrained: bool = False,
) -> VSRModel:
    """Build a model by name, optionally loading ``weights`` or the shipped weights.

    ``pretrained=True`` loads ``vidsr/weights/<name>_x<scale>_<degradation>.safetensors``
    and fails with a clear error when that model has no shipped weights. ``degradation``
    also sets the grid of the model's bicubic base (:meth:`VSRModel.set_lr_grid`); weights
    saved with an ``lr_grid`` in their metadata set it themselves.
    """
    from vidsr.data.degradation import LR_GRID

    if degradation not in LR_GRID:
        raise VidsrError(f"unknown degradation {degradation!r}; use one of {', '.join(LR_GRID)}")
    model = model_class(name)(scale).set_lr_grid(LR_GRID[degradation])
    if weights is not None:
        from vidsr.models.weights import load_weights

        load_weights(model, weights)
    elif pretrained and any(True for _ in model.parameters()):
        path = pretrained_path(name, scale, degradation)
        if not path.exists():
            raise VidsrError(
                f"no shipped weights for {name} x{scale} {degradation.upper()} ({path.name}); "
                "train one with `vidsr train` or pass --weights"
            )
        from vidsr.models.weights import load_weights

        load_weights(model, path)
    return model
