"""Quality against cost from a results document, without measuring again.

    python benchmarks/cost_plot.py results/vid4_x4.json -o docs/frames/vid4_x4_cost.png

Draws each model's Vid4 PSNR-Y (BI and BD) against its multiply-adds per LR pixel and its fps
(:func:`vidsr.evaluation.plot.cost_figure`) from the JSON that ``benchmarks/results.py
--json`` wrote (``make results``); ``results.py --plots DIR`` draws the same after a run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from vidsr.errors import VidsrError
from vidsr.evaluation.plot import plot_cost


def draw(results: Path, output: Path) -> Path:
    """Read the results JSON and draw its cost plot into ``output``."""
    try:
        document = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise VidsrError(f"cannot read {results}: {error}") from None
    return plot_cost(document, output)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="JSON written by benchmarks/results.py --json")
    parser.add_argument("-o", "--output", type=Path, required=True, help="PNG to write")
    args = parser.parse_args(argv)
    try:
        print(f"plot written to {draw(args.results, args.output)}", file=sys.stderr)
    except VidsrError as error:
        print(f"cost_plot: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
