"""FSRCNN (Dong et al., ECCV 2016), d=56, s=12, m=4: per-frame SR, step 1 of the two-step plan.

Layers, all at LR resolution (RGB in, RGB out)::

    feature extraction  conv5x5 3->56,  PReLU
    shrinking           conv1x1 56->12, PReLU
    mapping (m=4)       4 x (conv3x3 12->12, PReLU)
    expanding           conv1x1 12->56, PReLU
    upsampling          conv3x3 56->3*s*s + PixelShuffle(s)   (instead of deconv9x9 56->3)
    output              + MATLAB bicubic upsampling of the frame

Two choices differ from the paper, on purpose:

* **Head.** The paper's 9x9 transposed convolution (stride s) is replaced by its sub-pixel
  equivalent (ESPCN): at s=4 each output pixel of a 9x9 stride-4 deconvolution sees at most
  3x3 LR pixels, so a 3x3 conv to ``3*s*s`` channels + PixelShuffle can express every such
  deconvolution (and more), and runs faster on CPU (``benchmarks/bench_models.py --layers``).
  It costs more parameters: the paper's Y-channel model has ~12.6k, this RGB model has
  35,312 at x4 (24,240 in the head), 17,132 at x2.
* **Residual learning.** The network predicts a residual added to the bicubic upsampling
  (zero-initialised head, so an untrained FSRCNN equals bicubic). It trains far faster on a
  CPU budget and removes the colour/brightness drift a plain FSRCNN shows early in training.
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor, nn

from vidsr.models.base import ModelFacts, VSRModel
from vidsr.models.layers import SubPixelHead, conv2d, fold_time, unfold_time


class FSRCNN(VSRModel):
    """Per-frame FSRCNN(d=56, s=12, m=4) with a sub-pixel head and a bicubic skip."""

    facts: ClassVar[ModelFacts] = ModelFacts(
        single_cnn=True,
        multiple_2d_stacks=False,
        recurrent_2d=False,
        recurrent_3d=False,
        output_range_controlled=False,
    )
    radius: ClassVar[int] = 0

    def __init__(self, scale: int = 4, d: int = 56, s: int = 12, m: int = 4) -> None:
        super().__init__(scale)
        layers: list[nn.Module] = [conv2d(3, d, 5), nn.PReLU(d), conv2d(d, s, 1), nn.PReLU(s)]
        for _ in range(m):
            layers += [conv2d(s, s, 3), nn.PReLU(s)]
        layers += [conv2d(s, d, 1), nn.PReLU(d)]
        self.body = nn.Sequential(*layers)
        for layer in self.body:
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, a=0.25, nonlinearity="leaky_relu")
                nn.init.zeros_(layer.bias)
        self.head = SubPixelHead(d, scale)

    def upscale(self, lr: Tensor) -> Tensor:
        """``(N, 3, h, w)`` -> ``(N, 3, s*h, s*w)``."""
        base = self.upsample_base(lr)
        return base + self.head(self.body(lr)).to(base.dtype)

    def encode(self, lr: Tensor) -> Tensor:
        """All the work is per frame: the encoded frames are the SR frames."""
        return unfold_time(self.upscale(fold_time(lr)), lr.shape[0])

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        return window[:, 0], hidden
