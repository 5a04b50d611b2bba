"""Loading and saving model weights: safetensors (no pickle) or vidsr training checkpoints."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from vidsr.errors import VidsrError


def load_weights(model: nn.Module, path: str | Path, keep_grid: bool = False,
                 warm_start: bool = False) -> nn.Module:
    """Load ``path`` into ``model``: a ``.safetensors`` file or a training checkpoint.

    Checkpoints are read with ``torch.load(weights_only=True)``; their weights sit under
    the ``"model"`` key (``"ema"``, the moving average, when the run kept one). Mismatched
    keys or shapes raise :class:`VidsrError`. The LR grid the weights were trained for
    (safetensors metadata ``lr_grid``, or the checkpoint's training degradation) is applied
    with ``set_lr_grid`` unless ``keep_grid``.
    ``warm_start``: the weights may be those of a related model, mapped by the model's
    ``adapt_init_state`` (e.g. delta's weights starting a ``flow`` or ``two_step`` run), or
    of another scale (:func:`~vidsr.models.layers.rescale_subpixel_state`: x4 starts x2).
    """
    path = Path(path)
    if path.is_dir():
        raise VidsrError(f"{path} is a folder: give a weights file (.safetensors, or a run's best.pt)")
    if not path.is_file():
        raise VidsrError(f"weights file not found: {path}")
    grid = None
    try:
        if path.suffix == ".safetensors":
            state, metadata = read_safetensors(path)
            grid = metadata.get("lr_grid")
        else:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
            state = ((checkpoint.get("ema") or checkpoint.get("model", checkpoint))
                     if isinstance(checkpoint, dict) else None)
            if not isinstance(state, dict):
                raise VidsrError(f"{path} holds no model weights")
            grid = _checkpoint_grid(checkpoint)
    except VidsrError:
        raise
    except Exception as error:  # corrupt or foreign file
        kind = "safetensors" if path.suffix == ".safetensors" else "PyTorch checkpoint"
        raise VidsrError(f"cannot read weights from {path}: not a readable {kind} file "
                         f"({type(error).__name__}: {error})") from error
    if warm_start and hasattr(model, "adapt_init_state"):
        state = model.adapt_init_state(state)
    if warm_start:  # weights of another scale: heads and feedback mapped (x4 -> x2)
        from vidsr.models.layers import rescale_subpixel_state

        state = rescale_subpixel_state(state, model.state_dict())
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:  # torch's message: a heading, then one tab-indented line per problem
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0] if lines else "mismatch"
        more = f" (and {len(lines) - 2} more)" if len(lines) > 2 else ""
        raise VidsrError(f"weights in {path} do not fit {type(model).__name__}: {detail}{more}") from error
    if grid is not None and not keep_grid and hasattr(model, "set_lr_grid"):
        model.set_lr_grid(grid)
    return model


def read_safetensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """A ``.safetensors`` file's tensors and metadata, in one read."""
    with safe_open(str(path), framework="pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (safe_open is no dict)
        return tensors, dict(handle.metadata() or {})


def _checkpoint_grid(checkpoint: dict) -> str | None:
    """The LR grid of a training checkpoint's degradation (None when it does not say)."""
    from vidsr.data.degradation import LR_GRID

    config = checkpoint.get("config")
    data = config.get("data") if isinstance(config, dict) else None
    return LR_GRID.get(data.get("degradation")) if isinstance(data, dict) else None


def save_weights(model: nn.Module, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Write the model's weights to a ``.safetensors`` file (contiguous CPU tensors), with
    the model's LR grid (``lr_grid``, see :meth:`VSRModel.set_lr_grid`) in its metadata, so
    that :func:`load_weights` restores it: BD weights load as BD weights."""
    path = Path(path)
    state = {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}
    grid = getattr(model, "lr_grid", None)
    save_file(state, str(path), metadata={**({"lr_grid": grid} if grid else {}), **(metadata or {})})
    return path
