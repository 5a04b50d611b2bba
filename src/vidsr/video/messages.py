"""Messages for the user on stderr (warnings that do not stop the work, and notes)."""

from __future__ import annotations

import sys


def warn(message: str) -> None:
    """``vidsr: warning: <message>`` on stderr."""
    print(f"vidsr: warning: {message}", file=sys.stderr, flush=True)


def say(message: str) -> None:
    """``vidsr: <message>`` on stderr."""
    print(f"vidsr: {message}", file=sys.stderr, flush=True)
