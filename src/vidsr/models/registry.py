"""Model lookup: ``create(name, ...)`` in the style of timm's ``create_model``.

The table below is the one place that names every model; builders are imported on
first use, so ``vidsr models`` or ``create("raw")`` do not import every architecture.
"""

from __future__ import annotations

import importlib
import re
import warnings
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
    "two_step": "vidsr.models.two_step:TwoStep",  # step 2: delta
    "two_step_five_parallel": "vidsr.models.two_step:TwoStepFiveParallel",
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


def shipped_weights(name: str) -> list[tuple[int, str]]:
    """The ``(scale, degradation)`` pairs with shipped weights for model ``name``, sorted.

    ``[(4, "bi"), (4, "bd"), (4, "real")]`` for delta; ``[]`` for the baselines and for models not yet
    trained. Read from the files in the weights folder, so it is never out of date.
    """
    from vidsr.data.degradation import TRAINING_DEGRADATIONS as DEGRADATIONS

    model_class(name)  # unknown names are errors
    pattern = re.compile(rf"{re.escape(name)}_x(\d+)_([a-z]+)\.safetensors")
    found = []
    for path in WEIGHTS_DIR.glob(f"{name}_x*.safetensors"):
        match = pattern.fullmatch(path.name)
        if match and match[2] in DEGRADATIONS:
            found.append((int(match[1]), match[2]))
    return sorted(found, key=lambda pair: (pair[0], DEGRADATIONS.index(pair[1])))


def split_spec(spec: str, degradation: str) -> tuple[str, str]:
    """``"delta:real"`` -> ``("delta", "real")``; ``"delta"`` -> ``("delta", degradation)``:
    a model name with the shipped weights it should use (so that one table or comparison
    can hold the BI and the real weights of one model)."""
    from vidsr.data.degradation import TRAINING_DEGRADATIONS

    name, sep, chosen = spec.partition(":")
    if sep and chosen not in TRAINING_DEGRADATIONS:
        raise VidsrError(f"bad model {spec!r}: the weights after ':' are {', '.join(TRAINING_DEGRADATIONS)}")
    return name, chosen if sep else degradation


def spec_weights(spec: str, degradation: str, scale: int) -> tuple[str, str, Path | None]:
    """A model spec as ``(name, degradation, weights)``: ``"delta"`` and ``"delta:real"`` as
    :func:`split_spec` (``weights`` None: the shipped ones), ``"delta@0.5"`` delta with denoise
    strength 0.5 (:func:`vidsr.models.denoise.denoise_weights`: between its BI and real weights)."""
    head, at, strength = spec.partition("@")
    name, chosen = split_spec(head, degradation)
    if not at:
        return name, chosen, None
    if ":" in head:
        raise VidsrError(f"bad model {spec!r}: NAME@STRENGTH blends the BI and real weights; drop the ':'")
    from vidsr.models.denoise import denoise_weights

    model_class(name)  # unknown names are errors
    return name, "real", denoise_weights(name, scale, strength)


def format_shipped(pairs: list[tuple[int, str]]) -> str:
    """``"x4 BI, x4 BD"`` (``"none"`` when empty): what :func:`shipped_weights` found."""
    return ", ".join(f"x{scale} {degradation.upper()}" for scale, degradation in pairs) or "none"


def has_parameters(name: str) -> bool:
    """Whether model ``name`` is trained (has parameters), i.e. needs weights to be useful."""
    return any(True for _ in model_class(name)(4).parameters())


def missing_weights(name: str, scale: int, degradation: str) -> str:
    """``"delta has no shipped weights for x2 BI (shipped: x4 BI, x4 BD)"``."""
    return (
        f"{name} has no shipped weights for x{scale} {degradation.upper()} "
        f"(shipped: {format_shipped(shipped_weights(name))})"
    )


def check_shipped_weights(
    name: str, scale: int, degradation: str, model_option: str = "--model", also: tuple[str, ...] = ()
) -> None:
    """For the commands that run a model by name without ``--weights``: a trained model
    needs shipped weights for ``scale`` and ``degradation``, else a :class:`VidsrError`
    that says what exists and what to pass instead (``also``: more of the command's options)."""
    try:
        trained = has_parameters(name)
    except ImportError as error:
        raise VidsrError(f"model {name!r} is not available in this installation ({error})") from None
    if not trained or pretrained_path(name, scale, degradation).exists():
        return
    pairs = shipped_weights(name)
    other_scales = [s for s, d in pairs if d == degradation]
    other_degradations = [d for s, d in pairs if s == scale]
    if other_scales:
        options = [f"--scale {other_scales[0]}"]
    elif other_degradations:
        options = [f"--degradation {other_degradations[0]}"]
    else:
        options = [f"--scale {pairs[0][0]} --degradation {pairs[0][1]}"] if pairs else []
    options += [f"{model_option} bicubic", *also, "--weights FILE"]
    raise VidsrError(f"{missing_weights(name, scale, degradation)}; use {', '.join(options[:-1])} or {options[-1]}")


class UntrainedModelWarning(UserWarning):
    """:func:`create` returned a trained model with random weights (no shipped ones exist)."""


def create(
    name: str,
    scale: int = 4,
    *,
    degradation: str = "bi",
    weights: str | Path | None = None,
    pretrained: bool | None = None,
    denoise: float | None = None,
) -> VSRModel:
    """Build model ``name`` at x``scale`` with its shipped weights when they exist.

    The model maps LR frames ``(B, T, 3, h, w)``, float RGB in [0, 1], to SR frames
    ``(B, T, 3, scale*h, scale*w)`` on the same scale (not clamped by every model:
    :func:`vidsr.data.frames.to_uint8` clamps and rounds); ``model.streamer()`` runs a video
    of any length chunk by chunk.

    Weights, for models with parameters (the baselines have none: ``weights`` and
    ``denoise`` are errors for them, ``pretrained`` is ignored):

    * ``weights=FILE``: that ``.safetensors`` file or training checkpoint.
    * ``pretrained=None`` (default): the shipped weights for ``scale`` and ``degradation``
      (``vidsr/weights/<name>_x<scale>_<degradation>.safetensors``, see
      :func:`shipped_weights`); when there are none, an :class:`UntrainedModelWarning`
      naming what exists, and random weights.
    * ``pretrained=True``: the shipped weights, or a :class:`VidsrError` when there are none.
    * ``pretrained=False``: random weights (seed with ``torch.manual_seed``), no warning:
      for training.
    * ``denoise=S`` (0..1): weights between the shipped BI (0) and real (1) weights
      (:mod:`vidsr.models.denoise`); not with ``weights``.

    A model with loaded weights is returned in eval mode (``.eval()``); an untrained one is
    left as torch builds it (training mode). Gradients stay enabled either way (for
    fine-tuning; the two_step models' frozen step 1 runs without them, so no gradient
    reaches their input): run inference under ``torch.inference_mode()``. ``degradation`` also sets
    the grid of the model's bicubic base (:meth:`VSRModel.set_lr_grid`); weights saved
    with an ``lr_grid`` in their metadata set it themselves.
    """
    from vidsr.data.degradation import LR_GRID

    if degradation not in LR_GRID:
        raise VidsrError(f"unknown degradation {degradation!r}; use one of {', '.join(LR_GRID)}")
    if pretrained is not None and not isinstance(pretrained, bool):
        raise VidsrError(f"pretrained must be None, True or False, not {pretrained!r}")
    if denoise is not None:
        if weights is not None:
            raise VidsrError("pass weights or denoise, not both: denoise picks the weights itself")
        if degradation != "bi":
            raise VidsrError(f"denoise blends the BI and real weights: it does not go with "
                             f"degradation={degradation!r}")
        from vidsr.models.denoise import denoise_weights

        weights = denoise_weights(name, scale, denoise)
    model = model_class(name)(scale).set_lr_grid(LR_GRID[degradation])
    if weights is not None and not any(True for _ in model.parameters()):
        raise VidsrError(f"{name} has no weights to load (a fixed baseline)")
    shipped_parts = getattr(model, "load_shipped_parts", None)
    if callable(shipped_parts):  # parts that are other shipped models (two_step's frozen step 1)
        shipped_parts(degradation)
    if weights is None and pretrained is not False and any(True for _ in model.parameters()):
        shipped = pretrained_path(name, scale, degradation)
        if shipped.exists():
            weights = shipped
        elif pretrained:
            raise VidsrError(f"{missing_weights(name, scale, degradation)}; train one with `vidsr train` "
                             "or pass weights")
        else:
            warnings.warn(
                f"{missing_weights(name, scale, degradation)}: its weights are random; pass "
                "weights=FILE, or pretrained=False to ask for an untrained model",
                UntrainedModelWarning,
                stacklevel=2,
            )
    if weights is not None:
        from vidsr.models.weights import load_weights

        load_weights(model, weights).eval()
    return model
