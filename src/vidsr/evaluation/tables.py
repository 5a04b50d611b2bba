"""Markdown tables in the founding format: rows = models, columns MSE | SSIM | PSNR (+ TC)."""

from __future__ import annotations

import math

from vidsr.evaluation.evaluate import EvaluationResult

__all__ = ["format_number", "format_tables"]

_DIGITS = {"mse": 2, "ssim": 4, "psnr": 2, "tc": 3}


def format_number(value: float | None, kind: str) -> str:
    """A figure as printed in the tables: ``inf`` for infinite PSNR, ``-`` for none."""
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:.{_DIGITS[kind]}f}"


def _table(rows: list[list[str]], header: list[str], numeric_from: int) -> str:
    align = ["---" if i < numeric_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _row(figures: dict, channel: str) -> list[str]:
    cells = [
        format_number(figures[f"mse_{channel}"], "mse"),
        format_number(figures[f"ssim_{channel}"], "ssim"),
        format_number(figures[f"psnr_{channel}"], "psnr"),
    ]
    if channel == "y":
        cells.append(format_number(figures.get("tc"), "tc"))
    return cells


def _compression(settings: dict) -> str:
    """``libx264 CRF 23, preset medium, yuv420p (BT.601 limited range), 25 fps: 180 kbit/s ...``"""
    if settings["codec"] == "libx264":
        quality = f"CRF {settings['crf']}, preset {settings['preset']}"
    else:
        quality = f"quantiser {settings['qscale']}"
    streams = list(settings["clips"].values())
    rate = sum(s["kbit_s"] for s in streams) / max(1, len(streams))
    bpp = sum(s["bits_per_pixel"] for s in streams) / max(1, len(streams))
    return (
        f"compressed with {settings['codec']} {quality}, {settings['pix_fmt']} ({settings['colour']}), "
        f"{settings['rate']} fps: {rate:.0f} kbit/s, {bpp:.3f} bits per LR pixel (mean of the clips)"
    )


def format_tables(result: EvaluationResult) -> str:
    """Per-clip and average tables on Y and on RGB, as Markdown."""
    channels = {"y": "Y (BT.601 luma)", "rgb": "RGB"}
    first = next(iter(result.models.values()), None)
    clip_names = list(first.clips) if first else []
    frames = first.frames if first else 0
    crop = f", border crop {result.crop_border}" if result.crop_border else ", no border crop"
    title = (
        f"x{result.scale} {result.degradation.upper()}, {len(clip_names)} clip(s), "
        f"{frames} frames{crop}"
    )
    if result.compression is not None:
        title += f"\n\nLR {_compression(result.compression)}"
    if result.self_ensemble > 1:
        title += (f"\n\nTrained models: x{result.self_ensemble} self-ensemble (the mean of their outputs on "
                  f"{result.self_ensemble} flips and transposes of each clip)")
    parts = [f"# Evaluation: {title}"]
    for channel, label in channels.items():
        metric_header = ["MSE", "SSIM", "PSNR (dB)"] + (["TC"] if channel == "y" else [])
        rows = []
        for clip_name in clip_names:
            for model_name, scores in result.models.items():
                clip = scores.clips[clip_name]
                figures = dict(clip.metrics, tc=clip.tc)
                rows.append([clip_name, model_name, str(clip.frames)] + _row(figures, channel))
        parts.append(f"## Per clip, {label}")
        parts.append(_table(rows, ["Clip", "Model", "Frames"] + metric_header, 2))
        rows = [
            [model_name, "-" if scores.params is None else f"{scores.params:,}"] + _row(scores.average, channel)
            for model_name, scores in result.models.items()
        ]
        parts.append(f"## Average over clips, {label}")
        parts.append(_table(rows, ["Model", "Params"] + metric_header, 1))
    notes = [
        "Averages: per frame within a clip, then the mean of the clips.",
        "TC: mean |change of output - change of GT| between consecutive frames, Y, 0-255 "
        "(lower = less flicker; '-' for one-frame clips).",
    ]
    if result.has_inf:
        notes.append("inf: the output equals the ground truth (MSE 0), so PSNR is infinite.")
    parts.append("\n".join(notes))
    return "\n\n".join(parts) + "\n"
