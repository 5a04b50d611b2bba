"""`vidsr compare`: labelled panels, grid, moving split line, GT panel and per-frame PSNR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from video_support import TinyRecurrent, probe

from vidsr.cli.main import main
from vidsr.data.frames import read_clip, to_tensor, to_uint8, write_frame
from vidsr.errors import VidsrError
from vidsr.metrics import psnr, rgb_to_y
from vidsr.models import create
from vidsr.video.compare import compare_videos, grid_shape, label_panel, parse_models, split_view
from vidsr.video.synthetic import pattern_frame

pytestmark = pytest.mark.usefixtures("tiny_tensors")


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> tuple[Path, Path, np.ndarray]:
    """LR frames (8 of 24x32) and GT frames at x4 (the pattern drawn at full size)."""
    root = tmp_path_factory.mktemp("clip")
    gt = np.stack([pattern_frame(i, 96, 128) for i in range(8)])
    lr = np.stack([pattern_frame(i, 24, 32) for i in range(8)])
    for i in range(8):
        write_frame(root / "lr" / f"{i:03d}.png", lr[i])
        write_frame(root / "gt" / f"{i:03d}.png", gt[i])
    return root / "lr", root / "gt", lr


def outputs_of(name_or_model, lr: np.ndarray) -> np.ndarray:
    model = create(name_or_model) if isinstance(name_or_model, str) else name_or_model
    with torch.inference_mode():
        return to_uint8(model(to_tensor(lr)[None])[0])


def test_side_by_side_with_gt_panels_and_psnr(clip, tmp_path):
    lr_dir, gt_dir, lr = clip
    result = compare_videos(lr_dir, tmp_path / "cmp", ["raw", "bicubic"], gt=gt_dir, quiet=True)
    frames = read_clip(tmp_path / "cmp")
    assert frames.shape == (8, 96, 3 * 128, 3)  # raw | bicubic | GT
    assert (result.width, result.height) == (384, 96)
    gt = read_clip(gt_dir)
    for column, name in enumerate(["raw", "bicubic"]):
        expected = outputs_of(name, lr)
        panel = frames[:, :, column * 128 : (column + 1) * 128]
        np.testing.assert_array_equal(panel[:, 40:], expected[:, 40:])  # below the label
        assert not np.array_equal(panel[:, :20, :60], expected[:, :20, :60])  # the label is drawn
        mean = np.mean([psnr(rgb_to_y(expected[i]), rgb_to_y(gt[i])) for i in range(8)])
        assert result.psnr[name] == pytest.approx(mean)
    np.testing.assert_array_equal(frames[:, 40:, 256:], gt[:, 40:])
    assert result.psnr["bicubic"] > result.psnr["raw"]


def test_grid_when_many_panels_and_recurrent_model(clip, tmp_path):
    lr_dir, gt_dir, lr = clip
    tiny = TinyRecurrent()
    result = compare_videos(lr_dir, tmp_path / "grid.mkv", ["raw", "bicubic", tiny], gt=gt_dir, quiet=True)
    assert (result.width, result.height) == (256, 192)  # 4 panels: 2 x 2
    got = probe(tmp_path / "grid.mkv", decode_rgb=False)
    assert (got.width, got.height) == (256, 192) and len(got.times) == 8
    assert set(result.psnr) == {"raw", "bicubic", "TinyRecurrent"}


def test_split_line_moves_between_two_models(clip, tmp_path):
    lr_dir, _, lr = clip
    compare_videos(lr_dir, tmp_path / "split", ["raw", "bicubic"], layout="split", quiet=True)
    frames = read_clip(tmp_path / "split")
    assert frames.shape == (8, 96, 128, 3)
    raw, bicubic = outputs_of("raw", lr), outputs_of("bicubic", lr)
    # Frame 0: line in the middle; raw on the left, bicubic on the right (below the labels).
    np.testing.assert_array_equal(frames[0, 40:, :60], raw[0, 40:, :60])
    np.testing.assert_array_equal(frames[0, 40:, 68:], bicubic[0, 40:, 68:])
    assert (frames[0, 40:, 64] == 255).all()  # the line
    # Later the line has moved right: raw covers more of the frame.
    assert (frames[7, 40:, 70] != 255).any() and np.array_equal(frames[7, 40:, 70], raw[7, 40:, 70])


def test_split_image_helper_positions():
    left, right = np.zeros((32, 100, 3), np.uint8), np.full((32, 100, 3), 100, np.uint8)
    frame = split_view(left, right, ("a", "b"), index=25)  # a quarter period: 90% across
    assert (frame[-1, :85] == 0).all() and (frame[-1, 92:] == 100).all()


@given(st.integers(min_value=1, max_value=40))
def test_grid_holds_every_panel_without_empty_rows(count):
    rows, columns = grid_shape(count)
    assert rows * columns >= count > (rows - 1) * columns
    assert columns >= rows


def test_label_panel_draws_text_in_corner():
    panel = np.full((48, 96, 3), 128, np.uint8)
    left, right = label_panel(panel, "bicubic 25.30 dB"), label_panel(panel, "x", right=True)
    assert (left[:16, :40] != 128).any() and (left[30:] == 128).all()
    assert (right[:16, -20:] != 128).any() and (right[:, :40] == 128).all()


def test_parse_models():
    assert parse_models("raw, bicubic,") == ["raw", "bicubic"]
    with pytest.raises(VidsrError, match="at least one"):
        parse_models(" , ")
    with pytest.raises(VidsrError, match="listed twice"):
        parse_models("raw,raw")


def test_bad_requests(clip, tmp_path):
    lr_dir, gt_dir, _ = clip
    with pytest.raises(VidsrError, match="exactly two models"):
        compare_videos(lr_dir, tmp_path / "a.mp4", ["raw", "bicubic", "raw"], layout="split", quiet=True)
    with pytest.raises(VidsrError, match="ground truth not found"):
        compare_videos(lr_dir, tmp_path / "a.mp4", ["raw"], gt=tmp_path / "nope", quiet=True)
    with pytest.raises(VidsrError, match="smaller than"):
        compare_videos(lr_dir, tmp_path / "a.mp4", ["raw"], gt=lr_dir, quiet=True)
    with pytest.raises(VidsrError, match=r"are 128x96, larger than the 64x48 output \(at most 1 pixel more"):
        compare_videos(lr_dir, tmp_path / "a.mp4", ["raw"], gt=gt_dir, scale=2, quiet=True)
    assert list(tmp_path.iterdir()) == []


def test_a_gt_up_to_scale_minus_one_larger_is_cut_as_degraded(clip, tmp_path):
    """A GT of 99x130 for 24x32 LR at x4 (LR made by cutting it to a multiple of 4) is fine."""
    lr_dir, gt_dir, lr = clip
    larger = tmp_path / "gt_larger"
    for i in range(8):
        write_frame(larger / f"{i:03d}.png", np.pad(pattern_frame(i, 96, 128), ((0, 3), (0, 2), (0, 0))))
    result = compare_videos(lr_dir, tmp_path / "cmp", ["bicubic"], gt=larger, quiet=True)
    same = compare_videos(lr_dir, tmp_path / "cmp2", ["bicubic"], gt=gt_dir, quiet=True)
    assert result.psnr == same.psnr


def test_cli_prints_psnr_and_fails_cleanly(clip, tmp_path, capsys):
    lr_dir, gt_dir, _ = clip
    out = tmp_path / "cmp.mp4"
    code = main(["compare", str(lr_dir), str(out), "--models", "raw,bicubic", "--gt", str(gt_dir), "-q"])
    captured = capsys.readouterr()
    assert code == 0 and captured.err == ""
    assert "bicubic: mean PSNR (Y) over 8 frames:" in captured.out
    assert len(probe(out, decode_rgb=False).times) == 8
    code = main(["compare", str(lr_dir), str(tmp_path / "b.mp4"), "--models", "nope", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("vidsr: error: unknown model") and "Traceback" not in err


def test_cli_weights_like_evaluate(clip, tmp_path, capsys, monkeypatch):
    from vidsr.models import registry, save_weights

    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path / "no-weights")  # an error without --weights
    lr_dir, _, _ = clip
    weights = save_weights(create("fsrcnn", pretrained=False), tmp_path / "fsrcnn.safetensors")
    args = ["compare", str(lr_dir), str(tmp_path / "a.mp4"), "--models", "bicubic,fsrcnn", "-q"]
    assert main(args) == 2
    assert "vidsr: error: fsrcnn has no shipped weights for x4 BI (shipped: none)" in capsys.readouterr().err
    assert main([*args, "--force", "--weights", str(weights)]) == 0
    assert "untrained" not in capsys.readouterr().err
    assert main([*args, "--force", "--weights", f"fsrcnn={weights}"]) == 0
    assert main([*args, "--force", "--weights", f"delta={weights}"]) == 2
    assert "not in --models" in capsys.readouterr().err


def test_cli_degradation_picks_the_shipped_weights(clip, tmp_path, capsys, monkeypatch):
    from vidsr.models import registry

    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)  # no shipped fsrcnn weights here
    lr_dir, _, _ = clip
    args = ["compare", str(lr_dir), str(tmp_path / "a.mp4"), "--models", "bicubic,fsrcnn", "-q"]
    assert main([*args, "--degradation", "bd"]) == 2
    assert "vidsr: error: fsrcnn has no shipped weights for x4 BD (shipped: none)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--degradation", "BD"])
    assert exit_info.value.code == 2 and "invalid choice: 'BD'" in capsys.readouterr().err


def test_help_names_the_default_models(capsys):
    from vidsr.video.compare import default_models

    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "once trained weights ship" not in text
    assert f"(default: {','.join(default_models())}: " in text and "shipped weights" in text


def test_a_time_range_compares_those_frames_and_its_gt(clip, tmp_path):
    lr_dir, gt_dir, lr = clip
    from vidsr.video.selection import TimeRange

    result = compare_videos(lr_dir, tmp_path / "part", ["bicubic"], gt=gt_dir, quiet=True,
                            time_range=TimeRange.parse("0.12", frames=3))  # frames 3-5 at 25 fps  # fmt: skip
    frames = read_clip(tmp_path / "part")
    assert frames.shape == (3, 96, 2 * 128, 3)
    whole = outputs_of("bicubic", lr)
    np.testing.assert_array_equal(frames[:, 40:, :128], whole[3:6, 40:])
    gt = read_clip(gt_dir)
    np.testing.assert_array_equal(frames[:, 40:, 128:], gt[3:6, 40:])  # the GT of the same frames
    mean = np.mean([psnr(rgb_to_y(whole[i]), rgb_to_y(gt[i])) for i in range(3, 6)])
    assert result.psnr["bicubic"] == pytest.approx(mean)


def test_a_crop_shows_that_region_as_the_whole_frame_would(tmp_path):
    lr = np.stack([pattern_frame(i, 64, 96) for i in range(6)])
    for i, frame in enumerate(lr):
        write_frame(tmp_path / "lr" / f"{i:03d}.png", frame)
    model = TinyRecurrent()  # recurrent, with neighbouring frames: the context must be there
    result = compare_videos(tmp_path / "lr", tmp_path / "crop", [model, "bicubic"], quiet=True,
                            crop="20x12+40+30", backend="torch", precision="fp32")  # fmt: skip
    frames = read_clip(tmp_path / "crop")
    assert frames.shape == (6, 48, 2 * 80, 3) and (result.width, result.height) == (160, 48)
    # the models saw LR rows 14-58 and columns 24-76 of the 64x96 frame: not all of it
    for column, name in enumerate([model, "bicubic"]):
        whole = outputs_of(name, lr)[:, 120:168, 160:240]  # rows 30-42, columns 40-60 of the LR, at x4
        panel = frames[:, 24:, column * 80 : (column + 1) * 80]  # (below the label)
        assert np.abs(panel.astype(int) - whole[:, 24:].astype(int)).max() <= 1


def test_compare_cli_with_range_and_crop(clip, tmp_path, capsys):
    lr_dir, gt_dir, _ = clip
    out = tmp_path / "cli"
    assert main(["compare", str(lr_dir), str(out), "--models", "raw,bicubic", "--frames", "2", "--crop",
                 "16:8:0:0", "--quiet"]) == 0  # fmt: skip
    assert read_clip(out).shape == (2, 32, 2 * 64, 3)
    for bad, says in [("--crop=40x8+0+0", "reaches outside the 32x24 input"), ("--crop=big", "--crop 'big'"),
                      ("--start=9", "no frame in the range")]:  # fmt: skip
        assert main(["compare", str(lr_dir), str(tmp_path / "bad"), "--models", "raw", bad, "--quiet"]) == 2
        assert says in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
