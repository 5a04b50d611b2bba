"""Helpers for the video tests: tiny test models and an ffprobe-like reader of output files."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import av
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidsr.models.base import ModelFacts, VSRModel

_FACTS = ModelFacts(
    single_cnn=False, multiple_2d_stacks=False, recurrent_2d=True, recurrent_3d=False, output_range_controlled=False
)

class TinyRecurrent(VSRModel):
    """A small recurrent VSR model (radius 1, hidden state) with fixed random weights."""

    facts: ClassVar[ModelFacts] = _FACTS
    radius: ClassVar[int] = 1

    def __init__(self, scale: int = 4, seed: int = 0) -> None:
        super().__init__(scale)
        generator = torch.Generator().manual_seed(seed)
        self.features = nn.Conv2d(3, 4, 3, padding=1)
        self.mix = nn.Conv2d(3 * 7 + 4, 4, 3, padding=1)
        self.out = nn.Conv2d(4, 3 * scale * scale, 3, padding=1)
        with torch.no_grad():
            for conv in (self.features, self.mix, self.out):
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * 0.2)
                conv.bias.copy_(torch.randn(conv.bias.shape, generator=generator) * 0.05)

    def encode(self, lr: Tensor) -> Tensor:
        b, t = lr.shape[:2]
        feats = torch.relu(self.features(lr.flatten(0, 1))).unflatten(0, (b, t))
        return torch.cat([lr, feats], dim=2)

    def init_hidden(self, batch: int, height: int, width: int, like: Tensor) -> Any:
        return like.new_zeros(batch, 4, height, width)

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        hidden = 0.5 * torch.tanh(self.mix(torch.cat([window.flatten(1, 2), hidden], dim=1)))
        centre = window[:, self.radius, :3]
        base = F.interpolate(centre, scale_factor=self.scale, mode="nearest")
        return base + 0.1 * F.pixel_shuffle(self.out(hidden), self.scale), hidden

class FailingModel(TinyRecurrent):
    """Raises in the middle of a video, like a crash or an interrupted run."""

    def __init__(self, fail_after: int, error: BaseException | None = None, scale: int = 4) -> None:
        super().__init__(scale)
        self.fail_after = fail_after
        self.error = error or RuntimeError("model failed on purpose")
        self.calls = 0

    def cell(self, window: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        self.calls += 1
        if self.calls > self.fail_after:
            raise self.error
        return super().cell(window, hidden)

@dataclass
class Probe:
    """What an output file holds, read back through PyAV."""

    width: int
    height: int
    times: list[Fraction]  # presentation time of each video frame, in seconds
    durations: list[Fraction]
    frames: list[np.ndarray]
    colorspace: int
    color_range: int
    color_primaries: int
    color_trc: int
    rotation: int
    duration: float | None  # container duration, seconds
    streams: list[tuple[str, str]]
    packets: dict[str, int] = field(default_factory=dict)
    packet_seconds: dict[str, float] = field(default_factory=dict)
    # Per stream type, each packet's (bytes, pts, dts, duration, time base): equal lists
    # mean a stream was copied packet for packet (a re-encode changes the bytes).
    packet_data: dict[str, list[tuple[bytes, int | None, int | None, int, Fraction]]] = field(default_factory=dict)

    @property
    def end(self) -> Fraction:
        """End of the last video frame, seconds."""
        return self.times[-1] + self.durations[-1]

def probe(path: Path, decode_rgb: bool = True) -> Probe:
    """Frame times, colour tags, rotation and per-stream packet counts of a video file."""
    from vidsr.video.colour import frame_to_rgb

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        times, durations, frames = [], [], []
        first = None
        for frame in container.decode(video):
            first = first or frame
            times.append(frame.pts * frame.time_base)
            durations.append((frame.duration or 0) * frame.time_base)
            if decode_rgb:
                frames.append(frame_to_rgb(frame))
        assert first is not None, f"{path} has no frames"
        result = Probe(
            width=first.width,
            height=first.height,
            times=times,
            durations=durations,
            frames=frames,
            colorspace=int(first.colorspace),
            color_range=int(first.color_range),
            color_primaries=int(first.color_primaries),
            color_trc=int(first.color_trc),
            rotation=int(first.rotation),
            duration=container.duration / av.time_base if container.duration else None,
            streams=[(s.type, s.codec_context.name) for s in container.streams],
        )
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size == 0:
                continue
            kind = packet.stream.type
            result.packets[kind] = result.packets.get(kind, 0) + 1
            if packet.duration:
                seconds = float(packet.duration * packet.time_base)
                result.packet_seconds[kind] = result.packet_seconds.get(kind, 0.0) + seconds
            record = (bytes(packet), packet.pts, packet.dts, packet.duration, packet.time_base)
            result.packet_data.setdefault(kind, []).append(record)
    return result


def decoded_audio_seconds(path: Path) -> Fraction:
    """How long the first audio stream of ``path`` plays: decoded samples / sample rate."""
    samples, rate = 0, 0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            samples, rate = samples + frame.samples, frame.sample_rate
    assert rate, f"{path} has no audio"
    return Fraction(samples, rate)


def write_keyframed(path: Path, count: int, height: int = 48, width: int = 64, *, gop: int = 8,
                    audio_seconds: float | None = None) -> Path:
    """An H.264 video of the test pattern at 25 fps with a keyframe every ``gop`` frames and
    B-frames (so that seeking to a segment lands on a keyframe before it), and AAC audio."""
    from vidsr.video.colour import Colour, rgb_to_frame
    from vidsr.video.synthetic import _write_tone, pattern_frame

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25, options={"g": str(gop), "bf": "2", "crf": "18"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("aac", rate=48000) if audio_seconds else None
        for index in range(count):
            frame = rgb_to_frame(pattern_frame(index, height, width), Colour(), "yuv420p")
            frame.pts, frame.time_base = index, Fraction(1, 25)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
        if audio is not None:
            _write_tone(container, audio, audio_seconds)
    return path


def interrupted_at_second_segment(monkeypatch, capsys, args: list[str]) -> None:
    """`vidsr upscale ARGS` in segments of 4 frames, stopped (Ctrl-C) as the second starts."""
    from vidsr.cli.main import main
    from vidsr.video.jobs import Job

    original = Job.run_segment

    def interrupted(self, index, progress=None):  # noqa: ANN001
        if index == 1:
            raise KeyboardInterrupt
        return original(self, index, progress)

    monkeypatch.setattr(Job, "run_segment", interrupted)
    assert main(["upscale", *args, "--segment-frames", "4"]) == 130
    monkeypatch.undo()
    capsys.readouterr()
