"""The founding models: sizes, shapes, base upsampling, range control, gradients, seeds, weights."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from vidsr.data.resize import imresize
from vidsr.models import create, save_weights
from vidsr.models.delta import Delta
from vidsr.models.five_parallel import FiveParallel
from vidsr.models.flow import Flow, FlowEstimator, warp
from vidsr.models.fsrcnn import FSRCNN
from vidsr.models.layers import TemporalConv3d, bicubic_upsample, count_parameters, soft_clamp01
from vidsr.models.previous import Previous
from vidsr.models.two_step import TwoStep, TwoStepFiveParallel

NETWORKS = ["fsrcnn", "previous", "delta", "five_parallel", "two_step", "two_step_five_parallel", "flow"]

# The founding design's budgets at x4 (each within 1%).
BUDGETS = {"delta": 83_702, "five_parallel": 259_938}
PREVIOUS_BUDGETS = {"2d": 10_577, "3d": 63_129}


pytestmark = pytest.mark.usefixtures("tiny_tensors")


def perturbed(model: nn.Module, seed: int = 0, std: float = 0.02) -> nn.Module:
    """Give the zero-initialised parameters (the heads) small random values, reproducibly."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            if not param.any():
                param.copy_(torch.randn(param.shape, generator=generator) * std)
    return model


def clip(batch: int, frames: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(batch, frames, 3, height, width, generator=torch.Generator().manual_seed(seed))


# --- sizes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BUDGETS))
def test_parameter_count_within_one_percent_of_the_founding_design(name):
    params = count_parameters(create(name, 4, pretrained=False))
    assert abs(params - BUDGETS[name]) <= 0.01 * BUDGETS[name], params


def test_previous_is_two_separate_networks_each_within_budget():
    model = create("previous", 4, pretrained=False)
    parts = model.parts()
    assert set(parts) == set(PREVIOUS_BUDGETS)
    for part, budget in PREVIOUS_BUDGETS.items():
        assert abs(parts[part] - budget) <= 0.01 * budget, (part, parts[part])
    assert parts["2d"] == count_parameters(model.net2d)
    assert parts["3d"] == count_parameters(model.net3d)
    assert sum(parts.values()) == count_parameters(model)
    # separate networks: no parameter shared or outside the two parts
    names = [name for name, _ in model.named_parameters()]
    assert all(name.startswith(("net2d.", "net3d.")) for name in names)


def test_fsrcnn_is_d56_s12_m4_with_a_subpixel_head():
    model = FSRCNN(4)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [56, 12, 12, 12, 12, 12, 56, 3 * 16]
    assert [c.kernel_size[0] for c in convs] == [5, 1, 3, 3, 3, 3, 1, 3]
    assert any(isinstance(m, nn.PixelShuffle) for m in model.modules())
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in model.modules())
    assert count_parameters(model) == 35_312


def test_five_parallel_has_five_independent_stacks():
    model = perturbed(FiveParallel(4))
    frame = torch.rand(1, 3, 8, 8)
    window = frame.repeat(1, 5, 1, 1)  # the same frame at the five window positions

    def stacks(x):
        return model.stacks(x).view(1, 5, model.width, 8, 8)

    features = stacks(window)
    # the same frame through the five stacks gives five different feature sets
    for k in range(1, 5):
        assert not torch.allclose(features[:, 0], features[:, k])
    # stack k reads only the frame at position k
    moved = window.clone()
    moved[:, 6:9] = torch.rand(1, 3, 8, 8)  # position 2 (frame t)
    changed = stacks(moved)
    for k in range(5):
        assert torch.equal(changed[:, k], features[:, k]) == (k != 2)
    # and changing stack 3's weights leaves the other four stacks' outputs alone
    with torch.no_grad():
        model.stacks[2].weight[3 * model.width : 4 * model.width] += 1.0
    changed = stacks(window)
    for k in range(5):
        assert torch.equal(changed[:, k], features[:, k]) == (k != 3)


# --- shapes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize(("frames", "height", "width"), [(3, 17, 23), (1, 8, 8), (2, 5, 12)])
def test_output_shape(name, scale, frames, height, width):
    model = create(name, scale, pretrained=False)
    with torch.no_grad():
        out = model(clip(2, frames, height, width))
    assert out.shape == (2, frames, 3, scale * height, scale * width)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", NETWORKS)
def test_rejects_frames_that_are_not_b_t_3_h_w(name):
    with pytest.raises(ValueError):
        create(name, 4, pretrained=False)(torch.rand(2, 3, 8, 8))


# --- the base upsampling -------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize(("height", "width"), [(1, 1), (2, 3), (17, 23), (32, 32)])
def test_bicubic_upsample_equals_matlab_imresize(scale, height, width):
    x = torch.rand(2, 3, height, width, dtype=torch.float64) * 1.4 - 0.2
    fast = bicubic_upsample(x, scale)
    assert fast.dtype == torch.float64
    torch.testing.assert_close(fast, imresize(x, float(scale)), rtol=0, atol=1e-12)
    torch.testing.assert_close(
        bicubic_upsample(x.float(), scale).double(), imresize(x, float(scale)), rtol=0, atol=2e-6
    )


def test_bicubic_upsample_stays_float32_under_bf16_autocast():
    x = torch.rand(1, 3, 9, 7)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = bicubic_upsample(x, 4)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.double(), imresize(x.double(), 4.0), rtol=0, atol=2e-6)


@pytest.mark.parametrize("name", ["fsrcnn", "previous", "delta", "two_step", "flow"])
@pytest.mark.parametrize("scale", [2, 4])
def test_untrained_network_equals_bicubic(name, scale):
    x = clip(1, 4, 11, 13)
    model = create(name, scale, pretrained=False)
    if name == "two_step" and scale == 4:  # step 1 is the shipped fsrcnn x4 BI
        nn.init.zeros_(model.step1.head.conv.weight)
        nn.init.zeros_(model.step1.head.conv.bias)
    with torch.no_grad():
        out = model(x)
    reference = imresize(x.double(), float(scale)).float()
    torch.testing.assert_close(out, reference, rtol=0, atol=2e-6)


@pytest.mark.parametrize("name", ["two_step", "two_step_five_parallel"])
def test_untrained_two_step_equals_its_step_1_the_shipped_fsrcnn(name):
    x = clip(1, 4, 11, 13) * 0.5 + 0.25  # mid-tones: five_parallel's soft clamp is the identity
    model = create(name, 4, pretrained=False)
    fsrcnn = create("fsrcnn", 4, pretrained=True)
    assert model.step1_source is not None
    with torch.no_grad():
        torch.testing.assert_close(model(x), fsrcnn(x), rtol=0, atol=1e-5)


def test_untrained_five_parallel_equals_bicubic_on_mid_tones():
    x = clip(1, 5, 11, 13) * 0.5 + 0.25  # bicubic stays well inside [1/32, 31/32]
    with torch.no_grad():
        out = create("five_parallel", 4, pretrained=False)(x)
    torch.testing.assert_close(out, imresize(x.double(), 4.0).float(), rtol=0, atol=2e-6)


# --- the layers ----------------------------------------------------------------------------------


def test_temporal_conv3d_fuse_equals_nn_conv3d():
    torch.manual_seed(0)
    layer = TemporalConv3d(6, 5, depth=4).double()
    slices = [torch.randn(2, 6, 9, 7, dtype=torch.float64) for _ in range(4)]
    reference = layer(torch.stack(slices, dim=2))  # nn.Conv3d.forward: (B, C, T, H, W)
    assert reference.shape == (2, 5, 1, 9, 7)
    torch.testing.assert_close(layer.fuse(slices), reference[:, :, 0], rtol=0, atol=1e-12)
    with pytest.raises(ValueError):
        layer.fuse(slices[:3])


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=True, width=32))
def test_soft_clamp_maps_any_value_into_0_1(value):
    out = soft_clamp01(torch.tensor([value]))
    assert 0.0 <= out.item() <= 1.0


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=1 / 32, max_value=31 / 32))
def test_soft_clamp_is_identity_inside_the_margins(value):
    x = torch.tensor([value], dtype=torch.float64)
    assert soft_clamp01(x).item() == value


def test_soft_clamp_is_smooth_increasing_and_keeps_gradients():
    x = torch.linspace(-0.5, 1.5, 2001, dtype=torch.float64, requires_grad=True)
    y = soft_clamp01(x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    assert (y.diff() > 0).all()  # strictly increasing: distinct inputs stay distinct
    assert (grad > 0).all()  # never a dead gradient, unlike clamp
    assert (grad.diff().abs() < 0.05).all()  # continuous slope at the margins
    assert grad[x.detach() < -0.2].max() < 1e-3  # but it does saturate far outside
    # where the output is 0.01 (near black) the slope is 0.01 / margin, ~30x a sigmoid's y(1-y)
    near_black = torch.argmin((y - 0.01).abs())
    assert grad[near_black] > 20 * 0.01 * 0.99


# --- five_parallel's output range ------------------------------------------------------------------


@pytest.mark.parametrize(
    "frames",
    [
        torch.zeros(1, 5, 3, 9, 9),
        torch.ones(1, 5, 3, 9, 9),
        (torch.rand(1, 5, 3, 9, 9, generator=torch.Generator().manual_seed(1)) - 0.5) * 200,  # ±100
        torch.full((1, 5, 3, 9, 9), 1e30),
        torch.full((1, 5, 3, 9, 9), -1e30),
    ],
    ids=["zeros", "ones", "pm100", "huge", "minus_huge"],
)
@pytest.mark.parametrize("weight_scale", [1.0, 30.0])
def test_five_parallel_output_stays_in_0_1(frames, weight_scale):
    model = perturbed(FiveParallel(4), std=1.0)
    with torch.no_grad():
        for param in model.parameters():
            param.mul_(weight_scale)
        out = model(frames)
    assert torch.isfinite(out).all()
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("bias", [1e4, -1e4, math.inf, -math.inf])
def test_five_parallel_output_stays_in_0_1_for_extreme_head_outputs(bias):
    model = FiveParallel(2)
    with torch.no_grad():
        model.core.head.conv.bias.fill_(bias)
        out = model(clip(1, 3, 6, 6))
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert torch.all(out == (1.0 if bias > 0 else 0.0))


def test_delta_output_range_is_not_limited():
    model = Delta(2)
    with torch.no_grad():
        model.core.head.conv.bias.fill_(2.0)
        out = model(clip(1, 2, 6, 6))
    assert out.max() > 2.0  # founding design: no range control on delta


# --- training behaviour --------------------------------------------------------------------------


@pytest.mark.parametrize("name", NETWORKS)
def test_gradients_reach_every_parameter(name):
    model = perturbed(create(name, 2, pretrained=False))
    x = clip(2, 4, 10, 10)
    target = torch.rand(2, 4, 3, 20, 20, generator=torch.Generator().manual_seed(5))
    loss = (model(x) - target).abs().mean()
    loss.backward()
    for param_name, param in model.named_parameters():
        assert param.grad is not None, param_name
        assert torch.isfinite(param.grad).all(), param_name
        assert param.grad.abs().max() > 0, param_name


@pytest.mark.parametrize("name", NETWORKS)
def test_zero_initialised_layers_still_learn_within_three_steps(name):
    """From the untrained state (heads at zero), three Adam steps reach every parameter.

    Two for the plain networks (head, then the rest); flow's zero-initialised flow layers sit
    behind the head and the hidden state, so they move at the third. (Adam, as in training:
    the first gradients of flow's coarsest level are ~1e-12, too small for a plain SGD step
    to change a float32 weight; the auxiliary warping loss reaches them directly.)
    Two-step's step 1 is frozen: it must not move.
    """
    torch.manual_seed(0)
    model = create(name, 2, pretrained=False)
    before = {key: value.clone() for key, value in model.state_dict().items()}
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = clip(1, 3, 8, 8)
    target = torch.rand(1, 3, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    for _ in range(3):
        optimiser.zero_grad()
        (model(x) - target).square().mean().backward()
        optimiser.step()
    for key, value in model.state_dict().items():
        frozen = key.startswith("step1.")  # two_step's step 1: frozen, never trained
        assert torch.equal(value, before[key]) == frozen, key


@pytest.mark.parametrize("name", NETWORKS)
def test_bf16_autocast_runs_and_returns_float32_frames(name):
    model = perturbed(create(name, 2, pretrained=False))
    x = clip(1, 3, 6, 6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    assert out.dtype == torch.float32  # residual in bf16, added to a float32 base frame
    out.mean().backward()
    with torch.no_grad():
        torch.testing.assert_close(out, model(x), rtol=0, atol=2e-2)


@pytest.mark.parametrize("name", NETWORKS)
def test_same_seed_same_model_and_output(name):
    x = clip(1, 3, 7, 9)
    outputs, states = [], []
    for seed in (7, 7, 8):
        torch.manual_seed(seed)
        model = create(name, 4, pretrained=False)
        states.append(model.state_dict())
        with torch.no_grad():
            outputs.append(perturbed(model, seed=seed)(x))
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key
    assert torch.equal(outputs[0], outputs[1])
    assert any(not torch.equal(states[0][key], states[2][key]) for key in states[0])
    assert not torch.equal(outputs[0], outputs[2])


@pytest.mark.parametrize("name", NETWORKS)
def test_weights_round_trip_through_create(name, tmp_path):
    torch.manual_seed(1)
    model = perturbed(create(name, 4, pretrained=False))
    path = save_weights(model, tmp_path / f"{name}.safetensors")
    loaded = create(name, 4, weights=path)
    x = clip(1, 3, 6, 6)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


# --- founding comparison rows ----------------------------------------------------------------------

FOUNDING_ROWS = {  # single CNN, multiple 2D stacks, recurrent 2D, recurrent 3D, range controlled
    FSRCNN: (True, False, False, False, False),
    Previous: (False, False, False, False, False),
    Delta: (True, True, True, True, False),
    FiveParallel: (True, True, True, True, True),
}


@pytest.mark.parametrize("cls", list(FOUNDING_ROWS), ids=lambda cls: cls.__name__)
def test_declared_facts_match_the_founding_design(cls):
    facts = cls.facts
    declared = (
        facts.single_cnn,
        facts.multiple_2d_stacks,
        facts.recurrent_2d,
        facts.recurrent_3d,
        facts.output_range_controlled,
    )
    assert declared == FOUNDING_ROWS[cls]


@pytest.mark.parametrize(
    ("cls", "rows"),
    [(TwoStep, (False, True, True, True, False)), (TwoStepFiveParallel, (False, True, True, True, True)),
     (Flow, (True, True, True, True, False))],
    ids=["TwoStep", "TwoStepFiveParallel", "Flow"],
)
def test_stretch_models_declare_their_facts(cls, rows):
    facts = cls.facts
    declared = (
        facts.single_cnn,
        facts.multiple_2d_stacks,
        facts.recurrent_2d,
        facts.recurrent_3d,
        facts.output_range_controlled,
    )
    assert declared == rows


@pytest.mark.parametrize("cls", [Delta, FiveParallel, TwoStep, TwoStepFiveParallel, Flow],
                         ids=lambda cls: cls.__name__)
def test_recurrent_models_really_have_3d_convolutions_and_state(cls):
    model = cls(4)
    assert any(isinstance(m, nn.Conv3d) for m in model.modules())
    assert model.init_hidden(1, 4, 4, torch.zeros(1)) is not None


# --- stretch models ------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [TwoStep, TwoStepFiveParallel], ids=lambda cls: cls.__name__)
def test_two_step_is_a_frozen_fsrcnn_then_a_refiner(cls):
    model = perturbed(cls(4))
    parts = model.parts()
    assert parts["step1"] == count_parameters(FSRCNN(4)) == 35_312
    assert parts["step2"] == count_parameters(model) == count_parameters(model.step2)  # step 1: buffers
    assert not any(name.startswith("step1.") for name, _ in model.named_parameters())
    assert {key for key in model.state_dict() if key.startswith("step1.")} == {
        f"step1.{key}" for key in FSRCNN(4).state_dict()}
    x = clip(1, 3, 6, 7) * 0.5 + 0.25
    with torch.no_grad():
        nn.init.zeros_(model.step2.core.head.conv.weight)
        nn.init.zeros_(model.step2.core.head.conv.bias)
        # with step 2's head at zero, two_step outputs exactly its step 1
        torch.testing.assert_close(model(x), model.step1(x), rtol=0, atol=1e-6)


def test_warp_with_zero_flow_is_identity_and_integer_flow_shifts():
    x = torch.rand(2, 4, 6, 9, dtype=torch.float64)
    zero = torch.zeros(2, 2, 6, 9, dtype=torch.float64)
    torch.testing.assert_close(warp(x, zero), x, rtol=0, atol=1e-12)
    right = zero.clone()
    right[:, 0] = 1.0  # out[y, x] = in[y, x + 1]
    torch.testing.assert_close(warp(x, right)[..., :-1], x[..., 1:], rtol=0, atol=1e-12)
    down = zero.clone()
    down[:, 1] = -2.0  # out[y, x] = in[y - 2, x]
    torch.testing.assert_close(warp(x, down)[..., 2:, :], x[..., :-2, :], rtol=0, atol=1e-12)


def test_flow_estimator_starts_at_zero_and_learns_a_shift():
    torch.manual_seed(0)
    estimator = FlowEstimator()
    noise = torch.rand(4, 3, 28, 28, generator=torch.Generator().manual_seed(2))
    texture = torch.nn.functional.avg_pool2d(noise, 3, 1)
    frame, previous = texture[..., 1:25, 2:26], texture[..., 1:25, 0:24]  # frame[p] = previous[p + (2, 0)]
    assert not estimator(frame, previous).any()
    optimiser = torch.optim.Adam(estimator.parameters(), lr=3e-3)
    for _ in range(60):
        optimiser.zero_grad()
        flow = estimator(frame, previous)
        (warp(previous, flow) - frame)[..., 4:-4, 4:-4].abs().mean().backward()
        optimiser.step()
    with torch.no_grad():
        flow = estimator(frame, previous)[..., 4:-4, 4:-4]
    assert abs(flow[:, 0].mean().item() - 2.0) < 0.5 and abs(flow[:, 1].mean().item()) < 0.5
