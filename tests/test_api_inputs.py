"""The Python API with the input researchers get wrong: one clear error, never a silent wrong result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vidsr.data.degradation import degrade
from vidsr.data.frames import list_frames, read_frame, write_frame
from vidsr.errors import VidsrError
from vidsr.metrics import TemporalConsistency, psnr, psnr_from_mse, ssim
from vidsr.models import create


@pytest.fixture(scope="module")
def delta() -> torch.nn.Module:
    torch.manual_seed(0)
    return create("delta", 4, pretrained=False).eval()


def clip(frames: int = 10, size: int = 12) -> torch.Tensor:
    return torch.rand(1, frames, 3, size, size, generator=torch.Generator().manual_seed(1))


def test_a_reused_push_buffer_gives_the_whole_clip_result(delta: torch.nn.Module) -> None:
    # A decoder loop refills one tensor per frame; the warm-up holds its first 8 frames.
    lr = clip(12)
    with torch.inference_mode():
        whole = delta(lr)
        streamer, buffer, parts = delta.streamer(), torch.empty(1, 1, 3, 12, 12), []
        for t in range(lr.shape[1]):
            buffer.copy_(lr[:, t : t + 1])
            parts.append(streamer.push(buffer))
        parts.append(streamer.flush())
    torch.testing.assert_close(torch.cat(parts, dim=1), whole, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["delta", "bicubic"])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.bool])
def test_integer_frames_are_refused(name: str, dtype: torch.dtype) -> None:
    model = create(name, 4, pretrained=False)
    with pytest.raises(ValueError, match=r"expected float frames in \[0, 1\].*/ 255"):
        model((clip(3) * 255).to(dtype))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_other_float_dtypes_run_in_the_models_dtype(delta: torch.nn.Module, dtype: torch.dtype) -> None:
    lr = clip(3).to(dtype)
    with torch.inference_mode():
        out = delta(lr)
        assert out.dtype == torch.float32
        torch.testing.assert_close(out, delta(lr.float()))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_or_infinity_is_refused(delta: torch.nn.Module, bad: float) -> None:
    lr = clip(3)
    lr[0, 1, 0, 2, 2] = bad
    with pytest.raises(ValueError, match="NaN or infinity"):
        delta(lr)


def test_a_streamer_refuses_a_new_size_mid_video_and_takes_it_after_flush(delta: torch.nn.Module) -> None:
    with torch.inference_mode():
        streamer = delta.streamer()
        streamer.push(clip(9, 12))
        with pytest.raises(ValueError, match="batch 1, 16x16 after chunks of batch 1, 12x12"):
            streamer.push(clip(2, 16))
        streamer.flush()
        assert streamer.push(clip(9, 16)).shape[-1] == 64  # a new video


def test_an_empty_batch_is_refused(delta: torch.nn.Module) -> None:
    with pytest.raises(ValueError, match="B, h, w > 0"):
        delta(torch.rand(0, 3, 3, 8, 8))


@pytest.mark.parametrize("scale", ["4", 4.0, True])
def test_a_scale_that_is_not_an_integer_is_refused(scale: object) -> None:
    with pytest.raises(ValueError, match=f"scale must be the integer .* not {scale!r}"):
        create("delta", scale, pretrained=False)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": "delta", "pretrained": "no"}, "pretrained must be None, True or False"),
    ({"name": "delta", "denoise": 0.5, "degradation": "bd"}, "does not go with degradation='bd'"),
    ({"name": "bicubic", "weights": "any.safetensors"}, "bicubic has no weights to load"),
])  # fmt: skip
def test_create_refuses_arguments_it_would_ignore(kwargs: dict, message: str) -> None:
    with pytest.raises(VidsrError, match=message):
        create(scale=4, **kwargs)


def test_a_text_file_as_weights_says_what_it_is_not(tmp_path: Path) -> None:
    (tmp_path / "w.safetensors").write_text("hello\n")
    with pytest.raises(VidsrError, match="not a readable safetensors file"):
        create("delta", 4, weights=tmp_path / "w.safetensors")


def test_metrics_refuse_images_in_zero_to_one() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random((16, 16, 3)), rng.random((16, 16, 3))
    with pytest.raises(ValueError, match=r"in \[0, 1\]; the metrics take 0..255"):
        psnr(a, b)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        ssim((a * 255).round().astype(np.uint8), a)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        TemporalConsistency().add(a, b)
    # 0..255 floats, and a dark 0..255 image of only 0s and 1s, are fine
    assert psnr(a * 255, a * 255) == float("inf")
    assert psnr(np.zeros((16, 16)), (a[..., 0] > 0.5).astype(np.float64)) > 0


def test_metrics_refuse_nan_and_negative_mse() -> None:
    image = np.full((16, 16), 100.0)
    image[3, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        psnr(image, np.full((16, 16), 100.0))
    with pytest.raises(ValueError, match="an MSE is a number >= 0"):
        psnr_from_mse(-1.0)
    with pytest.raises(ValueError, match=r"got shape \(0, 0\)"):
        psnr(np.zeros((0, 0)), np.zeros((0, 0)))  # was nan, with numpy's warnings


def test_temporal_consistency_refuses_frames_of_two_shapes() -> None:
    tc = TemporalConsistency()
    with pytest.raises(ValueError, match="differ in shape"):
        tc.add(np.zeros((8, 8, 3), np.uint8), np.zeros((1, 8, 3), np.uint8))  # broadcastable, still wrong


@pytest.mark.parametrize(("frames", "message"), [
    ((torch.rand(1, 3, 16, 16) * 255).to(torch.uint8), "got torch.uint8"),
    (torch.rand(1, 3, 16, 16) * 255, "values up to .*divide by 255"),
    (torch.rand(1, 3, 3, 3), "3x3 are smaller than the scale 4"),
])  # fmt: skip
def test_degrade_refuses_what_it_would_turn_white_or_empty(frames: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        degrade(frames, 4)


def test_write_frame_refuses_channels_first(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="channels first"):
        write_frame(tmp_path / "f.png", np.zeros((3, 8, 8), np.uint8))
    assert not (tmp_path / "f.png").exists()


def test_upscale_video_takes_a_model_instances_scale(tmp_path: Path) -> None:
    from vidsr import upscale_video

    rng = np.random.default_rng(0)
    for t in range(2):
        write_frame(tmp_path / "in" / f"{t}.png", rng.integers(0, 256, (8, 10, 3), dtype=np.uint8))
    model = create("bicubic", 2)
    upscale_video(tmp_path / "in", tmp_path / "out", model=model, quiet=True)
    assert read_frame(list_frames(tmp_path / "out")[0]).shape == (16, 20, 3)
    with pytest.raises(VidsrError, match="the model given is x2, not x4"):
        upscale_video(tmp_path / "in", tmp_path / "out4", model=model, scale=4, quiet=True)
