"""ONNX export of a model's two streaming parts, cached per model, weights, shape and backend.

A model streams as ``encode`` (per frame) and ``cell`` (one recurrent step per output
frame; :mod:`vidsr.models.base`). Both are exported for one LR frame size (the shapes are
static: the bicubic borders are gathers whose indices depend on the size, and static
shapes let the runtimes plan every layer):

* ``encode.onnx``: ``lr (1, 1, 3, h, w)`` -> ``encoded (1, 1, F, h', w')``.
* ``cell.onnx``: ``window (1, 2r+1, F, h', w')`` plus the recurrent state as explicit
  inputs -> ``sr (1, 3, s*h, s*w)`` plus the new state as explicit outputs. The state is
  ``features`` and ``previous`` for the recurrent cores (``previous`` is always an input:
  the first frame's, the luma of its bicubic base, comes from the torch model, see
  :mod:`vidsr.backends.graph`), ``state`` for a model whose state is one tensor, nothing
  for models without one.

Models with a recurrent core are exported in their depth form (:mod:`vidsr.backends.lowres`).
Files go to ``~/.cache/vidsr-onnx/<key>/`` (``VIDSR_ONNX_CACHE`` to move it), where the key
hashes the model class, its weights, LR grid, scale, the frame size, the backend and the
versions of vidsr and torch, with a ``meta.json`` naming the inputs and outputs. An export
that fails raises :class:`ExportError` with a one-line reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from vidsr.errors import VidsrError
from vidsr.models.base import VSRModel
from vidsr.models.layers import RecurrentState

OPSET = 17


class ExportError(VidsrError):
    """The model could not be exported to ONNX."""


def cache_root() -> Path:
    """Where exports are kept: ``$VIDSR_ONNX_CACHE`` or ``~/.cache/vidsr-onnx``."""
    return Path(os.environ.get("VIDSR_ONNX_CACHE") or Path.home() / ".cache" / "vidsr-onnx")


def weights_hash(model: nn.Module) -> str:
    """SHA-256 of a model's parameters and buffers (names, shapes, dtypes, values)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(value.shape)}:{value.dtype};".encode())
        digest.update(value.view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


def state_kind(model: Any) -> str:
    """``"recurrent"`` (features + previous), ``"tensor"`` (one tensor) or ``"none"``."""
    probe = torch.zeros(1, 1, 3, 8, 8)
    with torch.inference_mode():
        hidden = model.init_hidden(1, 8, 8, probe)
    if isinstance(hidden, RecurrentState):
        return "recurrent"
    if isinstance(hidden, Tensor):
        return "tensor"
    if hidden is None:
        return "none"
    raise ExportError(f"cannot export a recurrent state of type {type(hidden).__name__}")


@dataclass(frozen=True)
class Export:
    """Paths and names of one model's exported graphs."""

    folder: Path
    state_inputs: tuple[str, ...]
    state_outputs: tuple[str, ...]

    @property
    def encode(self) -> Path:
        return self.folder / "encode.onnx"

    @property
    def cell(self) -> Path:
        return self.folder / "cell.onnx"


class _Encode(nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, lr: Tensor) -> Tensor:
        return self.model.encode(lr)


class _Cell(nn.Module):
    """``model.cell`` with the state flattened into explicit tensors."""

    def __init__(self, model: Any, kind: str) -> None:
        super().__init__()
        self.model, self.kind = model, kind

    def forward(self, window: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        if self.kind == "recurrent":
            hidden: Any = RecurrentState(state[0], state[1])
        else:
            hidden = state[0] if self.kind == "tensor" else None
        frame, new = self.model.cell(window, hidden)
        if self.kind == "recurrent":
            return frame, new.features, new.previous
        return (frame, new) if self.kind == "tensor" else (frame,)


def export_key(model: VSRModel, height: int, width: int, backend: str, lowres: bool) -> str:
    """The cache folder name of an export."""
    from vidsr import __version__

    parts = {
        "class": f"{type(model).__module__}.{type(model).__qualname__}", "weights": weights_hash(model),
        "grid": getattr(model, "lr_grid", None), "scale": model.scale, "size": [height, width],
        "backend": backend, "lowres": lowres, "vidsr": __version__, "torch": torch.__version__, "opset": OPSET,
    }  # fmt: skip
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]
    return f"{type(model).__name__.lower()}-{height}x{width}-{backend}-{digest}"


def export_onnx(
    model: VSRModel, height: int, width: int, backend: str = "onnx", *, folder: Path | None = None,
    lowres: bool = True, force: bool = False,
) -> Export:  # fmt: skip
    """Export (or find in the cache) ``model``'s encode and cell graphs for ``height x width`` LR frames.

    ``folder`` writes there instead of the cache. ``lowres`` uses the depth form when the
    model has one. Raises :class:`ExportError` when torch cannot export the model.
    """
    from vidsr.backends.lowres import lowres_model

    model = model.eval()
    patched = lowres_model(model) if lowres else None
    net: Any = patched if patched is not None else model
    kind = state_kind(net)
    names = {"recurrent": (("features", "previous"), ("features_out", "previous_out")),
             "tensor": (("state",), ("state_out",)), "none": ((), ())}[kind]  # fmt: skip
    target = folder or cache_root() / export_key(model, height, width, backend, patched is not None)
    result = Export(target, *names)
    meta = target / "meta.json"
    if not force and meta.is_file() and result.encode.is_file() and result.cell.is_file():
        return result
    try:
        target.mkdir(parents=True, exist_ok=True)
        _export_graphs(net, kind, height, width, result)
        meta.write_text(json.dumps({
            "model": type(model).__name__, "scale": model.scale, "radius": model.radius, "warmup": model.warmup,
            "size": [height, width], "backend": backend, "lowres": patched is not None, "state": kind,
            "state_inputs": list(result.state_inputs), "state_outputs": list(result.state_outputs),
        }, indent=2) + "\n")  # fmt: skip
    except ExportError:
        raise
    except OSError as error:
        raise ExportError(f"cannot write the ONNX export to {target}: {error}; set VIDSR_ONNX_CACHE "
                          "to a writable folder or use --backend torch") from None  # fmt: skip
    except Exception as error:  # noqa: BLE001 - torch's exporter raises many kinds
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ExportError(f"ONNX export of {type(model).__name__} failed ({reason}); use --backend torch") from None
    return result


def _export_graphs(net: Any, kind: str, height: int, width: int, result: Export) -> None:
    """Trace and write both graphs (to temporary names, then renamed: a crash leaves no half file)."""
    device = next((p.device for p in net.parameters()), torch.device("cpu"))
    lr = torch.rand(1, 1, 3, height, width, device=device)
    with torch.inference_mode():
        encoded = net.encode(lr)
        window = encoded.repeat(1, 2 * net.radius + 1, 1, 1, 1)
        hidden = net.init_hidden(1, height, width, lr)
        if kind == "recurrent":  # a state as after the first frame
            _, hidden = net.cell(window, hidden)
            state: tuple[Tensor, ...] = (hidden.features, hidden.previous)
        else:
            state = (hidden,) if kind == "tensor" else ()
    window, state = window.clone(), tuple(t.clone() for t in state)  # out of inference mode
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings: the shapes are meant to be fixed
        _write(_Encode(net), (lr,), ["lr"], ["encoded"], result.encode)
        _write(_Cell(net, kind), (window, *state), ["window", *result.state_inputs],
               ["sr", *result.state_outputs], result.cell)  # fmt: skip


def _write(module: nn.Module, args: tuple[Tensor, ...], inputs: list[str], outputs: list[str], path: Path) -> None:
    partial = path.with_name(path.name + ".partial")
    with torch.no_grad():
        torch.onnx.export(module, args, str(partial), dynamo=False, opset_version=OPSET, input_names=inputs,
                          output_names=outputs, do_constant_folding=True)  # fmt: skip
    partial.replace(path)
