"""`vidsr degrade` (placeholder until its issue lands)."""

from __future__ import annotations

import argparse

from vidsr.errors import VidsrError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("degrade", help="(not yet available)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise VidsrError("`vidsr degrade` is not available yet")
