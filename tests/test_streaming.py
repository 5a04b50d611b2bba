"""Streaming: chunk by chunk equals the whole clip, ends padded by replication, bounded memory."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vidsr.models import create
from vidsr.models.base import VSRModel

NETWORKS = ["fsrcnn", "previous", "delta", "five_parallel", "two_step", "flow"]
FRAMES, HEIGHT, WIDTH = 10, 7, 9


pytestmark = pytest.mark.usefixtures("tiny_tensors")


def network(name: str, scale: int = 2) -> VSRModel:
    """A model with every parameter random (the zero-initialised heads too), in eval mode."""
    torch.manual_seed(0)
    model = create(name, scale, pretrained=False).eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            if not param.any():
                param.copy_(torch.randn(param.shape, generator=generator) * 0.05)
    return model


def clip(frames: int = FRAMES, batch: int = 2, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, frames, 3, HEIGHT, WIDTH, generator=generator)


def stream(model: VSRModel, lr: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """Push ``lr`` in chunks of the given sizes (cycled), then flush; returns all output frames."""
    streamer = model.streamer()
    outputs, start, index = [], 0, 0
    while start < lr.shape[1]:
        size = sizes[index % len(sizes)]
        outputs.append(streamer.push(lr[:, start : start + size]))
        start, index = start + size, index + 1
    outputs.append(streamer.flush())
    return torch.cat(outputs, dim=1)


def run_padded(model: VSRModel, lr: torch.Tensor, hidden) -> tuple[list[torch.Tensor], object]:
    """Replicate the end frames, encode, loop the cell over every frame of ``lr``."""
    r = model.radius
    padded = torch.cat([lr[:, :1]] * r + [lr] + [lr[:, -1:]] * r, dim=1)
    encoded = model.encode(padded)
    frames = []
    for t in range(lr.shape[1]):
        frame, hidden = model.cell(encoded[:, t : t + 2 * r + 1], hidden)
        frames.append(frame)
    return frames, hidden


def reference(model: VSRModel, lr: torch.Tensor) -> torch.Tensor:
    """Independent of :class:`Streamer`: the first ``warmup`` frames run backwards (outputs
    dropped), then the clip from the state they leave, both with replicated end frames."""
    batch, _, _, height, width = lr.shape
    hidden = model.init_hidden(batch, height, width, lr)
    if model.warmup:
        _, hidden = run_padded(model, lr[:, : model.warmup].flip(1), hidden)
    frames, _ = run_padded(model, lr, hidden)
    return torch.stack(frames, dim=1)


@pytest.mark.parametrize("name", ["delta", "five_parallel"])
def test_warm_up_starts_the_clip_from_a_warm_state(name):
    """With ``warmup`` the first frames change (the state saw frames 0..W-1 backwards);
    without it the clip starts cold, exactly as the plain padded loop."""
    model = network(name)
    lr = clip(frames=6, batch=1)
    assert model.warmup > 0
    with torch.no_grad():
        warm = model(lr)
        model.warmup = 0
        cold = model(lr)
        plain, _ = run_padded(model, lr, model.init_hidden(1, HEIGHT, WIDTH, lr))
    torch.testing.assert_close(cold, torch.stack(plain, dim=1), rtol=0, atol=1e-5)
    assert not torch.allclose(warm[:, 0], cold[:, 0], atol=1e-3)


@pytest.fixture(scope="module", params=NETWORKS)
def model_and_whole(request):
    model = network(request.param)
    lr = clip()
    with torch.no_grad():
        whole = model(lr)
    return model, lr, whole


@pytest.mark.parametrize("chunk", [1, 3, 7])
def test_chunks_equal_the_whole_clip(model_and_whole, chunk):
    model, lr, whole = model_and_whole
    with torch.no_grad():
        chunked = stream(model, lr, [chunk])
    assert chunked.shape == whole.shape
    torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ["delta", "five_parallel"])
def test_chunks_equal_the_whole_clip_with_onednn_convolutions(name):
    model = network(name)
    lr = clip(frames=6, batch=1)
    torch.backends.mkldnn.enabled = True
    try:
        with torch.no_grad():
            torch.testing.assert_close(stream(model, lr, [1, 3]), model(lr), rtol=0, atol=1e-5)
    finally:
        torch.backends.mkldnn.enabled = False


def test_whole_clip_equals_replication_padded_reference(model_and_whole):
    model, lr, whole = model_and_whole
    with torch.no_grad():
        torch.testing.assert_close(whole, reference(model, lr), rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", NETWORKS)
@settings(max_examples=8, deadline=None)
@given(sizes=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=5).filter(any))
def test_any_chunking_equals_the_whole_clip(name, sizes):
    model = network(name)
    lr = clip(frames=8, batch=1, seed=3)
    with torch.no_grad():
        torch.testing.assert_close(stream(model, lr, sizes), model(lr), rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("frames", [1, 2])
def test_clips_shorter_than_the_window(name, frames):
    model = network(name)
    lr = clip(frames=frames)
    with torch.no_grad():
        out = model(lr)
        torch.testing.assert_close(out, reference(model, lr), rtol=0, atol=1e-5)
        torch.testing.assert_close(stream(model, lr, [1]), out, rtol=0, atol=1e-5)
    assert out.shape == (2, frames, 3, 2 * HEIGHT, 2 * WIDTH)


@pytest.mark.parametrize("name", NETWORKS)
def test_latency_is_the_radius_and_memory_stays_bounded(name):
    model = network(name)
    r = model.radius
    lr = clip(frames=12, batch=1)
    streamer = model.streamer()
    ready = 0
    with torch.no_grad():
        for t in range(lr.shape[1]):
            ready += streamer.push(lr[:, t : t + 1]).shape[1]
            # frame t leaves as soon as frame t+r arrives, once the warm-up has its frames
            assert ready == (0 if t + 1 < model.warmup else max(0, t + 1 - r))
            assert len(streamer._pending or []) <= 2 * r  # only the window's look-back is kept
            assert sum(chunk.shape[1] for chunk in streamer._preroll) < max(model.warmup, 1)
        assert streamer.flush().shape[1] == r
    assert (streamer.frames_in, streamer.frames_out) == (12, 12)


@pytest.mark.parametrize("name", NETWORKS)
def test_frames_beyond_the_look_ahead_do_not_matter(name):
    """Frame t depends on frames up to t + radius (and on the warm-up's first frames)."""
    model = network(name)
    lr = clip(frames=16)
    changed = lr.clone()
    t = max(4, model.warmup - 1)
    changed[:, t + model.radius + 1 :] = torch.rand_like(changed[:, t + model.radius + 1 :])
    with torch.no_grad():
        a, b = model(lr), model(changed)
    torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1], rtol=0, atol=0)
    assert not torch.equal(a[:, t + 1], b[:, t + 1])


@pytest.mark.parametrize(
    ("name", "remembers"),
    [
        ("fsrcnn", False),
        ("previous", False),
        ("delta", True),
        ("five_parallel", True),
        ("two_step", True),
        ("flow", True),
    ],
)
def test_only_recurrent_models_remember_frames_outside_the_window(name, remembers):
    model = network(name)
    lr = clip()
    changed = lr.clone()
    changed[:, 0] = 1.0 - changed[:, 0]
    with torch.no_grad():
        difference = (model(lr)[:, 6] - model(changed)[:, 6]).abs().max().item()
    assert (difference > 1e-7) == remembers, difference


@pytest.mark.parametrize("name", NETWORKS)
def test_streamer_edge_cases(name):
    model = network(name)
    lr = clip(frames=5)
    streamer = model.streamer()
    with pytest.raises(RuntimeError):
        streamer.flush()
    with torch.no_grad():
        empty = streamer.push(lr[:, :0])
        assert empty.shape == (2, 0, 3, 2 * HEIGHT, 2 * WIDTH)
        first = torch.cat([streamer.push(lr), streamer.flush()], dim=1)
        # after flush the streamer starts a new video: no state leaks from the first one
        second = torch.cat([streamer.push(lr), streamer.flush()], dim=1)
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    with pytest.raises(ValueError):
        streamer.push(lr[0])


def test_streamer_keeps_no_reference_to_returned_frames():
    """Constant memory: after a chunk is returned, the streamer holds no part of it (nor its graph)."""
    model = network("delta")
    streamer = model.streamer()
    out = streamer.push(clip(frames=12).requires_grad_())
    assert out.shape[1] == 12 - model.radius
    hidden = streamer._hidden
    held = [streamer._empty, *streamer._pending, *(hidden if isinstance(hidden, tuple) else [hidden])]
    out_storage = out.untyped_storage().data_ptr()
    assert all(t.untyped_storage().data_ptr() != out_storage for t in held)
    assert streamer._empty.grad_fn is None
