"""Training checkpoints: everything needed to continue a run exactly, written atomically.

A checkpoint is a dict saved with :func:`torch.save` holding only tensors and plain
Python values, so it loads with ``torch.load(weights_only=True)`` (no pickled code):
``model`` (the weights, also what :func:`vidsr.models.load_weights` reads), ``optimizer``,
``scheduler``, ``scaler``, ``rng`` (one entry per rank), ``step``, ``config``, ``best``,
``elapsed_s`` and ``format``; with ``train.ema`` on, also ``ema`` (the moving average of
the weights, which export ships when present) and ``ema_updates``; a ``best.pt`` where the
raw weights validated better is written without them.
"""

from __future__ import annotations

import os
import random
import signal
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidsr.errors import VidsrError

FORMAT = "vidsr-checkpoint-1"
KILL_AT = "VIDSR_TEST_KILL_AT"  # test hook, see kill_point()


def rng_state() -> dict[str, Any]:
    """Python, NumPy, torch (and CUDA) generator states, as weights-only-loadable values."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def kill_point(name: str, step: int) -> None:
    """Test hook: SIGKILL this process here when ``VIDSR_TEST_KILL_AT`` is ``<name>:<step>``.

    The resume tests crash runs with it at ``step`` (after an update),
    ``checkpoint-write`` (a checkpoint half written) and ``validation``; unset, a no-op."""
    if os.environ.get(KILL_AT) == f"{name}:{step}":
        os.kill(os.getpid(), signal.SIGKILL)


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` to ``path`` atomically: a temporary file beside it, fsync, rename.

    A reader (or a run killed mid-write) sees either the old complete file or the new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"format": FORMAT, **state}
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(state, file)
            kill_point("checkpoint-write", state.get("step"))  # written, not synced or in place
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (best effort: not every OS can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)`` onto the CPU."""
    path = Path(path)
    if not path.is_file():
        raise VidsrError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated or foreign file
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if path.stat().st_size == 0:
            reason = "the file is empty (a run killed while writing it?)"
        raise VidsrError(f"cannot read checkpoint {path}: {reason}") from error
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise VidsrError(f"{path} is not a vidsr training checkpoint")
    return state


def shipped_weights(checkpoint: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The weights a checkpoint ships: the moving average if the run kept one, else ``model``."""
    return checkpoint.get("ema") or checkpoint["model"]
