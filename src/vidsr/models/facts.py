"""What each model is: parameter counts, measured multiply-adds, the founding comparison rows.

Everything here is read from the models themselves (their parameters, their ``facts``
class attribute, ``parts()`` where a model is made of separate networks) or measured by
running them under :class:`torch.utils.flop_counter.FlopCounterMode`; nothing is typed in
by hand. ``vidsr models``, the evaluation tables and the README use these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from vidsr.models.base import ModelFacts, VSRModel
from vidsr.models.layers import count_parameters
from vidsr.models.registry import create, format_shipped, model_class, model_names, shipped_weights

# The founding design's comparison rows, in its order: (ModelFacts field, question).
FACT_ROWS: tuple[tuple[str, str], ...] = (
    ("single_cnn", "Single CNN?"),
    ("multiple_2d_stacks", "Multiple 2D layer stacks?"),
    ("recurrent_2d", "Recurrent 2D part?"),
    ("recurrent_3d", "Recurrent 3D part?"),
    ("output_range_controlled", "Output range controlled?"),
)

__all__ = [
    "FACT_ROWS",
    "ModelSummary",
    "count_parameters",
    "format_table",
    "macs_per_lr_pixel",
    "parameter_parts",
    "summarize",
    "summarize_all",
]


@dataclass(frozen=True)
class ModelSummary:
    """One model's row set: name, parameters (and parts), MACs per LR pixel, founding facts,
    and the ``(scale, degradation)`` pairs with shipped weights (any scale)."""

    name: str
    scale: int
    params: int
    macs_per_lr_pixel: int
    facts: ModelFacts
    parts: dict[str, int] | None = field(default=None)
    weights: tuple[tuple[int, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``vidsr models --json`` object (``parts`` only for models made of parts;
        ``weights``: the shipped weights, ``["x4 BI", "x4 BD"]``)."""
        row: dict[str, Any] = {
            "name": self.name,
            "scale": self.scale,
            "params": self.params,
            "macs_per_lr_pixel": self.macs_per_lr_pixel,
        }
        row.update({key: getattr(self.facts, key) for key, _ in FACT_ROWS})
        row["weights"] = [format_shipped([pair]) for pair in self.weights]
        if self.parts is not None:
            row["parts"] = dict(self.parts)
        return row

    @property
    def params_text(self) -> str:
        """``"83,712"``, or ``"10,580 + 62,992"`` for a model made of separate networks."""
        if self.parts:
            return " + ".join(f"{count:,}" for count in self.parts.values())
        return f"{self.params:,}"


def parameter_parts(model: torch.nn.Module) -> dict[str, int] | None:
    """Parameter counts of a model's separate networks (``model.parts()``), else ``None``."""
    parts = getattr(model, "parts", None)
    return dict(parts()) if callable(parts) else None


def macs_per_lr_pixel(model: VSRModel, frames: int = 5, height: int = 32, width: int = 32) -> int:
    """Multiply-adds per LR input pixel, measured with torch's flop counter (MACs = flops / 2).

    Runs the whole model (streaming, padding, base upsampling included) on a
    ``(1, frames, 3, height, width)`` clip and divides by ``frames * height * width``.
    The warm-up of recurrent models (``warmup`` frames run once per clip) is left out:
    this is the cost of every further frame.
    """
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    clip = torch.zeros(1, frames, 3, height, width, device=device)
    counter = FlopCounterMode(display=False)
    was_training, warmup = model.training, model.warmup
    model.eval()
    model.warmup = 0
    try:
        with torch.no_grad(), counter:
            model(clip)
    finally:
        model.train(was_training)
        model.warmup = warmup
    return round(counter.get_total_flops() / 2 / (frames * height * width))


def summarize(name: str, scale: int = 4) -> ModelSummary:
    """The summary of the registry model ``name`` at ``scale`` (untrained weights)."""
    model = create(name, scale, pretrained=False)
    parts = parameter_parts(model)
    return ModelSummary(
        name=name,
        scale=scale,
        # all weights, frozen parts included (two_step's step 1 is buffers, not parameters)
        params=sum(parts.values()) if parts else count_parameters(model),
        macs_per_lr_pixel=macs_per_lr_pixel(model),
        facts=model_class(name).facts,
        parts=parts,
        weights=tuple(shipped_weights(name)),
    )


def summarize_all(names: list[str] | None = None, scale: int = 4) -> list[ModelSummary]:
    """Summaries of ``names`` (default: every registry model), in registry order."""
    return [summarize(name, scale) for name in (names or model_names())]


def format_table(summaries: list[ModelSummary]) -> str:
    """The founding design's layout: one column per model, the questions as rows, Yes/No."""
    header = ["", *(summary.name for summary in summaries)]
    rows = [header]
    for key, question in FACT_ROWS:
        rows.append([question, *("Yes" if getattr(s.facts, key) else "No" for s in summaries)])
    rows.append(["Number of parameters", *(s.params_text for s in summaries)])
    rows.append(["Multiply-adds per LR pixel", *(f"{s.macs_per_lr_pixel:,}" for s in summaries)])
    rows.append(["Shipped weights", *(format_shipped(list(s.weights)) if s.weights else "-" for s in summaries)])
    widths = [max(len(row[col]) for row in rows) for col in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
