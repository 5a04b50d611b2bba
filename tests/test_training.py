"""Training: config, data pipeline, schedules, losses, checkpoints and a tiny run per model."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_training_helpers import TINY, make_clips, tiny_overrides

from vidsr.data.degradation import degrade_uint8
from vidsr.errors import VidsrError
from vidsr.models.registry import MODELS
from vidsr.training.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from vidsr.training.config import (
    Config,
    OptimConfig,
    ScheduleConfig,
    config_differences,
    config_from_dict,
    load_config,
    parse_override,
    resolve_num_workers,
)
from vidsr.training.data import (
    Clip,
    StepSampler,
    TrainingWindows,
    discover_clips,
    load_clip,
    split_clips,
    validation_clips,
)
from vidsr.training.distributed import DistContext
from vidsr.training.logbook import MetricsLog, read_metrics
from vidsr.training.losses import charbonnier, make_loss
from vidsr.training.optim import lr_factor, make_optimizer, make_scheduler
from vidsr.training.trainer import Trainer, build_model, train

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))
TRAINABLE = [name for name in MODELS if name not in ("raw", "bicubic")]


@pytest.fixture(scope="module")
def clips_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clips(tmp_path_factory.mktemp("clips") / "data")


# -- config ---------------------------------------------------------------------------


def test_overrides_are_yaml_scalars_with_dotted_keys() -> None:
    assert parse_override("optim.lr=2e-4") == {"optim": {"lr": "2e-4"}}  # YAML 1.1: a string
    config = load_config(None, ["optim.lr=2e-4", "train.steps=100", "data.val_split=[dog,goat]",
                                "optim.clip_grad=null", "data.interval=2", "data.flip=false"])
    assert config.optim.lr == pytest.approx(2e-4) and isinstance(config.optim.lr, float)
    assert config.train.steps == 100
    assert config.data.val_split == ["dog", "goat"]
    assert config.optim.clip_grad is None
    assert config.data.interval == [2]
    assert config.data.flip is False


def test_a_config_named_after_its_model_is_renamed_by_overrides_that_change_it() -> None:
    """flow_x4_bi.yaml with model.scale=2 trains flow_x2_bi: its own bar label and run folder."""
    config_file = Path(__file__).parents[1] / "configs" / "flow_x4_bi.yaml"
    assert load_config(config_file).name == "flow_x4_bi"
    assert load_config(config_file, ["model.scale=2"]).name == "flow_x2_bi"
    assert load_config(config_file, ["data.degradation=bd"]).name == "flow_x4_bd"
    assert load_config(config_file, ["model.scale=2", "name=mine"]).name == "mine"  # a name given stays
    assert load_config(None, ["model.scale=2"]).name == "run"


@pytest.mark.parametrize(
    "override, message",
    [
        ("optim.lrr=1", "unknown config key 'optim.lrr'"),
        ("train.steps=many", "override 'train.steps=many': train.steps must be an integer"),
        ("data.gt_patch=30", "multiple of model.scale"),
        ("loss.name=huber", "loss.name must be one of"),
        ("train.precision=fp8", "train.precision must be one of"),
        ("optim=3", "must be a section"),
        ("noequals", "key=value"),
        ("data.val_split=[000, 011]", "quote numeric clip names"),
        ("train.checkpoint_interval=30", r"checkpoint_interval \(30\) must be a multiple of train.log_interval \(20\)"),
        ("data.num_workers=many", "data.num_workers must be auto or a count >= 0, not 'many'"),
        ("data.num_workers=-1", "data.num_workers must be auto or a count >= 0, not -1"),
        ("optim.name=rmsprop", "optim.name must be one of adam, adamw, sgd"),
        ("optim.momentum=0.9", "optim.momentum is for sgd; adam uses optim.betas"),
        ("train.ema=1", r"train.ema must be in \[0, 1\)"),
        ("train.ema=-0.1", r"train.ema must be in \[0, 1\)"),
        ("optim.lr=.nan", "override 'optim.lr=.nan': optim.lr must be a positive number, not nan"),
        ("optim.lr=.inf", "optim.lr must be a positive number, not inf"),
        ("optim.weight_decay=-1", "optim.weight_decay must be 0 or more"),
        ("optim.betas=[1.5, 0.9]", r"optim.betas must be two numbers in \[0, 1\)"),
        ("train.seed=-1", r"train.seed must be from 0 to 2\*\*32 - 1"),
        ("schedule.min_lr=-1", "schedule.min_lr must be 0 or more"),
        ("schedule.gamma=-1", "schedule.gamma must be a positive factor"),
        ("loss.eps=-1", "loss.eps must be a positive number"),
        ("data.sigma=.nan", "data.sigma must be a positive number, not nan"),
        ("loss.warp_weight=.nan", "loss.warp_weight must be 0 or more"),
    ],
)
def test_bad_configs_name_the_key(override: str, message: str) -> None:
    with pytest.raises(VidsrError, match=message):
        load_config(None, [override])


def test_num_workers_default_to_the_machine_and_take_a_count(
    monkeypatch: pytest.MonkeyPatch, clips_dir: Path, tmp_path: Path
) -> None:
    assert load_config(None).data.num_workers == "auto"
    assert load_config(None, ["data.num_workers=3"]).data.num_workers == 3
    assert resolve_num_workers(3) == 3 and resolve_num_workers(0) == 0
    assert {load_config(path).data.num_workers for path in CONFIGS if path.stem != "smoke"} == {"auto"}
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    for cpus, workers in [(1, 0), (2, 1), (4, 3), (16, 4)]:
        monkeypatch.setattr("os.sched_getaffinity", lambda _pid, n=cpus: set(range(n)), raising=False)
        assert resolve_num_workers("auto") == workers, cpus
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")  # torchrun: 4 processes share the 16 CPUs
    assert resolve_num_workers("auto") == 3
    monkeypatch.undo()
    # The trainer resolves auto (the DataLoader takes only a count); the config keeps it.
    run_dir = tmp_path / "auto"
    train(load_config(None, tiny_overrides(clips_dir, run_dir, steps=2, **{"data.num_workers": "auto"})),
          quiet=True)
    assert load_config(run_dir / "config.yaml").data.num_workers == "auto"


def test_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(VidsrError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(VidsrError, match=r"not valid YAML: .* \(line 2, column 1\)$") as caught:
        load_config(bad)
    assert "\n" not in str(caught.value)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    with pytest.raises(VidsrError, match="mapping"):
        load_config(listed)


def test_config_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "my_run.yaml"
    path.write_text("optim:\n  lr: 1e-3\n")
    config = load_config(path)
    assert config.name == "my_run" and config.optim.lr == pytest.approx(1e-3)
    assert config_differences(config, load_config(path, ["train.steps=5"])) == ["train.steps"]


def test_example_configs_cover_every_model_and_load() -> None:
    names = {path.stem for path in CONFIGS}
    for model in TRAINABLE:
        assert f"{model}_x4_bi" in names, f"configs/{model}_x4_bi.yaml missing"
    assert {"delta_x4_bd", "five_parallel_x4_bd", "smoke"} <= names
    for path in CONFIGS:
        config = load_config(path)
        assert config.model.name in MODELS
        if path.stem != "smoke":
            assert path.stem == f"{config.model.name}_x{config.model.scale}_{config.data.degradation}"
        for folder in config.data.train_dirs:
            assert "vid4" not in folder.lower(), f"{path.name} trains on Vid4"


# -- data -----------------------------------------------------------------------------


def _block_mean(gt: np.ndarray, scale: int) -> np.ndarray:
    """s x s block means: a degradation that commutes with flips and transposes."""
    t, h, w, c = gt.shape
    blocks = gt.reshape(t, h // scale, scale, w // scale, scale, c).astype(np.float64)
    return np.floor(blocks.mean(axis=(2, 4)) + 0.5).astype(np.uint8)


def _random_clip(name: str, frames: int, size: int, scale: int, seed: int) -> Clip:
    """A noise clip with block-mean LR frames: any misaligned crop is visible."""
    gt = np.random.default_rng(seed).integers(0, 256, (frames, size, size, 3), dtype=np.uint8)
    return Clip(name, gt, _block_mean(gt, scale))


@settings(max_examples=40, deadline=None)
@given(index=st.integers(0, 2**40), scale=st.sampled_from([2, 3, 4]))
def test_lr_patch_matches_gt_patch_under_every_augmentation(index: int, scale: int) -> None:
    clips = [_random_clip("a", 6, 12 * scale, scale, 0), _random_clip("b", 9, 15 * scale, scale, 1)]
    windows = TrainingWindows(clips, scale, window=3, intervals=[1, 2], gt_patch=4 * scale, seed=3)
    lr, gt = windows[index]
    assert lr.shape == (3, 3, 4, 4) and gt.shape == (3, 3, 4 * scale, 4 * scale)
    gt_uint8 = (gt.permute(0, 2, 3, 1) * 255).round().byte().numpy()
    expected = torch.from_numpy(_block_mean(gt_uint8, scale)).permute(0, 3, 1, 2) / 255.0
    torch.testing.assert_close(lr, expected, rtol=0, atol=0)
    lr_again, gt_again = windows[index]
    assert torch.equal(lr, lr_again) and torch.equal(gt, gt_again)


@settings(max_examples=40, deadline=None)
@given(index=st.integers(0, 2**40), scale=st.sampled_from([2, 3, 4]))
def test_corner_grid_lr_pixel_is_its_gt_pixel_under_every_augmentation(index: int, scale: int) -> None:
    """BD-style LR (GT pixel (s*i, s*j), no blur) keeps that pairing through flips and transposes."""
    rng = np.random.default_rng(scale)
    clips = []
    for name, size in (("a", 12), ("b", 15)):
        gt = rng.integers(0, 256, (6, size * scale, size * scale, 3), dtype=np.uint8)
        clips.append(Clip(name, gt, np.ascontiguousarray(gt[:, ::scale, ::scale])))
    windows = TrainingWindows(clips, scale, window=3, intervals=[1], gt_patch=4 * scale, seed=3,
                              lr_grid="corner")
    lr, gt = windows[index]
    assert lr.shape == (3, 3, 4, 4) and gt.shape == (3, 3, 4 * scale, 4 * scale)
    torch.testing.assert_close(lr, gt[..., ::scale, ::scale], rtol=0, atol=0)


def test_a_flip_moves_corner_sampled_lr_without_the_grid_fix() -> None:
    """Why the corner grid shifts the GT crop: flipped naively, LR pixel i lands on GT pixel s*i + s-1."""
    gt = np.random.default_rng(0).integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)
    lr = gt[:, ::4, ::4]
    flipped_lr, flipped_gt = lr[:, :, ::-1], gt[:, :, ::-1]
    assert np.array_equal(flipped_lr, flipped_gt[:, ::4, 3::4])
    assert not np.array_equal(flipped_lr, flipped_gt[:, ::4, ::4])


def test_windows_are_consecutive_or_reversed_frames() -> None:
    frames, size = 10, 16
    gt = np.zeros((frames, size, size, 3), dtype=np.uint8)
    gt[...] = np.arange(frames, dtype=np.uint8)[:, None, None, None] * 20  # frame id as value
    clip = Clip("ids", gt, np.ascontiguousarray(gt[:, ::4, ::4]))
    windows = TrainingWindows([clip], 4, window=4, intervals=[2], gt_patch=8, seed=0)
    orders = set()
    for index in range(30):
        ids = (windows[index][1][:, 0, 0, 0] * 255 / 20).round().int().tolist()
        steps = np.diff(ids)
        assert set(steps.tolist()) in ({2}, {-2}), ids
        orders.add(int(steps[0]))
    assert orders == {2, -2}  # random reversal happens, both ways


def test_samples_differ_and_augmentations_can_be_disabled() -> None:
    clip = _random_clip("a", 5, 32, 4, 0)
    windows = TrainingWindows([clip], 4, window=1, intervals=[1], gt_patch=32, seed=0,
                              reverse=False, flip=False, transpose=False)
    # Whole-frame patches without augmentation: every sample is a frame of the clip.
    for index in range(10):
        _, gt = windows[index]
        frame = (gt[0].permute(1, 2, 0) * 255).round().byte().numpy()
        assert any(np.array_equal(frame, f) for f in clip.gt)
    other = TrainingWindows([clip], 4, window=1, intervals=[1], gt_patch=16, seed=0)
    assert not all(torch.equal(other[0][1], other[i][1]) for i in range(1, 6))


def test_windows_reject_impossible_sizes() -> None:
    clip = _random_clip("a", 3, 16, 4, 0)
    with pytest.raises(VidsrError, match="do not fit"):
        TrainingWindows([clip], 4, window=5, intervals=[1], gt_patch=8)
    with pytest.raises(VidsrError, match="large enough"):
        TrainingWindows([clip], 4, window=1, intervals=[1], gt_patch=32)


@pytest.mark.parametrize("world", [1, 2, 4])
def test_step_sampler_shards_each_step_like_one_process(world: int) -> None:
    batch, start = 8, 5
    single = StepSampler(batch, start_step=start)
    single_iter = iter(single)
    shards = [iter(StepSampler(batch, start, rank, world)) for rank in range(world)]
    for step in range(start, start + 3):
        expected = [next(single_iter) for _ in range(batch)]
        got = [next(it) for it in shards for _ in range(batch // world)]
        assert got == expected == list(range(step * batch, (step + 1) * batch))
    with pytest.raises(VidsrError, match="not divisible"):
        StepSampler(6, world_size=4)


def test_clip_discovery_split_and_lr_cache(clips_dir: Path, tmp_path: Path) -> None:
    folders = discover_clips([clips_dir])
    assert list(folders) == ["clip0", "clip1", "clip2"]
    assert split_clips(list(folders), 1) == (["clip0", "clip2"], ["clip1"])
    assert split_clips(list(folders), ["clip2"]) == (["clip0", "clip1"], ["clip2"])
    assert split_clips(list(folders), 0) == (list(folders), [])
    with pytest.raises(VidsrError, match="Vid4, the evaluation set"):
        discover_clips([make_clips(tmp_path / "Vid4" / "GT", clips=1, frames=1, size=8)])
    with pytest.raises(VidsrError, match="not among"):
        split_clips(list(folders), ["vid4_calendar"])
    with pytest.raises(VidsrError, match="all 3"):
        split_clips(list(folders), 3)
    # LR frames are the foundation's degradation of the full GT frames, cached on disk.
    clip = load_clip("clip0", folders["clip0"], 4, "bd", 1.6, cache_dir=tmp_path)
    np.testing.assert_array_equal(clip.lr, degrade_uint8(clip.gt, 4, "bd", 1.6))
    cached = list(tmp_path.glob("clip0-*.npy"))
    assert len(cached) == 1
    np.save(cached[0], np.zeros_like(clip.lr))  # a planted cache entry is what gets used
    assert not load_clip("clip0", folders["clip0"], 4, "bd", 1.6, cache_dir=tmp_path).lr.any()
    assert load_clip("clip0", folders["clip0"], 4, "bi", 1.6, cache_dir=tmp_path).lr.any()


def test_validation_views_crop_lr_and_gt_consistently() -> None:
    clip = _random_clip("v", 7, 40, 4, 2)
    (view,) = validation_clips([clip], 4, crop=16, max_frames=5)
    assert view.lr.shape == (5, 4, 4, 3) and view.gt.shape == (5, 16, 16, 3)
    np.testing.assert_array_equal(view.lr, _block_mean(view.gt, 4))
    np.testing.assert_array_equal(view.gt, clip.gt[:5, 12:28, 12:28])


# -- optimisation ---------------------------------------------------------------------


def test_cosine_schedule_warms_up_then_decays_to_the_floor() -> None:
    config = ScheduleConfig(name="cosine", warmup_steps=10, min_lr=1e-6)
    base, total = 1e-3, 110
    factors = [lr_factor(step, total, config, base) for step in range(total + 1)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert factors[10] == pytest.approx(1.0)
    assert factors[60] == pytest.approx((1 + 1e-3) / 2, rel=1e-6)  # half-way: mean of ends
    assert factors[total] * base == pytest.approx(1e-6)
    assert all(a >= b for a, b in zip(factors[10:], factors[11:]))


def test_step_schedule_and_scheduler_drive_the_optimizer() -> None:
    config = ScheduleConfig(name="step", warmup_steps=0, milestones=[3, 5], gamma=0.1)
    model = torch.nn.Linear(2, 2)
    optimizer = make_optimizer(model.parameters(), Config().optim)
    scheduler = make_scheduler(optimizer, config, total_steps=10)
    rates = []
    for _ in range(6):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates == pytest.approx([4e-4] * 3 + [4e-5] * 2 + [4e-6])
    with pytest.raises(VidsrError, match="no trainable"):
        make_optimizer([], Config().optim)


def test_lr_scale_gives_a_part_of_the_model_its_own_rate() -> None:
    config = config_from_dict({}, overrides=["optim.lr=1e-3", "optim.lr_scale={core.feedback: 10}"])
    model = build_model("delta", 4, "bi")
    optimizer = make_optimizer(model, config.optim)
    scheduler = make_scheduler(optimizer, ScheduleConfig(name="cosine", warmup_steps=2), total_steps=10)
    rates = [g["lr"] for g in optimizer.param_groups]
    assert rates == pytest.approx([5e-4, 5e-3])  # half-way through the warm-up, ratio 10
    feedback = {id(p) for p in model.core.feedback.parameters()}
    assert {id(p) for p in optimizer.param_groups[1]["params"]} == feedback
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(model.parameters()))
    with torch.no_grad():  # (zero-initialised layers would pass no gradient back)
        for param in model.parameters():
            param.add_(0.01 * torch.randn_like(param))
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    model(torch.rand(1, 3, 3, 8, 8)).sum().backward()
    optimizer.step()  # Adam's first step moves each weight by about its group's rate
    moved = {name: (p.detach() - before[name]).abs().max().item() for name, p in model.named_parameters()}
    assert moved["core.feedback.weight"] == pytest.approx(5e-3, rel=0.05)
    assert moved["core.temporal.weight"] == pytest.approx(5e-4, rel=0.05)
    scheduler.step()
    assert optimizer.param_groups[1]["lr"] == pytest.approx(10 * optimizer.param_groups[0]["lr"])
    with pytest.raises(VidsrError, match="no trainable parameter under core.feedbak"):
        make_optimizer(model, config_from_dict({}, overrides=["optim.lr_scale={core.feedbak: 10}"]).optim)
    with pytest.raises(VidsrError, match="lr_scale must map parameter-name prefixes to positive numbers"):
        config_from_dict({}, overrides=["optim.lr_scale={core.feedback: 0}"])
    with pytest.raises(VidsrError, match="lr_scale must be a mapping"):
        config_from_dict({}, overrides=["optim.lr_scale=10"])


def test_sgd_takes_plain_gradient_steps() -> None:
    model = torch.nn.Linear(2, 1, bias=False)
    optimizer = make_optimizer(model.parameters(), OptimConfig(name="sgd", lr=0.5))
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.param_groups[0]["momentum"] == 0
    start = model.weight.detach().clone()
    for _ in range(2):  # no momentum: each step is -lr * gradient of that step alone
        before = model.weight.detach().clone()
        optimizer.zero_grad()
        model(torch.ones(1, 2)).sum().backward()
        optimizer.step()
        torch.testing.assert_close(model.weight.detach(), before - 0.5 * torch.ones(1, 2))
    assert torch.equal(model.weight.detach(), start - 1.0)
    assert load_config(None, ["optim.name=sgd", "optim.momentum=0.9"]).optim.momentum == 0.9


def test_losses() -> None:
    sr, gt = torch.tensor([0.0, 0.5, 1.0]), torch.tensor([0.0, 0.0, 0.25])
    expected = np.mean(np.sqrt(np.array([0.0, 0.25, 0.5625]) + 1e-6))
    assert float(charbonnier(sr, gt)) == pytest.approx(expected)
    assert float(make_loss("l1")(sr, gt)) == pytest.approx(1.25 / 3)
    assert float(make_loss("mse")(sr, gt)) == pytest.approx(0.8125 / 3)
    assert float(make_loss("charbonnier", 0.0)(sr, sr)) == 0.0
    half = make_loss("charbonnier")(sr.bfloat16(), gt.bfloat16())
    assert half.dtype == torch.float32  # losses are computed in float32 under autocast


# -- checkpoints and logs -------------------------------------------------------------


def test_checkpoints_are_atomic_and_restore_every_rng(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint({"step": 1, "model": {"w": torch.ones(2)}}, path)
    state = rng_state()
    expected = (np.random.rand(), torch.rand(1), __import__("random").random())
    set_rng_state(state)
    assert (np.random.rand(), torch.rand(1), __import__("random").random()) == expected
    with pytest.raises((pickle.PicklingError, AttributeError)):  # (a local lambda: AttributeError)
        save_checkpoint({"step": 2, "model": lambda: None}, path)  # cannot be saved
    assert load_checkpoint(path)["step"] == 1  # the old checkpoint survives a failed write
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary left behind
    save_checkpoint({"step": 3, "rng": [state]}, path)
    loaded = load_checkpoint(path)  # weights_only=True inside
    assert loaded["step"] == 3 and torch.equal(loaded["rng"][0]["torch"], state["torch"])
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(VidsrError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def test_metrics_log_truncates_rows_after_a_resumed_step(tmp_path: Path) -> None:
    log = MetricsLog(tmp_path / "metrics.jsonl")
    for step in (2, 4, 6):
        log.write({"kind": "train", "step": step, "loss": 1.0 / step})
    with log.path.open("a") as file:
        file.write('{"kind": "tra')  # torn line of a killed run
    assert [r["step"] for r in read_metrics(log.path)] == [2, 4, 6]
    log.truncate_after(4)
    assert [r["step"] for r in read_metrics(log.path)] == [2, 4]


# -- runs -----------------------------------------------------------------------------


def test_tiny_run_writes_the_run_folder(clips_dir: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = train(load_config(None, tiny_overrides(clips_dir, run_dir, steps=6)), quiet=True)
    assert result.step == 6 and math.isfinite(result.loss)
    assert {"config.yaml", "env.json", "metrics.jsonl", "last.pt", "best.pt"} <= {
        p.name for p in run_dir.iterdir()}
    env = json.loads((run_dir / "env.json").read_text())
    assert {"git", "python", "torch", "hostname", "cpu", "world_size", "command"} <= set(env)
    assert load_config(run_dir / "config.yaml").model.name == TINY
    rows = read_metrics(run_dir / "metrics.jsonl")
    assert [r["step"] for r in rows if r["kind"] == "train"] == [2, 4, 6]
    val = [r for r in rows if r["kind"] == "val"]
    assert [r["step"] for r in val] == [3, 6] and list(val[0]["clips"]) == ["clip1"]
    checkpoint = load_checkpoint(run_dir / "last.pt")
    assert checkpoint["step"] == 6 and checkpoint["val_clips"] == ["clip1"]
    assert load_checkpoint(run_dir / "best.pt")["step"] == result.best["step"]
    # The weights load where --weights is accepted.
    model = build_model(TINY, 4)
    from vidsr.models.weights import load_weights

    load_weights(model, run_dir / "last.pt")
    assert torch.equal(model.body.weight, checkpoint["model"]["body.weight"])
    # A second start in the same folder must not silently overwrite or resume it.
    with pytest.raises(VidsrError, match="pass --resume"):
        train(load_config(None, tiny_overrides(clips_dir, run_dir, steps=6)), quiet=True)
    with pytest.raises(VidsrError, match="differs from the run's in optim.lr"):
        train(load_config(None, tiny_overrides(clips_dir, run_dir, steps=6, **{"optim.lr": 0.1})),
              resume=True, quiet=True)


def _tiny_model_run(clips_dir: Path, run_dir: Path, name: str, **extra: object):
    """Three steps of model ``name``: its weights when the trainer starts (the trainer's own
    seeded model, before ``run()``), its weights in ``last.pt`` at the end, the result.
    (Three: flow's zero-initialised flow heads hold the layers before them at zero gradient
    for two.) Batch 1 and validation crops of the patch size: one set of oneDNN kernels."""
    overrides = tiny_overrides(clips_dir, run_dir, steps=3, **{
        "model.name": name, "data.batch_size": 1, "data.gt_patch": 32, "data.window": 3,
        "train.val_interval": 3, "val.crop": 32, "val.max_frames": 3, **extra})
    trainer = Trainer(load_config(None, overrides), DistContext(), run_dir, None, quiet=True)
    start = {key: value.detach().clone() for key, value in trainer.model.named_parameters()}
    result = trainer.run()
    return start, load_checkpoint(run_dir / "last.pt")["model"], result


def _untrained(start: dict[str, torch.Tensor], end: dict[str, torch.Tensor]) -> list[str]:
    """Parameters no entry of which moved by more than 1e-6: an update moves them by about
    the learning rate (1e-3 here); rounding, or lr=1e-30 on a zero-initialised layer, not."""
    return [key for key, value in start.items() if (end[key] - value).abs().max() <= 1e-6]


@pytest.mark.parametrize("name", TRAINABLE)
def test_tiny_run_of_every_model_trains_every_parameter(name: str, clips_dir: Path, tmp_path: Path) -> None:
    start, end, result = _tiny_model_run(clips_dir, tmp_path / name, name)
    assert result.step == 3 and math.isfinite(result.loss)
    assert math.isfinite(result.best["psnr_y"]) and 0 < result.best["ssim_y"] <= 1
    assert _untrained(start, end) == [], f"{name}: training left these parameters unchanged"


def test_the_every_parameter_check_sees_a_run_that_learns_nothing(clips_dir: Path, tmp_path: Path) -> None:
    """Compared with the trainer's own start (not a fresh, differently seeded model), a run
    at lr=1e-30 trains nothing, its zero-initialised last layer included."""
    start, end, _ = _tiny_model_run(clips_dir, tmp_path, "fsrcnn", **{"optim.lr": 1e-30})
    assert _untrained(start, end) == list(start)


def test_models_by_import_path_and_unknown_names() -> None:
    assert type(build_model(TINY, 2)).__name__ == "TinyVSR"
    with pytest.raises(VidsrError, match="cannot import model"):
        build_model("no_such_module:Net", 4)
    with pytest.raises(VidsrError, match="not a VSRModel"):
        build_model("torch.nn:Linear", 4)
    with pytest.raises(VidsrError, match="unknown model"):
        build_model("deltaa", 4)


def test_training_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(VidsrError, match="not found"):
        train(load_config(None, tiny_overrides(tmp_path / "nowhere", tmp_path / "r")), quiet=True)
    with pytest.raises(VidsrError, match="no trainable parameters"):
        data = make_clips(tmp_path / "d", clips=2, frames=3, size=32)
        train(load_config(None, tiny_overrides(data, tmp_path / "r2", **{"model.name": "bicubic"})),
              quiet=True)


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from vidsr.cli.main import main

    assert main(["train", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err.strip() == f"vidsr: error: config file not found: {tmp_path / 'nope.yaml'}"
    assert main(["train", "--run-dir", str(tmp_path), "optim.lr=-1"]) == 2
    assert "vidsr: error: override 'optim.lr=-1': optim.lr must be a positive number" in capsys.readouterr().err


def test_resume_without_a_config_and_run_folders_that_cannot_be(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from vidsr.cli.main import main

    data = make_clips(tmp_path / "d", clips=3, frames=6, size=48)
    run_dir = tmp_path / "r"
    overrides = [o for o in tiny_overrides(data, run_dir, steps=4) if not o.startswith("train.run_dir")]
    assert main(["train", "--run-dir", str(run_dir), "-q", *overrides]) == 0
    (run_dir / "config.yaml").unlink()  # lost: the checkpoint's own config continues the run
    assert main(["train", "--run-dir", str(run_dir), "--resume", "-q", "train.steps=8"]) == 0
    assert load_checkpoint(run_dir / "last.pt")["step"] == 8
    capsys.readouterr()
    assert main(["train", "--run-dir", str(tmp_path / "typo"), "--resume"]) == 2
    assert "nothing to resume in" in capsys.readouterr().err and not (tmp_path / "typo").exists()
    (tmp_path / "afile").write_text("x")
    assert main(["train", "--run-dir", str(tmp_path / "afile"), *overrides]) == 2
    assert "is a file, not a run folder" in capsys.readouterr().err


def test_clips_too_small_for_the_patch_and_clips_changed_on_resume_are_said(tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture) -> None:
    data = make_clips(tmp_path / "d", clips=3, frames=6, size=48)
    make_clips(tmp_path / "small", clips=1, frames=6, size=16)
    (tmp_path / "small" / "clip0").rename(data / "tiny")
    run_dir = tmp_path / "r"
    train(load_config(None, tiny_overrides(data, run_dir, steps=4, **{"data.val_split": "[clip2]"})))
    err = capsys.readouterr().err
    assert "1 training clip(s) smaller than data.gt_patch (32 GT pixels) are never sampled: tiny" in err
    make_clips(tmp_path / "more", clips=1, frames=6, size=48)
    (tmp_path / "more" / "clip0").rename(data / "late")
    train(load_config(None, tiny_overrides(data, run_dir, steps=8, **{"data.val_split": "[clip2]"})), resume=True)
    err = capsys.readouterr().err
    assert "the training clips differ from those the run was trained on (new: late)" in err
