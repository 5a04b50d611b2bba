"""``two_step`` and ``two_step_five_parallel``: the founding plan's two steps as one model.

The founding procedure: FSRCNN super-resolves every frame (step 1); ``delta`` or
``five_parallel``, trained on those step-1 frames, refines them (step 2); every incoming
video goes through the same two steps. Here:

* **Step 1 is the shipped, trained** ``fsrcnn`` (``weights/fsrcnn_x<s>_<degradation>``),
  loaded when the model is built (:func:`vidsr.models.create` calls
  :meth:`TwoStep.load_shipped_parts`; :meth:`TwoStep.load_step1` takes any FSRCNN weights)
  and **frozen**: its weights are buffers, not parameters, so no optimiser, gradient
  clipping or weight decay can reach them, ``requires_grad`` is False by construction, and
  it stays in eval mode whatever ``train()`` says. They are still in the state dict, so a
  two-step weights file is complete on its own. Where no fsrcnn is shipped for the scale
  and degradation (everything but x4 BI today), step 1 is an untrained FSRCNN, which is
  exactly bicubic (its head starts at zero): ``step1_source`` says which one it is.
* **Step 2 is delta or five_parallel adapted to refine step-1 frames** (:class:`DeltaRefiner`,
  :class:`FiveParallelRefiner`): the same classes, same recurrent core (fed-back output,
  bounded state, warm-up), with two changes. Their input is the step-1 frame
  space-to-depth'd back onto the LR grid (``3*s*s`` channels, lossless), so step 2 runs at
  LR cost (refining at HR, scale 1, would cost s*s = 16x more at x4) and its first layer
  becomes a 3x3 convolution over those channels; and the residual is added to the step-1
  frame instead of a bicubic base. The LR frame is not fed separately: the step-1 frame
  (bicubic + FSRCNN's residual) already carries it. Step 2's head starts at zero, so an
  untrained two-step model outputs exactly its step 1.
* **Step 2 may start from the shipped one-step model** (``model.init_weights`` set to
  ``delta_x4_bi``: :meth:`TwoStep.adapt_init_state`): its trained recurrent core carries
  over unchanged, its first layer is spread over the sub-pixel phases it now reads, and its
  head restarts at zero, so training starts from step 1's output with features that
  already know video, instead of from nothing.
* **Step 1 runs once per training frame.** For training, step 1 is run over every whole
  training clip once and its frames are cached (``data.lr_cache``, keyed by the sha-256 of
  step 1's weights and of the clip's LR frames: :meth:`TwoStep.precompute_key`); the
  trainer crops them with the GT and feeds them to :meth:`TwoStep.forward_sequence`
  (``precomputed=``), as the founding slides run step 1 "for the whole dataset". The cache
  holds 8-bit frames (what step 1 would write as a video): step 2 trains on step 1's output
  rounded to the nearest code and clamped to [0, 1], while inference feeds step 1's float
  output directly (a difference under half a code value). Whole-frame step-1 frames also
  avoid the border effects step 1 would have on small training patches.

Sizes at x4: ``two_step`` 35,312 + 95,528 weights (130,420 multiply-adds per LR pixel),
``two_step_five_parallel`` 35,312 + 334,567 (369,083): every weight used about once per LR
pixel. Step 2 is larger than its one-step model (84,188 and 261,382) only by its first
layer, which reads 48 channels instead of 3.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidsr.models.base import ModelFacts, VSRModel
from vidsr.models.delta import Delta
from vidsr.models.five_parallel import FiveParallel
from vidsr.models.fsrcnn import FSRCNN
from vidsr.models.layers import conv_stack, count_parameters, fold_time, soft_clamp01, unfold_time

__all__ = ["DeltaRefiner", "FiveParallelRefiner", "TwoStep", "TwoStepFiveParallel", "freeze_"]


def freeze_(module: nn.Module) -> nn.Module:
    """Turn every parameter of ``module`` into a buffer of the same name (in place): frozen
    weights that stay in the state dict but that no optimiser or gradient can touch."""
    for sub in module.modules():
        for name, param in list(sub.named_parameters(recurse=False)):
            delattr(sub, name)
            sub.register_buffer(name, param.detach())
    return module


class DeltaRefiner(Delta):
    """delta refining SR frames: input the SR frame space-to-depth'd to LR (``3*s*s`` channels),
    first layer conv3x3 ``3*s*s -> width``, residual added to the SR frame."""

    def __init__(self, scale: int = 4, width: int = 28, blocks: int = 3) -> None:
        super().__init__(scale, width, blocks)
        self.features = conv_stack((3 * scale * scale, width, width))

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        split = 3 * self.scale * self.scale
        _, current, ahead = window.unbind(dim=1)
        base = F.pixel_shuffle(current[:, :split], self.scale)  # the step-1 frame
        residual, features = self.core(hidden, [current[:, split:], ahead[:, split:]], base)
        output = base + residual.to(base.dtype)
        return output, self.core.next_state(features, output)


class FiveParallelRefiner(FiveParallel):
    """five_parallel refining SR frames: each stack reads its SR frame space-to-depth'd to LR
    (first layer conv3x3 ``3*s*s -> width``), ``soft_clamp01(SR frame + residual)``."""

    def __init__(self, scale: int = 4, width: int = 41, blocks: int = 2) -> None:
        super().__init__(scale, width, blocks)
        stacks = 2 * self.radius + 1
        channels = 3 * scale * scale
        self.stacks = conv_stack((channels * stacks, stacks * width, stacks * width), first_kernel=3,
                                 groups=stacks)

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        batch, frames, channels, height, width = window.shape
        features = self.stacks(window.reshape(batch, frames * channels, height, width))
        base = F.pixel_shuffle(window[:, self.radius], self.scale)  # the step-1 frame
        residual, state = self.core(hidden, features.chunk(frames, dim=1), base)
        output = soft_clamp01(base + residual.to(base.dtype))
        return output, self.core.next_state(state, output)


class TwoStep(VSRModel):
    """The shipped FSRCNN per frame, frozen (step 1), then a delta refiner on the LR grid (step 2)."""

    facts: ClassVar[ModelFacts] = ModelFacts(
        single_cnn=False,
        multiple_2d_stacks=True,
        recurrent_2d=True,
        recurrent_3d=True,
        output_range_controlled=False,
    )
    radius: ClassVar[int] = 1
    refiner: ClassVar[type[VSRModel]] = DeltaRefiner

    def __init__(self, scale: int = 4) -> None:
        super().__init__(scale)
        self.step1 = freeze_(FSRCNN(scale)).eval()
        self.step2 = self.refiner(scale)
        assert self.step2.radius == self.radius
        self.warmup = self.step2.warmup
        self.step1_source: str | None = None  # the weights file step 1 was loaded from

    # -- step 1 -------------------------------------------------------------------------

    def train(self, mode: bool = True) -> TwoStep:
        """Step 2 follows ``mode``; step 1 always stays in eval mode (it is frozen)."""
        super().train(mode)
        self.step1.eval()
        return self

    def load_step1(self, path: str | Path) -> TwoStep:
        """Load FSRCNN weights (``fsrcnn_x4_bi.safetensors``, a checkpoint) into step 1."""
        from vidsr.models.weights import load_weights

        load_weights(self.step1, path, keep_grid=True)  # step 1 stays on this model's grid
        self.step1_source = str(path)
        return self

    def load_shipped_parts(self, degradation: str) -> TwoStep:
        """Step 1 <- the shipped fsrcnn for this scale and ``degradation``, when there is one
        (called by :func:`vidsr.models.create`; otherwise step 1 stays bicubic)."""
        from vidsr.models.registry import pretrained_path

        path = pretrained_path("fsrcnn", self.scale, degradation)
        if path.is_file():
            self.load_step1(path)
        return self

    def step1_sha256(self) -> str:
        """sha-256 of step 1's weights (names, shapes and float32 values, in state-dict order)."""
        digest = hashlib.sha256()
        for key, value in self.step1.state_dict().items():
            tensor = value.detach().to("cpu", torch.float32).contiguous()
            digest.update(f"{key}:{tuple(tensor.shape)}|".encode())
            digest.update(tensor.numpy().tobytes())
        return digest.hexdigest()

    def step1_frames(self, lr: Tensor) -> Tensor:
        """Step 1 of LR frames ``(B, T, 3, h, w)`` -> ``(B, T, 3, sh, sw)``: no gradient, float32."""
        with torch.no_grad(), torch.autocast(device_type=lr.device.type, enabled=False):
            return unfold_time(self.step1.upscale(fold_time(lr).float()), lr.shape[0])

    # -- the training hooks (see vidsr.training.trainer) --------------------------------

    def adapt_init_state(self, state: dict[str, Tensor]) -> dict[str, Tensor]:
        """A one-step model's weights (``delta`` for ``two_step``, ``five_parallel`` for
        ``two_step_five_parallel``) start step 2; step 1 keeps its own (frozen) weights.

        The first layer read the LR frame (3 channels); it now reads the step-1 frame's
        ``s*s`` sub-pixel phases of each channel, whose mean is about that LR frame, so each
        weight is spread over its channel's phases (divided by ``s*s``). The head is zeroed:
        the warm-started model outputs exactly its step 1, with step 2's trained features
        ready for the head to learn from.
        """
        if any(key.startswith(("step1.", "step2.")) for key in state):
            return state
        phases = self.scale * self.scale
        first = "features.0.weight" if "features.0.weight" in state else "stacks.0.weight"
        adapted = dict(state)
        if first in adapted and adapted[first].shape[1] == 3:
            weight = adapted[first].repeat_interleave(phases, dim=1) / phases
            kernel = self.state_dict()[f"step2.{first}"].shape[-1]
            crop = (weight.shape[-1] - kernel) // 2  # five_parallel's 5x5 -> the refiner's 3x3
            adapted[first] = weight[..., crop : crop + kernel, crop : crop + kernel] if crop > 0 else weight
        for key in ("core.head.conv.weight", "core.head.conv.bias"):
            if key in adapted:
                adapted[key] = torch.zeros_like(adapted[key])
        own = {key: value for key, value in self.state_dict().items() if key.startswith("step1.")}
        return {**own, **{f"step2.{key}": value for key, value in adapted.items()}}

    def precompute_key(self) -> str:
        """What the cached step-1 frames depend on, besides the LR frames: step 1's weights."""
        return f"step1-x{self.scale}-{self.lr_grid}-{self.step1_sha256()[:16]}"

    def precompute(self, lr: np.ndarray, chunk: int = 8) -> np.ndarray:
        """Step-1 frames of a whole clip: uint8 LR ``(T, h, w, 3)`` -> uint8 ``(T, sh, sw, 3)``."""
        from vidsr.data.frames import to_tensor, to_uint8

        device = next(iter(self.step1.buffers())).device
        parts = []
        for start in range(0, len(lr), chunk):
            frames = to_tensor(lr[start : start + chunk]).to(device)
            parts.append(to_uint8(self.step1_frames(frames[None])[0]))
        return np.concatenate(parts)

    # -- the VSRModel contract ------------------------------------------------------------

    def parts(self) -> dict[str, int]:
        """Weights of step 1 (FSRCNN, frozen) and of step 2 (the trained refiner)."""
        step1 = sum(buffer.numel() for buffer in self.step1.buffers())
        return {"step1": step1, "step2": count_parameters(self.step2)}

    def encode_step1(self, frames: Tensor) -> Tensor:
        """Step 2's per-frame encoding of step-1 frames ``(B, T, 3, sh, sw)``."""
        unshuffled = F.pixel_unshuffle(fold_time(frames), self.scale)
        return self.step2.encode(unfold_time(unshuffled, frames.shape[0]))

    def encode(self, lr: Tensor) -> Tensor:
        """Per frame: step 1, then step 2's encoding of its frame on the LR grid."""
        return self.encode_step1(self.step1_frames(lr))

    def init_hidden(self, batch: int, height: int, width: int, like: Tensor) -> Any:
        return self.step2.init_hidden(batch, height, width, like)

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        return self.step2.cell(window, hidden)

    def forward_sequence(self, lr: Tensor, hidden: Any = None,
                         precomputed: Tensor | None = None) -> tuple[Tensor, Any]:
        """:meth:`VSRModel.forward_sequence`; ``precomputed``: the step-1 frames of ``lr``
        ``(B, T + 2r, 3, sh, sw)`` (e.g. from the training cache), so step 1 is not rerun."""
        if precomputed is None:
            return super().forward_sequence(lr, hidden)
        batch, frames, _, height, width = lr.shape
        if precomputed.shape[:2] != (batch, frames) or precomputed.shape[-2:] != (
                self.scale * height, self.scale * width):
            raise ValueError(f"step-1 frames {tuple(precomputed.shape)} do not match LR {tuple(lr.shape)}")
        return super().forward_sequence(lr, hidden, features=self.encode_step1(precomputed))


class TwoStepFiveParallel(TwoStep):
    """The shipped FSRCNN per frame, frozen (step 1), then a five_parallel refiner (step 2)."""

    facts: ClassVar[ModelFacts] = ModelFacts(
        single_cnn=False,
        multiple_2d_stacks=True,
        recurrent_2d=True,
        recurrent_3d=True,
        output_range_controlled=True,
    )
    radius: ClassVar[int] = 2
    refiner: ClassVar[type[VSRModel]] = FiveParallelRefiner
