"""`vidsr export RUN_DIR OUT.safetensors`: a run's weights plus a model card."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a training run's weights (safetensors) and model card (JSON, Markdown)",
        description="Export a `vidsr train` run: OUT.safetensors (weights only, no pickle; "
                    "load with --weights) and OUT.json / OUT.md (model card: model, scale, "
                    "degradation, data, steps, time, hardware, command, validation scores).",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a `vidsr train` run folder")
    parser.add_argument("output", metavar="OUT.safetensors", help="weights file to write")
    parser.add_argument("--checkpoint", choices=("auto", "best", "last"), default="auto",
                        help="best.pt (best validation), last.pt, or auto: best if present")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from vidsr.training.export import export_run

    card = export_run(args.run_dir, args.output, args.checkpoint)
    out = Path(args.output)
    scores = card["validation"]
    summary = (f"; validation PSNR-Y {scores['psnr_y']:.2f} dB at step {scores['step']}"
               if scores else "")
    print(f"{out} ({card['model']} x{card['scale']} {card['degradation'].upper()}, "
          f"step {card['step']}{summary}); card {out.with_suffix('.json')}, {out.with_suffix('.md')}")
    return 0
