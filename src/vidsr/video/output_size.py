"""``--size``: an output of a chosen frame size ("to 1080p") rather than exactly x2 or x4.

The model upscales by its own factor, and :func:`resize_stage` then resizes each output frame
to the size asked for (bicubic, antialiased when it shrinks: torch's, which is Pillow's
filter), so that ``--size x1080`` on a 720x480 DVD gives 1080-line frames from the x2 or x4
model's detail. Where only one side is given, the other follows the picture's shape *as
shown* and the output's pixels are square (an anamorphic DVD becomes 1920x1080, not
1620x1080). Where both are given, the frames have exactly that size and the picture keeps its
shape as shown through the output's pixel aspect, as FFmpeg's ``scale`` filter does. Sizes
are read in the orientation the video is shown in (a phone's portrait video, stored sideways,
asks for ``1080x1920``). Sides worked out here are rounded to even numbers, which 4:2:0 video needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from vidsr.errors import VidsrError

if TYPE_CHECKING:
    import numpy as np

    from vidsr.video.pipeline import Stage
    from vidsr.video.reader import SourceInfo

# Names people give sizes by: the number of lines (height).
NAMED_HEIGHTS = {"4k": 2160, "uhd": 2160, "qhd": 1440, "fhd": 1080, "hd": 720}
_SIZE = re.compile(r"(?P<width>\d+)?\s*[x:*]\s*(?P<height>\d+)?")
_LINES = re.compile(r"(?P<height>\d+)p")


@dataclass(frozen=True)
class OutputSize:
    """A requested output size: ``width`` x ``height``, either one None (follows the picture)."""

    width: int | None
    height: int | None

    @classmethod
    def parse(cls, text: str | tuple[int | None, int | None] | OutputSize) -> OutputSize:
        """``1920x1080``, ``x1080`` / ``1080p`` / ``fhd`` (height only), ``1920x`` (width only), or a tuple."""
        if isinstance(text, OutputSize):
            return text
        if isinstance(text, tuple):
            width, height = text
        else:
            spelled = text.strip().lower()
            match, lines = _SIZE.fullmatch(spelled), _LINES.fullmatch(spelled)
            if spelled in NAMED_HEIGHTS:
                width, height = None, NAMED_HEIGHTS[spelled]
            elif lines:
                width, height = None, int(lines["height"])
            elif match and (match["width"] or match["height"]):
                width = int(match["width"]) if match["width"] else None
                height = int(match["height"]) if match["height"] else None
            else:
                raise VidsrError(
                    f"--size {text!r}: give WIDTHxHEIGHT (1920x1080), one side (x1080, 1080p, 1920x) or a name "
                    f"({', '.join(NAMED_HEIGHTS)})"
                )
        for side in (width, height):
            if side is not None and not 16 <= side <= 16384:
                given = text.strip() if isinstance(text, str) else f"{width}x{height}"
                raise VidsrError(f"--size {given}: each side must be 16 to 16384 pixels")
        if width is None and height is None:
            raise VidsrError("--size needs a width, a height or both")
        return cls(width, height)

    @staticmethod
    def _text(width: int | None, height: int | None) -> str:
        return f"{width or ''}x{height or ''}"

    def __str__(self) -> str:
        return self._text(self.width, self.height)

    def frame_size(self, info: SourceInfo) -> tuple[int, int, Fraction | None]:
        """The output's stored width, height and pixel aspect (None: square) for this input."""
        sideways = turned_sideways(info.display_matrix)
        width, height = (self.height, self.width) if sideways else (self.width, self.height)
        shown = info.display_aspect  # width:height of the stored frame as shown (pixel aspect applied)
        if width is not None and height is not None:
            aspect = shown / Fraction(width, height)
            return width, height, None if aspect == 1 else aspect.limit_denominator(10000)
        if height is not None:
            return even(height * shown), height, None
        assert width is not None
        return width, even(width / shown), None

    def factor(self, info: SourceInfo) -> float:
        """How much larger than the input the output is, on its most enlarged side."""
        width, height, _ = self.frame_size(info)
        return max(width / info.width, height / info.height)


def turned_sideways(matrix: tuple[int, ...] | None) -> bool:
    """Whether a display matrix turns the picture a quarter turn (portrait phone video)."""
    return matrix is not None and matrix[0] == 0 and matrix[4] == 0


def even(value: Fraction | float) -> int:
    """The nearest even number, at least 2."""
    return max(2, 2 * round(value / 2))


def choose_scale(factor: float, scales: Iterable[int]) -> int:
    """The smallest of ``scales`` that reaches ``factor`` (the largest when none does): the
    model does the enlarging, and the resize after it only shrinks, where it can."""
    ordered = sorted(set(scales))
    if not ordered:
        raise ValueError("no scale to choose from")
    return next((scale for scale in ordered if scale >= factor - 1e-9), ordered[-1])


def resize_frame(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """A uint8 or uint16 ``(H, W, C)`` frame resized to ``width`` x ``height`` (bicubic,
    antialiased when shrinking), in its dtype."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    if frame.shape[:2] == (height, width):
        return frame
    top = float(np.iinfo(frame.dtype).max)
    x = torch.from_numpy(np.array(frame, copy=not frame.flags.writeable)).permute(2, 0, 1)[None].float()
    y = F.interpolate(x, size=(height, width), mode="bicubic", align_corners=False, antialias=True)
    y = y.round_().clamp_(0, top)[0].permute(1, 2, 0)
    return np.ascontiguousarray(y.numpy().astype(frame.dtype))


def resize_stage(stage: Stage, width: int, height: int) -> Stage:
    """``stage`` with its output frames resized to ``width`` x ``height``."""
    from functools import partial

    from vidsr.video.pipeline import MappedStage

    return MappedStage(stage, partial(resize_frame, width=width, height=height))
