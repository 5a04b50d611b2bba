"""CUDA graphs for the recurrent step: one capture per window shape, then replays.

A recurrent step launches a few dozen small kernels per frame; at small frame sizes the
GPU waits on the CPU's launches. A CUDA graph replays the whole step as one launch. The
first step of a clip (no previous output yet) and the warm-up run eagerly; once the state
has its steady shape, the step is captured (after two eager warm-up calls on a side
stream, as PyTorch requires) and replayed with inputs copied into its static tensors. A
capture that fails (an operation that cannot be captured) turns graphs off for this
backend with a note, and the steps run eagerly: the output is the same either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from vidsr.models.base import Streamer
from vidsr.models.layers import RecurrentState
from vidsr.training.precision import Precision


def _tensors(hidden: Any) -> tuple[Tensor, ...] | None:
    """The state as a tuple of tensors, or None when it is not steady yet (or not tensors)."""
    if isinstance(hidden, RecurrentState):
        return None if hidden.previous is None else (hidden.features, hidden.previous)
    if isinstance(hidden, Tensor):
        return (hidden,)
    if hidden is None:
        return ()
    return None


def _rebuild(like: Any, tensors: tuple[Tensor, ...]) -> Any:
    if isinstance(like, RecurrentState):
        return RecurrentState(*tensors)
    return tensors[0] if tensors else None


@dataclass
class _Captured:
    graph: Any
    window: Tensor
    state: tuple[Tensor, ...]
    output: Tensor
    new_state: tuple[Tensor, ...]
    like: Any


class GraphedSteps:
    """A duck-typed model for :class:`Streamer` whose steady ``cell`` calls replay CUDA graphs."""

    def __init__(self, net: Any, precision: Precision, note: Callable[[str], None] | None = None) -> None:
        self.net, self.precision, self._note = net, precision, note
        self.scale, self.radius, self.warmup = net.scale, net.radius, net.warmup
        self._captured: dict[tuple, _Captured] = {}
        self.enabled = True

    def encode(self, lr: Tensor) -> Tensor:
        return self.net.encode(lr)

    def init_hidden(self, batch: int, height: int, width: int, like: Tensor) -> Any:
        return self.net.init_hidden(batch, height, width, like)

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        state = _tensors(hidden)
        if not self.enabled or state is None or window.device.type != "cuda":
            return self.net.cell(window, hidden)
        key = (tuple(window.shape), window.dtype, tuple((tuple(t.shape), t.dtype) for t in state))
        captured = self._captured.get(key)
        if captured is None:
            try:
                captured = self._capture(key, window, hidden, state)
            except Exception as error:  # noqa: BLE001 - fall back to eager steps
                self.enabled = False
                if self._note is not None:
                    self._note(f"CUDA graphs turned off ({type(error).__name__}: {error}); steps run eagerly")
                return self.net.cell(window, hidden)
        captured.window.copy_(window)
        for static, value in zip(captured.state, state):
            static.copy_(value)
        captured.graph.replay()
        return captured.output.clone(), _rebuild(captured.like, tuple(t.clone() for t in captured.new_state))

    def _capture(self, key: tuple, window: Tensor, hidden: Any, state: tuple[Tensor, ...]) -> _Captured:
        static_window = window.clone()
        static_state = tuple(t.clone() for t in state)
        static_hidden = _rebuild(hidden, static_state)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):  # warm-up: allocator, cuDNN plans, cached border indices
                self.net.cell(static_window, static_hidden)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            output, new_hidden = self.net.cell(static_window, static_hidden)
        new_state = _tensors(new_hidden) or ()
        captured = _Captured(graph, static_window, static_state, output, new_state, new_hidden)
        self._captured[key] = captured
        return captured

    def streamer(self) -> Streamer:
        return Streamer(self)  # type: ignore[arg-type]  # duck-typed: what Streamer reads
