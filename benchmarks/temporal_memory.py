"""How much do the recurrent models use the past, and do they stay stable on long input?

    .venv/bin/python benchmarks/temporal_memory.py                  # shipped x4 BI weights, DAVIS validation clips
    .venv/bin/python benchmarks/temporal_memory.py --models delta --weights delta=run.safetensors
    .venv/bin/python benchmarks/temporal_memory.py --long-frames 0  # skip the long-sequence check

Every frame t (from frame ``--skip`` on, so that every variant has a full window) is
super-resolved three ways and scored against the ground truth (Y, BT.601, uint8):

* **full**: the whole clip streamed, as ``vidsr upscale`` does (state carried from frame 0);
* **window only**: a clip of the model's own window ``t-r .. t+r`` alone, so the recurrent
  state has seen only the ``r`` frames before t;
* **no past**: a clip ``t .. t+r`` alone (the first frame replicated backwards, as at the
  start of every video), so nothing before t reaches the output.

"memory" = full - window only (what the state carries beyond the window), "past" = full - no
past (everything earlier frames give). A network whose "past" is near 0 is a single-frame
network with look-ahead, whatever its recurrent parts. Each variant is run as vidsr runs any
clip, warm-up included (a model with ``warmup`` first runs its first frames in reverse), so
"no past" is what the same frame gets at the start of a video. **warm-up** = the whole clip
with the model's warm-up minus without it (``warmup = 0``), over every frame.

**Slow camera motion** (``--pan-speed``, default 2 GT pixels per frame, half an LR pixel):
the same table on a synthetic pan over the first frame of each clip, where every frame shows
the scene at another sub-pixel phase, as in Vid4's slow pans; the past can hold the most there.

**Long sequences** (``--long-frames``, default 300): each validation clip played forward,
backward, forward... to that length, and a synthetic clip (:func:`flat_sky_clip`: a large
flat gradient sky over slowly panning texture, where a recurrent state that runs away shows
first). Reported per clip: the worst frame, min over frames of (model - bicubic) PSNR-Y,
where bicubic is MATLAB's; and the largest hidden-state value in the first and the last
third of the frames (a state that grows without bound shows there).

The clips are the training validation split (never Vid4), centre-cropped like the
trainer's validation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from vidsr.data.degradation import degrade_uint8
from vidsr.metrics.image import psnr, rgb_to_y
from vidsr.models import create
from vidsr.models.base import VSRModel
from vidsr.training.data import discover_clips, load_clip, pan_clip, pan_margin, pan_path, validation_clips

DEFAULT_DATA = "../shared/data/train/davis2016_480p"
DEFAULT_CLIPS = "car-roundabout,kite-surf"


def to_y(frames: torch.Tensor) -> list[np.ndarray]:
    """``(T, 3, H, W)`` float frames -> Y planes of their uint8 rounding."""
    images = (frames.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return [rgb_to_y(image) for image in images]


def flat_sky_clip(frames: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 HR frames: a flat, deep blue-violet gradient sky over the top
    60%, textured ground panning right at 0.25 px per frame below, and a small textured kite
    drifting across the sky. Flat areas are where a recurrent state that runs away shows
    first, and saturated blues are where the unbounded state of the first five_parallel
    weights grew without limit (a sweep of flat colours found them)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    horizon = int(0.6 * height)
    down = yy / height / 0.6  # 0 at the top, 1 at the horizon
    sky = np.stack([40 + 60 * down, 10 + 40 * down, 250 - 100 * down], axis=-1)
    wide = width + frames  # ground texture, wide enough to pan
    gy, gx = np.mgrid[0 : height - horizon, 0:wide].astype(np.float64)
    ground = (120 + 45 * np.sin(gx / 3.1) * np.cos(gy / 4.3) + 25 * np.sin((gx + 2 * gy) / 7.7)
              + rng.normal(0, 8, gy.shape))
    ground = np.stack([ground * 0.9, ground, ground * 0.7], axis=-1)
    kite_size = max(4, height // 12)
    kite = 128 + 100 * np.sign(np.sin(np.arange(kite_size)[:, None] / 1.5 + np.arange(kite_size)[None] / 2.0))
    out = np.empty((frames, height, width, 3), dtype=np.uint8)
    for t in range(frames):
        frame = sky.copy()
        shift = 0.25 * t
        base, fraction = int(shift), shift - int(shift)
        strip = (1 - fraction) * ground[:, base : base + width] + fraction * ground[:, base + 1 : base + 1 + width]
        frame[horizon:] = strip
        top = int(height * 0.15 + 0.1 * height * np.sin(t / 40))
        left = int((0.1 + 0.7 * (t % 400) / 400) * (width - kite_size))
        frame[top : top + kite_size, left : left + kite_size] = kite[..., None]
        out[t] = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
    return out


def ping_pong(count: int, length: int) -> np.ndarray:
    """Frame indices of a ``count``-frame clip played forward, backward, forward... to ``length``."""
    if count < 2:
        return np.zeros(length, dtype=np.int64)
    cycle = np.concatenate([np.arange(count), np.arange(count - 2, 0, -1)])
    return np.resize(cycle, length)


def hidden_peak(hidden: object) -> float:
    """The largest absolute value in a recurrent state (0 for a model without one)."""
    if isinstance(hidden, torch.Tensor):
        return float(hidden.detach().abs().max()) if hidden.numel() else 0.0
    if isinstance(hidden, tuple):
        return max((hidden_peak(item) for item in hidden if item is not None), default=0.0)
    return 0.0


def stability(model: VSRModel, lr: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """Long-sequence check of one clip (uint8 ``(T, h, w, 3)`` LR and ``(T, sh, sw, 3)`` GT).

    Streams the clip one frame at a time; returns the worst frame's (model - bicubic)
    PSNR-Y, its index, and the largest hidden-state value over the first and last thirds.
    """
    bicubic = create("bicubic", model.scale)
    frames = torch.from_numpy(lr).permute(0, 3, 1, 2).float()[None] / 255
    truth = [rgb_to_y(frame) for frame in gt]
    streamer = model.streamer()
    outputs: list[np.ndarray] = []
    peaks: list[float] = []
    with torch.inference_mode():
        for t in range(frames.shape[1]):
            outputs += to_y(streamer.push(frames[:, t : t + 1])[0])
            peaks.append(hidden_peak(streamer._hidden))
        outputs += to_y(streamer.flush()[0])
        base = to_y(bicubic(frames)[0])
    gains = [psnr(o, y) - psnr(b, y) for o, b, y in zip(outputs, base, truth, strict=True)]
    third = max(1, len(peaks) // 3)
    worst = int(np.argmin(gains))
    return {"worst": float(gains[worst]), "worst_frame": worst, "mean": float(np.mean(gains)),
            "state_first": max(peaks[:third]), "state_last": max(peaks[-third:])}


def clip_psnr(model: VSRModel, lr: torch.Tensor, gt: list[np.ndarray], skip: int) -> dict[str, float]:
    """Mean PSNR-Y over frames ``skip..`` of ``lr`` ``(T, 3, h, w)`` for the three variants,
    and over every frame with and without the model's warm-up."""
    radius = model.radius
    frames = len(gt)
    warmup = model.warmup
    with torch.inference_mode():
        full = to_y(model(lr[None])[0])
        window = [to_y(model(lr[None, t - radius : t + radius + 1])[0, radius : radius + 1])[0]
                  for t in range(skip, frames)]
        alone = [to_y(model(lr[None, t : t + radius + 1])[0, :1])[0] for t in range(skip, frames)]
        model.warmup = 0
        try:
            cold = to_y(model(lr[None])[0])
        finally:
            model.warmup = warmup
    truth = gt[skip:]

    def mean(outputs: list[np.ndarray], reference: list[np.ndarray]) -> float:
        return float(np.mean([psnr(a, b) for a, b in zip(outputs, reference, strict=True)]))

    return {
        "full": mean(full[skip:], truth),
        "window only": mean(window, truth),
        "no past": mean(alone, truth),
        "warm": mean(full, gt),
        "cold": mean(cold, gt),
    }


def print_memory_table(models: dict[str, VSRModel], clips: list[tuple[np.ndarray, np.ndarray]], skip: int) -> None:
    """The full / window only / no past table over uint8 ``(LR, GT)`` clips, a row per model."""
    print("\n| model | full | window only | no past | memory | past | warm-up |\n"
          "|---|---:|---:|---:|---:|---:|---:|")
    for name, model in models.items():
        scores = [clip_psnr(model, torch.from_numpy(lr).permute(0, 3, 1, 2).float() / 255,
                            to_y(torch.from_numpy(gt).permute(0, 3, 1, 2).float() / 255), skip)
                  for lr, gt in tqdm(clips, desc=name, leave=False)]
        mean = {key: float(np.mean([s[key] for s in scores])) for key in scores[0]}
        memory, past = (round(mean["full"] - mean[key], 3) + 0.0 for key in ("window only", "no past"))
        warm = round(mean["warm"] - mean["cold"], 3) + 0.0
        print(f"| {name} (r={model.radius}) | {mean['full']:.3f} | {mean['window only']:.3f} | "
              f"{mean['no past']:.3f} | {memory:+.3f} | {past:+.3f} | {warm:+.3f} |", flush=True)


def slow_pan(still: np.ndarray, frames: int, side: int, speed: float, degradation: str, scale: int = 4):
    """A :func:`~vidsr.training.data.pan_clip` over the centre of ``still``: ``frames`` crops
    of ``side`` pixels (fewer where the frame is too small) moving ``speed`` GT pixels per
    frame at 30 degrees from the x axis."""
    path = pan_path(speed * np.array([np.sin(np.pi / 6), np.cos(np.pi / 6)]), frames)
    room = np.array(still.shape[:2]) - 2 * pan_margin(scale, 1.6) - np.ptp(path, axis=0)
    side = min(side, int(room.min()) // 4 * 4)
    if side < 16:
        raise SystemExit(f"temporal_memory: frames of {still.shape[1]}x{still.shape[0]} are too small for "
                         f"a pan at {speed:g} pixels per frame; pass --pan-speed 0")
    centre = (np.array(still.shape[:2]) - side) // 2 - (path.max(axis=0) + path.min(axis=0)) // 2
    return pan_clip(still, path + centre, side, scale, degradation, 1.6)


def long_sequences(views: list, frames: int, degradation: str,
                   scale: int = 4) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, LR, GT)`` uint8 clips of ``frames`` frames: the validation clips played
    forward, backward, forward..., and :func:`flat_sky_clip` at the validation crop size."""
    clips = [(f"{view.name} (ping-pong)", view.lr[ping_pong(len(view.lr), frames)],
              view.gt[ping_pong(len(view.gt), frames)]) for view in views]
    height, width = views[0].gt.shape[1:3] if views else (256, 256)
    sky = flat_sky_clip(frames, height, width)
    clips.append(("flat sky (synthetic)", degrade_uint8(sky, scale, degradation, 1.6), sky))
    return clips


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=DEFAULT_DATA, help="training data folder holding the clips")
    parser.add_argument("--clips", default=DEFAULT_CLIPS, help="comma-separated clip names")
    parser.add_argument("--models", default="fsrcnn,previous,delta,five_parallel")
    parser.add_argument("--weights", action="append", default=[], metavar="NAME=FILE",
                        help="weights for a model instead of the shipped ones")
    parser.add_argument("--degradation", choices=["bi", "bd"], default="bi")
    parser.add_argument("--scale", type=int, choices=[2, 4], default=4)
    parser.add_argument("--crop", type=int, default=256, help="centre GT crop (pixels)")
    parser.add_argument("--frames", type=int, default=30, help="first frames of each clip")
    parser.add_argument("--skip", type=int, default=4, help="frames scored from this index on")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--pan-speed", type=float, default=2.0,
                        help="also score a synthetic slow pan at this many GT pixels per frame (0: skip it)")
    parser.add_argument("--long-frames", type=int, default=300,
                        help="length of the long-sequence stability check (0: skip it)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if not 2 <= args.skip < args.frames:
        parser.error("--skip must be >= 2 (the widest window's past) and below --frames")
    weights = dict(item.split("=", 1) for item in args.weights)
    found = discover_clips([args.data])
    names = [name for name in args.clips.split(",") if name]
    missing = [name for name in names if name not in found]
    if missing:
        parser.error(f"no clip {', '.join(missing)} in {args.data}")
    scale = args.scale
    clips = [load_clip(name, found[name], scale, args.degradation, 1.6) for name in names]
    views = validation_clips(clips, scale, args.crop, args.frames)
    print(f"x{scale} {args.degradation.upper()}, clips {', '.join(names)} (first {args.frames} frames, "
          f"centre crop {args.crop}), PSNR-Y (dB) over frames {args.skip}..; torch {torch.__version__}")
    models = {}
    for name in [m for m in args.models.split(",") if m]:
        source = {"weights": Path(weights[name])} if name in weights else {"pretrained": True}
        models[name] = create(name, scale, degradation=args.degradation, **source).eval()
    print_memory_table(models, [(view.lr, view.gt) for view in views], args.skip)
    if args.pan_speed:
        print(f"\nSlow camera motion: a synthetic pan at {args.pan_speed:g} GT pixels per frame over the "
              f"first frame of each clip ({args.frames} frames, crop {args.crop}; `pan_clip`, as "
              "`data.pan` trains on)")
        pans = [slow_pan(clip.gt[0], args.frames, args.crop, args.pan_speed, args.degradation, scale)
                for clip in clips]
        print_memory_table(models, [(pan.lr, pan.gt) for pan in pans], args.skip)
    if args.long_frames:
        all_views = validation_clips(clips, scale, args.crop, None)
        sequences = long_sequences(all_views, args.long_frames, args.degradation, scale)
        print(f"\nLong sequences ({args.long_frames} frames): worst frame = min over frames of "
              "(model - bicubic) PSNR-Y (dB, must stay >= 0); largest hidden-state value in "
              "the first / last third\n\n| model | clip | worst frame | at | mean gain | state first | "
              "state last |\n|---|---|---:|---:|---:|---:|---:|")
        for name, model in models.items():
            for clip_name, lr, gt in tqdm(sequences, desc=f"{name} long", leave=False):
                result = stability(model, lr, gt)
                print(f"| {name} | {clip_name} | {result['worst']:+.2f} | {result['worst_frame']} | "
                      f"{result['mean']:+.2f} | {result['state_first']:.2f} | "
                      f"{result['state_last']:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
