"""Comparison videos: several models' outputs of one LR video, labelled, side by side (a
grid when there are many) or with a moving split line between two of them; with ground
truth, a GT panel and each panel's per-frame PSNR (Y, BT.601, as in the papers).

The LR input is decoded once; every model runs through its own streamer on the same
chunks, and a frame is composed as soon as every model has produced it. Timing, audio,
colour tags, rotation and pixel aspect of the LR input are carried over as by ``vidsr upscale``.
A time range (``--start``/``--duration``/``--frames``) compares part of a long video, and a
crop (``--crop WxH+X+Y`` of the input) one region of a large frame: the models then see the
crop and :data:`CROP_CONTEXT` pixels around it (as tiles do), and the panels show the crop.
"""

from __future__ import annotations

import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vidsr.errors import VidsrError
from vidsr.video.messages import warn
from vidsr.video.pipeline import (
    DEFAULT_CHUNK,
    DEFAULT_CRF,
    DEFAULT_MODEL,
    InputStoppedEarly,
    MappedStage,
    UpscaleResult,
    write_output,
)

if TYPE_CHECKING:
    from vidsr.models.base import VSRModel
    from vidsr.video.reader import DecodedFrame
    from vidsr.video.selection import SpanFrames, TimeRange

LAYOUTS = ("side", "split")
# One sweep of the split line, left -> right -> left, in frames.
SPLIT_PERIOD = 100
# LR pixels around a --crop that the models see, so that the crop's edges are upscaled as in
# the whole frame (the tiles' overlap; more than the 10 pixels on each side that delta's
# 21-pixel receptive field reaches).
CROP_CONTEXT = 16
_GEOMETRY = re.compile(r"(\d+)x(\d+)\+(\d+)\+(\d+)")  # ImageMagick's WxH+X+Y
_FFMPEG_CROP = re.compile(r"(\d+):(\d+):(\d+):(\d+)")  # FFmpeg crop's W:H:X:Y


@dataclass(frozen=True)
class Crop:
    """A region of the LR input: ``width`` x ``height`` pixels from (``x``, ``y``)."""

    width: int
    height: int
    x: int
    y: int

    @classmethod
    def parse(cls, text: str | Crop) -> Crop:
        """``320x180+600+400`` (ImageMagick) or ``320:180:600:400`` (FFmpeg's crop)."""
        if isinstance(text, Crop):
            return text
        match = _GEOMETRY.fullmatch(text.strip()) or _FFMPEG_CROP.fullmatch(text.strip())
        if match is None:
            raise VidsrError(f"--crop {text!r}: give WIDTHxHEIGHT+X+Y of the input (320x180+600+400) or W:H:X:Y")
        crop = cls(*(int(value) for value in match.groups()))
        if crop.width < 4 or crop.height < 4:
            raise VidsrError(f"--crop {text}: at least 4x4 pixels")
        return crop

    def __str__(self) -> str:
        return f"{self.width}x{self.height}+{self.x}+{self.y}"

    def region(self, width: int, height: int, context: int = CROP_CONTEXT) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of the crop and its context inside a ``width`` x ``height`` frame."""
        if self.x + self.width > width or self.y + self.height > height:
            raise VidsrError(f"--crop {self} reaches outside the {width}x{height} input")
        return (max(0, self.y - context), max(0, self.x - context),
                min(height, self.y + self.height + context), min(width, self.x + self.width + context))  # fmt: skip


def cut(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The ``(top, left, height, width)`` part of ``frame``, contiguous."""
    top, left, height, width = box
    return np.ascontiguousarray(frame[top : top + height, left : left + width])


def default_models() -> list[str]:
    """Bicubic and the default model (or nearest and bicubic while bicubic is the default)."""
    return ["raw", "bicubic"] if DEFAULT_MODEL == "bicubic" else ["bicubic", DEFAULT_MODEL]


def parse_models(text: str) -> list[str]:
    """``"raw, bicubic,delta"`` -> ``["raw", "bicubic", "delta"]`` (no empty or repeated names)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise VidsrError("--models needs at least one model name")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise VidsrError(f"model listed twice in --models: {', '.join(repeated)}")
    return names


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: fixed-size bitmap font
        return ImageFont.load_default()


def label_panel(panel: np.ndarray, text: str, *, right: bool = False) -> np.ndarray:
    """``panel`` with ``text`` in a dark box in its top-left (or top-right) corner."""
    image = Image.fromarray(panel)
    draw = ImageDraw.Draw(image, "RGBA")
    font = _font(max(9, min(panel.shape[0], panel.shape[1] * 2) // 14))
    left, top, r, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(2, (bottom - top) // 4)
    width, height = r - left + 2 * pad, bottom - top + 2 * pad
    x = panel.shape[1] - width - pad if right else pad
    draw.rectangle((x, pad, x + width, pad + height), fill=(0, 0, 0, 170))
    draw.text((x + pad - left, 2 * pad - top), text, font=font, fill=(255, 255, 255, 255))
    return np.asarray(image)


def grid_shape(count: int) -> tuple[int, int]:
    """(rows, columns) for ``count`` panels: one row up to three, then a near-square grid."""
    columns = count if count <= 3 else math.ceil(math.sqrt(count))
    return math.ceil(count / columns), columns


def side_by_side(panels: Sequence[np.ndarray], labels: Sequence[str]) -> np.ndarray:
    """Labelled panels of one size in a grid (black where the grid has no panel)."""
    rows, columns = grid_shape(len(panels))
    height, width = panels[0].shape[:2]
    canvas = np.zeros((rows * height, columns * width, 3), np.uint8)
    for index, (panel, label) in enumerate(zip(panels, labels)):
        row, column = divmod(index, columns)
        canvas[row * height : (row + 1) * height, column * width : (column + 1) * width] = label_panel(panel, label)
    return canvas


def split_view(left: np.ndarray, right: np.ndarray, labels: tuple[str, str], index: int) -> np.ndarray:
    """``left`` left of a vertical line and ``right`` beyond it; the line sweeps over time."""
    width = left.shape[1]
    position = 0.5 + 0.4 * math.sin(2 * math.pi * index / SPLIT_PERIOD)
    x = int(round(position * width))
    frame = right.copy()
    frame[:, :x] = left[:, :x]
    line = max(1, width // 256)
    frame[:, max(0, x - line) : x + line] = 255
    frame = label_panel(frame, labels[0])
    return label_panel(frame, labels[1], right=True)


def _psnr_y(sr: np.ndarray, gt: np.ndarray) -> float:
    from vidsr.metrics import psnr, rgb_to_y

    return psnr(rgb_to_y(sr), rgb_to_y(gt))


def _format_psnr(value: float) -> str:
    return "inf dB" if math.isinf(value) else f"{value:.2f} dB"


@dataclass
class CompareResult(UpscaleResult):
    """:class:`UpscaleResult` plus each model's mean PSNR (Y, dB) against the ground truth."""

    psnr: dict[str, float] = field(default_factory=dict)


class CompareStage:
    """Runs every model on the same LR chunks and composes the comparison frames."""

    def __init__(
        self,
        stages: Sequence,
        labels: Sequence[str],
        layout: str,
        gt: Iterator[np.ndarray] | None,
        on_warning: Callable[[str], None],
        gt_offset: tuple[int, int] = (0, 0),
        gt_size: tuple[int, int, int] | None = None,
    ) -> None:
        self.stages = list(stages)
        self.gt_offset = gt_offset  # (top, left) of the panels in the GT frame: a crop's
        self.gt_size = gt_size  # (width, height, scale) of the whole output: GT frames may be < scale larger
        self.labels = list(labels)
        self.layout = layout
        self.gt = gt
        self.on_warning = on_warning
        self.pending: list[deque[np.ndarray]] = [deque() for _ in self.stages]
        self.index = 0
        self.psnr: dict[str, list[float]] = {label: [] for label in self.labels}

    def push(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        for queue, stage in zip(self.pending, self.stages):
            queue.extend(stage.push(frames))
        return self._compose()

    def flush(self) -> list[np.ndarray]:
        for queue, stage in zip(self.pending, self.stages):
            queue.extend(stage.flush())
        return self._compose()

    def _next_gt(self, shape: tuple[int, ...]) -> np.ndarray | None:
        if self.gt is None:
            return None
        frame = next(self.gt, None)
        if frame is None:
            self.on_warning(f"the ground truth has only {self.index} frames; no PSNR after that")
            self.gt = None
            return None
        if self.gt_size is not None:
            self._check_gt_size(frame)
        height, width = shape[:2]
        top, left = self.gt_offset
        if frame.shape[0] < top + height or frame.shape[1] < left + width:
            raise VidsrError(
                f"ground truth frames are {frame.shape[1]}x{frame.shape[0]}, smaller than the "
                f"{left + width}x{top + height} output"
            )
        return frame[top : top + height, left : left + width]  # GT cut to a multiple of the scale, as degraded

    def _check_gt_size(self, frame: np.ndarray) -> None:
        """Refuse GT frames of another size than the whole output's (up to ``scale - 1``
        pixels larger: an LR made from them was cut to a multiple of the scale)."""
        width, height, scale = self.gt_size
        extra_w, extra_h = frame.shape[1] - width, frame.shape[0] - height
        if not (0 <= extra_w < scale and 0 <= extra_h < scale):
            than = "smaller" if min(extra_w, extra_h) < 0 else "larger"
            slack = f"{scale - 1} pixel{'s' if scale > 2 else ''}"
            raise VidsrError(
                f"ground truth frames are {frame.shape[1]}x{frame.shape[0]}, {than} than the {width}x{height} output "
                f"(at most {slack} more on each side): is --gt the video this input was made from?"
            )

    def _compose(self) -> list[np.ndarray]:
        composed = []
        while all(self.pending):
            outputs = [queue.popleft() for queue in self.pending]
            gt = self._next_gt(outputs[0].shape)
            labels = list(self.labels)
            if gt is not None:
                for i, output in enumerate(outputs):
                    value = _psnr_y(output, gt)
                    self.psnr[self.labels[i]].append(value)
                    labels[i] = f"{labels[i]}  {_format_psnr(value)}"
            if self.layout == "split":
                composed.append(split_view(outputs[0], outputs[1], (labels[0], labels[1]), self.index))
            else:
                panels = outputs + ([gt] if gt is not None else [])
                names = labels + (["GT"] if gt is not None else [])
                composed.append(side_by_side(panels, names))
            self.index += 1
        return composed


def compare_videos(
    input: str | Path,
    output: str | Path,
    models: Sequence[str | tuple[str, str | None] | VSRModel] | None = None,
    *,
    gt: str | Path | None = None,
    layout: str = "side",
    scale: int = 4,
    device: str = "cpu",
    crf: int = DEFAULT_CRF,
    codec: str | None = None,
    force: bool = False,
    quiet: bool = False,
    fps: float | Fraction | None = None,
    chunk: int = DEFAULT_CHUNK,
    degradation: str = "bi",
    on_warning: Callable[[str], None] = warn,
    backend: str = "auto",
    precision: str = "auto",
    preset: str | None = None,
    deinterlace: str = "auto",
    self_ensemble: int = 1,
    time_range: TimeRange | None = None,
    crop: str | Crop | None = None,
    scene_cuts: bool = True,
) -> UpscaleResult:
    """Write a comparison video of ``models`` upscaling the LR video ``input``.

    ``models`` are names, ``(name, weights)`` pairs or :class:`VSRModel` instances
    (default: :func:`default_models`). ``layout`` is ``"side"`` (labelled panels in a
    grid, plus a GT panel with ``gt``) or ``"split"`` (two models, a moving split line).
    With ``gt`` (a video or frame folder at the output size), each label shows that
    frame's PSNR on Y, and ``result.psnr`` holds each model's mean over the frames.
    Named models without weights use their shipped weights for ``degradation`` (``"bi"``
    or ``"bd"``, as :func:`vidsr.video.pipeline.upscale_video`). ``backend``, ``precision`` and
    ``self_ensemble`` choose how they run (:func:`vidsr.backends.make_backend`).
    ``time_range`` (a :class:`~vidsr.video.selection.TimeRange`) compares part of the video
    (the ground truth's frames of the same times), its audio cut alike; ``crop``
    (``"320x180+600+400"``, LR pixels) one region, the models seeing :data:`CROP_CONTEXT`
    pixels around it. ``scene_cuts`` starts every model afresh at each cut between shots.
    """
    from vidsr.backends import make_backend
    from vidsr.models.base import VSRModel
    from vidsr.video.inference import ModelStage, load_model, make_streamer, model_device
    from vidsr.video.reader import open_video
    from vidsr.video.safety import check_paths
    from vidsr.video.selection import SpanFrames, TimeRange, select
    from vidsr.video.writer import check_output_size, output_is_folder, output_is_image

    time_range = time_range or TimeRange()
    crop = None if crop is None else Crop.parse(crop)
    if layout not in LAYOUTS:
        raise VidsrError(f"unknown layout {layout!r}; use side or split")
    from vidsr.models.registry import spec_weights

    entries: list[tuple[str, str | VSRModel, str | Path | None, str]] = []  # label, model, weights, degradation
    for item in models or default_models():
        if isinstance(item, VSRModel):
            entries.append((type(item).__name__, item, None, degradation))
        else:  # "name", "name:real", "name@0.5" (denoise strength), or ("name", weights file)
            label, weights = (item[0], item[1]) if isinstance(item, tuple) else (item, None)
            name, chosen, blend = spec_weights(label, degradation, scale)
            entries.append((label, name, weights or blend, chosen))
    if layout == "split" and len(entries) != 2:
        raise VidsrError(f"--layout split compares exactly two models, not {len(entries)}")
    source, target = Path(input), Path(output)
    folder = output_is_folder(target)
    check_paths(source, target, force=force, folder=folder)
    if gt is not None and not Path(gt).exists():
        raise VidsrError(f"ground truth not found: {gt}")
    messages: list[str] = []

    def note(message: str) -> None:
        messages.append(message)
        on_warning(message)

    nets = [
        make_backend(load_model(model, scale, weights, device, note, chosen), backend, device, precision, note=note,
                     self_ensemble=self_ensemble)
        for _, model, weights, chosen in entries
    ]
    scales = {net.scale for net in nets}
    if len(scales) != 1:
        raise VidsrError(f"the models upscale by different factors ({sorted(scales)})")
    scale = scales.pop()
    from vidsr.backends.ensemble import SelfEnsemble

    # A self-ensemble's panel says so ("delta x8"): the same name, another output.
    labels = [f"{label} x{len(net.transforms)}" if isinstance(net, SelfEnsemble) else label
              for (label, _, _, _), net in zip(entries, nets)]  # fmt: skip
    started = time.perf_counter()
    with open_video(source, fps, deinterlace=deinterlace) as reader:
        info = reader.info
        selection, _ = select(reader, time_range)
        count = selection.count if selection.unit == "pts" else info.expected_frames
        if output_is_image(target) and (count or 1) > 1:
            raise VidsrError(f"{target.name} is an image, which holds one frame, and {source.name} has "
                             f"{count}: name a folder (no suffix) or a video file")  # fmt: skip
        region = (0, 0, info.height, info.width) if crop is None else crop.region(info.width, info.height)
        top, left, bottom, right = region
        panel_w, panel_h = info.width * scale, info.height * scale
        if crop is not None:
            panel_w, panel_h = crop.width * scale, crop.height * scale
        frames = SpanFrames(source, selection, selection.whole_span(), reader=reader)
        if frames.peek() is None:  # (decoded now, so that the audio window knows where the range starts)
            raise VidsrError(f"{source}: no frame in the range {time_range.describe()}")
        lr_frames = frames if crop is None else _cropped(frames, region)
        gt_reader = open_video(gt, fps) if gt is not None else None
        try:
            panels = len(entries) + (1 if gt_reader is not None and layout == "side" else 0)
            rows, columns = grid_shape(panels) if layout == "side" else (1, 1)
            out_w, out_h = panel_w * columns, panel_h * rows
            check_output_size(out_w, out_h, folder)
            stages = []
            for net in nets:
                device_of = model_device(net, device)
                streamer, _ = make_streamer(
                    net, bottom - top, right - left, None, chunk=chunk, device=device_of, on_warning=note,
                    scene_cuts=scene_cuts,
                )
                stages.append(ModelStage(streamer, device_of))
                if crop is not None:
                    box = ((crop.y - top) * scale, (crop.x - left) * scale, panel_h, panel_w)
                    stages[-1] = MappedStage(stages[-1], partial(cut, box=box))
            gt_frames = None
            if gt_reader is not None:
                gt_selection, _ = select(gt_reader, time_range)
                gt_frames = (f.rgb for f in SpanFrames(Path(gt), gt_selection, gt_selection.whole_span(),
                                                       reader=gt_reader))  # fmt: skip
            offset = (0, 0) if crop is None else (crop.y * scale, crop.x * scale)
            stage = CompareStage(stages, labels, layout, gt_frames, note, gt_offset=offset,
                                 gt_size=(info.width * scale, info.height * scale, scale))  # fmt: skip
            count = write_output(
                lr_frames, stage, target, (out_w, out_h), folder=folder, codec=codec, crf=crf, preset=preset,
                chunk=chunk, label=f"compare {source.name}", quiet=quiet, note=note, device=device,
                alpha=False, info=info, total=count,
                window=selection.window(info.time_base, frames.outcome.first_pts, frames.outcome.shift),
            )  # fmt: skip
        finally:
            if gt_reader is not None:
                gt_reader.close()
    result = CompareResult(
        output=target,
        frames=count,
        seconds=time.perf_counter() - started,
        width=out_w,
        height=out_h,
        model=",".join(labels),
        tile=None,
        warnings=messages,
        psnr={label: float(np.mean(values)) for label, values in stage.psnr.items() if values},
    )
    if reader.problem:
        raise InputStoppedEarly(f"{reader.problem}; the {count} frames before it were written to {target}", result)
    return result


def _cropped(frames: SpanFrames, region: tuple[int, int, int, int]) -> Iterator[DecodedFrame]:
    """The frames cut to ``region`` (top, left, bottom, right), without their alpha."""
    top, left, bottom, right = region
    for frame in frames:
        yield replace(frame, rgb=np.ascontiguousarray(frame.rgb[top:bottom, left:right]), alpha=None)
