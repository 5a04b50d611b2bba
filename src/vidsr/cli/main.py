"""The ``vidsr`` command: builds the parser from the subcommand modules listed here."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from vidsr import __version__
from vidsr.errors import VidsrError

# Each module has ``register(subparsers)`` that adds its parser and sets ``func``.
# Listed explicitly: no registry filled by import side effects.
SUBCOMMANDS = (
    "evaluate",
    "degrade",
    "models",
    "train",
    "plot",
    "export",
    "upscale",
    "compare",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    """The full ``vidsr`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="vidsr",
        description="Video super-resolution with compact recurrent 2D+3D CNNs.",
    )
    parser.add_argument("--version", action="version", version=f"vidsr {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"vidsr.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except VidsrError as error:
        print(f"vidsr: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the file system said no (permissions, a full disk, a read-only folder)
        if os.environ.get("VIDSR_DEBUG"):
            raise
        where = f": {error.filename}" if error.filename else ""
        print(f"vidsr: error: {error.strerror or error}{where} (VIDSR_DEBUG=1 shows where)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vidsr: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
