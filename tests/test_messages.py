"""Warnings and notes printed while a progress bar is drawn get a line of their own."""

from __future__ import annotations

import re
import sys

import pytest
from tqdm import tqdm

from vidsr.data.datasets import stderr_note
from vidsr.video.messages import say, warn


@pytest.mark.parametrize(("emit", "line"), [
    (warn, "vidsr: warning: slow encoder"),
    (say, "vidsr: slow encoder"),
    (stderr_note, "vidsr: note: slow encoder"),
])
def test_a_message_during_a_progress_bar_is_not_glued_to_the_bar(emit, line, capsys) -> None:
    with tqdm(total=10, file=sys.stderr, ascii=True, mininterval=0, desc="upscale") as bar:
        bar.update(5)
        emit("slow encoder")
        bar.update(5)
    pieces = re.split(r"[\r\n]", capsys.readouterr().err)
    assert line in pieces  # a plain print would have left "upscale:  50%|...| vidsr: ..." on one line
    assert any(p.startswith("upscale: 100%") for p in pieces)  # and the bar goes on below it
