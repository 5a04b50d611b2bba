"""``vidsr plot``: loss (smoothed), learning rate and validation PSNR of a run, as a PNG.

A run started from another run's checkpoint (``model.init_weights``) is drawn after the
history of that run, on one step axis, with a dashed line where each run begins.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from matplotlib import rc_context
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.figure import Figure  # no pyplot: no global backend, works headless

from vidsr.errors import VidsrError, create_parent
from vidsr.evaluation.plot import FIGURE_STYLE
from vidsr.training.logbook import read_metrics


def smooth(values: list[float], weight: float = 0.9) -> np.ndarray:
    """Exponential moving average with bias correction (TensorBoard-style smoothing)."""
    out = np.empty(len(values))
    average, norm = 0.0, 0.0
    for i, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        norm = weight * norm + (1 - weight)
        out[i] = average / norm
    return out


def run_degradation(run_dir: Path) -> str | None:
    """The degradation a run trained on (``data.degradation`` of its config.yaml), if known."""
    try:
        return yaml.safe_load((run_dir / "config.yaml").read_text())["data"]["degradation"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None


def run_title(run_dir: Path) -> str:
    """What the run trains, from its config.yaml (``flow x2 BI``), and its folder's name (a
    config's own ``name`` can be another scale's, when a scale was given as an override)."""
    try:
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        model, data = config["model"], config["data"]
        what = f"{model['name']} x{model['scale']} {str(data['degradation']).upper()}"
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return f"run {run_dir.name}"
    return f"{what}: run {run_dir.name}"


def run_history(run_dir: Path) -> list[tuple[Path, int | None]]:
    """``[(run folder, last step drawn), ...]``, oldest first, ending with ``run_dir`` (None).

    The earlier runs are those of the card's lineage (:func:`vidsr.training.export.run_lineage`)
    back to the first one that is not a run folder with a metrics log.
    """
    from vidsr.training.export import run_lineage

    try:
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        init = (config.get("model") or {}).get("init_weights")
    except (OSError, yaml.YAMLError, AttributeError):
        init = None
    try:
        stages = run_lineage(run_dir, init)
    except VidsrError:  # an unreadable checkpoint: draw this run alone
        stages = []
    history: list[tuple[Path, int | None]] = [(run_dir, None)]
    for stage in reversed(stages):
        folder = Path(stage["weights"]).parent
        if "step" not in stage or not (folder / "metrics.jsonl").is_file():
            break
        history.insert(0, (folder, int(stage["step"])))
    return history


def history_rows(history: list[tuple[Path, int | None]]) -> tuple[list[dict], list[tuple[int, str]]]:
    """All runs' metric rows on one step axis (each tagged with its run's ``degradation``),
    and ``(step, run name)`` where each run begins."""
    rows: list[dict] = []
    starts: list[tuple[int, str]] = []
    offset = 0
    for run_dir, last_step in history:
        run_rows = read_metrics(run_dir / "metrics.jsonl")
        if last_step is not None:
            run_rows = [r for r in run_rows if r.get("step", 0) <= last_step]
        starts.append((offset, run_dir.name))
        degradation = run_degradation(run_dir)
        rows += [{**r, "step": r.get("step", 0) + offset, "degradation": degradation} for r in run_rows]
        offset += last_step or 0
    return rows, starts


def _numbers(row: dict, *keys: str) -> bool:
    """Whether ``row`` has a number at each of ``keys`` (rows of another shape are not drawn)."""
    return all(isinstance(row.get(key), (int, float)) and not isinstance(row.get(key), bool) for key in keys)


def plot_path(out: Path) -> Path:
    """Where the figure goes: ``out``; with no suffix, ``out.png``; an existing folder,
    ``out/training.png``. A suffix matplotlib cannot write is a one-line error."""
    if out.is_dir():
        return out / "training.png"
    if not out.suffix:
        return out.with_suffix(".png")
    formats = FigureCanvasBase.get_supported_filetypes()
    if out.suffix[1:].lower() not in formats:
        raise VidsrError(f"cannot draw into {out.name}: give a file name ending in "
                         f"{', '.join('.' + f for f in sorted(formats))}")  # fmt: skip
    return out


def plot_run(run_dir: str | Path, out: str | Path | None = None, smoothing: float = 0.9,
             history: bool = True) -> Path:
    """Draw ``RUN_DIR/metrics.jsonl`` to ``out`` (default ``RUN_DIR/training.png``).

    With ``history``, the runs it started from (``model.init_weights``) are drawn first.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise VidsrError(f"run folder not found: {run_dir}")
    if not (run_dir / "metrics.jsonl").is_file():
        raise VidsrError(f"no metrics log at {run_dir / 'metrics.jsonl'}")
    rows, starts = history_rows(run_history(run_dir) if history else [(run_dir, None)])
    train = [r for r in rows if r.get("kind") == "train" and _numbers(r, "step", "loss", "lr")]
    val = [r for r in rows if r.get("kind") == "val" and _numbers(r, "step", "psnr_y")]
    if not train and not val:
        raise VidsrError(f"{run_dir / 'metrics.jsonl'} has no rows to plot yet")
    out = plot_path(Path(out) if out else run_dir / "training.png")
    with rc_context(FIGURE_STYLE):
        figure = _figure(run_dir, train, val, starts, smoothing)
        create_parent(out)
        figure.savefig(out, dpi=100, **({"pil_kwargs": {"optimize": True}} if out.suffix == ".png" else {}))
    return out


def _figure(run_dir: Path, train: list[dict], val: list[dict], starts: list[tuple[int, str]],
            smoothing: float) -> Figure:
    """Loss, learning rate and validation PSNR-Y of :func:`plot_run`, one panel each."""
    figure = Figure(figsize=(8, 9), layout="constrained")
    loss_ax, lr_ax, val_ax = figure.subplots(3, 1, sharex=True)
    figure.suptitle(run_title(run_dir))
    if train:
        steps = [r["step"] for r in train]
        losses = [r["loss"] for r in train]
        loss_ax.plot(steps, losses, color="tab:blue", alpha=0.3, linewidth=1, label="loss")
        loss_ax.plot(steps, smooth(losses, smoothing), color="tab:blue", linewidth=2,
                     label=f"smoothed ({smoothing})")
        if min(losses) > 0:
            loss_ax.set_yscale("log")
        loss_ax.legend(loc="upper right")
        lr_ax.plot(steps, [r["lr"] for r in train], color="tab:orange")
    loss_ax.set_ylabel("training loss")
    lr_ax.set_ylabel("learning rate")
    lr_ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    if val:
        val_steps = [r["step"] for r in val]
        # The figure of the weights each row would ship (train.ema: the better of average and raw).
        psnr = [r["raw"]["psnr_y"] if r.get("better") == "raw" else r["psnr_y"] for r in val]
        # A BD run started from BI weights: its validation is on other input, so one line each.
        by_input: dict[str | None, list[dict]] = {}
        for row in val:
            by_input.setdefault(row["degradation"], []).append(row)
        colours = iter(["tab:green", "tab:purple", "tab:brown"])
        for degradation, group in by_input.items():
            label = f"PSNR-Y ({degradation.upper()} input)" if len(by_input) > 1 and degradation else "PSNR-Y"
            colour = next(colours, "tab:grey")
            averaged = [r for r in group if r.get("raw")]  # train.ema: the raw weights beside
            val_ax.plot([r["step"] for r in group], [r["psnr_y"] for r in group], marker="o",
                        color=colour, label=label + (" (EMA weights)" if averaged else ""))
            if averaged:
                val_ax.plot([r["step"] for r in averaged], [r["raw"]["psnr_y"] for r in averaged],
                            marker=".", linestyle=":", color=colour, alpha=0.6, label=label + " (raw weights)")
        # The checkpoint the trainer kept (by val.best_metric), marked in its log rows.
        marked = [i for i, r in enumerate(val) if r.get("best")]
        best = marked[-1] if marked else int(np.argmax(psnr))
        # A star on the curve, its value in the legend (a text label would cover the curve).
        val_ax.plot([val_steps[best]], [psnr[best]], marker="*", markersize=14, linestyle="none",
                    color="tab:red", label=f"best {psnr[best]:.3f} dB @ step {val_steps[best]}")
        val_ax.legend(loc="lower right")
    else:
        val_ax.text(0.5, 0.5, "no validation yet", ha="center", va="center",
                    transform=val_ax.transAxes)
    val_ax.set_ylabel("validation PSNR-Y (dB)")
    val_ax.set_xlabel("step")
    for axis in (loss_ax, lr_ax, val_ax):
        axis.grid(True, alpha=0.3)
    for index, (step, name) in enumerate(starts[1:]):
        for axis in (loss_ax, lr_ax, val_ax):
            axis.axvline(step, color="grey", linestyle="--", linewidth=1)
        # Three heights in turn: the names of runs that start close together do not overlap.
        loss_ax.annotate(f"{name} starts", (step, 1), xycoords=("data", "axes fraction"),
                         xytext=(3, -14 - 13 * (index % 3)), textcoords="offset points", fontsize=10,
                         color="dimgrey")
    return figure
