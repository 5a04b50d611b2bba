"""Datasets: the Vid4, REDS, paired and single-clip layouts; cropping; lazy loading; errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidsr.data.datasets import REDS4, find_clips, open_dataset
from vidsr.data.degradation import degrade_uint8
from vidsr.data.frames import write_frame
from vidsr.errors import VidsrError


def make_clip(folder: Path, frames: int, height: int = 64, width: int = 64, seed: int = 0,
              pattern: str = "Frame {:03d}.png") -> np.ndarray:
    rng = np.random.default_rng(seed)
    clip = rng.integers(0, 256, (frames, height, width, 3), dtype=np.uint8)
    for index, frame in enumerate(clip, start=1):
        write_frame(folder / pattern.format(index), frame)
    return clip


def test_folder_of_clip_folders(tmp_path: Path) -> None:
    a = make_clip(tmp_path / "alpha", 3, seed=1)
    make_clip(tmp_path / "beta", 2, seed=2, pattern="im{}.png")
    (tmp_path / "empty").mkdir()  # folders without frames are not clips
    dataset = open_dataset(tmp_path, scale=4)
    assert dataset.names == ["alpha", "beta"]
    assert dataset.frame_counts == {"alpha": 3, "beta": 2}
    clip = next(iter(dataset))
    assert clip.name == "alpha" and clip.frames == 3 and clip.lr_generated
    np.testing.assert_array_equal(clip.gt, a)
    np.testing.assert_array_equal(clip.lr, degrade_uint8(a, 4, "bi"))
    assert clip.lr.shape == (3, 16, 16, 3)
    assert open_dataset(tmp_path, scale=4, clips="beta").names == ["beta"]  # one name, not b, e, t, a


def test_single_clip_folder(tmp_path: Path) -> None:
    make_clip(tmp_path / "solo", 2)
    clips, layout = find_clips(tmp_path / "solo")
    assert layout == "clip" and [name for name, _ in clips] == ["solo"]
    dataset = open_dataset(tmp_path / "solo", scale=2, degradation="bd")
    clip = dataset.load("solo")
    assert clip.lr.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(clip.lr, degrade_uint8(clip.gt, 2, "bd"))


def test_reds_layout_uses_reds4_and_its_bicubic_frames(tmp_path: Path) -> None:
    root = tmp_path / "REDS"
    for index, name in enumerate(["000", "001", "011", "015", "020"]):
        gt = make_clip(root / "train_sharp" / name, 2, seed=index, pattern="{:08d}.png")
        lr_folder = root / "train_sharp_bicubic" / "X4" / name
        for frame_index, frame in enumerate(degrade_uint8(gt, 4, "bi"), start=1):
            write_frame(lr_folder / f"{frame_index:08d}.png", np.flipud(frame).copy())  # marked
    for data in (root, root / "train_sharp"):
        dataset = open_dataset(data, scale=4)
        assert dataset.names == ["000", "011", "015", "020"] == list(REDS4)
        clip = dataset.load("011")
        assert not clip.lr_generated
        np.testing.assert_array_equal(clip.lr, np.flip(degrade_uint8(clip.gt, 4, "bi"), axis=1))
    assert open_dataset(root, reds_split="train").names == ["001"]
    assert len(open_dataset(root, reds_split="all")) == 5
    bd = open_dataset(root, degradation="bd").load("000")
    assert bd.lr_generated  # REDS ships bicubic LR only


def test_paired_gt_and_lr_folders(tmp_path: Path) -> None:
    gt = make_clip(tmp_path / "gt" / "c1", 2, seed=3)
    lr = np.zeros((2, 16, 16, 3), dtype=np.uint8) + 7
    for index, frame in enumerate(lr):
        write_frame(tmp_path / "lr" / "c1" / f"x{index}.png", frame)
    clip = next(iter(open_dataset(tmp_path / "gt", tmp_path / "lr", scale=4)))
    assert not clip.lr_generated
    np.testing.assert_array_equal(clip.gt, gt)
    np.testing.assert_array_equal(clip.lr, lr)
    # a single clip folder paired with a single LR clip folder
    single = open_dataset(tmp_path / "gt" / "c1", tmp_path / "lr" / "c1", scale=4)
    np.testing.assert_array_equal(single.load("c1").lr, lr)


def test_paired_errors_name_the_files(tmp_path: Path) -> None:
    make_clip(tmp_path / "gt" / "c1", 2)
    make_clip(tmp_path / "gt" / "c2", 2)
    make_clip(tmp_path / "lr" / "c1", 1, 16, 16)
    with pytest.raises(VidsrError, match="no LR clip folder .*c2"):
        open_dataset(tmp_path / "gt", tmp_path / "lr")
    make_clip(tmp_path / "lr" / "c2", 2, 16, 16)
    dataset = open_dataset(tmp_path / "gt", tmp_path / "lr")
    with pytest.raises(VidsrError, match="c1: 2 GT frames but 1 LR frames"):
        dataset.load("c1")
    make_clip(tmp_path / "lr8" / "c1", 2, 8, 8)
    make_clip(tmp_path / "lr8" / "c2", 2, 8, 8)
    with pytest.raises(VidsrError, match=r"LR frame .*Frame 001.png is 8x8.*needs 16x16"):
        open_dataset(tmp_path / "gt", tmp_path / "lr8").load("c1")
    with pytest.raises(VidsrError, match="LR folder not found"):
        open_dataset(tmp_path / "gt", tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    for gt in (tmp_path / "gt", tmp_path / "gt" / "c1"):  # clip folders, one clip
        with pytest.raises(VidsrError, match="the LR folder .*empty is empty: no PNG or JPEG frames, no clip"):
            open_dataset(gt, tmp_path / "empty")


def test_sizes_not_multiple_of_scale_are_cropped_and_said(tmp_path: Path) -> None:
    gt = make_clip(tmp_path / "odd", 2, height=66, width=70)
    notes: list[str] = []
    dataset = open_dataset(tmp_path, scale=4, notify=notes.append)
    clip = dataset.load("odd")
    assert clip.gt.shape == (2, 64, 68, 3)
    np.testing.assert_array_equal(clip.gt, gt[:, :64, :68])
    assert clip.lr.shape == (2, 16, 17, 3)
    assert notes == ["odd: frames 70x66 cropped to 68x64 (a multiple of the scale 4)"]


def test_clips_load_lazily_one_at_a_time(tmp_path: Path) -> None:
    make_clip(tmp_path / "a_good", 2)
    make_clip(tmp_path / "b_bad", 1)
    write_frame(tmp_path / "b_bad" / "Frame 002.png", np.zeros((32, 32, 3), dtype=np.uint8))
    clips = iter(open_dataset(tmp_path))
    assert next(clips).name == "a_good"  # the broken second clip has not been read yet
    with pytest.raises(VidsrError, match="Frame 002.png.*one size"):
        next(clips)


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(VidsrError, match="data folder not found"):
        open_dataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VidsrError, match=f"no frames in {tmp_path / 'empty'}"):
        open_dataset(tmp_path / "empty")
    make_clip(tmp_path / "data" / "c", 1)
    with pytest.raises(VidsrError, match="no clip nope"):
        open_dataset(tmp_path / "data", clips=["nope"])
    with pytest.raises(VidsrError, match="degradation"):
        open_dataset(tmp_path / "data", degradation="blur")
    broken = tmp_path / "broken" / "c"
    broken.mkdir(parents=True)
    (broken / "Frame 1.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(VidsrError, match="Frame 1.png"):
        open_dataset(tmp_path / "broken").load("c")


def test_folders_left_out_are_said(tmp_path: Path) -> None:
    notes: list[str] = []
    make_clip(tmp_path / "ds" / "a", 2)
    (tmp_path / "ds" / "empty").mkdir()
    clips, layout = find_clips(tmp_path / "ds", notify=notes.append)
    assert [name for name, _ in clips] == ["a"] and layout == "folders"
    assert notes == [f"1 folder(s) in {tmp_path / 'ds'} without PNG/JPEG frames left out: empty"]
    notes.clear()
    make_clip(tmp_path / "ds" / "a" / "inner", 2)  # a clip folder that holds another clip
    clips, layout = find_clips(tmp_path / "ds" / "a", notify=notes.append)
    assert layout == "clip" and len(notes) == 1 and "its clip folders (inner) are left out" in notes[0]


def test_lr_frames_pair_by_name_where_names_match(tmp_path: Path) -> None:
    make_clip(tmp_path / "gt" / "c1", 3)
    for index in range(3):
        write_frame(tmp_path / "lr" / "c1" / f"Frame {index + 1:03d}.png", np.zeros((16, 16, 3), np.uint8))
    assert open_dataset(tmp_path / "gt", tmp_path / "lr").load("c1").lr.shape[0] == 3
    (tmp_path / "lr" / "c1" / "Frame 002.png").rename(tmp_path / "lr" / "c1" / "zz.png")
    with pytest.raises(VidsrError, match="LR frame .*zz.png has no GT frame of that name"):
        open_dataset(tmp_path / "gt", tmp_path / "lr")
    for index, path in enumerate(sorted((tmp_path / "lr" / "c1").iterdir())):  # other names: by order
        path.rename(path.with_name(f"lr_{index}.png"))
    assert open_dataset(tmp_path / "gt", tmp_path / "lr").load("c1").lr.shape[0] == 3
