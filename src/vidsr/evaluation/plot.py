"""``vidsr evaluate --plot``: each frame's PSNR-Y, per clip, one line per model, as a PNG.

A table gives each model's mean; the plot shows where the frames are: the warm-up of a
recurrent model over the first frames of a clip, a scene cut, a frame that falls below
bicubic. With ``bicubic`` among the models, a lower row of panels draws each model's gain
over it per frame (dB), the figure the stability checks of the README are about.

``benchmarks/results.py --plots`` also draws quality against cost (:func:`cost_figure`):
each model's Vid4 PSNR-Y against its multiply-adds per LR pixel and its fps.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure  # no pyplot: no global backend, works headless
from matplotlib.ticker import MaxNLocator

from vidsr.errors import VidsrError
from vidsr.evaluation.evaluate import EvaluationResult

BASELINE = "bicubic"

# One colour per model in every figure (Okabe and Ito's palette, told apart with the common
# kinds of colour blindness), so that a model keeps its colour from one figure to the next.
MODEL_COLOURS = {
    "bicubic": "#000000",
    "raw": "#999999",
    "fsrcnn": "#56B4E9",  # sky blue
    "previous": "#CC79A7",  # reddish purple
    "delta": "#0072B2",  # blue
    "five_parallel": "#E69F00",  # orange
    "flow": "#009E73",  # bluish green
    "two_step": "#D55E00",  # vermillion
    "two_step_five_parallel": "#8C6D31",  # brown
}
_OTHER_COLOURS = ("#F0E442", "#7F7F7F", "#17BECF", "#BCBD22", "#9467BD")

# Text sizes for figures shown at the README's width (~880 px) or half of it.
FIGURE_STYLE = {"font.size": 13, "axes.titlesize": 14, "axes.labelsize": 13, "legend.fontsize": 12,
                "xtick.labelsize": 12, "ytick.labelsize": 12, "figure.titlesize": 15}  # fmt: skip


def _base_model(name: str) -> str:
    """The model of a table row: ``delta`` for ``delta:real``, ``delta@0.5`` and ``delta=FILE``."""
    return name.split(":")[0].split("@")[0].split("=")[0]


def model_colour(name: str) -> str:
    """The colour of model ``name`` in every figure; a variant (``delta:real``, ``delta@0.5``,
    ``delta=run.safetensors``) takes its model's; other names a fixed colour of their own."""
    base = _base_model(name)
    return MODEL_COLOURS.get(base) or _OTHER_COLOURS[zlib.crc32(base.encode()) % len(_OTHER_COLOURS)]


def model_line(name: str) -> dict:
    """Line style of model ``name``: the baseline dashed, variants of a model dotted."""
    plain = _base_model(name) == name
    style = "--" if name == BASELINE else "-" if plain else ":"
    return {"color": model_colour(name), "linestyle": style, "linewidth": 1.6}


def plot_per_frame(result: EvaluationResult, path: Path, title: str, models: list[str] | None = None) -> Path:
    """Draw :func:`per_frame_figure` into the PNG ``path``."""
    with rc_context(FIGURE_STYLE):
        return _save(per_frame_figure(result, title, models), path)


def per_frame_figure(result: EvaluationResult, title: str, models: list[str] | None = None) -> Figure:
    """Each clip's per-frame PSNR-Y of every model (or of ``models``), a column per clip;
    below, with bicubic among them, each other model's gain over it per frame."""
    models = [name for name in result.models if models is None or name in models]
    clips = list(result.models[models[0]].clips) if models else []
    if not clips:
        raise VidsrError("--plot: nothing was evaluated")
    baseline = BASELINE if BASELINE in models and len(models) > 1 else None
    rows = 2 if baseline else 1
    width = max(6.0, 3.4 * len(clips))  # inches
    figure = Figure(figsize=(width, 3.3 * rows + 1.2), layout="constrained")
    axes = figure.subplots(rows, len(clips), squeeze=False, sharex="col")
    for column, clip in enumerate(clips):
        top = axes[0][column]
        for name in models:
            values = _finite(result.models[name].clips[clip].per_frame["psnr_y"])
            top.plot(np.arange(len(values)), values, label=name, **model_line(name))
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
                    bottom.plot(np.arange(len(gain)), gain, **model_line(name))
            bottom.axhline(0.0, **{**model_line(baseline), "linewidth": 1.0})
            bottom.grid(alpha=0.3)
            if column == 0:
                bottom.set_ylabel(f"over {baseline} (dB)")
        axes[-1][column].set_xlabel("frame")
        axes[-1][column].xaxis.set_major_locator(MaxNLocator(integer=True))
    # Below the panels, one row: a legend inside a panel covers its first frames.
    figure.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center",
                  ncols=max(1, min(len(models), int(width / 1.9))), frameon=False)  # (about 1.9 in an entry)
    figure.suptitle(title)
    return figure


def _finite(values: list[float]) -> np.ndarray:
    """Per-frame PSNRs with the infinite ones (identical frames) drawn at the top, 100 dB."""
    return np.array([100.0 if math.isinf(value) else value for value in values])


# Markers of the degradations in the cost plot.
_MARKERS = {"bi": "o", "bd": "s"}


def cost_figure(document: dict) -> Figure:
    """Quality against cost from a ``benchmarks/results.py`` JSON document: Vid4 PSNR-Y of
    every trained model against its multiply-adds per LR pixel (left) and its fps on the
    machine of the run (right), BI and BD; the cost is what a table lists in two columns, the
    plot shows which models are worth it (the upper left of the left panel, the upper right
    of the right one). The baselines (raw, bicubic) are far below and left out."""
    models = {name: cost for name, cost in document.get("models", {}).items() if cost.get("params")}
    scores = {
        degradation: {name: figures["average"]["psnr_y"]
                      for name, figures in part["evaluation"]["models"].items() if name in models}  # fmt: skip
        for degradation, part in document.get("degradations", {}).items()
        if part and part.get("evaluation")
    }
    if not models or not scores:
        raise VidsrError("the results document has no models or no scores to plot")
    figure = Figure(figsize=(11.0, 5.6), layout="constrained")
    left, right = figure.subplots(1, 2, sharey=True)
    for degradation, psnrs in scores.items():
        for name, psnr_y in psnrs.items():
            cost = models.get(name, {})
            for axis, key in ((left, "macs_per_lr_pixel"), (right, "fps")):
                value = cost.get(key)
                if not value or not math.isfinite(float(psnr_y)):  # raw does no multiply-adds: not on a log axis
                    continue
                axis.scatter(value, psnr_y, marker=_MARKERS.get(degradation, "^"), color=model_colour(name), s=70,
                             edgecolors="black", linewidths=0.5)
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fps_label = f"fps at Vid4 size, x{document.get('scale', 4)} (this run's CPU)"
    axes = ((left, "multiply-adds per LR pixel", lambda v, _: f"{v / 1000:g}k"),
            (right, fps_label, lambda v, _: f"{v:g}"))  # fmt: skip
    for axis, label, tick in axes:
        axis.set_xscale("log")
        axis.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.xaxis.set_major_formatter(FuncFormatter(tick))
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.set_xlabel(label)
        axis.grid(alpha=0.3, which="both")
    left.set_ylabel("Vid4 PSNR-Y (dB)")
    # Below the panels: which colour is which model, which marker which degradation (labels
    # beside the points ran into each other and into the panel edges).
    handles = [Line2D([], [], marker="o", linestyle="none", markersize=9, color=model_colour(name), label=name)
               for name in models]
    handles += [Line2D([], [], marker=_MARKERS.get(degradation, "^"), linestyle="none", markersize=9,
                       markerfacecolor="white", markeredgecolor="black", label=f"{degradation.upper()} input")
                for degradation in scores]  # fmt: skip
    figure.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5), frameon=False)
    figure.suptitle(
        f"Vid4 x{document.get('scale', 4)}: quality against cost "
        f"({document.get('hardware', 'unknown CPU')}, {str(document.get('date', ''))[:10]})",
    )
    return figure


def plot_cost(document: dict, path: Path) -> Path:
    """Draw :func:`cost_figure` into the PNG ``path``."""
    with rc_context(FIGURE_STYLE):
        return _save(cost_figure(document), path)


def _save(figure: Figure, path: Path) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=80, pil_kwargs={"optimize": True})
    except (OSError, ValueError) as error:
        raise VidsrError(f"cannot write the plot {path}: {error}") from None
    return path
