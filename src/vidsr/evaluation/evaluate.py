"""Evaluate VSR models on a dataset of clips with the literature's averaging.

Each clip's LR frames go through the model (batch 1, streamed in chunks so that memory
stays bounded), the output is rounded to uint8, and every frame is scored against GT
(:func:`vidsr.metrics.frame_metrics`). Figures are averaged over the frames of a clip, then
the clip figures over the clips (each clip counts once, whatever its length).

Frames made elsewhere (another method's published outputs, another tool's upscale) are
scored the same way beside the models: ``outputs`` names folders in the layout of the data
(:func:`read_outputs`), so that every row of a table comes from the same metric code.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidsr.data.datasets import Clip, ClipDataset
from vidsr.data.real import VIDEO_RATE, VideoCodec, compress_clip
from vidsr.errors import VidsrError
from vidsr.metrics import SSIM_WINDOW, TemporalConsistency, frame_metrics
from vidsr.models.base import VSRModel
from vidsr.models.layers import count_parameters
from vidsr.streaming import super_resolve  # the shared chunk loop; exported from here too

__all__ = [
    "METRIC_KEYS",
    "ClipScores",
    "EvaluationResult",
    "ModelScores",
    "count_params",
    "evaluate",
    "read_outputs",
    "super_resolve",
]

# Per-frame figures averaged into clip and dataset figures; "tc" is per clip.
METRIC_KEYS = ("psnr_y", "ssim_y", "mse_y", "psnr_rgb", "ssim_rgb", "mse_rgb")
# The keys written to JSON (the format, plus "mse_y" and "tc"). MSE is on the
# 0-255 scale, on Y as on RGB.
JSON_KEYS = ("psnr_y", "ssim_y", "mse_y", "psnr_rgb", "ssim_rgb", "mse_rgb", "tc")
# Per-frame figures kept for ``to_json(per_frame=True)`` (``vidsr evaluate --per-frame``).
PER_FRAME_KEYS = ("psnr_y", "ssim_y")


count_params = count_parameters  # the evaluation's name for it (used by the demo)


def _mean(values: list[float]) -> float:
    if any(math.isinf(v) for v in values):
        return math.inf
    return float(np.mean(values))


@dataclass
class ClipScores:
    """One model's figures on one clip: means over its frames, TC, and per-frame Y figures."""

    frames: int
    metrics: dict[str, float]
    tc: float | None
    per_frame: dict[str, list[float]] = field(default_factory=dict)  # PER_FRAME_KEYS


@dataclass
class ModelScores:
    """One model's figures on every clip and their average over clips."""

    params: int | None  # None: frames read from disk (``outputs``), not a model of ours
    clips: dict[str, ClipScores] = field(default_factory=dict)

    @property
    def average(self) -> dict[str, float | None]:
        """Mean over clips of each clip figure (``tc`` over clips that have one)."""
        if not self.clips:
            return {}
        result: dict[str, float | None] = {
            key: _mean([c.metrics[key] for c in self.clips.values()]) for key in METRIC_KEYS
        }
        tcs = [c.tc for c in self.clips.values() if c.tc is not None]
        result["tc"] = float(np.mean(tcs)) if tcs else None
        return result

    @property
    def frames(self) -> int:
        return sum(c.frames for c in self.clips.values())


@dataclass
class EvaluationResult:
    """All figures of one evaluation run."""

    scale: int
    degradation: str
    crop_border: int
    models: dict[str, ModelScores] = field(default_factory=dict)
    # bi+h264: the encoder settings and each clip's LR stream (see compress_lr), else None.
    compression: dict[str, Any] | None = None
    self_ensemble: int = 1  # transforms averaged per trained model (vidsr.backends.ensemble)

    @property
    def has_inf(self) -> bool:
        return any(
            math.isinf(value)
            for scores in self.models.values()
            for clip in scores.clips.values()
            for value in clip.metrics.values()
        )

    def to_json(self, per_frame: bool = False) -> dict[str, Any]:
        """The JSON document of ``vidsr evaluate --json`` (infinite PSNR as the string "inf").

        ``per_frame`` adds each clip's ``"per_frame": {"psnr_y": [...], "ssim_y": [...]}``.
        """

        def encode(value: float | None) -> float | str | None:
            if value is None:
                return None
            return "inf" if math.isinf(value) else float(value)

        models: dict[str, Any] = {}
        for name, scores in self.models.items():
            average = scores.average
            clips = {}
            for clip_name, clip in scores.clips.items():
                figures = dict(clip.metrics, tc=clip.tc)
                clips[clip_name] = {key: encode(figures[key]) for key in JSON_KEYS}
                clips[clip_name]["frames"] = clip.frames
                if per_frame:
                    clips[clip_name]["per_frame"] = {
                        key: [encode(value) for value in clip.per_frame[key]] for key in PER_FRAME_KEYS
                    }
            models[name] = {
                "params": scores.params,
                "average": {key: encode(average[key]) for key in JSON_KEYS},
                "clips": clips,
            }
        document = {
            "scale": self.scale,
            "degradation": self.degradation,
            "crop_border": self.crop_border,
            "models": models,
        }
        if self.compression is not None:
            document["compression"] = self.compression
        if self.self_ensemble > 1:
            document["self_ensemble"] = self.self_ensemble
        return document


def _check_sizes(clip: Clip, scale: int, crop_border: int) -> None:
    height, width = clip.gt.shape[1:3]
    if clip.lr.shape[1:3] != (height // scale, width // scale):
        raise VidsrError(f"clip {clip.name}: LR and GT sizes do not match at x{scale}")
    if min(height, width) - 2 * crop_border < SSIM_WINDOW:
        raise VidsrError(
            f"clip {clip.name}: frames of {width}x{height} with a crop border of {crop_border} "
            f"are too small for SSIM (needs {SSIM_WINDOW}x{SSIM_WINDOW} after cropping)"
        )


def compress_lr(clip: Clip, codec: VideoCodec, streams: dict[str, Any]) -> dict[str, str]:
    """Replace ``clip.lr`` by its round trip through ``codec`` (:func:`vidsr.data.real.compress_clip`)
    and put its stream's size in ``streams[clip.name]`` (bytes, kbit/s at 25 fps, bits per
    LR pixel, mean H.264 quantiser); returns the encoder's version and options as x264 writes them in the stream."""
    encoded = compress_clip(clip.lr, codec)
    clip.lr = encoded.frames
    frames, height, width = clip.lr.shape[:3]
    bits = 8 * encoded.bytes
    streams[clip.name] = {"bytes": encoded.bytes, "kbit_s": bits * VIDEO_RATE / frames / 1000,
                          "bits_per_pixel": bits / (frames * height * width), "mean_qp": encoded.qp}
    version, _, options = encoded.encoder.partition(" - options: ")
    return {"encoder": version.split(" - H.264")[0], "x264_params": options} if options else {}


def score_clip(
    model: VSRModel | Any,
    clip: Clip,
    crop_border: int = 0,
    device: str | torch.device = "cpu",
    chunk: int = 8,
    progress: Any = None,
    scene_cuts: bool = True,
) -> ClipScores:
    """Run ``model`` (or a :class:`~vidsr.backends.Backend`) on one clip and average its per-frame figures."""
    frames = super_resolve(model, clip.lr, device, chunk, scene_cuts=scene_cuts)
    return score_frames(frames, clip, crop_border, progress)


def score_frames(
    frames: Iterable[np.ndarray], clip: Clip, crop_border: int = 0, progress: Any = None, what: str = "model"
) -> ClipScores:
    """Score SR frames (uint8 ``(H, W, 3)``, in order) against ``clip``'s GT; ``what`` names them in errors."""
    per_frame: dict[str, list[float]] = {key: [] for key in METRIC_KEYS}
    tc = TemporalConsistency(crop_border)
    count = 0
    for index, sr in enumerate(frames):
        if index >= clip.frames:
            raise VidsrError(f"{what} has more frames than the {clip.frames} of clip {clip.name}")
        gt = clip.gt[index]
        if sr.shape != gt.shape:
            raise VidsrError(
                f"{what} output {sr.shape[1]}x{sr.shape[0]} does not match GT "
                f"{gt.shape[1]}x{gt.shape[0]} on clip {clip.name}"
            )
        figures = frame_metrics(sr, gt, crop_border)
        for key in METRIC_KEYS:
            per_frame[key].append(figures[key])
        tc.add(sr, gt)
        count += 1
        if progress is not None:
            progress.update(1)
    if count != clip.frames:
        raise VidsrError(f"{what} returned {count} frames for the {clip.frames} of clip {clip.name}")
    means = {key: _mean(values) for key, values in per_frame.items()}
    return ClipScores(count, means, tc.value, {key: per_frame[key] for key in PER_FRAME_KEYS})


def output_folders(folder: Path, clip_names: list[str]) -> dict[str, Path]:
    """Each clip's folder of frames under ``folder``, laid out as the data (a folder of clip
    folders, REDS, or the frames themselves for a one-clip dataset); one-line errors."""
    from vidsr.data.datasets import find_clips

    found, layout = find_clips(folder)
    if layout == "clip" and len(clip_names) == 1:
        return {clip_names[0]: folder}
    folders = dict(found)
    missing = [name for name in clip_names if name not in folders]
    if missing:
        raise VidsrError(f"{folder} has no frames for clip(s) {', '.join(missing)} (expected {folder}/<clip>/)")
    return {name: folders[name] for name in clip_names}


def read_outputs(folder: Path, clip: Clip, scale: int, first: bool = False) -> Iterator[np.ndarray]:
    """The frames of ``folder`` (natural order) as uint8 RGB, each cut to the GT's size when it
    is larger by less than ``scale`` pixels (outputs of uncropped LR: the GT is cut to a
    multiple of the scale); their count must be the clip's (``first``: at least, and the first
    ones are read, for a slice of the clips)."""
    from vidsr.data.frames import list_frames, read_frame

    paths = list_frames(folder)
    if first:
        paths = paths[: clip.frames]
    if len(paths) != clip.frames:
        raise VidsrError(f"{folder} has {len(paths)} frames, clip {clip.name} has {clip.frames}")
    height, width = clip.gt.shape[1:3]
    for path in paths:
        frame = read_frame(path)
        if height <= frame.shape[0] < height + scale and width <= frame.shape[1] < width + scale:
            frame = frame[:height, :width]
        yield frame


def evaluate(
    models: Mapping[str, VSRModel],
    dataset: ClipDataset,
    crop_border: int = 0,
    device: str | torch.device = "cpu",
    chunk: int = 8,
    progress: bool = True,
    max_frames: int | None = None,
    backend: str = "torch",
    precision: str = "fp32",
    compression: VideoCodec | None = None,
    self_ensemble: int = 1,
    outputs: Mapping[str, Path] | None = None,
    scene_cuts: bool = True,
) -> EvaluationResult:
    """Score every model on every clip of ``dataset`` (clips are read once, one at a time).

    ``max_frames`` scores only the first frames of each clip (a quick slice; None: all).
    ``compression`` sends each clip's LR through that video codec first (:func:`compress_lr`:
    the "bi+h264" benchmark), once for all the models.
    ``backend`` and ``precision`` choose how the models run (:func:`vidsr.backends.make_backend`;
    the default, torch in fp32, is the reference; the bicubic baseline stays float64 MATLAB).
    ``self_ensemble`` (2, 4 or 8) scores every trained model as the average of its runs on
    that many flips and transposes of each clip (:mod:`vidsr.backends.ensemble`).
    ``outputs`` ({row name: folder}) scores frames made elsewhere beside the models
    (:func:`read_outputs`; their LR is not used, so a compression does not reach them).
    ``scene_cuts`` runs each shot of a clip as a clip of its own (:mod:`vidsr.shots`).
    """
    from tqdm import tqdm

    from vidsr.backends import make_backend

    if crop_border < 0:
        raise VidsrError(f"crop border must be >= 0, not {crop_border}")
    if max_frames is not None:
        dataset = dataset.first_frames(max_frames)
    result = EvaluationResult(dataset.scale, dataset.degradation, crop_border, self_ensemble=self_ensemble)
    if compression is not None:
        result.degradation = f"{dataset.degradation}+{compression.label}"
        result.compression = {**compression.settings(), "clips": {}}
    for name, model in models.items():
        if model.scale != dataset.scale:
            raise VidsrError(f"model {name} is x{model.scale} but the evaluation is x{dataset.scale}")
        model.eval().to(device)
        result.models[name] = ModelScores(params=count_params(model))
    runners = {name: make_backend(model, backend, device, precision, self_ensemble=self_ensemble)
               for name, model in models.items()}
    outputs = dict(outputs or {})
    clashes = sorted(set(outputs) & set(models))
    if clashes:
        raise VidsrError(f"{', '.join(clashes)}: named both as a model and as outputs")
    clip_names = list(dataset.frame_counts)
    folders = {name: output_folders(Path(folder), clip_names) for name, folder in outputs.items()}
    for name in outputs:
        result.models[name] = ModelScores(params=None)
    total = sum(dataset.frame_counts.values()) * (len(models) + len(outputs))
    with tqdm(total=total, unit="frame", disable=not progress, leave=False) as bar:
        for clip in dataset:
            _check_sizes(clip, dataset.scale, crop_border)
            if result.compression is not None:
                result.compression.update(compress_lr(clip, compression, result.compression["clips"]))
            for name, runner in runners.items():
                bar.set_description(f"{name} on {clip.name}")
                scores = score_clip(runner, clip, crop_border, device, chunk, bar, scene_cuts)
                result.models[name].clips[clip.name] = scores
            for name, where in folders.items():
                bar.set_description(f"{name} on {clip.name}")
                frames = read_outputs(where[clip.name], clip, dataset.scale, first=max_frames is not None)
                result.models[name].clips[clip.name] = score_frames(frames, clip, crop_border, bar, what=name)
    return result
