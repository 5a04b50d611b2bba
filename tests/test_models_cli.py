"""`vidsr models` and the facts behind it (vidsr.models.facts)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from torch import Tensor, nn

from vidsr.cli.main import main
from vidsr.models import model_class, model_names
from vidsr.models.base import ModelFacts, VSRModel
from vidsr.models.facts import FACT_ROWS, format_table, macs_per_lr_pixel, summarize

KEYS = {
    "name",
    "params",
    "macs_per_lr_pixel",
    "single_cnn",
    "multiple_2d_stacks",
    "recurrent_2d",
    "recurrent_3d",
    "output_range_controlled",
    "weights",
}


pytestmark = pytest.mark.usefixtures("tiny_tensors")


@pytest.fixture(scope="module")
def listing() -> list[dict[str, Any]]:
    """``vidsr models --json``, run once for the module."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["models", "--json"]) == 0
    return json.loads(out.getvalue())


def by_name(listing: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in listing}


def within(value: int, budget: int, tolerance: float = 0.01) -> bool:
    return abs(value - budget) <= tolerance * budget


def test_json_lists_every_registry_model_with_the_required_keys(listing):
    assert [row["name"] for row in listing] == model_names()
    for row in listing:
        assert set(row) >= KEYS, row["name"]
        assert isinstance(row["params"], int) and isinstance(row["macs_per_lr_pixel"], int)
        assert all(isinstance(row[key], bool) for key, _ in FACT_ROWS)


def test_json_parameter_counts_match_the_founding_design(listing):
    rows = by_name(listing)
    assert within(rows["delta"]["params"], 83_702)
    assert within(rows["five_parallel"]["params"], 259_938)
    parts = rows["previous"]["parts"]
    assert within(parts["2d"], 10_577) and within(parts["3d"], 63_129)
    assert rows["previous"]["params"] == parts["2d"] + parts["3d"]
    assert rows["fsrcnn"]["params"] == 35_312
    assert rows["raw"]["params"] == 0 and rows["bicubic"]["params"] == 0
    assert "parts" not in rows["delta"]


def test_json_facts_come_from_the_model_classes(listing):
    for row in listing:
        facts = model_class(row["name"]).facts
        for key, _ in FACT_ROWS:
            assert row[key] == getattr(facts, key), (row["name"], key)


def test_json_macs_are_measured(listing):
    rows = by_name(listing)
    # conv networks at LR resolution: each weight is used about once per LR pixel
    for name in ("fsrcnn", "delta", "five_parallel"):
        assert within(rows[name]["macs_per_lr_pixel"], rows[name]["params"], 0.02), name
    assert rows["raw"]["macs_per_lr_pixel"] == 0
    assert rows["bicubic"]["macs_per_lr_pixel"] > 0  # MATLAB resize as matrix products


class _OneConv(VSRModel):
    """A toy model whose cost is known: conv3x3 3->8 then conv1x1 8->3*s*s, PixelShuffle."""

    facts: ClassVar[ModelFacts] = ModelFacts(True, False, False, False, False)

    def __init__(self, scale: int = 2) -> None:
        super().__init__(scale)
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 3 * scale * scale, 1))

    def encode(self, lr: Tensor) -> Tensor:
        b = lr.shape[0]
        return nn.functional.pixel_shuffle(self.net(lr.flatten(0, 1)), self.scale).unflatten(0, (b, -1))

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        return window[:, 0], hidden


def test_macs_per_lr_pixel_counts_a_known_model_exactly():
    assert macs_per_lr_pixel(_OneConv(2)) == 3 * 8 * 9 + 8 * 12
    assert macs_per_lr_pixel(_OneConv(4), frames=3, height=8, width=16) == 3 * 8 * 9 + 8 * 48


def test_summary_at_scale_2_has_smaller_heads():
    x4, x2 = summarize("delta", 4), summarize("delta", 2)
    assert x2.scale == 2 and x2.params < x4.params
    # the head's conv, and the feedback 1x1 that reads s*s sub-pixel phases of luma
    assert x4.params - x2.params == 28 * 9 * (48 - 12) + (48 - 12) + 28 * (16 - 4)


def test_human_table_has_the_founding_layout(capsys):
    assert main(["models", "previous", "delta", "five_parallel"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if "previous" in line)
    assert header.split() == ["previous", "delta", "five_parallel"]
    expected = {  # previous, delta, five_parallel in the founding design
        "single_cnn": ["No", "Yes", "Yes"],
        "multiple_2d_stacks": ["No", "Yes", "Yes"],
        "recurrent_2d": ["No", "Yes", "Yes"],
        "recurrent_3d": ["No", "Yes", "Yes"],
        "output_range_controlled": ["No", "No", "Yes"],
    }
    for key, question in FACT_ROWS:
        row = next(line for line in lines if line.startswith(question))
        assert row[len(question) :].split() == expected[key], row
    params = next(line for line in lines if line.startswith("Number of parameters"))
    assert params.split()[3:] == ["10,580", "+", "62,992", "84,188", "261,382"]
    assert any(line.startswith("Multiply-adds per LR pixel") for line in lines)


def test_format_table_marks_yes_and_no_from_facts():
    table = format_table([summarize("fsrcnn"), summarize("five_parallel")])
    single = next(line for line in table.splitlines() if line.startswith("Single CNN?"))
    ranged = next(line for line in table.splitlines() if line.startswith("Output range controlled?"))
    assert single.split()[-2:] == ["Yes", "Yes"]
    assert ranged.split()[-2:] == ["No", "Yes"]


def test_unknown_model_is_a_one_line_error(capsys):
    assert main(["models", "no_such_model"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vidsr: error: unknown model 'no_such_model'")
    assert "delta" in err and "Traceback" not in err


def test_scale_option(capsys):
    assert main(["models", "--json", "--scale", "2", "fsrcnn"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["scale"] == 2 and row["params"] == 17_132


def test_json_lists_the_shipped_weights_of_each_model(listing):
    rows = by_name(listing)
    assert rows["delta"]["weights"] == ["x2 BI", "x2 REAL", "x4 BI", "x4 BD", "x4 REAL"]
    assert rows["five_parallel"]["weights"] == ["x4 BI", "x4 BD"]
    assert rows["fsrcnn"]["weights"] == ["x4 BI"] and rows["previous"]["weights"] == ["x4 BI"]
    assert rows["flow"]["weights"] == ["x2 BI", "x4 BI", "x4 BD"] and rows["two_step"]["weights"] == ["x4 BI"]
    assert rows["bicubic"]["weights"] == [] and rows["two_step_five_parallel"]["weights"] == ["x4 BI"]


def test_human_table_has_a_shipped_weights_row(capsys):
    assert main(["models", "--scale", "2", "delta", "fsrcnn", "bicubic"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if line.startswith("Shipped weights"))
    assert row[len("Shipped weights") :].split() == ["x2", "BI,", "x2", "REAL,", "x4", "BI,", "x4", "BD,", "x4",
                                                     "REAL", "x4", "BI", "-"]
