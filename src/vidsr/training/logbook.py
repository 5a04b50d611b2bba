"""The run's metrics log: one JSON object per line in ``metrics.jsonl``.

Training rows: ``{"kind": "train", "step", "loss", "lr", "samples_per_s", "elapsed_s"}``;
validation rows: ``{"kind": "val", "step", "psnr_y", "ssim_y", "clips": {...}, "best"}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vidsr.errors import VidsrError


class MetricsLog:
    """Appends rows to ``metrics.jsonl``, flushed line by line (safe to ``tail -f``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after ``step`` (work a killed run did past its checkpoint)."""
        if not self.path.exists():
            return
        kept = [row for row in read_metrics(self.path) if row.get("step", 0) <= step]
        with self.path.open("w", encoding="utf-8") as file:
            for row in kept:
                file.write(json.dumps(row) + "\n")

    def write(self, row: dict[str, Any]) -> None:
        """Append one row."""
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(row, allow_nan=True) + "\n")


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """All rows of a ``metrics.jsonl`` (a torn last line from a killed run is skipped)."""
    path = Path(path)
    if not path.is_file():
        raise VidsrError(f"no metrics log at {path}")
    rows = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise VidsrError(f"{path}: line {number} is not JSON") from None
        if not isinstance(row, dict):
            raise VidsrError(f"{path}: line {number} is not a JSON object (a row of metrics)")
        rows.append(row)
    return rows

