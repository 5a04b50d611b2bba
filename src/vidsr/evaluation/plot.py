"""``vidsr evaluate --plot``: each frame's PSNR-Y, per clip, one line per model, as a PNG.

A table gives each model's mean; the plot shows where the frames are: the warm-up of a
recurrent model over the first frames of a clip, a scene cut, a frame that falls below
bicubic. With ``bicubic`` among the models, a lower row of panels draws each model's gain
over it per frame (dB), the figure the stability checks of the README are about.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # no pyplot: no global backend, works headless

from vidsr.errors import VidsrError
from vidsr.evaluation.evaluate import EvaluationResult

BASELINE = "bicubic"


def plot_per_frame(result: EvaluationResult, path: Path, title: str, models: list[str] | None = None) -> Path:
    """Draw :func:`per_frame_figure` into the PNG ``path``."""
    figure = per_frame_figure(result, title, models)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=80)
    except (OSError, ValueError) as error:
        raise VidsrError(f"cannot write the plot {path}: {error}") from None
    return path


def per_frame_figure(result: EvaluationResult, title: str, models: list[str] | None = None) -> Figure:
    """Each clip's per-frame PSNR-Y of every model (or of ``models``), a column per clip;
    below, with bicubic among them, each other model's gain over it per frame."""
    models = [name for name in result.models if models is None or name in models]
    clips = list(result.models[models[0]].clips) if models else []
    if not clips:
        raise VidsrError("--plot: nothing was evaluated")
    baseline = BASELINE if BASELINE in models and len(models) > 1 else None
    rows = 2 if baseline else 1
    figure = Figure(figsize=(max(6.0, 3.6 * len(clips)), 3.2 * rows + 0.6), layout="constrained")
    axes = figure.subplots(rows, len(clips), squeeze=False, sharex="col")
    colours = {name: f"C{index % 10}" for index, name in enumerate(models)}
    for column, clip in enumerate(clips):
        top = axes[0][column]
        for name in models:
            values = _finite(result.models[name].clips[clip].per_frame["psnr_y"])
            top.plot(np.arange(len(values)), values, color=colours[name], linewidth=1.2, label=name)
        top.set_title(clip)
        top.grid(alpha=0.3)
        if column == 0:
            top.set_ylabel("PSNR-Y (dB)")
        if baseline:
            bottom = axes[1][column]
            reference = _finite(result.models[baseline].clips[clip].per_frame["psnr_y"])
            for name in models:
                if name != baseline:
                    gain = _finite(result.models[name].clips[clip].per_frame["psnr_y"]) - reference
                    bottom.plot(np.arange(len(gain)), gain, color=colours[name], linewidth=1.2)
            bottom.axhline(0.0, color=colours[baseline], linewidth=1.0, linestyle="--")
            bottom.grid(alpha=0.3)
            if column == 0:
                bottom.set_ylabel(f"over {baseline} (dB)")
        axes[-1][column].set_xlabel("frame")
    axes[0][0].legend(fontsize="small", loc="best")
    figure.suptitle(title)
    return figure


def _finite(values: list[float]) -> np.ndarray:
    """Per-frame PSNRs with the infinite ones (identical frames) drawn at the top, 100 dB."""
    return np.array([100.0 if math.isinf(value) else value for value in values])
