"""Where LR pixels sit on the HR grid: BI input is centred, BD input is every s-th HR pixel.

A network's bicubic base must match its input, or the residual has to learn a shift of
(s-1)/2 HR pixels (1.5 at x4) before it can learn anything else.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from hypothesis import given, settings
from hypothesis import strategies as st
from test_training_helpers import TinyVSR, make_clips, tiny_overrides

from vidsr.data.degradation import LR_GRID, degrade
from vidsr.data.resize import imresize
from vidsr.errors import VidsrError
from vidsr.models import create, load_weights, save_weights
from vidsr.models.layers import bicubic_upsample
from vidsr.training.config import load_config
from vidsr.training.distributed import DistContext
from vidsr.training.trainer import Trainer, train

NETWORKS = ["fsrcnn", "previous", "delta", "five_parallel", "two_step", "flow"]


@settings(max_examples=30, deadline=None)
@given(scale=st.integers(2, 4), height=st.integers(1, 9), width=st.integers(1, 9), seed=st.integers(0, 99))
def test_corner_grid_passes_every_lr_pixel_through(scale, height, width, seed):
    x = torch.rand(2, height, width, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    up = bicubic_upsample(x, scale, grid="corner")
    assert up.shape == (2, scale * height, scale * width)
    torch.testing.assert_close(up[:, ::scale, ::scale], x, rtol=0, atol=1e-12)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_each_grid_rebuilds_a_ramp_sampled_its_way(scale):
    """Cubic convolution reproduces straight lines: away from the borders, a ramp comes back exactly."""
    lr_width, margin = 12, 3  # the symmetric border padding bends the ramp near the edges
    hr = torch.arange(scale * lr_width, dtype=torch.float64)
    corner_lr = hr[::scale]  # BD: LR pixel i is HR pixel s*i
    centre_lr = hr.reshape(lr_width, scale).mean(dim=1)  # BI: mean of its block
    inner = slice(scale * margin, scale * (lr_width - margin))
    for grid, lr in (("corner", corner_lr), ("centre", centre_lr)):
        up = bicubic_upsample(lr.expand(4, -1), scale, grid=grid)[0]
        torch.testing.assert_close(up[inner], hr[inner], rtol=0, atol=1e-9)
    shifted = bicubic_upsample(corner_lr.expand(4, -1), scale, grid="centre")[0]
    assert (shifted[inner] - hr[inner]).abs().mean() == pytest.approx((scale - 1) / 2, abs=1e-9)


def test_corner_base_is_closer_to_the_ground_truth_of_bd_input():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:96, 0:96] / 96.0
    gt = sum(np.sin(2 * np.pi * (rng.uniform(1, 6) * xx + rng.uniform(1, 6) * yy + rng.uniform()))
             for _ in range(4))
    gt = torch.from_numpy((gt - gt.min()) / (gt.max() - gt.min())).float().expand(1, 3, -1, -1)
    lr = degrade(gt, 4, "bd")
    errors = {grid: float(((bicubic_upsample(lr, 4, grid) - gt)[..., 8:-8, 8:-8] ** 2).mean())
              for grid in ("centre", "corner")}
    assert errors["corner"] < 0.5 * errors["centre"]


@pytest.mark.parametrize("name", NETWORKS)
def test_create_puts_every_part_on_the_grid_of_the_degradation(name):
    for degradation, grid in LR_GRID.items():
        model = create(name, 4, degradation=degradation, pretrained=False)
        grids = {module.lr_grid for module in model.modules() if hasattr(module, "lr_grid")}
        assert grids == {grid}


@pytest.mark.parametrize("name", ["fsrcnn", "previous", "delta", "two_step", "flow"])
def test_untrained_bd_network_equals_the_corner_bicubic(name):
    x = torch.rand(1, 4, 3, 11, 13, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = create(name, 4, degradation="bd", pretrained=False)(x)
    torch.testing.assert_close(out, bicubic_upsample(x, 4, grid="corner"), rtol=0, atol=2e-6)


def test_bicubic_baseline_stays_matlab_on_bd_input():
    x = torch.rand(1, 2, 3, 9, 7, dtype=torch.float64)
    out = create("bicubic", 4, degradation="bd")(x)
    torch.testing.assert_close(out, imresize(x, 4.0), rtol=0, atol=1e-12)


def test_unknown_grid_or_degradation_is_refused():
    with pytest.raises(ValueError, match="centre, corner"):
        create("delta", 4, pretrained=False).set_lr_grid("middle")
    with pytest.raises(ValueError, match="grid"):
        bicubic_upsample(torch.rand(1, 4, 4), 4, grid="middle")
    with pytest.raises(VidsrError, match="unknown degradation"):
        create("delta", 4, degradation="bx")


def test_weights_carry_their_grid(tmp_path: Path):
    path = tmp_path / "bd.safetensors"
    save_weights(create("previous", 4, degradation="bd", pretrained=False), path, metadata={"lr_grid": "corner"})
    assert {m.lr_grid for m in load_weights(create("previous", 4, pretrained=False), path).modules()
            if hasattr(m, "lr_grid")} == {"corner"}
    assert load_weights(create("previous", 4, pretrained=False), path, keep_grid=True).lr_grid == "centre"
    plain = tmp_path / "plain.safetensors"  # no metadata (another tool's file): the model keeps its grid
    save_file(create("previous", 4, pretrained=False).state_dict(), str(plain))
    assert load_weights(create("previous", 4, degradation="bd", pretrained=False), plain).lr_grid == "corner"


def test_saved_weights_record_the_grid_of_their_model(tmp_path: Path):
    path = tmp_path / "bd.safetensors"
    save_weights(create("delta", 4, degradation="bd", pretrained=False), path)  # no metadata given
    loaded = create("delta", 4, weights=path)  # degradation left at "bi"
    assert {m.lr_grid for m in loaded.modules() if hasattr(m, "lr_grid")} == {"corner"}
    save_weights(create("delta", 4, degradation="bd", pretrained=False), path, metadata={"lr_grid": "centre"})
    assert create("delta", 4, weights=path).lr_grid == "centre"  # what the caller writes wins


def test_bd_run_started_from_bi_weights_trains_on_the_corner_grid(tmp_path: Path):
    data = make_clips(tmp_path / "data", clips=3, frames=5, size=64)
    bi_run = tmp_path / "bi"
    train(load_config(None, tiny_overrides(data, bi_run, steps=2)), quiet=True)
    # A checkpoint says its grid: loading it for inference applies it...
    assert load_weights(TinyVSR(4).set_lr_grid("corner"), bi_run / "last.pt").lr_grid == "centre"
    config = load_config(None, tiny_overrides(data, tmp_path / "bd", steps=2, **{
        "data.degradation": "bd", "model.init_weights": str(bi_run / "last.pt")}))
    trainer = Trainer(config, DistContext(), tmp_path / "bd", None, quiet=True)
    assert trainer.model.lr_grid == "corner"  # ...but a run keeps the grid of its own data
