"""`vidsr degrade`: names kept, one clip or a dataset, BI/BD, errors, the MATLAB reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidsr.cli.main import main
from vidsr.data.degradation import degrade_uint8
from vidsr.data.frames import list_frames, read_clip, read_frame, write_frame


def make_frames(folder: Path, names: list[str], size: tuple[int, int] = (32, 40), seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    frames = []
    for name in names:
        frame = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        write_frame(folder / name, frame)
        frames.append(read_frame(folder / name))  # what is on disk (JPEG is lossy)
    return frames


def test_one_clip_keeps_names(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gt = make_frames(tmp_path / "gt", ["Frame 9.png", "Frame 10.png"])
    assert main(["degrade", str(tmp_path / "gt"), str(tmp_path / "lr"), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "lr").iterdir()) == ["Frame 10.png", "Frame 9.png"]
    np.testing.assert_array_equal(read_frame(tmp_path / "lr" / "Frame 9.png"), degrade_uint8(gt[0], 4, "bi"))
    assert "2 LR frame(s) of 1 clip(s), x4 BI" in capsys.readouterr().out


def test_dataset_bd_scale2_and_jpeg_renamed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    a = make_frames(tmp_path / "gt" / "a", ["00000.jpg", "00001.jpg"], seed=1)
    b = make_frames(tmp_path / "gt" / "b", ["x.png"], seed=2)
    argv = ["degrade", str(tmp_path / "gt"), str(tmp_path / "lr"), "--scale", "2", "--degradation", "bd", "--quiet"]
    assert main(argv) == 0
    assert [p.name for p in list_frames(tmp_path / "lr" / "a")] == ["00000.png", "00001.png"]
    np.testing.assert_array_equal(read_clip(tmp_path / "lr" / "a"), degrade_uint8(np.stack(a), 2, "bd"))
    np.testing.assert_array_equal(read_frame(tmp_path / "lr" / "b" / "x.png"), degrade_uint8(b[0], 2, "bd"))
    assert "2 JPEG frame(s) written as lossless PNG" in capsys.readouterr().err


def test_sigma_changes_bd(tmp_path: Path) -> None:
    gt = make_frames(tmp_path / "gt", ["f.png"])
    assert main(["degrade", str(tmp_path / "gt"), str(tmp_path / "s1"), "--degradation", "bd", "--quiet"]) == 0
    argv = ["degrade", str(tmp_path / "gt"), str(tmp_path / "s2"), "--degradation", "bd", "--sigma", "1.0", "--quiet"]
    assert main(argv) == 0
    np.testing.assert_array_equal(read_frame(tmp_path / "s2" / "f.png"), degrade_uint8(gt[0], 4, "bd", 1.0))
    assert not np.array_equal(read_frame(tmp_path / "s1" / "f.png"), read_frame(tmp_path / "s2" / "f.png"))


def test_odd_sizes_cropped_and_said(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    make_frames(tmp_path / "gt", ["f.png"], size=(33, 42))
    assert main(["degrade", str(tmp_path / "gt"), str(tmp_path / "lr"), "--quiet"]) == 0
    assert read_frame(tmp_path / "lr" / "f.png").shape == (8, 10, 3)
    assert "frames 42x33 cropped to 40x32" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "data folder not found"),
        ("empty", "no frames in"),
        ("mixed", "f2.png is 24x16 but f1.png is 40x32"),
        ("broken", "f1.png"),
        ("same", "is (or holds) the GT folders of"),
        ("dataset root", "is (or holds) the GT folders of"),
        ("inside a clip", "is (or holds) the GT folders of"),
        ("file", "is a file, not a folder"),
    ],
)
def test_errors(tmp_path: Path, capsys: pytest.CaptureFixture, setup: str, message: str) -> None:
    gt = tmp_path / "gt"
    out = tmp_path / "lr"
    if setup == "empty":
        gt.mkdir()
    elif setup == "mixed":
        make_frames(gt, ["f1.png"])
        make_frames(gt, ["f2.png"], size=(16, 24))
    elif setup == "broken":
        gt.mkdir()
        (gt / "f1.png").write_bytes(b"not an image")
    elif setup == "same":
        make_frames(gt, ["f1.png"])
        out = gt
    elif setup in ("dataset root", "inside a clip"):  # clip folders: LR over GT, or into a GT clip
        make_frames(gt / "a", ["f1.png"])
        make_frames(gt / "b", ["f1.png"])
        out = gt if setup == "dataset root" else gt / "a"
    elif setup == "file":
        make_frames(gt, ["f1.png"])
        out.write_text("a file\n")
    before = {p: p.read_bytes() for p in gt.rglob("*.png")} if gt.exists() else {}
    assert main(["degrade", str(gt), str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vidsr: error: ") and message in err
    if gt.exists():
        assert {p: p.read_bytes() for p in gt.rglob("*.png")} == before  # the GT untouched


@pytest.mark.parametrize("degradation", ["bi", "real"])
def test_a_clip_of_mixed_sizes_stops_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture, degradation: str
) -> None:
    make_frames(tmp_path / "gt" / "a", ["f1.png", "f2.png"])  # a good clip first
    make_frames(tmp_path / "gt" / "b", ["f1.png"])
    make_frames(tmp_path / "gt" / "b", ["f2.png"], size=(16, 24))  # the size check reads headers
    argv = ["degrade", str(tmp_path / "gt"), str(tmp_path / "lr"), "--quiet", "--degradation", degradation]
    assert main(argv) == 2
    assert "b/f2.png is 24x16 but f1.png is 40x32" in capsys.readouterr().err
    assert not (tmp_path / "lr").exists()  # not even clip a: no half-written dataset


@pytest.mark.parametrize(("flags", "message"), [
    (["--degradation", "real", "--seed", "-1"], "--seed must be from 0"),
    (["--degradation", "bd", "--sigma", "nan"], "--sigma must be a positive"),
])  # fmt: skip
def test_bad_seed_and_sigma(tmp_path: Path, capsys: pytest.CaptureFixture, flags: list[str], message: str) -> None:
    make_frames(tmp_path / "gt", ["f1.png"])
    assert main(["degrade", str(tmp_path / "gt"), str(tmp_path / "lr"), "--quiet", *flags]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "lr").exists()


@pytest.mark.shared_data
def test_calendar_equals_matlab_reference(shared_data: Path, tmp_path: Path) -> None:
    gt = shared_data / "vid4" / "GT" / "calendar"
    assert main(["degrade", str(gt), str(tmp_path / "calendar"), "--scale", "4", "--degradation", "bi", "--quiet"]) == 0
    reference = shared_data / "vid4" / "BIx4_matlab_reference" / "calendar"
    ours = list_frames(tmp_path / "calendar")
    assert [p.name for p in ours] == [p.name for p in list_frames(reference)]
    np.testing.assert_array_equal(read_clip(ours), read_clip(reference))  # all 41 frames, every pixel
