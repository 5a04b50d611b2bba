"""``--backend auto``: the fastest backend whose output is exact enough, by measurement.

Exact enough: bf16 on CPUs with native bf16 (within 0.02 dB Y-PSNR of fp32 on Vid4, see
the README), fp32 elsewhere; so the candidates are openvino and torch at that precision and
onnxruntime in fp32 (it has no bf16 on the CPU). On the first frame size a model meets, each
installed candidate runs a few steps of that size and the fastest wins; the choice is kept
in ``auto.json`` beside the exports (per CPU, model, scale, frame size and versions), so later
runs start at once (delete it to measure again). Frames under :data:`AUTO_MIN_PIXELS` LR
pixels use torch without a measurement (exporting and compiling take seconds, which such
frames never win back), in fp32 when the precision is auto as well (bf16's conversions
cost more than they save there: delta at 64x36, 16.5 ms in bf16 against 10.7 in fp32,
``benchmarks/inference.py``). A candidate that fails to export or run is left out with a
note; with none left, torch. On CUDA, auto is torch.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from vidsr.backends.core import Backend
from vidsr.models.base import VSRModel

AUTO_MIN_PIXELS = 128 * 128
TIMED_FRAMES = 3  # steps timed one by one per candidate, after its warm-up frames: the median counts


def cpu_signature() -> str:
    """The CPU's model name, core count and whether it has native bf16 (keys of the auto choice)."""
    from vidsr.training.precision import cpu_has_native_bf16

    name = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name}; {os.cpu_count()} cores; {torch.get_num_threads()} threads; bf16={cpu_has_native_bf16()}"


def _choices_path() -> Path:
    from vidsr.backends.export import cache_root

    return cache_root() / "auto.json"


def _load_choices() -> dict[str, Any]:
    try:
        return json.loads(_choices_path().read_text())
    except (OSError, ValueError):
        return {}


def _save_choice(key: str, choice: dict[str, Any]) -> None:
    path = _choices_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        choices = _load_choices()
        choices[key] = choice
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(choices, indent=2, sort_keys=True) + "\n")
        partial.replace(path)
    except OSError:
        pass  # a read-only cache only costs a new measurement next time


def time_backend(backend: Backend, height: int, width: int, frames: int = TIMED_FRAMES) -> float:
    """Seconds per output frame of ``backend`` at ``height x width``: the median of ``frames``
    steps timed one by one, after its warm-up and first frames."""
    generator = torch.Generator().manual_seed(0)
    lead = backend.warmup + backend.radius + 1
    clip = torch.rand(1, lead + frames, 3, height, width, generator=generator)
    streamer = backend.streamer()
    streamer.push(clip[:, :lead])  # export, compile, warm-up: not timed
    steps = []
    for index in range(lead, lead + frames):
        started = time.perf_counter()
        streamer.push(clip[:, index : index + 1])
        steps.append(time.perf_counter() - started)
    return sorted(steps)[len(steps) // 2]


class AutoBackend(Backend):
    """Chooses among ``candidates`` (name, precision) on the first frame size, by measurement."""

    name = "auto"

    def __init__(
        self, model: VSRModel, device: torch.device, precision: str, candidates: list[tuple[str, str]],
        build: Callable[[str, str], Backend], note: Callable[[str], None], small_precision: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(model, device, precision)
        self.small_precision = small_precision or precision
        self.candidates = candidates
        self._build = build
        self._note = note
        self._built: dict[tuple[str, str], Backend] = {}
        self._failed: set[tuple[str, str]] = set()
        self.chosen: Backend | None = None
        self.timings: dict[str, float] = {}

    def backend(self, name: str, precision: str) -> Backend | None:
        """The candidate backend, built once (None when it failed before)."""
        key = (name, precision)
        if key in self._failed:
            return None
        if key not in self._built:
            try:
                self._built[key] = self._build(name, precision)
            except Exception as error:  # noqa: BLE001 - auto never crashes on a candidate
                self._fail(key, error)
                return None
        return self._built[key]

    def _fail(self, key: tuple[str, str], error: BaseException) -> None:
        self._failed.add(key)
        self._built.pop(key, None)
        self._note(f"backend auto: {key[0]} {key[1]} left out ({error}); using the others")

    def resolve(self, height: int, width: int) -> Backend:
        """The backend for ``height x width`` LR frames: cached choice, else measured now.

        Resolved once: later frame sizes (other tiles, other clips) use the same backend.
        """
        if self.chosen is not None:
            return self.chosen
        torch_key = next((c for c in self.candidates if c[0] == "torch"), ("torch", self.precision))
        if height * width < AUTO_MIN_PIXELS:
            return self._choose(self.backend("torch", self.small_precision) or self._build("torch", "fp32"))
        if len(self.candidates) == 1:
            return self._choose(self.backend(*torch_key) or self._build("torch", "fp32"))
        key = "|".join([cpu_signature(), type(self.model).__name__, f"x{self.model.scale}", f"{height}x{width}",
                        self.precision, _versions()])  # fmt: skip
        known = _load_choices().get(key)
        if known is not None:
            backend = self.backend(known["backend"], known["precision"])
            if backend is not None:
                self.timings = known.get("ms", {})
                return self._choose(backend)
        timings: dict[tuple[str, str], float] = {}
        for candidate in self.candidates:
            backend = self.backend(*candidate)
            if backend is None:
                continue
            try:
                timings[candidate] = time_backend(backend, height, width)
            except Exception as error:  # noqa: BLE001 - auto never crashes on a candidate
                self._fail(candidate, error)
        if not timings:
            fallback = self.backend(*torch_key) or self._build("torch", "fp32")
            return self._choose(fallback)
        best = min(timings, key=timings.__getitem__)
        self.timings = {f"{n} {p}": round(t * 1e3, 2) for (n, p), t in timings.items()}
        _save_choice(key, {"backend": best[0], "precision": best[1], "ms": self.timings})
        return self._choose(self._built[best])

    def _choose(self, backend: Backend) -> Backend:
        self.chosen = backend
        return backend

    def streamer(self) -> _AutoStreamer:
        return _AutoStreamer(self)

    def describe(self) -> str:
        if self.chosen is None:
            names = ", ".join(f"{n} {p}" for n, p in self.candidates)
            return f"auto (the fastest of {names}, measured on the first frame size)"
        timed = ", ".join(f"{name} {ms:.0f} ms" for name, ms in self.timings.items())
        return f"auto: {self.chosen.describe()}" + (f"; measured {timed} per frame" if timed else "")


class _AutoStreamer:
    """Resolves the backend on the first chunk (its frame size), then delegates."""

    def __init__(self, auto: AutoBackend) -> None:
        self.auto = auto
        self.inner: Any = None

    def push(self, lr: Tensor) -> Tensor:
        if self.inner is None:
            self.inner = self.auto.resolve(*lr.shape[-2:]).streamer()
        return self.inner.push(lr)

    def flush(self) -> Tensor:
        if self.inner is None:
            raise RuntimeError("flush() before any frame was pushed")
        return self.inner.flush()


def _versions() -> str:
    from vidsr import __version__

    found = [f"vidsr {__version__}", f"torch {torch.__version__}"]
    for package in ("onnxruntime", "openvino"):
        try:
            module = __import__(package)
            found.append(f"{package} {getattr(module, '__version__', '?')}")
        except ImportError:
            pass
    return ", ".join(found)
