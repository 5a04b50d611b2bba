"""Training on long sequences: real context frames, truncated BPTT, colour augmentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_training_helpers import make_clips, tiny_overrides

from vidsr.errors import VidsrError
from vidsr.models import create
from vidsr.models.base import detach_state
from vidsr.training.config import config_from_dict, sequence_steps
from vidsr.training.data import Clip, TrainingWindows
from vidsr.training.logbook import read_metrics
from vidsr.training.trainer import train


def frame_id_clip(frames: int = 12, size: int = 16) -> Clip:
    """Every pixel of frame t holds 20 * t: a sample's frame order can be read back."""
    gt = np.zeros((frames, size, size, 3), dtype=np.uint8)
    gt[...] = (np.arange(frames, dtype=np.uint8) * 20)[:, None, None, None]
    return Clip("ids", gt, np.ascontiguousarray(gt[:, ::4, ::4]))


def ids(frames: torch.Tensor) -> list[int]:
    return (frames[:, 0, 0, 0] * 255 / 20).round().int().tolist()


@pytest.mark.parametrize("context", [0, 1, 2])
def test_samples_carry_real_context_frames_around_their_targets(context: int) -> None:
    windows = TrainingWindows([frame_id_clip()], 4, window=4, intervals=[1, 2], gt_patch=8,
                              seed=0, context=context)
    for index in range(20):
        lr, gt = windows[index]
        assert lr.shape[0] == 4 + 2 * context and gt.shape[0] == 4
        lr_ids, gt_ids = ids(lr), ids(gt)
        assert gt_ids == lr_ids[context : context + 4]  # the targets sit in the middle
        assert len(set(np.diff(lr_ids).tolist())) == 1  # consecutive (or reversed) frames, no padding


def test_colour_augmentation_keeps_lr_and_gt_a_pair() -> None:
    """The same channel order and gains on LR and GT: LR is still the block mean of GT, up to
    the half-code rounding of uint8 (gains commute with linear downscaling)."""
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    lr = np.floor(gt.reshape(6, 8, 4, 8, 4, 3).mean(axis=(2, 4)) + 0.5).astype(np.uint8)
    windows = TrainingWindows([Clip("a", gt, lr)], 4, window=3, intervals=[1], gt_patch=16,
                              seed=1, colour=1.0)
    plain = TrainingWindows([Clip("a", gt, lr)], 4, window=3, intervals=[1], gt_patch=16, seed=1)
    recoloured = 0
    for index in range(12):
        lr_t, gt_t = windows[index]
        blocks = gt_t.reshape(3, 3, 4, 4, 4, 4).mean(dim=(3, 5))
        assert (lr_t - blocks).abs().max() <= 1.01 / 255
        recoloured += not torch.equal(gt_t, plain[index][1])
    assert recoloured == 12
    share = TrainingWindows([Clip("a", gt, lr)], 4, window=3, intervals=[1], gt_patch=16,
                            seed=1, colour=0.25)
    changed = sum(not torch.equal(share[i][1], plain[i][1]) for i in range(200))
    assert 25 < changed < 80  # about a quarter of the samples


def test_state_carried_across_chunks_equals_one_long_sequence() -> None:
    """forward_sequence in chunks (the state detached in between) gives the same frames as
    one call over the whole sequence: truncated BPTT cuts gradients, not information."""
    torch.manual_seed(0)
    model = create("delta", 4, pretrained=False).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    lr = torch.rand(2, 9 + 2, 3, 6, 7)
    with torch.no_grad():
        whole, _ = model.forward_sequence(lr)
        parts, hidden = [], None
        for first in range(0, 9, 3):
            out, hidden = model.forward_sequence(lr[:, first : first + 3 + 2], hidden)
            hidden = detach_state(hidden)
            parts.append(out)
    assert whole.shape == (2, 9, 3, 24, 28)
    torch.testing.assert_close(torch.cat(parts, dim=1), whole, rtol=0, atol=1e-5)


def test_sequence_settings_are_checked() -> None:
    config = config_from_dict({"data": {"window": 30, "chunk": 10}, "train": {
        "steps": 99, "checkpoint_interval": 60, "log_interval": 30}})
    assert sequence_steps(config) == 3
    with pytest.raises(VidsrError, match="must divide data.window"):
        config_from_dict({"data": {"window": 30, "chunk": 7}})
    with pytest.raises(VidsrError, match="train.steps"):
        config_from_dict({"data": {"window": 30, "chunk": 10}, "train": {"steps": 100}})
    with pytest.raises(VidsrError, match="data.colour"):
        config_from_dict({"data": {"colour": 1.5}})


def test_a_run_trains_sequences_in_chunks(tmp_path: Path) -> None:
    data = make_clips(tmp_path / "data", clips=3, frames=10, size=64)
    overrides = tiny_overrides(data, tmp_path / "run", steps=6, **{
        "data.window": 6, "data.chunk": 2, "train.log_interval": 3,
        "train.checkpoint_interval": 3, "train.val_interval": 3})
    result = train(config_from_dict({}, overrides), quiet=True)
    assert result.step == 6
    rows = [row for row in read_metrics(tmp_path / "run" / "metrics.jsonl") if row["kind"] == "train"]
    assert [row["step"] for row in rows] == [3, 6]
    # a sample is 6 output frames, trained as 3 optimiser steps of 2 frames
    assert rows[-1]["frames_per_s"] == pytest.approx(rows[-1]["samples_per_s"] * 6, rel=1e-6)
