"""`vidsr plot RUN_DIR`: training loss, learning rate and validation PSNR as a PNG."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plot",
        help="draw a training run's loss, learning rate and validation PSNR to a PNG",
        description="Draw RUN_DIR/metrics.jsonl: loss (raw and smoothed), learning rate and "
                    "validation PSNR-Y, to RUN_DIR/training.png or -o FILE.png. A run started "
                    "from another run's checkpoint (model.init_weights) is drawn after that run.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a `vidsr train` run folder")
    parser.add_argument("-o", "--output", metavar="FILE.png", help="where to write the PNG")
    parser.add_argument("--smoothing", type=float, default=0.9,
                        help="EMA weight of the smoothed loss curve (0 to <1; default 0.9)")
    parser.add_argument("--no-history", dest="history", action="store_false",
                        help="draw only RUN_DIR, not the runs it started from")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidsr.errors import VidsrError
    from vidsr.training.plot import plot_run

    if not 0 <= args.smoothing < 1:
        raise VidsrError(f"--smoothing must be in [0, 1), not {args.smoothing}")
    print(plot_run(args.run_dir, args.output, args.smoothing, history=args.history))
    return 0
