"""One streaming loop (evaluation, training validation and the video pipeline share it) and
one table of LR grids (issue 17's structure debts)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from vidsr.data.frames import to_tensor, to_uint8
from vidsr.metrics import frame_metrics
from vidsr.models import create

pytestmark = pytest.mark.usefixtures("tiny_tensors")


def recurrent_model() -> torch.nn.Module:
    """delta x2 with every parameter random (the zero-initialised head too), in eval mode."""
    torch.manual_seed(0)
    model = create("delta", 2, pretrained=False).eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn(param.shape, generator=generator) * 0.05)
    return model


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Counts the calls of the shared push/flush steps in :mod:`vidsr.streaming`."""
    from vidsr import streaming

    calls: Counter = Counter()
    for name in ("push_frames", "flush_frames"):
        original = getattr(streaming, name)

        def wrapper(*args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(streaming, name, wrapper)
    return calls


def test_evaluation_validation_and_video_share_one_streaming_loop(counted: Counter) -> None:
    from vidsr.data.datasets import Clip
    from vidsr.evaluation.evaluate import score_clip, super_resolve
    from vidsr.training.data import ValClip
    from vidsr.training.precision import make_precision
    from vidsr.training.validation import validate_clip
    from vidsr.video.inference import ModelStage

    model = recurrent_model()
    base = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    lr = np.stack([np.roll(base, k, axis=1) for k in range(7)])  # one shot: no scene cut (vidsr.shots)
    with torch.no_grad():
        whole = to_uint8(model(to_tensor(lr)[None])[0])
    gt = np.roll(whole, 1, axis=2)  # any GT of the right size

    np.testing.assert_array_equal(np.stack(list(super_resolve(model, lr, chunk=3))), whole)
    assert counted == {"push_frames": 3, "flush_frames": 1}

    stage = ModelStage(model.streamer(), torch.device("cpu"))
    frames = stage.push(list(lr[:4])) + stage.push(list(lr[4:])) + stage.flush()
    np.testing.assert_array_equal(np.stack(frames), whole)
    assert counted == {"push_frames": 5, "flush_frames": 2}

    figures = [frame_metrics(s, g) for s, g in zip(whole, gt, strict=True)]
    scores = validate_clip(model, ValClip(name="c", lr=lr, gt=gt), make_precision("fp32", torch.device("cpu")), chunk=4)
    assert scores["frames"] == 7
    assert scores["psnr_y"] == pytest.approx(np.mean([f["psnr_y"] for f in figures]))
    assert counted == {"push_frames": 7, "flush_frames": 3}

    evaluated = score_clip(model, Clip(name="c", lr=lr, gt=gt), chunk=7)
    assert evaluated.metrics["ssim_y"] == pytest.approx(np.mean([f["ssim_y"] for f in figures]))
    assert counted == {"push_frames": 8, "flush_frames": 4}


def test_one_table_of_lr_grids() -> None:
    import vidsr.models.base as base
    import vidsr.models.layers as layers
    from vidsr.data.degradation import LR_GRID
    from vidsr.models.layers import bicubic_upsample

    assert not hasattr(layers, "LR_GRIDS") and not hasattr(base, "LR_GRIDS")
    assert set(LR_GRID.values()) == {"centre", "corner"}
    with pytest.raises(ValueError, match="centre, corner"):
        create("fsrcnn", 4, pretrained=False).set_lr_grid("middle")
    with pytest.raises(ValueError, match="centre, corner"):
        bicubic_upsample(torch.rand(1, 3, 4, 4), 4, grid="middle")
