"""Training on long sequences: real context frames, truncated BPTT, colour augmentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_training_helpers import make_clips, tiny_overrides

from vidsr.data.degradation import degrade_uint8
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


def noise_still(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A uint8 frame of random noise: every crop of it is found at one place only."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize("kind", ["bi", "bd"])
def test_pan_samples_are_degraded_shifted_crops_of_one_frame(kind: str) -> None:
    """A pan sample: every GT frame is a crop of the same still frame, consecutive crops a
    whole-pixel shift along one straight path, and its LR the degradation of that crop (the
    same as the patch of the whole degraded frame, away from the frame's borders)."""
    still = noise_still(120, 140)
    frames = np.repeat(still[None], 8, axis=0)
    clip = Clip("still", frames, degrade_uint8(frames, 4, kind, 1.6))
    windows = TrainingWindows([clip], 4, window=6, intervals=[1], gt_patch=32, seed=2, context=1,
                              pan=1.0, pan_speed=6.0, kind=kind, sigma=1.6, flip=False,
                              transpose=False, reverse=False, lr_grid="corner" if kind == "bd" else "centre")
    full_lr = degrade_uint8(still, 4, kind, 1.6)
    moved = compared = 0
    for index in range(12):
        lr, gt = windows[index]
        assert lr.shape == (8, 3, 8, 8) and gt.shape == (6, 3, 32, 32)
        gt_u8 = (gt * 255).round().byte().permute(0, 2, 3, 1).numpy()
        lr_u8 = (lr * 255).round().byte().permute(0, 2, 3, 1).numpy()
        offsets = []
        for t, frame in enumerate(gt_u8):
            hits = [(y, x) for y in range(120 - 31) for x in range(140 - 31)
                    if np.array_equal(still[y : y + 32, x : x + 32], frame)]
            assert len(hits) == 1  # a crop of the still frame
            y, x = hits[0]
            offsets.append((y, x))
            if y % 4 == 0 and x % 4 == 0:  # on the LR grid of the whole frame
                assert np.array_equal(lr_u8[t + 1], full_lr[y // 4 : y // 4 + 8, x // 4 : x // 4 + 8])
                compared += 1
        steps = np.diff(np.array(offsets), axis=0)
        velocity = (np.array(offsets[-1]) - np.array(offsets[0])) / 5
        assert np.abs(steps - velocity).max() <= 1  # a straight path, rounded to whole pixels
        assert np.abs(velocity).max() <= 6.0 + 1e-9
        moved += bool(np.abs(velocity).max() > 0.5)
    assert moved >= 6 and compared >= 4


def test_pan_needs_bi_or_bd() -> None:
    clip = frame_id_clip()
    with pytest.raises(VidsrError, match="data.pan needs the bi or bd"):
        TrainingWindows([clip], 4, window=4, intervals=[1], gt_patch=8, pan=0.5, kind="real")


def test_pan_off_leaves_the_sample_stream_as_it_was() -> None:
    clip = frame_id_clip()
    plain = TrainingWindows([clip], 4, window=4, intervals=[1], gt_patch=8, seed=3)
    zero = TrainingWindows([clip], 4, window=4, intervals=[1], gt_patch=8, seed=3, pan=0.0)
    for index in range(10):
        assert all(torch.equal(a, b) for a, b in zip(plain[index], zero[index]))


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
    with pytest.raises(VidsrError, match="data.pan"):
        config_from_dict({"data": {"pan": 1.5}})
    with pytest.raises(VidsrError, match="data.pan needs the bi or bd"):
        config_from_dict({"data": {"pan": 0.5, "degradation": "real"}})
    with pytest.raises(VidsrError, match="data.pan_speed"):
        config_from_dict({"data": {"pan": 0.5, "pan_speed": -1}})


def test_a_run_trains_on_pan_samples(tmp_path: Path) -> None:
    data = make_clips(tmp_path / "data", clips=3, frames=10, size=64)
    overrides = tiny_overrides(data, tmp_path / "run", steps=4, **{"data.pan": 1.0, "data.gt_patch": 16})
    result = train(config_from_dict({}, overrides), quiet=True)
    assert result.step == 4 and result.loss is not None and np.isfinite(result.loss)


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
