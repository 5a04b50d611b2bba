"""Every ```python block of README.md runs verbatim, on its own (issue 17)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
SNIPPETS = BLOCK.findall(README.read_text(encoding="utf-8"))

pytestmark = pytest.mark.usefixtures("tiny_tensors")


def test_readme_has_python_snippets() -> None:
    assert SNIPPETS, "no ```python block in README.md"


@pytest.mark.parametrize("code", SNIPPETS, ids=[f"block{i}" for i in range(len(SNIPPETS))])
def test_snippet_runs_as_written(code: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. an untrained model would warn
        exec(compile(code, f"{README.name} snippet", "exec"), {"__name__": "readme_snippet"})


def test_the_models_snippet_shows_shipped_weights_and_the_io_contract() -> None:
    snippet = next(code for code in SNIPPETS if "create(" in code)
    assert re.search(r'create\("delta", scale=4\)', snippet), "the default call, no weights argument"
    assert "shipped" in snippet and "[0, 1]" in snippet and "(B, T, 3, h, w)" in snippet
