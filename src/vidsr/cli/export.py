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
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a `vidsr train` run folder (with --onnx: a model name)")
    parser.add_argument("output", metavar="OUT.safetensors", help="weights file to write (with --onnx: a folder)")
    parser.add_argument("--checkpoint", choices=("auto", "best", "last"), default="auto",
                        help="best.pt (best validation), last.pt, or auto: best if present")
    onnx = parser.add_argument_group(
        "ONNX", "`vidsr export --onnx MODEL OUT_DIR --size HxW`: the model's per-frame encoder (encode.onnx) "
        "and one recurrent step with its state as explicit inputs and outputs (cell.onnx), for LR frames of "
        "HxW, plus meta.json; what the onnxruntime and openvino backends run"
    )  # fmt: skip
    onnx.add_argument("--onnx", action="store_true", help="export MODEL to ONNX into the folder OUT_DIR")
    onnx.add_argument("--size", default="180x320", metavar="HxW", help="LR frame size (default 180x320)")
    onnx.add_argument("--weights", default=None, metavar="FILE", help="weights (default: the shipped ones)")
    onnx.add_argument("--scale", type=int, default=4, choices=(2, 3, 4), help="upscaling factor (default 4)")
    onnx.add_argument("--degradation", default="bi", choices=("bi", "bd", "real"),
                      help="shipped weights: bi, bd or real")  # fmt: skip
    parser.set_defaults(func=run)


def run_onnx(args: argparse.Namespace) -> int:
    """``--onnx``: export a model's two graphs for one frame size into a folder."""
    from pathlib import Path

    from vidsr.backends.export import export_onnx
    from vidsr.errors import VidsrError
    from vidsr.models.registry import check_shipped_weights
    from vidsr.video.inference import load_model

    try:
        height, width = (int(value) for value in args.size.lower().split("x"))
    except ValueError:
        raise VidsrError(f"--size must be HxW in LR pixels (e.g. 180x320), not {args.size!r}") from None
    if height < 1 or width < 1:
        raise VidsrError(f"--size must be positive, not {args.size}")
    if args.weights is None:
        check_shipped_weights(args.run_dir, args.scale, args.degradation, "MODEL")
    model = load_model(args.run_dir, args.scale, args.weights, degradation=args.degradation)
    export = export_onnx(model, height, width, "onnx", folder=Path(args.output), force=True)
    inputs = ", ".join(("window", *export.state_inputs))
    outputs = ", ".join(("sr", *export.state_outputs))
    print(f"{export.encode} (lr -> encoded) and {export.cell} ({inputs} -> {outputs}), "
          f"{width}x{height} LR frames; {export.folder / 'meta.json'}")  # fmt: skip
    return 0


def run(args: argparse.Namespace) -> int:
    if args.onnx:
        return run_onnx(args)
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
