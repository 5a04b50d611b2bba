"""Messages for the user on stderr (warnings that do not stop the work, and notes).

Written with ``tqdm.write``, so that a message printed while a progress bar is drawn gets a
line of its own and the bar is redrawn below it (a plain print would land on the bar's line).
"""

from __future__ import annotations

import sys

from tqdm import tqdm


def warn(message: str) -> None:
    """``vidsr: warning: <message>`` on stderr."""
    tqdm.write(f"vidsr: warning: {message}\n", file=sys.stderr, end="")  # one write: whole lines from many ranks
    sys.stderr.flush()


def say(message: str) -> None:
    """``vidsr: <message>`` on stderr."""
    tqdm.write(f"vidsr: {message}\n", file=sys.stderr, end="")
    sys.stderr.flush()


def format_bytes(count: float) -> str:
    """``12.3 MB``, ``456 kB`` or ``789 bytes`` (decimal units)."""
    if count >= 1e6:
        return f"{count / 1e6:.1f} MB"
    return f"{count / 1e3:.0f} kB" if count >= 1e3 else f"{count:.0f} bytes"
