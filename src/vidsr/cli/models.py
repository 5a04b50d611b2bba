"""`vidsr models`: every model with its parameter count, measured cost and founding comparison rows."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list the models: parameters, multiply-adds per LR pixel, design facts, shipped weights",
        description=(
            "List the models with their parameter counts, multiply-adds per LR pixel "
            "(measured with torch's flop counter on a 5-frame 32x32 clip) and the founding "
            "design's comparison rows, counted on the untrained models at --scale, and the "
            "scales and degradations each model has shipped weights for (any scale)."
        ),
    )
    parser.add_argument("names", nargs="*", metavar="MODEL", help="models to list (default: all)")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of the table")
    parser.add_argument(
        "--scale", type=int, choices=(2, 3, 4), default=4, help="upscaling factor (default 4)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidsr.models.facts import format_table, summarize_all
    from vidsr.models.registry import model_class

    names = list(dict.fromkeys(args.names))  # each once, in the order given
    for name in names:
        model_class(name)  # unknown names -> VidsrError listing the known ones
    summaries = summarize_all(names or None, scale=args.scale)
    if args.json:
        print(json.dumps([summary.to_json() for summary in summaries], indent=2))
    else:
        print(f"Models at x{args.scale} (multiply-adds measured on a 5-frame 32x32 LR clip)\n")
        print(format_table(summaries))
    return 0
