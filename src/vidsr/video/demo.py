"""`vidsr demo`: the whole job on a short real-looking clip, offline, in well under two minutes.

1. A camera pans and zooms over a real photograph shipped with matplotlib (Grace Hopper,
   ``matplotlib.cbook.get_sample_data``); generated frames if it is missing.
2. The clip is degraded like the literature's "BI" data (MATLAB bicubic x4 downscale).
3. The LR clip is upscaled with the default model through the real video pipeline, and a
   comparison video (nearest, bicubic, default model, GT; per-frame PSNR) is written.
4. The founding-format table (MSE, SSIM, PSNR) of those models is printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from vidsr.video.messages import warn
from vidsr.video.pipeline import DEFAULT_MODEL

DEFAULT_OUT = Path("demo-output")
DEMO_SIZE = (192, 256)  # GT height, width: LR is 48x64 at x4
DEMO_FRAMES = 30
DEMO_FPS = 25


def source_photo() -> Image.Image | None:
    """The sample photograph matplotlib ships (None if this installation lacks it)."""
    try:
        from matplotlib import cbook

        path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        with Image.open(path) as image:
            return image.convert("RGB")
    except (ImportError, OSError, ValueError):
        return None


def camera_clip(photo: Image.Image, frames: int, height: int, width: int) -> np.ndarray:
    """A slow pan and zoom over ``photo``: uint8 ``(T, H, W, 3)``, sub-pixel motion."""
    photo_w, photo_h = photo.size
    aspect = width / height
    clip = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        progress = t / max(frames - 1, 1)
        box_w = photo_w * (0.8 - 0.25 * progress)  # zoom in
        box_h = box_w / aspect
        centre_x = photo_w * (0.42 + 0.12 * progress)  # pan right and down
        centre_y = photo_h * (0.38 + 0.08 * progress)
        box = (centre_x - box_w / 2, centre_y - box_h / 2, centre_x + box_w / 2, centre_y + box_h / 2)
        clip[t] = np.asarray(photo.resize((width, height), Image.Resampling.LANCZOS, box=box))
    return clip


def make_clip(frames: int = DEMO_FRAMES, height: int = DEMO_SIZE[0], width: int = DEMO_SIZE[1]) -> np.ndarray:
    """The demo's ground-truth clip (the photograph, or generated frames as a fallback)."""
    photo = source_photo()
    if photo is None:
        from vidsr.video.synthetic import pattern_frame

        return np.stack([pattern_frame(t, height, width) for t in range(frames)])
    return camera_clip(photo, frames, height, width)


def run_demo(
    out_dir: str | Path = DEFAULT_OUT,
    *,
    frames: int = DEMO_FRAMES,
    model: str = DEFAULT_MODEL,
    scale: int = 4,
    quiet: bool = False,
    on_warning: Callable[[str], None] = warn,
) -> str:
    """Run the demo into ``out_dir`` (created; its demo files replaced); returns the table."""
    from vidsr.data.datasets import Clip
    from vidsr.data.degradation import degrade_uint8
    from vidsr.data.frames import write_frame
    from vidsr.evaluation import ModelScores, count_params, format_tables, score_clip
    from vidsr.evaluation.evaluate import EvaluationResult
    from vidsr.video.colour import RGB_SOURCE_COLOUR
    from vidsr.video.compare import compare_videos
    from vidsr.video.inference import load_model
    from vidsr.video.pipeline import upscale_video
    from vidsr.video.safety import atomic_output
    from vidsr.video.synthetic import write_video

    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    def say(message: str) -> None:
        if not quiet:
            print(message, flush=True)

    gt = make_clip(frames)
    lr = degrade_uint8(gt, scale, "bi")
    for name, clip in (("gt_frames", gt), ("lr_frames", lr)):
        with atomic_output(out / name, folder=True) as folder:
            for index, frame in enumerate(clip):
                write_frame(folder / f"{index:06d}.png", frame)
    for name, clip in (("gt.mp4", gt), ("lr.mp4", lr)):
        with atomic_output(out / name, folder=False) as partial:
            write_video(partial, clip, fps=DEMO_FPS, colour=RGB_SOURCE_COLOUR)
    say(f"clip: {frames} frames, GT {gt.shape[2]}x{gt.shape[1]}, LR {lr.shape[2]}x{lr.shape[1]} (x{scale} BI)")

    common = dict(fps=DEMO_FPS, force=True, quiet=quiet, on_warning=on_warning)
    upscaled = upscale_video(out / "lr_frames", out / "upscaled.mp4", model=model, scale=scale, **common)
    say(f"upscaled with {model}: {upscaled.output} ({upscaled.fps:.1f} fps end to end)")
    names = list(dict.fromkeys(["raw", "bicubic", model]))
    compared = compare_videos(
        out / "lr_frames", out / "compare.mp4", names, gt=out / "gt_frames", scale=scale, **common
    )
    say(f"comparison: {compared.output}")

    result = EvaluationResult(scale, "bi", 0)
    clip = Clip(name="demo", gt=gt, lr=lr)
    for name in names:
        net = load_model(name, scale, on_warning=on_warning)
        scores = ModelScores(params=count_params(net))
        scores.clips["demo"] = score_clip(net, clip)
        result.models[name] = scores
    table = format_tables(result)
    (out / "table.md").write_text(table, encoding="utf-8")
    say("")
    print(table, flush=True)
    say(f"files in {out}/: gt.mp4, lr.mp4, upscaled.mp4, compare.mp4, gt_frames/, lr_frames/, table.md")
    say(f"demo finished in {time.perf_counter() - started:.1f} s")
    return table
