"""The README "Results" section: Vid4 x4 (or x2) figures of raw, bicubic and every shipped model.

    .venv/bin/python benchmarks/results.py --data ../shared/data/vid4/GT
    .venv/bin/python benchmarks/results.py --data ../shared/data/vid4/GT --scale 2   # x2, BI
    .venv/bin/python benchmarks/results.py --data ../shared/data/vid4/GT --degradations bi \\
        --models raw,bicubic,delta --markdown out.md --json out.json
    # a quick slice while developing:
    .venv/bin/python benchmarks/results.py --data ../shared/data/vid4/GT --clips calendar \\
        --max-frames 5 --no-speed

For each degradation (BI: MATLAB bicubic; BD: Gaussian blur sigma 1.6, then every 4th
pixel) the LR frames are generated from the ground truth and every model is scored with
:func:`vidsr.evaluation.evaluate` (no border crop; per frame, then the mean of the clips).
Models with parameters are evaluated only with their shipped weights
(``src/vidsr/weights/<name>_x<scale>_<deg>.safetensors``); the others are skipped and listed.
BD (sigma 1.6, the literature's x4 setting) is measured at x4 only.

Printed Markdown, per degradation: the founding-format table (MSE, SSIM, PSNR on Y with
TC, and on RGB), PSNR-Y / SSIM-Y per clip with cells not above bicubic marked, the models
(weights, training steps from the model card, parameters, multiply-adds per LR pixel,
streaming fps on this CPU via ``bench_models.time_inference``) and the published figures
(marked as such). stdout holds only the Markdown unless ``--markdown`` is given; the
progress bar goes to stderr.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads; see vidsr/__init__.py

import argparse  # noqa: E402
import functools  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

import torch  # noqa: E402

import vidsr  # noqa: E402
from vidsr.data.datasets import open_dataset  # noqa: E402
from vidsr.errors import VidsrError  # noqa: E402
from vidsr.evaluation import EvaluationResult, evaluate, format_number  # noqa: E402
from vidsr.models import create, model_class, model_names, pretrained_path  # noqa: E402
from vidsr.models.base import VSRModel  # noqa: E402
from vidsr.models.registry import has_parameters  # noqa: E402
from vidsr.models.facts import ModelSummary, summarize  # noqa: E402
from vidsr.training.environment import git_commit, hardware_summary  # noqa: E402

SCALES = (4, 2)
SIGMA = 1.6  # BD blur, as in the literature (and vidsr's default)
# The models of the per-frame plots (--plots): the founding rows, fsrcnn and flow (raw would
# stretch the scale; the others lie among these).
PLOT_MODELS = ("bicubic", "fsrcnn", "delta", "five_parallel", "flow")
DEGRADATIONS = {
    "bi": "MATLAB bicubic downscaling",
    "bd": f"Gaussian blur sigma {SIGMA}, then every 4th pixel",
}
# Speed: Vid4-sized LR frames, batch 1, fp32, streamed in chunks of 5 (as bench_models.py).
SPEED_HEIGHT, SPEED_WIDTH, SPEED_CHUNK = 144, 180, 5

# Published Vid4 x4 figures on Y, (PSNR dB, SSIM); not measured here.
PUBLISHED_SOURCE = "BasicVSR (Chan et al., CVPR 2021), Table 1"
PUBLISHED: dict[str, dict[str, tuple[float, float]]] = {
    "bi": {
        "Bicubic": (23.78, 0.6347),
        "VESPCN": (25.35, 0.7557),
        "SPMC": (25.88, 0.7752),
        "TOFlow": (25.89, 0.7651),
    },
    "bd": {"Bicubic": (21.80, 0.5246)},
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, type=Path, metavar="DIR",
                        help="Vid4 GT folder (one folder of frames per clip)")
    parser.add_argument("--scale", type=int, default=4, choices=SCALES,
                        help="upscaling factor (default 4; x2: BI only)")
    parser.add_argument("--degradations", default=None, metavar="LIST",
                        help="comma-separated: bi, bd (default: bi,bd at x4, bi at x2)")
    parser.add_argument("--models", default=",".join(model_names()), metavar="NAMES",
                        help="comma-separated model names (default: every model; those without "
                             "shipped weights are skipped)")
    parser.add_argument("--clips", metavar="NAMES", help="comma-separated clips (default: all)")
    parser.add_argument("--max-frames", type=int, metavar="N", help="first N frames of each clip only")
    parser.add_argument("--no-speed", dest="speed", action="store_false", help="skip the fps timing")
    parser.add_argument("--speed-frames", type=int, default=20, metavar="N",
                        help="LR frames streamed per model for the fps figure (default: 20)")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="write the Markdown here")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure as JSON")
    parser.add_argument("--plots", type=Path, metavar="DIR",
                        help="draw each degradation's per-frame PSNR-Y of " + ", ".join(PLOT_MODELS)
                             + " to DIR/vid4_x<scale>_<degradation>_frames.png, and quality against cost "
                               "(PSNR-Y against multiply-adds and fps) to DIR/vid4_x<scale>_cost.png")
    parser.add_argument("--cards", action="store_true",
                        help="also write the Vid4 figures into the shipped models' cards (full runs only)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def split_list(text: str, option: str) -> list[str]:
    """A comma-separated option as a list without blanks or repeats."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise VidsrError(f"{option} is empty")
    repeated = sorted({item for item in items if items.count(item) > 1})
    if repeated:
        raise VidsrError(f"listed twice in {option}: {', '.join(repeated)}")
    return items


def check_options(args: argparse.Namespace) -> tuple[list[str], list[str], list[str] | None]:
    """Degradations, model names and clips, validated before any work is done."""
    default = "bi,bd" if args.scale == 4 else "bi"
    degradations = split_list(args.degradations or default, "--degradations")
    unknown = [d for d in degradations if d not in DEGRADATIONS]
    if unknown:
        raise VidsrError(f"unknown degradation {unknown[0]!r}; use {', '.join(DEGRADATIONS)}")
    if args.scale != 4 and "bd" in degradations:
        raise VidsrError(f"BD (sigma {SIGMA}) is benchmarked at x4 only, not x{args.scale}")
    names = split_list(args.models, "--models")
    for name in names:
        try:
            model_class(name)  # VidsrError for an unknown name
        except ImportError as error:
            raise VidsrError(f"model {name!r} is not available in this version: {error}") from None
    if args.max_frames is not None and args.max_frames < 1:
        raise VidsrError(f"--max-frames must be >= 1, not {args.max_frames}")
    if args.speed and args.speed_frames < SPEED_CHUNK:
        raise VidsrError(f"--speed-frames must be >= {SPEED_CHUNK}, not {args.speed_frames}")
    clips = split_list(args.clips, "--clips") if args.clips is not None else None
    if args.cards and (clips is not None or args.max_frames is not None):
        raise VidsrError("--cards writes the full benchmark into the model cards: drop --clips and --max-frames")
    return degradations, names, clips


def shipped_models(names: list[str], degradation: str, scale: int) -> tuple[dict[str, VSRModel], list[str]]:
    """Models to evaluate (parameter-free ones, and shipped weights) and the skipped names."""
    models: dict[str, VSRModel] = {}
    skipped = []
    for name in names:
        if not has_parameters(name):
            models[name] = create(name, scale)
        elif pretrained_path(name, scale, degradation).exists():
            models[name] = create(name, scale, degradation=degradation, pretrained=True)
        else:
            skipped.append(name)
    return models, skipped


def model_card(name: str, degradation: str, scale: int) -> dict[str, Any]:
    """Weights file and training steps from the model card beside the shipped weights.

    Keys ``weights``, ``step``, ``steps_planned`` (of the last run), ``steps_total`` (the
    checkpoint steps of every run in the chain, the weights' own included), ``runs`` and
    ``training_time`` (all runs); values None without a card (or key).
    """
    path = pretrained_path(name, scale, degradation).with_suffix(".json")
    card: dict[str, Any] = {}
    if path.is_file():
        try:
            card = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise VidsrError(f"cannot read model card {path}: {error}") from None
    summary = {key: card.get(key) for key in ("weights", "step", "steps_planned")}
    parents = card.get("initialised_from") or []
    steps = [parent.get("step") for parent in parents] + [card.get("step")]
    summary["steps_total"] = sum(steps) if None not in steps else None
    summary["runs"] = len(steps) if card else None
    summary["training_time"] = card.get("total_training_time") or card.get("training_time")
    return summary


@functools.cache
def load_bench_models() -> ModuleType:
    """``benchmarks/bench_models.py`` (not a package), for its ``time_inference``."""
    path = Path(__file__).with_name("bench_models.py")
    spec = importlib.util.spec_from_file_location("bench_models", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure_fps(model: VSRModel, frames: int) -> float:
    """Frames per second streaming Vid4-sized LR frames (fp32, batch 1, after a warm-up)."""
    seconds = load_bench_models().time_inference(
        model.eval(), frames, SPEED_HEIGHT, SPEED_WIDTH, chunk=SPEED_CHUNK, autocast=False
    )
    return 1.0 / seconds


def markdown_table(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    """A Markdown table: the first ``left`` columns left-aligned, the others right-aligned."""
    align = ["---"] * left + ["---:"] * (len(header) - left)
    lines = [header, align, *rows]
    return "\n".join(
        "|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|" for cells in lines
    )


def plural(count: int, noun: str) -> str:
    """``"1 clip"``, ``"4 clips"``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def figures_table(result: EvaluationResult) -> str:
    """The founding format, averages over clips: MSE, SSIM, PSNR, TC on Y, then on RGB."""
    header = ["", "MSE (Y)", "SSIM (Y)", "PSNR (Y)", "TC", "MSE (RGB)", "SSIM (RGB)", "PSNR (RGB)"]
    rows = []
    for name, scores in result.models.items():
        average = scores.average
        row = [name]
        for channel in ("y", "rgb"):
            row += [format_number(average[f"{kind}_{channel}"], kind) for kind in ("mse", "ssim", "psnr")]
            if channel == "y":
                row.append(format_number(average["tc"], "tc"))
        rows.append(row)
    return markdown_table(header, rows)


def marked(value: float, reference: float | None, kind: str) -> str:
    """A figure, with ``*`` when it is not above the bicubic ``reference``."""
    text = format_number(value, kind)
    return text + "*" if reference is not None and not value > reference else text


def psnr_ssim(figures: dict[str, Any], reference: dict[str, Any] | None) -> str:
    """``"PSNR-Y / SSIM-Y"``, each marked when not above ``reference`` (bicubic's figures)."""
    return " / ".join(
        marked(figures[f"{kind}_y"], reference[f"{kind}_y"] if reference else None, kind)
        for kind in ("psnr", "ssim")
    )


def per_clip_table(result: EvaluationResult) -> str:
    """PSNR-Y / SSIM-Y per clip and on average, one row per model; ``*``: not above bicubic."""
    clips = list(next(iter(result.models.values())).clips)
    bicubic = result.models.get("bicubic")
    rows = []
    for name, scores in result.models.items():
        figures = [scores.clips[clip].metrics for clip in clips] + [scores.average]
        references: list[dict[str, Any] | None] = [None] * len(figures)
        if bicubic is not None and name != "bicubic":
            references = [bicubic.clips[clip].metrics for clip in clips] + [bicubic.average]
        rows.append([name, *(psnr_ssim(f, r) for f, r in zip(figures, references, strict=True))])
    return markdown_table(["", *clips, "Average"], rows)


def models_table(
    names: list[str], degradation: str, summaries: dict[str, ModelSummary], fps: dict[str, float], scale: int
) -> str:
    """Weights, training (all runs), parameters, multiply-adds per LR pixel and fps per model."""
    header = ["", "Weights", "Training steps (all runs)", "Training time", "Parameters",
              "Multiply-adds per LR pixel",
              f"fps ({SPEED_WIDTH}x{SPEED_HEIGHT} -> {SPEED_WIDTH * scale}x{SPEED_HEIGHT * scale})"]
    rows = []
    for name in names:
        card = model_card(name, degradation, scale)
        weights = f"`{card['weights']}`" if card["weights"] else "-"
        steps = f"{card['steps_total']:,}" if card["steps_total"] is not None else "-"
        if card["runs"] and card["runs"] > 1 and card["steps_total"] is not None:
            steps += f" ({card['runs']} runs)"
        summary = summaries[name]
        speed = f"{fps[name]:.1f}" if name in fps else "-"
        rows.append([name, weights, steps, card["training_time"] or "-", summary.params_text,
                     f"{summary.macs_per_lr_pixel:,}", speed])
    return markdown_table(header, rows, left=2)


def published_table(degradation: str) -> str:
    """The published figures for a degradation (Y), marked as not measured here."""
    rows = [
        [f"{method} (published)", f"{ssim:.4f}", f"{psnr:.2f}"]
        for method, (psnr, ssim) in PUBLISHED[degradation].items()
    ]
    return markdown_table(["", "SSIM (Y)", "PSNR (Y)"], rows)


def command_text(argv: Sequence[str] | None) -> str:
    """The command line that produced the output (as typed when run as a script)."""
    if argv is None:
        return shlex.join(sys.orig_argv)
    script = Path(__file__)
    try:
        script = script.relative_to(Path.cwd())
    except ValueError:
        pass
    return shlex.join(["python", str(script), *argv])


@dataclass
class Run:
    """Everything measured by one run of the script."""

    command: str
    date: datetime
    scale: int = 4
    results: dict[str, EvaluationResult | None] = field(default_factory=dict)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    summaries: dict[str, ModelSummary] = field(default_factory=dict)
    fps: dict[str, float] = field(default_factory=dict)
    speed_frames: int | None = None
    load_average: float | None = None  # 1-minute load when the timing started


def header(run: Run, args: argparse.Namespace) -> str:
    """Where and how the figures were made, and which models were skipped."""
    git = git_commit()
    git_text = f", git {git['commit'][:10]}{' (dirty)' if git['dirty'] else ''}" if git else ""
    lines = [
        f"Produced by `{run.command}` on {run.date:%Y-%m-%d %H:%M %Z}: torch {torch.__version__}, "
        f"vidsr {vidsr.__version__}{git_text}, {hardware_summary(torch.device('cpu'))}.",
        f"Ground truth `{args.data}`, x{run.scale}, LR generated from it; Y is BT.601 luma; no border "
        "crop; figures are averaged over the frames of a clip, then over the clips.",
    ]
    if args.clips is not None or args.max_frames is not None:
        frames = f"first {args.max_frames} frames" if args.max_frames else "all frames"
        lines.append(f"**A slice, not the full benchmark**: clips {args.clips or 'all'}, {frames} of each.")
    skips = [f"{d.upper()}: {', '.join(names)}" for d, names in run.skipped.items() if names]
    if skips:
        lines.append(
            "Models without shipped weights are skipped (never evaluated untrained): "
            + "; ".join(skips) + "."
        )
    return "\n".join(lines)


def measured_parts(run: Run, degradation: str, result: EvaluationResult) -> list[str]:
    """The measured tables of one degradation, each with its notes."""
    first = next(iter(result.models.values()))
    size = f"{plural(len(first.clips), 'clip')}, {plural(first.frames, 'frame')}"
    tc_note = (
        "TC: mean |change of output - change of GT| between consecutive frames, Y, 0-255 "
        "(lower: less flicker)."
    )
    if result.has_inf:
        tc_note += " inf: output equal to the ground truth (MSE 0)."
    if "bicubic" in result.models:
        star_note = "`*`: not above bicubic on that clip (or on average)."
    else:
        star_note = "(bicubic not evaluated, so no cell is compared with it.)"
    if run.speed_frames is None:
        speed_note = "fps: not measured (`--no-speed`)."
    else:
        speed_note = (
            f"fps: {run.speed_frames} LR frames streamed in chunks of {SPEED_CHUNK}, fp32, batch 1, "
            f"after a warm-up, {plural(torch.get_num_threads(), 'torch thread')}, on this CPU"
        )
        if run.load_average is not None:
            speed_note += f" (1-minute load average {run.load_average:.1f} when timing began)"
        speed_note += "."
    return [
        f"Average over {size}:", figures_table(result), tc_note,
        "PSNR-Y (dB) / SSIM-Y per clip:", per_clip_table(result), star_note,
        "Models:", models_table(list(result.models), degradation, run.summaries, run.fps, run.scale), speed_note,
    ]


def section(run: Run, degradation: str) -> str:
    """All tables of one degradation: measured, then published."""
    name = degradation.upper()
    parts = [f"### Vid4 x{run.scale} {name} ({DEGRADATIONS[degradation]})"]
    if run.skipped[degradation]:
        parts.append(f"Skipped, no shipped x{run.scale} {name} weights: {', '.join(run.skipped[degradation])}.")
    result = run.results[degradation]
    if result is None:
        parts.append("No model to evaluate.")
    else:
        parts += measured_parts(run, degradation, result)
    if run.scale == 4:  # the published table is of x4
        parts.append(f"Published, not measured here: Vid4 x4 {name}, Y, from {PUBLISHED_SOURCE}:")
        parts.append(published_table(degradation))
    return "\n\n".join(parts)


def markdown(run: Run, args: argparse.Namespace) -> str:
    """The whole Results section."""
    parts = ["## Results", header(run, args), *(section(run, d) for d in run.results)]
    return "\n\n".join(parts) + "\n"


def json_document(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    """Every figure of the run: the evaluation JSON per degradation plus the model facts."""
    models = {
        name: {"params": summary.params, "macs_per_lr_pixel": summary.macs_per_lr_pixel,
               "fps": run.fps.get(name)}
        for name, summary in run.summaries.items()
    }
    degradations = {}
    for degradation, result in run.results.items():
        evaluated = list(result.models) if result is not None else []
        degradations[degradation] = {
            "skipped": run.skipped[degradation],
            "evaluation": result.to_json() if result is not None else None,
            "model_cards": {name: model_card(name, degradation, run.scale) for name in evaluated},
            "published": {
                "source": PUBLISHED_SOURCE,
                "y": {m: {"psnr": p, "ssim": s} for m, (p, s) in PUBLISHED[degradation].items()},
            } if run.scale == 4 else None,
        }
    return {
        "command": run.command,
        "date": run.date.isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "hardware": hardware_summary(torch.device("cpu")),
        "git": git_commit(),
        "data": str(args.data),
        "scale": run.scale,
        "clips": args.clips,
        "max_frames": args.max_frames,
        "speed_frames": run.speed_frames,
        "load_average": run.load_average,
        "models": models,
        "degradations": degradations,
    }


CARD_SECTION = "\n## Vid4 x"


def card_scores(result: EvaluationResult, name: str) -> dict[str, Any]:
    """A model's Vid4 figures for its card: average and per clip, Y and RGB, beside bicubic's."""
    scores = result.to_json()["models"]
    return {
        "scale": result.scale,
        "degradation": result.degradation,
        "average": scores[name]["average"],
        "clips": scores[name]["clips"],
        "bicubic": scores["bicubic"]["average"] if "bicubic" in scores else None,
    }


def card_section(run: Run, result: EvaluationResult, name: str) -> str:
    """The Markdown section of a card: PSNR-Y / SSIM-Y per clip, the model beside bicubic."""
    rows = []
    for clip in result.models[name].clips:
        cells = [clip]
        for model in ("bicubic", name):
            if model in result.models:
                figures = result.models[model].clips[clip].metrics
                cells.append(f"{format_number(figures['psnr_y'], 'psnr')} / "
                             f"{format_number(figures['ssim_y'], 'ssim')}")
        rows.append(cells)
    averages = [result.models[m].average for m in ("bicubic", name) if m in result.models]
    rows.append(["**average**", *(f"**{format_number(a['psnr_y'], 'psnr')}** / "
                                  f"{format_number(a['ssim_y'], 'ssim')}" for a in averages)])
    header = ["clip", *(m for m in ("bicubic", name) if m in result.models)]
    return "\n".join([
        f"## Vid4 x{result.scale} {result.degradation.upper()}",
        "",
        f"PSNR-Y (dB) / SSIM-Y, no border crop, measured on {run.date:%Y-%m-%d} with `{run.command}`:",
        "",
        markdown_table(header, rows),
    ]) + "\n"


def update_cards(run: Run) -> list[Path]:
    """Write each evaluated shipped model's Vid4 figures into its card (.md section, .json key)."""
    written = []
    for degradation, result in run.results.items():
        if result is None:
            continue
        for name in result.models:
            path = pretrained_path(name, run.scale, degradation)
            if not (has_parameters(name) and path.with_suffix(".json").is_file()):
                continue
            card_json, card_md = path.with_suffix(".json"), path.with_suffix(".md")
            card = json.loads(card_json.read_text())
            card[f"vid4_x{run.scale}_{degradation}"] = {
                "command": run.command, "date": run.date.isoformat(timespec="seconds"),
                **card_scores(result, name),
            }
            write_file(card_json, json.dumps(card, indent=2) + "\n")
            text = card_md.read_text() if card_md.is_file() else ""
            text = text.split(CARD_SECTION, 1)[0].rstrip("\n") + "\n\n"
            write_file(card_md, text + card_section(run, result, name))
            written += [card_json, card_md]
    return written


def write_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (parents created), as a one-line error on failure."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as error:
        raise VidsrError(f"cannot write {path}: {error}") from None


def measure(args: argparse.Namespace, command: str) -> Run:
    """Evaluate every degradation, then summarise and time every evaluated model."""
    from tqdm import tqdm

    degradations, names, clips = check_options(args)
    run = Run(command, datetime.now().astimezone(), args.scale)
    evaluated: dict[str, VSRModel] = {}
    for degradation in degradations:
        models, run.skipped[degradation] = shipped_models(names, degradation, args.scale)
        run.results[degradation] = None
        if models:
            dataset = open_dataset(
                args.data, scale=args.scale, degradation=degradation, sigma=SIGMA, clips=clips
            )
            run.results[degradation] = evaluate(
                models, dataset, progress=not args.quiet, max_frames=args.max_frames
            )
        for name, model in models.items():
            evaluated.setdefault(name, model)
    run.summaries = {name: summarize(name, args.scale) for name in evaluated}
    if args.speed:
        run.speed_frames = args.speed_frames
        run.load_average = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        for name in tqdm(evaluated, desc="fps", disable=args.quiet, leave=False):
            run.fps[name] = measure_fps(evaluated[name], args.speed_frames)
    return run


def report(run: Run, args: argparse.Namespace) -> None:
    """Print the Markdown (or write it to ``--markdown``) and write ``--json``."""
    text = markdown(run, args)
    if args.markdown is not None:
        write_file(args.markdown, text)
        print(f"Markdown written to {args.markdown}", file=sys.stderr)
    else:
        print(text, end="")
    if args.json is not None:
        write_file(args.json, json.dumps(json_document(run, args), indent=2) + "\n")
        print(f"JSON written to {args.json} (infinite PSNR as \"inf\")", file=sys.stderr)
    if args.plots is not None:
        from vidsr.evaluation.plot import plot_cost, plot_per_frame

        for degradation, result in run.results.items():
            if result is not None:
                path = args.plots / f"vid4_x{args.scale}_{degradation}_frames.png"
                title = f"Vid4 x{args.scale} {degradation.upper()}: PSNR-Y per frame"
                plot_per_frame(result, path, title, [name for name in PLOT_MODELS if name in result.models])
                print(f"plot written to {path}", file=sys.stderr)
        document = json_document(run, args)
        if sum(1 for cost in document["models"].values() if cost.get("params")) >= 3:  # (else a table says it)
            path = plot_cost(document, args.plots / f"vid4_x{args.scale}_cost.png")
            print(f"plot written to {path}", file=sys.stderr)
    if args.cards:
        for path in update_cards(run):
            print(f"model card updated: {path}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the script; returns the exit code (2 with a one-line message on a user error)."""
    args = parse_args(argv)
    try:
        report(measure(args, command_text(argv)), args)
    except VidsrError as error:
        print(f"results: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
