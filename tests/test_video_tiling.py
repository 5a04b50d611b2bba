"""Tiles: the cores cover the frame exactly once; tiled streaming equals untiled streaming."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from video_support import TinyRecurrent

from vidsr.errors import VidsrError
from vidsr.models import create
from vidsr.video.tiling import TiledStreamer, choose_tile, estimate_bytes, plan_tiles

pytestmark = pytest.mark.usefixtures("tiny_tensors")


@given(
    height=st.integers(1, 300),
    width=st.integers(1, 300),
    tile=st.integers(8, 128),
    overlap=st.integers(0, 32),
)
def test_cores_cover_every_pixel_once_and_crops_add_overlap(height, width, tile, overlap):
    cover = np.zeros((height, width), int)
    for t in plan_tiles(height, width, tile, overlap):
        (y0, y1), (x0, x1) = t.core_y, t.core_x
        assert 0 < y1 - y0 <= tile and 0 < x1 - x0 <= tile
        cover[y0:y1, x0:x1] += 1
        assert t.crop_y == (max(0, y0 - overlap), min(height, y1 + overlap))
        assert t.crop_x == (max(0, x0 - overlap), min(width, x1 + overlap))
    assert (cover == 1).all()


def test_tile_too_small_is_refused():
    with pytest.raises(VidsrError, match="at least 8"):
        plan_tiles(64, 64, 4)


def _stream(streamer, lr: torch.Tensor, chunks: list[int]) -> torch.Tensor:
    outputs, start = [], 0
    for size in chunks:
        outputs.append(streamer.push(lr[:, start : start + size]))
        start += size
    outputs.append(streamer.flush())
    return torch.cat(outputs, dim=1)


@settings(max_examples=15, deadline=None)
@given(
    height=st.integers(9, 40),
    width=st.integers(9, 40),
    tile=st.integers(8, 24),
    chunks=st.lists(st.integers(1, 4), min_size=1, max_size=3),
)
def test_tiled_bicubic_equals_untiled(height, width, tile, chunks):
    model = create("bicubic")
    lr = torch.rand(1, sum(chunks), 3, height, width, generator=torch.Generator().manual_seed(height * width))
    with torch.inference_mode():
        whole = model(lr)
        tiled = _stream(TiledStreamer(model, height, width, tile, overlap=8), lr, chunks)
    assert tiled.shape == whole.shape
    assert (tiled - whole).abs().max() < 1e-5


def test_tiled_recurrent_model_within_one_level():
    model = TinyRecurrent()
    lr = torch.rand(1, 20, 3, 36, 44, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        whole = model(lr)
        tiled = _stream(TiledStreamer(model, 36, 44, 12, overlap=16), lr, [3, 5, 12])
        no_overlap = _stream(TiledStreamer(model, 36, 44, 12, overlap=0), lr, [20])
    assert (tiled - whole).abs().max() * 255 < 0.5  # the same uint8 after rounding, nearly always
    assert (no_overlap - whole).abs().max() * 255 > 2  # without overlap the seams show


def test_tiles_chosen_only_when_a_frame_does_not_fit():
    model = create("bicubic")
    cpu = torch.device("cpu")
    need = estimate_bytes(model, 1080, 1920, chunk=4)
    assert choose_tile(model, 1080, 1920, chunk=4, device=cpu, budget=need) is None
    tile = choose_tile(model, 1080, 1920, chunk=4, device=cpu, budget=need // 8)
    assert tile is not None and 32 <= tile < 1080
    assert estimate_bytes(model, tile + 32, tile + 32, chunk=4) <= need // 8
    with pytest.raises(VidsrError, match="do not fit"):
        choose_tile(model, 1080, 1920, chunk=4, device=cpu, budget=1000)
