"""Visual proof for the real-footage weights: `vidsr compare` on a compressed clip made here.

The demo's photograph (matplotlib's Grace Hopper sample) is filmed by a slow pan and zoom
(GT 384x512, 30 frames), downscaled x4 with MATLAB bicubic, and written as an H.264 file at
a high CRF (35, preset medium), as a web download would be. `vidsr compare` then shows
bicubic, delta with its BI weights and delta with its real weights beside the GT, with the
per-frame PSNR in each label. The script prints each model's mean PSNR (Y) and writes a crop
of one frame of each panel as a PNG (for the README; kept under 200 kB).

    python benchmarks/real_proof.py --png docs/real_vs_bi.png
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from vidsr.data.degradation import degrade_uint8
from vidsr.data.frames import read_clip, write_frame
from vidsr.video.compare import grid_shape, label_panel
from vidsr.video.demo import make_clip

MODELS = "bicubic,delta:bi,delta:real"


def write_h264(frames: np.ndarray, path: Path, crf: int, preset: str = "medium", fps: int = 25) -> None:
    """uint8 RGB frames -> an H.264 yuv420p file at ``crf``."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def crops(frame: np.ndarray, labels: list[str], panel_h: int, panel_w: int, box: tuple[int, int, int]) -> np.ndarray:
    """One ``box = (top, left, side)`` crop of each panel of a side-by-side frame, relabelled,
    in one row."""
    _, columns = grid_shape(len(labels))
    top, left, side = box
    out = []
    for index in range(len(labels)):
        row, column = divmod(index, columns)
        y, x = row * panel_h + top, column * panel_w + left
        out.append(label_panel(np.ascontiguousarray(frame[y : y + side, x : x + side]), labels[index]))
    return np.concatenate(out, axis=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--png", type=Path, default=None, help="write the crops here (PNG)")
    parser.add_argument("--video", type=Path, default=None, help="also keep the comparison video here (.mp4)")
    parser.add_argument("--crf", type=int, default=35)
    parser.add_argument("--models", default=MODELS, help=f"for vidsr compare (default {MODELS})")
    parser.add_argument("--frame", type=int, default=20, help="frame of the crop (default 20)")
    parser.add_argument("--box", type=int, nargs=3, default=(96, 160, 192), metavar=("TOP", "LEFT", "SIDE"),
                        help="crop in GT pixels (default 96 160 192)")
    args = parser.parse_args()

    gt = make_clip(frames=30, height=384, width=512)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for index, frame in enumerate(gt):
            write_frame(work / "gt" / f"{index:05d}.png", frame)
        write_h264(degrade_uint8(gt, 4, "bi"), work / "lr.mp4", args.crf)
        kbit = (work / "lr.mp4").stat().st_size * 8 / 1000 / (len(gt) / 25)
        print(f"LR clip: 96x128, {len(gt)} frames, H.264 CRF {args.crf} preset medium, {kbit:.0f} kbit/s")
        command = [sys.executable, "-m", "vidsr", "compare", str(work / "lr.mp4"), str(work / "out"),
                   "--models", args.models, "--gt", str(work / "gt"), "--quiet"]
        print("$ vidsr " + " ".join(command[3:]).replace(str(work), "<tmp>"))
        result = subprocess.run(command, capture_output=True, text=True)
        print(result.stdout.strip())
        if result.returncode:
            print(result.stderr, file=sys.stderr)
            return result.returncode
        if args.video:
            video = [*command[:5], str(args.video), *command[6:], "--force"]
            subprocess.run(video, check=True)
        if args.png:
            frame = read_clip(work / "out")[args.frame]
            means = dict(re.findall(r"^(\S+): mean PSNR \(Y\) over \d+ frames: (\S+ dB)", result.stdout, re.M))
            labels = [f"{name} (mean {means[name]})" if name in means else name for name in args.models.split(",")]
            row = crops(frame, [*labels, f"GT, frame {args.frame}"], 384, 512, tuple(args.box))
            args.png.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(row).save(args.png, optimize=True)
            print(f"wrote {args.png}: {row.shape[1]}x{row.shape[0]}, {args.png.stat().st_size / 1000:.0f} kB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
