"""Scene cuts (``vidsr.shots``): each shot runs as a clip of its own, in any chunking."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from video_support import TinyRecurrent

from vidsr.models import create
from vidsr.shots import ShotStreamer, cut_scores, frame_signature, is_cut
from vidsr.streaming import flush_frames, push_frames, super_resolve
from vidsr.video.synthetic import pattern_frames


def shot(count: int, height: int, width: int, tint: tuple[float, float, float], shift: int = 0) -> np.ndarray:
    """A moving pattern in one colour cast: a shot."""
    frames = np.stack(list(pattern_frames(count + shift, height, width)))[shift:].astype(np.float32)
    return np.clip(frames * np.array(tint, np.float32), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def two_shots() -> list[np.ndarray]:
    return [shot(7, 24, 32, (1.0, 0.45, 0.3)), shot(6, 24, 32, (0.3, 0.5, 1.0), shift=3)]


def run(streamer, frames: np.ndarray, chunk: int) -> list[np.ndarray]:
    out = []
    for start in range(0, len(frames), chunk):
        out += push_frames(streamer, frames[start : start + chunk])
    return out + flush_frames(streamer)


def test_the_detector_separates_a_cut_from_motion(two_shots):
    first, second = (torch.from_numpy(s).permute(0, 3, 1, 2).float() / 255 for s in two_shots)
    motion = [cut_scores(frame_signature(a), frame_signature(b)) for a, b in zip(first[:-1], first[1:])]
    assert not any(is_cut(frame_signature(a), frame_signature(b)) for a, b in zip(first[:-1], first[1:]))
    assert is_cut(frame_signature(first[-1]), frame_signature(second[0]))
    histogram, grid = cut_scores(frame_signature(first[-1]), frame_signature(second[0]))
    assert histogram > max(h for h, _ in motion) and 0 <= histogram <= 1 and 0 <= grid <= 1


@pytest.mark.parametrize("chunk", [1, 3, 7, 20])
def test_each_shot_runs_as_a_clip_of_its_own(two_shots, chunk):
    model = TinyRecurrent()  # a state and a look-ahead frame: both must stop at the cut
    model.warmup = 2
    video = np.concatenate(two_shots)
    apart = [frame for part in two_shots for frame in super_resolve(model, part, scene_cuts=False)]
    streamer = ShotStreamer(model.streamer)
    cut = run(streamer, video, chunk)
    assert streamer.cuts == 1 and len(cut) == len(video)
    for a, b in zip(cut, apart):
        np.testing.assert_array_equal(a, b)
    through = list(super_resolve(model, video, scene_cuts=False))
    assert not np.array_equal(through[7], apart[7])  # without it, the first frame of the shot differs
    assert not np.array_equal(through[6], apart[6])  # and so does the last one before the cut (look-ahead)


def test_one_shot_is_untouched(two_shots):
    model = TinyRecurrent()
    plain = list(super_resolve(model, two_shots[0], scene_cuts=False))
    for a, b in zip(super_resolve(model, two_shots[0]), plain):
        np.testing.assert_array_equal(a, b)


def test_batches_of_several_videos_pass_through(two_shots):
    model = create("bicubic", 4)
    streamer = ShotStreamer(model.streamer)
    video = torch.from_numpy(np.concatenate(two_shots)).permute(0, 3, 1, 2).float()[None] / 255
    out = torch.cat([streamer.push(video.repeat(2, 1, 1, 1, 1)), streamer.flush()], dim=1)
    assert out.shape[:2] == (2, 13) and streamer.cuts == 0


def test_upscale_and_resume_settings(two_shots, tmp_path):
    from vidsr.video.jobs import LEGACY_SETTINGS, Engine, Job, JobOptions
    from vidsr.video.pipeline import upscale_video
    from vidsr.data.frames import write_frame

    source = tmp_path / "cuts"  # (PNG frames: the LR reaches the model exactly)
    for index, frame in enumerate(np.concatenate(two_shots)):
        write_frame(source / f"{index:03d}.png", frame)
    model = TinyRecurrent()
    for cuts in (True, False):
        upscale_video(source, tmp_path / f"out_{cuts}", model, quiet=True, scene_cuts=cuts, backend="torch",
                      precision="fp32")  # fmt: skip
    from vidsr.data.frames import read_clip

    with_cuts, without = read_clip(tmp_path / "out_True"), read_clip(tmp_path / "out_False")
    apart = [frame for part in two_shots for frame in super_resolve(model, part, scene_cuts=False)]
    apart = np.stack(apart).astype(int)  # (other chunks than upscale's: within one code value)
    assert np.abs(with_cuts.astype(int) - apart).max() <= 1
    assert np.abs(without.astype(int) - apart).max() > 2
    assert LEGACY_SETTINGS["scene_cuts"] is False  # journals from before the option ran through cuts
    job = Job(source, tmp_path / "seg.mp4", Engine("bicubic", 4, None, "cpu", "bi"),
              JobOptions(segment_frames=5, quiet=True))  # fmt: skip
    job.prepare()
    assert job.settings()["scene_cuts"] is True
