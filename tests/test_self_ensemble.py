"""Self-ensemble (`--self-ensemble`): 8 flips and transposes of the video, turned back and averaged."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from video_support import probe

from vidsr.backends import make_backend
from vidsr.backends.ensemble import TRANSFORMS, SelfEnsemble, apply_transform, undo_transform
from vidsr.cli.main import main
from vidsr.data.frames import write_frame
from vidsr.errors import VidsrError
from vidsr.models import registry
from vidsr.video.synthetic import pattern_frames, write_video

pytestmark = pytest.mark.usefixtures("tiny_tensors")


def clip_tensor(frames: int = 6, height: int = 12, width: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(1, frames, 3, height, width, generator=torch.Generator().manual_seed(seed))


def run(backend, lr: torch.Tensor, chunk: int) -> torch.Tensor:
    streamer = backend.streamer()
    parts = [streamer.push(lr[:, i : i + chunk]) for i in range(0, lr.shape[1], chunk)]
    return torch.cat([*parts, streamer.flush()], dim=1)


def test_every_transform_is_undone_and_the_eight_are_distinct():
    frames = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(1, 2, 3, 4, 5)
    seen = set()
    for transform in TRANSFORMS:
        moved = apply_transform(frames, transform)
        assert torch.equal(undo_transform(moved, transform), frames)
        seen.add(tuple(moved.flatten().tolist()) + tuple(moved.shape))
    assert len(seen) == 8 and TRANSFORMS[0] == (False, False, False)


@pytest.mark.parametrize("degradation", ["bi", "bd"])
def test_an_equivariant_model_is_unchanged(degradation):
    """Untrained delta outputs its bicubic base, which flips and transposes commute with: on
    BI's centre grid as it is, on BD's corner grid once a flipped run is moved back by s-1 HR
    pixels (without that move, the BD ensemble is off by up to a whole edge)."""
    torch.manual_seed(0)
    net = registry.create("delta", 4, degradation=degradation, pretrained=False).eval()
    lr = clip_tensor()
    single = run(make_backend(net, "torch", "cpu", "fp32"), lr, 6)
    ensemble = make_backend(net, "torch", "cpu", "fp32", self_ensemble=8)
    assert isinstance(ensemble, SelfEnsemble)
    averaged = run(ensemble, lr, 6)
    assert averaged.shape == single.shape
    assert (averaged - single).abs().max() < 1e-5
    if degradation == "bd":
        ensemble.shift = 0
        assert (run(ensemble, lr, 6) - single).abs().max() > 0.05


def test_trained_model_streams_as_a_whole_clip_and_differs_from_one_run():
    net = registry.create("delta", 4)
    lr = clip_tensor(frames=11, height=10, width=14)
    ensemble = make_backend(net, "torch", "cpu", "fp32", self_ensemble=8)
    whole = run(ensemble, lr, 11)
    assert torch.allclose(run(ensemble, lr, 3), whole, atol=1e-5)
    single = run(make_backend(net, "torch", "cpu", "fp32"), lr, 11)
    assert whole.shape == single.shape == (1, 11, 3, 40, 56)
    assert (whole - single).abs().mean() > 1e-4
    # the mean of the 8 runs, each turned back (what the module doc says it is)
    runs = [undo_transform(run(make_backend(net, "torch", "cpu", "fp32"), apply_transform(lr, t), 11), t)
            for t in TRANSFORMS]  # fmt: skip
    assert torch.allclose(torch.stack(runs).mean(0), whole, atol=1e-5)


def test_models_without_parameters_run_once_and_bad_counts_are_refused():
    assert not isinstance(make_backend(registry.create("bicubic"), "torch", "cpu", "fp32", self_ensemble=8),
                          SelfEnsemble)  # fmt: skip
    with pytest.raises(VidsrError, match="1 \\(off\\), 2, 4 or 8"):
        make_backend(registry.create("delta"), "torch", "cpu", "fp32", self_ensemble=3)
    assert "x4 self-ensemble" in make_backend(registry.create("delta"), "torch", "cpu", "fp32",
                                              self_ensemble=4).describe()  # fmt: skip


def test_evaluate_cli_scores_the_ensemble_and_records_it(tmp_path, capsys):
    folder = tmp_path / "gt" / "clip"
    folder.mkdir(parents=True)
    for index, frame in enumerate(pattern_frames(6, 32, 48)):
        write_frame(folder / f"{index:03d}.png", frame)
    figures = {}
    for extra in ([], ["--self-ensemble"]):
        out = tmp_path / f"scores{len(extra)}.json"
        assert main(["evaluate", "--data", str(tmp_path / "gt"), "--models", "bicubic,delta", "--json", str(out),
                     "--quiet", *extra]) == 0  # fmt: skip
        figures[len(extra)] = json.loads(out.read_text())
        printed = capsys.readouterr().out
        assert ("x8 self-ensemble" in printed) == bool(extra)
    assert figures[1]["self_ensemble"] == 8 and "self_ensemble" not in figures[0]
    y = {k: {m: figures[k]["models"][m]["average"]["psnr_y"] for m in ("bicubic", "delta")} for k in (0, 1)}
    assert y[0]["bicubic"] == y[1]["bicubic"]  # the baseline runs once either way
    assert y[0]["delta"] != y[1]["delta"]


def test_upscale_with_self_ensemble_and_resume_keeps_the_setting(tmp_path, capsys):
    clip = write_video(tmp_path / "clip.mp4", pattern_frames(8, 24, 32))
    out = tmp_path / "out.mkv"
    assert main(["upscale", str(clip), str(tmp_path / "dry.mkv"), "--self-ensemble", "--dry-run"]) == 0
    assert "x8 self-ensemble" in capsys.readouterr().out
    assert main(["upscale", str(clip), str(out), "--self-ensemble", "2", "--codec", "ffv1", "-q"]) == 0
    plain = tmp_path / "plain.mkv"
    assert main(["upscale", str(clip), str(plain), "--codec", "ffv1", "-q"]) == 0
    a, b = probe(out), probe(plain)
    assert len(a.frames) == len(b.frames) == 8 and a.frames[0].shape == (96, 128, 3)
    assert any(not np.array_equal(x, y) for x, y in zip(a.frames, b.frames))


def test_a_resumed_job_keeps_its_self_ensemble(tmp_path, capsys, monkeypatch):
    from test_upscale_jobs import interrupt_at_segment

    clip = write_video(tmp_path / "clip.mp4", pattern_frames(10, 24, 32))
    out = tmp_path / "out.mp4"
    args = [str(clip), str(out), "--segment-frames", "4", "-q", "--self-ensemble", "2"]
    interrupt_at_segment(monkeypatch, capsys, args, index=1)
    capsys.readouterr()
    assert main(["upscale", *args[:-2], "--resume"]) == 2
    assert "self_ensemble 2 -> 1" in capsys.readouterr().err
    assert main(["upscale", *args, "--resume"]) == 0
    assert len(probe(out, decode_rgb=False).times) == 10


def test_compare_labels_the_ensemble_panel(tmp_path):
    from vidsr.video.compare import compare_videos

    clip = write_video(tmp_path / "lr.mp4", pattern_frames(3, 16, 24))
    gt = write_video(tmp_path / "gt.mp4", pattern_frames(3, 64, 96))
    result = compare_videos(clip, tmp_path / "side.mp4", ["bicubic", "delta"], gt=gt, quiet=True, self_ensemble=2)
    assert sorted(result.psnr) == ["bicubic", "delta x2"]
