"""Weights of one scale start a model of another (`model.init_weights`): x4 -> x2 and back.

Only the sub-pixel heads and the feedback 1x1 depend on the scale
(:func:`vidsr.models.layers.rescale_subpixel_state`); the mapping is exact in the sense
checked here: the x2 head outputs the 2x2 mean of what the x4 head outputs, and the x2
feedback reads a frame as the x4 feedback reads that frame enlarged by 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vidsr.errors import VidsrError
from vidsr.models import create, save_weights
from vidsr.models.layers import RecurrentCore, SubPixelHead, rescale_subpixel_state
from vidsr.models.weights import load_weights


def _randomised(module: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    for parameter in module.parameters():
        nn.init.normal_(parameter)
    return module


def test_x4_head_mapped_to_x2_gives_the_mean_of_each_2x2_block_and_back() -> None:
    def heads(scale: int) -> nn.ModuleDict:  # keys "head.conv.*", as in the models
        return nn.ModuleDict({"head": SubPixelHead(8, scale)})

    x4 = _randomised(heads(4))
    x2 = heads(2)
    x2.load_state_dict(rescale_subpixel_state(x4.state_dict(), x2.state_dict()))
    features = torch.randn(2, 8, 5, 6)
    torch.testing.assert_close(x2.head(features), F.avg_pool2d(x4.head(features), 2))
    up = heads(4)
    up.load_state_dict(rescale_subpixel_state(x2.state_dict(), up.state_dict()))
    torch.testing.assert_close(up.head(features), F.interpolate(x2.head(features), scale_factor=2, mode="nearest"))


def test_mapped_feedback_reads_a_frame_as_the_x4_one_reads_it_enlarged() -> None:
    x4 = _randomised(RecurrentCore(8, inputs=2, blocks=1, scale=4, feedback=True))
    x2 = RecurrentCore(8, inputs=2, blocks=1, scale=2, feedback=True)
    x2.load_state_dict(rescale_subpixel_state(x4.state_dict(), x2.state_dict()))
    frame = torch.rand(1, 3, 10, 12)  # an x2 output of a 5x6 LR frame
    enlarged = F.interpolate(frame, scale_factor=2, mode="nearest")
    torch.testing.assert_close(x2.feedback(x2.space_to_depth_luma(frame)),
                               x4.feedback(x4.space_to_depth_luma(enlarged)))
    back = RecurrentCore(8, inputs=2, blocks=1, scale=4, feedback=True)
    back.load_state_dict(rescale_subpixel_state(x2.state_dict(), back.state_dict()))
    torch.testing.assert_close(back.feedback(back.space_to_depth_luma(enlarged)),
                               x2.feedback(x2.space_to_depth_luma(frame)))
    # Every layer at LR loads unchanged.
    for key, value in x2.state_dict().items():
        if "head" not in key and "feedback.weight" not in key:
            assert torch.equal(value, x4.state_dict()[key]), key


@pytest.mark.parametrize("name", ["fsrcnn", "delta", "five_parallel", "flow"])
def test_x4_weights_start_an_x2_run_only_as_a_warm_start(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}_x4.safetensors"
    save_weights(_randomised(create(name, 4, pretrained=False)), path)
    with pytest.raises(VidsrError, match=r"do not fit \w+: size mismatch for [\w.]+: copying a param") as caught:
        load_weights(create(name, 2, pretrained=False), path)
    assert "\n" not in str(caught.value)
    with pytest.raises(VidsrError, match="is a folder: give a weights file"):
        load_weights(create(name, 2, pretrained=False), tmp_path)
    model = load_weights(create(name, 2, pretrained=False), path, warm_start=True)
    lr = torch.rand(1, 3, 3, 12, 16)
    assert model.eval()(lr).shape == (1, 3, 3, 24, 32)
    with pytest.raises(VidsrError, match="weights for x4 cannot start an x3 model"):
        load_weights(create(name, 3, pretrained=False), path, warm_start=True)
