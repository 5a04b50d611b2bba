"""two_step and two_step_five_parallel: the shipped fsrcnn as a frozen step 1, a delta or
five_parallel refiner as step 2, step-1 frames cached for training, streaming (issue 13)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from test_streaming import stream
from test_training_helpers import make_clips, tiny_overrides

from vidsr.errors import VidsrError
from vidsr.models import create, save_weights
from vidsr.models.delta import Delta
from vidsr.models.facts import macs_per_lr_pixel, summarize
from vidsr.models.five_parallel import FiveParallel
from vidsr.models.fsrcnn import FSRCNN
from vidsr.models.layers import count_parameters
from vidsr.models.registry import pretrained_path
from vidsr.models.two_step import TwoStep
from vidsr.training.checkpoint import load_checkpoint
from vidsr.training.config import load_config
from vidsr.training.data import Clip, TrainingWindows
from vidsr.training.distributed import DistContext
from vidsr.training.trainer import Trainer, WithPrecomputed

pytestmark = pytest.mark.usefixtures("tiny_tensors")

NAMES = ["two_step", "two_step_five_parallel"]
FSRCNN_X4_BI = pretrained_path("fsrcnn", 4, "bi")


def shipped_fsrcnn() -> dict[str, torch.Tensor]:
    return load_file(str(FSRCNN_X4_BI))


def assert_step1_is_the_shipped_fsrcnn(state: dict[str, torch.Tensor]) -> None:
    shipped = shipped_fsrcnn()
    assert {key for key in state if key.startswith("step1.")} == {f"step1.{key}" for key in shipped}
    for key, value in shipped.items():
        assert torch.equal(state[f"step1.{key}"].cpu(), value), key  # bit-identical


def perturbed(model: TwoStep, std: float = 0.05) -> TwoStep:
    """Step 2's zero-initialised parameters (its head) made random; step 1 untouched."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            if not param.any():
                param.copy_(torch.randn(param.shape, generator=generator) * std)
    return model


# --- step 1: the shipped fsrcnn, frozen -------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_two_step_loads_the_shipped_fsrcnn_into_a_frozen_step_1(name):
    model = create(name, 4, pretrained=False)
    assert model.step1_source == str(FSRCNN_X4_BI)
    assert_step1_is_the_shipped_fsrcnn(model.state_dict())
    assert list(model.step1.parameters()) == []  # frozen: buffers, out of reach of any optimiser
    assert not any(buffer.requires_grad for buffer in model.step1.buffers())
    model.train()
    assert model.training and model.step2.training and not model.step1.training
    # step 2 is delta / five_parallel adapted: same class, same recurrent core
    assert isinstance(model.step2, Delta if name == "two_step" else FiveParallel)
    assert model.radius == model.step2.radius and model.warmup == model.step2.warmup == 8
    x = torch.rand(1, 3, 3, 8, 9, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(model.step1_frames(x), create("fsrcnn", 4, pretrained=True)(x),
                                   rtol=0, atol=1e-6)


def test_step_1_takes_other_fsrcnn_weights_and_a_two_step_file_carries_its_step_1(tmp_path: Path):
    torch.manual_seed(3)
    other = FSRCNN(4)
    torch.nn.init.normal_(other.head.conv.weight, std=0.01)
    path = save_weights(other, tmp_path / "fsrcnn.safetensors")
    model = create("two_step", 4, pretrained=False).load_step1(path)
    assert model.step1_source == str(path)
    for key, value in other.state_dict().items():
        assert torch.equal(model.state_dict()[f"step1.{key}"], value), key
    saved = save_weights(model, tmp_path / "two_step.safetensors")
    loaded = create("two_step", 4, weights=saved)  # built with the shipped step 1, then loaded
    for key, value in other.state_dict().items():
        assert torch.equal(loaded.state_dict()[f"step1.{key}"], value), key


def test_without_a_shipped_fsrcnn_step_1_is_bicubic():
    for scale, degradation in [(4, "bd"), (2, "bi")]:
        model = create("two_step", scale, degradation=degradation, pretrained=False)
        assert model.step1_source is None
        assert not model.step1.head.conv.weight.any()  # an untrained FSRCNN: exactly bicubic


@pytest.mark.parametrize("name", NAMES)
def test_parts_and_multiply_adds(name):
    model = create(name, 4, pretrained=False)
    parts = model.parts()
    assert parts["step1"] == count_parameters(FSRCNN(4)) == 35_312
    assert parts["step2"] == count_parameters(model)
    summary = summarize(name, 4)
    assert summary.params == parts["step1"] + parts["step2"]
    fsrcnn = macs_per_lr_pixel(create("fsrcnn", 4, pretrained=False))
    assert summary.macs_per_lr_pixel == pytest.approx(fsrcnn + parts["step2"], rel=0.02)


# --- streaming -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("sizes", [[1], [3], [7], [2, 0, 5]])
def test_streaming_equals_the_whole_clip(name, sizes):
    torch.manual_seed(0)
    model = perturbed(create(name, 4, pretrained=False)).eval()
    lr = torch.rand(1, 10, 3, 7, 9, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        whole = model(lr)
        streamed = stream(model, lr, sizes)
    assert whole.shape == (1, 10, 3, 28, 36)
    torch.testing.assert_close(streamed, whole, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_training_on_precomputed_step_1_frames_equals_running_step_1(name):
    torch.manual_seed(0)
    model = perturbed(create(name, 4, pretrained=False))
    lr = torch.rand(2, 7, 3, 6, 8, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        direct, state = model.forward_sequence(lr)
        fed, fed_state = model.forward_sequence(lr, precomputed=model.step1_frames(lr))
    torch.testing.assert_close(fed, direct, rtol=0, atol=0)
    with pytest.raises(ValueError, match="do not match"):
        model.forward_sequence(lr, precomputed=model.step1_frames(lr[:, 1:]))


# --- training: cached step-1 frames, step 1 unchanged --------------------------------------------


@pytest.fixture(scope="module")
def clips_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clips(tmp_path_factory.mktemp("clips") / "data", clips=3, frames=6, size=64)


def _overrides(clips_dir: Path, run_dir: Path, cache: Path, name: str = "two_step", **extra: object) -> list[str]:
    return tiny_overrides(clips_dir, run_dir, steps=4, **{
        "model.name": name, "data.batch_size": 2, "data.gt_patch": 32,
        "data.window": 2 if name == "two_step" else 1, "train.val_interval": 4, "val.crop": 32,
        "val.max_frames": 6, "data.lr_cache": str(cache), **extra})


@pytest.mark.parametrize("name", NAMES)
def test_step_1_stays_bit_identical_through_training(name, clips_dir: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    config = load_config(None, _overrides(clips_dir, tmp_path / "run", cache, name))
    trainer = Trainer(config, DistContext(), tmp_path / "run", None, quiet=True)
    assert isinstance(trainer.dataset, WithPrecomputed)
    step2 = {key: value.detach().clone() for key, value in trainer.model.named_parameters()}
    assert step2 and not any(key.startswith("step1.") for key in step2)
    result = trainer.run()
    assert result.step == 4 and math.isfinite(result.loss) and math.isfinite(result.best["psnr_y"])
    assert_step1_is_the_shipped_fsrcnn(trainer.model.state_dict())
    saved = load_checkpoint(tmp_path / "run" / "last.pt")["model"]
    assert_step1_is_the_shipped_fsrcnn(saved)
    assert all(not torch.equal(saved[key], value) for key, value in step2.items())  # step 2 trained
    assert not trainer.model.step1.training


def test_step_1_frames_are_computed_once_cached_and_reused(clips_dir: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    cache = tmp_path / "cache"
    trainer = Trainer(load_config(None, _overrides(clips_dir, tmp_path / "a", cache)), DistContext(),
                      tmp_path / "a", None, quiet=True)
    key = trainer.model.precompute_key()
    assert trainer.model.step1_sha256()[:16] in key
    files = sorted(cache.glob(f"*-{key}-*.npy"))
    assert len(files) == len(trainer.train_clips) == 2
    clip = trainer.train_clips[0]
    cached = np.load(next(f for f in files if f.name.startswith(clip.name)))
    assert cached.shape == clip.gt.shape and cached.dtype == np.uint8
    with torch.no_grad():
        frames = trainer.model.step1_frames(torch.from_numpy(clip.lr).permute(0, 3, 1, 2)[None] / 255.0)[0]
    # the cache holds step 1's whole-frame output as 8-bit frames (rounded, clamped)
    expected = (frames.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert np.abs(cached.astype(int) - expected.astype(int)).max() <= 1

    def recompute(*args, **kwargs):
        raise AssertionError("step 1 ran again instead of reading the cache")

    monkeypatch.setattr(TwoStep, "precompute", recompute)
    again = Trainer(load_config(None, _overrides(clips_dir, tmp_path / "b", cache)), DistContext(),
                    tmp_path / "b", None, quiet=True)
    lr, gt, step1 = again.dataset[0]
    assert step1.shape == (2 + 2, 3, 32, 32) and gt.shape == (2, 3, 32, 32)


def test_colour_augmentation_is_refused_for_cached_step_1_frames(clips_dir: Path, tmp_path: Path):
    config = load_config(None, _overrides(clips_dir, tmp_path, tmp_path / "cache", **{"data.colour": 0.5}))
    with pytest.raises(VidsrError, match="data.colour and data.pan must be 0 for two_step"):
        Trainer(config, DistContext(), tmp_path, None, quiet=True)


@pytest.mark.parametrize("grid", ["centre", "corner"])
def test_precomputed_windows_match_the_gt_windows(grid: str):
    """With the GT itself as the 'precomputed' frames, every sample's frames equal its GT
    (window, reversal, crop, flips, transpose all drawn alike), plus the context frames."""
    rng = np.random.default_rng(0)
    clips = [Clip(f"c{k}", rng.integers(0, 256, (9 + k, 48, 40, 3), dtype=np.uint8),
                  rng.integers(0, 256, (9 + k, 12, 10, 3), dtype=np.uint8)) for k in range(3)]
    common = dict(intervals=[1, 2], gt_patch=16, seed=5, lr_grid=grid)
    windows = TrainingWindows(clips, 4, window=3, context=2, **common)
    frames = TrainingWindows(clips, 4, window=3 + 4, context=0, **common)
    paired = WithPrecomputed(windows, frames)
    for index in range(40):
        lr, gt, pre = paired[index]
        assert pre.shape == (7, 3, 16, 16) and lr.shape == (7, 3, 4, 4)
        torch.testing.assert_close(pre[2:5], gt, rtol=0, atol=0)


def test_two_step_configs_load():
    root = Path(__file__).resolve().parents[1] / "configs"
    for name in NAMES:
        config = load_config(root / f"{name}_x4_bi.yaml")
        assert config.model.name == name and config.data.colour == 0
        assert (config.data.window, config.data.chunk, config.data.gt_patch) == (30, 10, 256)


@pytest.mark.parametrize("name, one_step", [("two_step", Delta), ("two_step_five_parallel", FiveParallel)])
def test_one_step_weights_start_step_2_and_the_model_starts_as_its_step_1(name, one_step, clips_dir: Path,
                                                                           tmp_path: Path):
    """``model.init_weights`` may be the one-step model's weights: step 2 takes them (first
    layer spread over the sub-pixel phases, head zeroed), step 1 stays the shipped fsrcnn."""
    torch.manual_seed(0)
    source = one_step(4)
    with torch.no_grad():
        source.core.head.conv.weight.normal_(0, 0.05)
    path = save_weights(source, tmp_path / "one_step.safetensors")
    config = load_config(None, _overrides(clips_dir, tmp_path / "run", tmp_path / "cache", name,
                                          **{"model.init_weights": str(path)}))
    model = Trainer(config, DistContext(), tmp_path / "run", None, quiet=True).model
    assert_step1_is_the_shipped_fsrcnn(model.state_dict())
    state = model.state_dict()
    for key, value in source.state_dict().items():
        if key.startswith(("core.trunk.", "core.temporal.")):
            assert torch.equal(state[f"step2.{key}"], value), key
    assert not state["step2.core.head.conv.weight"].any()
    first = "features.0.weight" if one_step is Delta else "stacks.0.weight"
    spread = state[f"step2.{first}"].unflatten(1, (3, 16)).sum(dim=2)  # phases of a channel add up
    kernel = spread.shape[-1]
    crop = (source.state_dict()[first].shape[-1] - kernel) // 2
    torch.testing.assert_close(spread, source.state_dict()[first][..., crop:crop + kernel, crop:crop + kernel])
    lr = torch.rand(1, 6, 3, 8, 8, generator=torch.Generator().manual_seed(4)) * 0.8 + 0.1
    with torch.no_grad():
        out, step1 = model.eval()(lr), model.step1_frames(lr)
    inside = (step1 > 1 / 32) & (step1 < 1 - 1 / 32)  # five_parallel's soft clamp bends outside
    torch.testing.assert_close(out[inside], step1[inside], rtol=0, atol=1e-6)


def test_the_shipped_two_step_weights_carry_the_shipped_fsrcnn_as_step_1():
    """Step 1 stayed frozen through the shipped run: the file holds fsrcnn bit for bit."""
    shipped = pretrained_path("two_step", 4, "bi")
    if not shipped.is_file():
        pytest.skip("no shipped two_step x4 BI weights")
    assert_step1_is_the_shipped_fsrcnn(load_file(str(shipped)))
    model = create("two_step", 4, pretrained=True)
    assert_step1_is_the_shipped_fsrcnn(model.state_dict())
