"""flow: backward warping, the learned flow estimator, alignment of the state, its auxiliary
losses through the trainer, streaming, size (issue 13)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_models import perturbed
from test_training_helpers import make_clips, tiny_overrides

from vidsr.errors import VidsrError
from vidsr.models import create
from vidsr.models.delta import Delta
from vidsr.models.facts import macs_per_lr_pixel
from vidsr.models.flow import Flow, FlowEstimator, warp
from vidsr.models.layers import RecurrentState, count_parameters
from vidsr.models.weights import load_weights, save_weights
from vidsr.training.config import load_config
from vidsr.training.data import Clip
from vidsr.training.distributed import DistContext
from vidsr.training.flow_pretrain import explained_motion, pretrain_flow
from vidsr.training.logbook import read_metrics
from vidsr.training.losses import flow_smoothness, warping_loss
from vidsr.training.trainer import Trainer

pytestmark = pytest.mark.usefixtures("tiny_tensors")


def smooth_image(height: int, width: int, dx: float = 0.0, dy: float = 0.0, batch: int = 1) -> torch.Tensor:
    """A smooth texture ``f(x - dx, y - dy)`` (sums of low-frequency sines), 3 channels, float64."""
    ys = torch.arange(height, dtype=torch.float64).view(1, height, 1) - dy
    xs = torch.arange(width, dtype=torch.float64).view(1, 1, width) - dx
    channels = []
    for k in range(3):
        value = (0.5 + 0.2 * torch.sin(0.31 * xs + 0.17 * ys + k) + 0.15 * torch.cos(0.23 * ys - 0.29 * xs + 2 * k)
                 + 0.1 * torch.sin(0.47 * xs * (1 + 0.1 * k)) * torch.cos(0.41 * ys))
        channels.append(value.expand(1, height, width))
    return torch.cat(channels).unsqueeze(0).repeat(batch, 1, 1, 1)


def perturbed_flow(scale: int = 2, std: float = 0.05, seed: int = 1) -> Flow:
    """A flow model with every zero-initialised parameter (heads, flow outputs) made random."""
    torch.manual_seed(0)
    return perturbed(create("flow", scale, pretrained=False), seed, std)


# --- warping -------------------------------------------------------------------------------------


def test_warping_with_zero_flow_is_the_identity():
    x = torch.rand(2, 5, 7, 11, dtype=torch.float64)
    torch.testing.assert_close(warp(x, torch.zeros(2, 2, 7, 11, dtype=torch.float64)), x, rtol=0, atol=1e-12)
    x32 = x.float()
    torch.testing.assert_close(warp(x32, torch.zeros(2, 2, 7, 11)), x32, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("dx", "dy"), [(1, 0), (0, -2), (3, 2)])
def test_warping_with_the_true_integer_flow_undoes_a_shift(dx, dy):
    previous = torch.rand(1, 3, 12, 14, dtype=torch.float64)
    frame = torch.roll(previous, shifts=(-dy, -dx), dims=(2, 3))  # frame[p] = previous[p + (dx, dy)]
    flow = torch.tensor([float(dx), float(dy)], dtype=torch.float64).view(1, 2, 1, 1).expand(1, 2, 12, 14)
    interior = (..., slice(3, -3), slice(3, -3))
    torch.testing.assert_close(warp(previous, flow)[interior], frame[interior], rtol=0, atol=1e-12)


@pytest.mark.parametrize(("dx", "dy"), [(0.5, 0.0), (-0.25, 0.75), (1.375, -2.625)])
def test_warping_with_the_true_sub_pixel_flow_undoes_a_shift_exactly_on_an_affine_image(dx, dy):
    """Bilinear sampling is exact on images affine in x and y: on their interior, warping
    ``previous`` by the true sub-pixel flow gives ``frame`` back exactly."""
    ys = torch.arange(16, dtype=torch.float64).view(16, 1)
    xs = torch.arange(20, dtype=torch.float64).view(1, 20)

    def affine(shift_x: float, shift_y: float) -> torch.Tensor:
        x, y = xs - shift_x, ys - shift_y
        return torch.stack([0.02 * x + 0.01 * y + 0.1, 0.5 - 0.015 * x + 0.02 * y, 0.03 * y - 0.01 * x])[None]

    previous, frame = affine(dx, dy), affine(0.0, 0.0)  # frame[p] = previous[p + (dx, dy)]
    flow = torch.tensor([dx, dy], dtype=torch.float64).view(1, 2, 1, 1).expand(1, 2, 16, 20)
    interior = (..., slice(4, -4), slice(4, -4))
    torch.testing.assert_close(warp(previous, flow)[interior], frame[interior], rtol=0, atol=1e-12)
    # ...and close on a smooth natural-like texture (bilinear interpolation error only)
    previous, frame = smooth_image(16, 20, dx, dy), smooth_image(16, 20)
    assert (warp(previous, flow) - frame)[interior].abs().max() < 0.02


def test_warping_keeps_sub_pixel_coordinates_under_bf16_autocast():
    """The grid is built in float32: far from the origin (x ~ 600) a quarter pixel survives."""
    ramp = torch.arange(640, dtype=torch.float32).view(1, 1, 1, 640).expand(1, 1, 4, 640) / 640
    flow = torch.zeros(1, 2, 4, 640)
    flow[:, 0] = 0.25
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = warp(ramp, flow)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out[..., 1:-1], ramp[..., 1:-1] + 0.25 / 640, rtol=0, atol=1e-6)


# --- the flow estimator --------------------------------------------------------------------------


def test_flow_estimator_starts_at_zero():
    estimator = FlowEstimator()
    frame, previous = smooth_image(24, 24).float(), smooth_image(24, 24, 1.0, 0.0).float()
    assert not estimator(frame, previous).any()


def test_flow_estimator_recovers_a_known_sub_pixel_shift_after_a_short_fit():
    """A synthetic pair ``frame[p] = previous[p + (1.5, -0.75)]`` of a smooth texture: a short
    fit of the photometric warping loss (the auxiliary loss of training) finds the shift."""
    torch.manual_seed(0)
    dx, dy = 1.5, -0.75
    previous = smooth_image(32, 32, batch=2).float()  # f
    frame = smooth_image(32, 32, -dx, -dy, batch=2).float()  # f(p + d) = previous[p + d]
    estimator = FlowEstimator()
    optimiser = torch.optim.Adam(estimator.parameters(), lr=2e-3)
    inner = (..., slice(6, -6), slice(6, -6))
    for _ in range(80):
        optimiser.zero_grad()
        flow = estimator(frame, previous)
        (warp(previous, flow) - frame)[inner].abs().mean().backward()
        optimiser.step()
    with torch.no_grad():
        flow = estimator(frame, previous)[inner]
    assert abs(flow[:, 0].mean().item() - dx) < 0.15, flow[:, 0].mean()
    assert abs(flow[:, 1].mean().item() - dy) < 0.15, flow[:, 1].mean()


# --- the model -----------------------------------------------------------------------------------


def test_flow_is_at_most_400k_parameters_and_builds_on_delta():
    model = create("flow", 4, pretrained=False)
    params = count_parameters(model)
    assert params <= 400_000, params
    assert params == count_parameters(Delta(4)) + count_parameters(model.flow)  # delta's own shape
    assert isinstance(model, Delta)  # delta's encode, init_hidden, core, warm-up: reused, not copied
    assert type(model).encode is Delta.encode and type(model).init_hidden is Delta.init_hidden
    assert model.warmup == Delta.warmup and model.core.feedback is not None
    macs = macs_per_lr_pixel(model)
    flow_macs = macs - macs_per_lr_pixel(Delta(4))  # pyramid levels run at 1, 1/4, 1/16, 1/64 of the pixels
    assert count_parameters(model.flow) / 4 * 1.3 < flow_macs < count_parameters(model.flow) / 4 * 1.4, flow_macs


def test_alignment_moves_the_state_and_the_previous_output_with_the_flow():
    """A constant flow of (1, 0) LR pixels shifts the features by 1 LR pixel and the fed-back
    HR output by s = 2 HR pixels."""
    model = Flow(2)
    features = torch.rand(1, model.core.width, 6, 8)
    hr = torch.rand(1, 1, 12, 16)
    state = RecurrentState(features, F.pixel_unshuffle(hr, 2))
    flow = torch.zeros(1, 2, 6, 8)
    flow[:, 0] = 1.0
    aligned = model.align(state, flow)
    torch.testing.assert_close(aligned.features[..., :-1], features[..., 1:], rtol=0, atol=1e-6)
    shifted = F.pixel_shuffle(aligned.previous, 2)
    torch.testing.assert_close(shifted[..., 2:-3], hr[..., 4:-1], rtol=0, atol=1e-6)
    cold = model.align(RecurrentState(features, None), flow)
    assert cold.previous is None


@pytest.mark.parametrize("chunk", [1, 3, 7])
def test_flow_streaming_equals_the_whole_clip_with_real_motion(chunk):
    model = perturbed_flow(std=0.3).eval()  # flows of a few pixels, not only ~0
    lr = torch.rand(1, 10, 3, 9, 11, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        whole = model(lr)
        flows = model.flow(lr[:, 1], lr[:, 0])
        streamer = model.streamer()
        parts = [streamer.push(lr[:, i : i + chunk]) for i in range(0, 10, chunk)] + [streamer.flush()]
    assert flows.abs().max() > 0.5
    torch.testing.assert_close(torch.cat(parts, dim=1), whole, rtol=0, atol=1e-5)


def test_auxiliary_losses_are_nonzero_and_reach_the_flow_estimator():
    model = perturbed_flow(std=0.02)
    lr = torch.rand(2, 5, 3, 10, 12, generator=torch.Generator().manual_seed(2))
    assert model.auxiliary_losses() == {}  # nothing recorded outside forward_sequence
    with torch.no_grad():
        model(lr)  # inference (the streamer) records nothing
    assert model.auxiliary_losses() == {}
    sr, _ = model.forward_sequence(lr)
    assert len(model.flows()) == 3  # one flow per output frame
    terms = model.auxiliary_losses()
    assert set(terms) == {"warp", "smooth"}
    assert terms["warp"] > 0 and terms["smooth"] > 0
    assert model.auxiliary_losses() == {}  # consumed
    terms["warp"].backward()
    for name, param in model.flow.named_parameters():
        assert param.grad is not None and param.grad.abs().max() > 0, name
    # the photometric loss is what it says: the previous frame warped by the flow vs the frame
    flow, previous, current = torch.zeros(1, 2, 6, 6), torch.rand(1, 3, 6, 6), torch.rand(1, 3, 6, 6)
    assert warping_loss(current, current, flow) < 2e-3 < warping_loss(previous, current, flow)
    assert flow_smoothness(flow) < 2e-3 and flow_smoothness(torch.rand(1, 2, 6, 6) * 4) > 0.5


def test_zero_flow_untrained_flow_model_computes_exactly_delta():
    """Its flow layers start at zero: an untrained flow is delta with the same weights."""
    torch.manual_seed(0)
    model = create("flow", 2, pretrained=False)
    delta = Delta(2)
    delta.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("flow.")})
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for module in (model, delta):
            module.core.head.conv.weight.copy_(torch.randn(module.core.head.conv.weight.shape,
                                                           generator=torch.Generator().manual_seed(5)) * 0.05)
        lr = torch.rand(1, 5, 3, 8, 8, generator=generator)
        torch.testing.assert_close(model(lr), delta(lr), rtol=0, atol=1e-6)


def test_delta_weights_start_a_flow_model_that_computes_exactly_that_delta(tmp_path: Path):
    """``model.init_weights`` of a flow run may be delta's weights (adapt_init_state)."""
    torch.manual_seed(1)
    delta = Delta(2)
    with torch.no_grad():
        delta.core.head.conv.weight.normal_(0, 0.05)
        delta.core.feedback.weight.normal_(0, 0.05)
    path = save_weights(delta, tmp_path / "delta.safetensors")
    model = create("flow", 2, pretrained=False)
    with pytest.raises(VidsrError, match="do not fit"):
        load_weights(model, path)  # without warm_start: a strict load of another model's weights
    load_weights(model, path, warm_start=True)
    lr = torch.rand(1, 5, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(lr), delta.eval()(lr), rtol=0, atol=1e-6)
        assert delta.core.head.conv.weight.abs().max() > 0  # not two bicubic outputs


# --- training with the auxiliary loss ------------------------------------------------------------


@pytest.fixture(scope="module")
def clips_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clips(tmp_path_factory.mktemp("clips") / "data", clips=3, frames=6, size=64)


def _flow_overrides(clips_dir: Path, run_dir: Path, **extra: object) -> list[str]:
    return tiny_overrides(clips_dir, run_dir, steps=4, **{
        "model.name": "flow", "data.batch_size": 1, "data.gt_patch": 32, "data.window": 3,
        "train.val_interval": 4, "val.crop": 32, "val.max_frames": 3, **extra})


def test_trainer_adds_the_weighted_warping_loss(clips_dir: Path, tmp_path: Path):
    config = load_config(None, _flow_overrides(clips_dir, tmp_path / "run", **{
        "loss.warp_weight": 0.5, "loss.smooth_weight": 0.05}))
    trainer = Trainer(config, DistContext(), tmp_path / "run", None, quiet=True)
    assert trainer.aux_weights == {"warp": 0.5, "smooth": 0.05}
    start = {k: v.detach().clone() for k, v in trainer.model.flow.named_parameters()}
    result = trainer.run()
    assert math.isfinite(result.loss)
    rows = [row for row in read_metrics(tmp_path / "run" / "metrics.jsonl") if row["kind"] == "train"]
    assert rows and all(row["loss_warp"] > 0 and row["loss_smooth"] > 0 for row in rows)
    # the auxiliary loss reaches every layer of the flow estimator from the first steps
    moved = {k: (v - start[k]).abs().max().item() for k, v in trainer.model.flow.named_parameters()}
    assert all(change > 1e-6 for change in moved.values()), moved
    # without it, the same run logs no auxiliary loss
    plain = Trainer(load_config(None, _flow_overrides(clips_dir, tmp_path / "plain")), DistContext(),
                    tmp_path / "plain", None, quiet=True)
    assert plain.aux_weights == {}


def test_a_warp_weight_needs_a_model_with_auxiliary_losses(clips_dir: Path, tmp_path: Path):
    config = load_config(None, _flow_overrides(clips_dir, tmp_path, **{
        "model.name": "delta", "loss.warp_weight": 0.1}))
    with pytest.raises(VidsrError, match="delta returns no auxiliary losses"):
        Trainer(config, DistContext(), tmp_path, None, quiet=True)
    with pytest.raises(VidsrError, match="loss.warp_weight must be 0 or more"):
        load_config(None, ["loss.warp_weight=-1"])


@pytest.mark.parametrize("name", ["flow_x4_bi", "flow_x4_bd"])
def test_flow_configs_set_the_auxiliary_loss(name: str):
    config = load_config(Path(__file__).resolve().parents[1] / "configs" / f"{name}.yaml")
    assert config.model.name == "flow" and config.loss.warp_weight > 0
    assert (config.data.window, config.data.chunk, config.data.gt_patch) == (30, 10, 256)
    assert config.data.degradation == name[-2:]
    assert config.model.init_weights == f"src/vidsr/weights/delta_x4_{name[-2:]}.safetensors"


# --- the flow network pre-trained alone (vidsr.training.flow_pretrain) --------------------------


def _moving_texture_clip(frames: int = 6, size: int = 32, dx: float = 1.5) -> Clip:
    """LR frames of a smooth texture moving ``dx`` LR pixels right per frame."""
    lr = torch.cat([smooth_image(size, size, t * dx, 0.0) for t in range(frames)])
    lr = (lr.float().clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()
    return Clip("moving", np.zeros((frames, 4 * size, 4 * size, 3), np.uint8), lr)


def test_pretraining_the_flow_alone_learns_the_motion_and_touches_nothing_else():
    torch.manual_seed(0)
    model = create("flow", 4, pretrained=False)
    clip = _moving_texture_clip()
    lr = torch.from_numpy(clip.lr).permute(0, 3, 1, 2).float() / 255
    before = explained_motion(model, lr)
    assert abs(before["explained"]) < 1e-6 and before["flow_mean"] == 0  # a zero flow explains nothing
    rest = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("flow.")}
    losses = pretrain_flow(model, [clip], steps=150, batch=4, patch=24, lr=3e-3, progress=False)
    after = explained_motion(model, lr)
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10]), losses
    assert after["explained"] > 0.3 and 0.75 < after["flow_mean"] < 2.25, after  # about 1.5 LR pixels
    assert all(torch.equal(model.state_dict()[k], v) for k, v in rest.items())


def test_the_pretraining_command_writes_the_whole_model_and_a_card_that_export_reads(
        clips_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture):
    from vidsr.training import flow_pretrain
    from vidsr.training.export import earlier_stages

    torch.manual_seed(0)
    delta = Delta(4)
    with torch.no_grad():
        delta.core.head.conv.weight.normal_(0, 0.05)
    delta_path = save_weights(delta, tmp_path / "delta.safetensors")
    config = tmp_path / "flow.yaml"
    config.write_text("model:\n  name: flow\n")
    out = tmp_path / "pre.safetensors"
    overrides = [item for item in tiny_overrides(clips_dir, tmp_path / "run") if not item.startswith("model.name")]
    assert flow_pretrain.main(["--config", str(config), "--out", str(out), "--steps", "3", "--batch", "2",
                               "--patch", "8", *overrides, f"model.init_weights={delta_path}"]) == 0
    printed = capsys.readouterr().out
    assert "before: " in printed and "after: " in printed and "explained" in printed
    model = create("flow", 4, weights=out)
    assert model.flow.levels[0][-1].weight.abs().max() > 0  # the flow network was trained
    for key, value in delta.state_dict().items():  # the rest is delta, unchanged
        assert torch.equal(model.state_dict()[key], value), key
    stages = earlier_stages(str(out))
    assert [stage["weights"] for stage in stages] == [str(delta_path), str(out)]
    assert stages[-1]["step"] == 3 and stages[-1]["samples_seen"] == 6 and "flow_pretrain" in stages[-1]["command"]
