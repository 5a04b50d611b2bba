"""Comparison videos: several models' outputs of one LR video, labelled, side by side (a
grid when there are many) or with a moving split line between two of them; with ground
truth, a GT panel and each panel's per-frame PSNR (Y, BT.601, as in the papers).

The LR input is decoded once; every model runs through its own streamer on the same
chunks, and a frame is composed as soon as every model has produced it. Timing, audio,
colour tags, rotation and pixel aspect of the LR input are carried over as by ``vidsr upscale``.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
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
    UpscaleResult,
    write_output,
)

if TYPE_CHECKING:
    from vidsr.models.base import VSRModel

LAYOUTS = ("side", "split")
# One sweep of the split line, left -> right -> left, in frames.
SPLIT_PERIOD = 100


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
    ) -> None:
        self.stages = list(stages)
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
        height, width = shape[:2]
        if frame.shape[0] < height or frame.shape[1] < width:
            raise VidsrError(
                f"ground truth frames are {frame.shape[1]}x{frame.shape[0]}, smaller than the "
                f"{width}x{height} output"
            )
        return frame[:height, :width]  # GT cropped to a multiple of the scale, as degraded

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
    """
    from vidsr.backends import make_backend
    from vidsr.models.base import VSRModel
    from vidsr.video.inference import ModelStage, load_model, make_streamer, model_device
    from vidsr.video.reader import open_video
    from vidsr.video.safety import check_paths
    from vidsr.video.writer import check_output_size, output_is_folder, output_is_image

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
        if output_is_image(target) and (info.expected_frames or 1) > 1:
            raise VidsrError(f"{target.name} is an image, which holds one frame, and {source.name} has "
                             f"{info.expected_frames}: name a folder (no suffix) or a video file")  # fmt: skip
        panel_w, panel_h = info.width * scale, info.height * scale
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
                    net, info.height, info.width, None, chunk=chunk, device=device_of, on_warning=note
                )
                stages.append(ModelStage(streamer, device_of))
            stage = CompareStage(
                stages, labels, layout, (f.rgb for f in gt_reader) if gt_reader is not None else None, note
            )
            count = write_output(
                reader, stage, target, (out_w, out_h), folder=folder, codec=codec, crf=crf, preset=preset,
                chunk=chunk, label=f"compare {source.name}", quiet=quiet, note=note, device=device,
                alpha=False,
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
