"""The compressed-input benchmark: Vid4 x4 (or x2) BI, clean and through H.264, for every shipped model.

Runs `vidsr evaluate` on clean BI LR and on BI LR encoded with libx264 (yuv420p, the
benchmark's fixed settings, preset medium) at each CRF, and prints one Markdown table of
Y-PSNR / temporal consistency (TC, lower is steadier) per model and setting, with each
setting's LR bitrate. ``NAME:real`` rows use the model's real-footage weights, ``NAME@S``
its weights at denoise strength S (between its BI and real weights).

    .venv/bin/python benchmarks/compressed.py --data ../shared/data/vid4/GT \\
        --markdown results/compressed_x4.md --json results/compressed_x4.json --cards
    .venv/bin/python benchmarks/compressed.py --scale 2 \\
        --markdown results/compressed_x2.md --json results/compressed_x2.json --cards

``--cards`` writes the figures of the ``:real`` models into their model cards. The default
models (every shipped x4 BI model, the denoise blend and the real weights) took 30 minutes
on 2 Intel Xeon cores shared with two trainings (2026-12-04).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

MODELS = {
    4: "bicubic,fsrcnn,previous,delta,five_parallel,two_step,two_step_five_parallel,flow,delta@0.5,delta:real",
    2: "bicubic,delta,flow,delta@0.5,delta:real",  # the models that ship x2 weights
}


def card_key(scale: int) -> str:
    return f"vid4_x{scale}_compressed"


def card_section(scale: int) -> str:
    return f"## Vid4 x{scale}, clean and compressed"


def cpu_name() -> str:
    """The CPU model, from lscpu (else platform)."""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown CPU"


def evaluate(data: Path, models: str, crf: int | None, clips: str | None, scale: int = 4) -> dict[str, Any]:
    """One `vidsr evaluate` run (clean BI when ``crf`` is None), its JSON document."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        command = [sys.executable, "-m", "vidsr", "evaluate", "--data", str(data), "--models", models,
                   "--scale", str(scale), "--json", str(out), "--quiet"]
        if crf is not None:
            command += ["--degradation", "bi+h264", "--crf", str(crf)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())


def average(document: dict[str, Any], model: str) -> dict[str, float]:
    return document["models"][model]["average"]


def bitrate(document: dict[str, Any]) -> float | None:
    """Mean LR kbit/s over the clips of a compressed run."""
    compression = document.get("compression") or {}
    rates = [clip["kbit_s"] for clip in compression.get("clips", {}).values()]
    return sum(rates) / len(rates) if rates else None


def table(settings: dict[str, dict[str, Any]], models: list[str]) -> str:
    names = list(settings)
    lines = ["| model | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for model in models:
        cells = []
        for name in names:
            figures = average(settings[name], model)
            cells.append(f"{figures['psnr_y']:.2f} / {figures['tc']:.2f}")
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/vid4/GT"))
    parser.add_argument("--scale", type=int, choices=sorted(MODELS), default=4)
    parser.add_argument("--models", default=None, help="comma-separated (default: every model shipped at --scale)")
    parser.add_argument("--crfs", default="23,33", help="comma-separated x264 CRFs (default 23,33)")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--cards", action="store_true", help="write the :real models' figures into their cards")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"compressed.py: no data at {args.data} (Vid4 GT frames)", file=sys.stderr)
        return 2
    crfs = [int(value) for value in args.crfs.split(",")]
    scale = args.scale
    listed = args.models or MODELS[scale]
    models = [name.strip() for name in listed.split(",")]
    settings: dict[str, dict[str, Any]] = {"clean BI": evaluate(args.data, listed, None, None, scale)}
    for crf in crfs:
        settings[f"CRF {crf}"] = evaluate(args.data, listed, crf, None, scale)
    rates = ", ".join(f"{bitrate(settings[f'CRF {crf}']):.0f} kbit/s at CRF {crf}" for crf in crfs)
    command = "python benchmarks/compressed.py " + " ".join(sys.argv[1:])
    text = "\n".join([
        f"Vid4 x{scale} BI, Y-PSNR (dB) / TC (lower is steadier); H.264 yuv420p, preset medium "
        f"(LR streams: {rates}). {cpu_name()}, {datetime.now().date()}. `{command}`",
        "",
        table(settings, models),
        "",
    ])
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text)
    figures = {name: {model: average(doc, model) for model in models} for name, doc in settings.items()}
    if args.json:
        compression = {name: doc.get("compression") for name, doc in settings.items()}
        args.json.write_text(json.dumps({"command": command, "cpu": cpu_name(), "figures": figures,
                                         "compression": compression}, indent=2) + "\n")
    if args.cards:
        from vidsr.models import pretrained_path

        for model in models:
            name, _, weights = model.partition(":")
            if weights != "real":
                continue
            card_json = pretrained_path(name, scale, "real").with_suffix(".json")
            card = json.loads(card_json.read_text())
            card[card_key(scale)] = {"command": command, "date": str(datetime.now().date()),
                              **{setting: {key: figures[setting][model][key] for key in ("psnr_y", "ssim_y", "tc")}
                                 for setting in figures}}
            card_json.write_text(json.dumps(card, indent=2) + "\n")
            card_md = card_json.with_suffix(".md")
            body = card_md.read_text().split(card_section(scale), 1)[0].rstrip("\n")
            rows = [f"| {setting} | {values[model]['psnr_y']:.2f} | {values[model]['ssim_y']:.4f} | "
                    f"{values[model]['tc']:.2f} |" for setting, values in figures.items()]
            card_md.write_text(body + f"\n\n{card_section(scale)}\n\n`{command}`\n\n| input | PSNR-Y | SSIM-Y | TC |\n"
                               "|---|---:|---:|---:|\n" + "\n".join(rows) + "\n")
            print(f"wrote {card_json} and {card_md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
