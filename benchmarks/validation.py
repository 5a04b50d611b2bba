"""Shipped (or given) weights on the training validation split, scored as `vidsr train` does.

    .venv/bin/python benchmarks/validation.py --degradation bi --models bicubic,fsrcnn,delta,five_parallel,two_step,flow
    .venv/bin/python benchmarks/validation.py --degradation bd --models delta,flow=run/best.pt
    .venv/bin/python benchmarks/validation.py --degradation bi+h264 --crf 33 --models bicubic,delta,delta:real
    .venv/bin/python benchmarks/validation.py --degradation bi+vp9 --crf 40 --models delta,delta@0.25,delta@0.5
    .venv/bin/python benchmarks/validation.py --degradation bi+av1 --crf 40 --models delta,delta@0.25,delta@0.5
    .venv/bin/python benchmarks/validation.py --degradation bi+mpeg2 --qscale 4 --models delta,delta@0.5
    .venv/bin/python benchmarks/validation.py --degradation bi+jpeg --quality 75 --models delta,delta@0.5
    .venv/bin/python benchmarks/validation.py --scale 2 --models bicubic,delta
    .venv/bin/python benchmarks/validation.py --models delta,five_parallel,flow --self-ensemble 8
    .venv/bin/python benchmarks/validation.py --scale 2 --warm-start \
        --models delta=src/vidsr/weights/delta_x4_bi.safetensors

``bi+h264`` is the compressed benchmark of ``vidsr evaluate`` on these clips: BI, then the
first frames of each whole LR clip through x264 (yuv420p, ``--crf``, preset medium) and
back, then the crop; ``bi+hevc`` the same through x265 (``--crf``, preset medium; it prints
x265's CRF and the slice QP of the headers), ``bi+vp9`` through libvpx-vp9 (``--crf``, as web
video), ``bi+av1`` through SVT-AV1 (``--crf``, preset 8, as web video),
``bi+mpeg2`` and ``bi+mpeg4`` through FFmpeg's MPEG-2 (DVD) and MPEG-4 part 2 (DivX/Xvid)
encoders at a fixed ``--qscale``, ``bi+jpeg`` every LR frame through Pillow's JPEG at
``--quality`` (4:2:0, as photos and MJPEG cameras). Each prints the stream's mean quantiser
(:mod:`vidsr.video.quantiser`), from which ``vidsr upscale`` picks a denoise strength.
``NAME:DEGRADATION`` takes that model's shipped weights of another
degradation (``delta:real``); ``NAME@S`` takes it at denoise strength ``S`` (``delta@0.5``:
between its BI and real weights, :mod:`vidsr.models.denoise`). ``--warm-start`` loads each
``NAME=WEIGHTS`` as ``model.init_weights`` starts a run: weights of a related model or of
another scale (x4 weights in an x2 model: :func:`vidsr.models.layers.rescale_subpixel_state`).

The clips are the configs' held-out DAVIS clips (``data.val_split``, never Vid4), LR made
with the degradation (cached in ``~/.cache/vidsr-lr`` as the trainer does), centre crop 256
GT pixels, first 30 frames, streamed in fp32 through :func:`vidsr.training.validation.validate`:
the figure a training run logs as "validation PSNR-Y", so a run's checkpoints and the
shipped weights can be compared on the same footing.
"""

from __future__ import annotations

import argparse
import io
import sys

import numpy as np

import torch

from vidsr.backends import make_backend
from vidsr.errors import VidsrError
from vidsr.models import create
from vidsr.models.registry import spec_weights
from vidsr.models.weights import load_weights
from vidsr.training.data import held_out_views, validation_clips
from vidsr.training.precision import make_precision
from vidsr.training.validation import validate, validate_clip
from vidsr.video.quantiser import Quantiser, jpeg_luma_step

# Compressed settings: BI, then this encoder on the LR clip.
COMPRESSED = {
    "bi+h264": "libx264", "bi+hevc": "libx265", "bi+vp9": "libvpx-vp9", "bi+av1": "libsvtav1",
    "bi+mpeg2": "mpeg2video", "bi+mpeg4": "mpeg4", "bi+jpeg": "jpeg",
}  # fmt: skip


def jpeg_clip(frames: np.ndarray, quality: int) -> tuple[np.ndarray, Quantiser]:
    """Each uint8 RGB frame through Pillow's JPEG at ``quality`` and back; the luma step."""
    from PIL import Image

    out, steps = [], []
    for frame in frames:
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="JPEG", quality=quality)
        steps.append(jpeg_luma_step(buffer.getvalue()))
        out.append(np.asarray(Image.open(buffer).convert("RGB")))
    return np.stack(out), Quantiser("JPEG", float(np.mean(steps)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/train/davis2016_480p")
    parser.add_argument("--clips", default="car-roundabout,kite-surf", help="comma-separated clip names")
    parser.add_argument("--scale", type=int, choices=[2, 4], default=4)
    parser.add_argument("--degradation", choices=["bi", "bd", *COMPRESSED], default="bi")
    parser.add_argument("--crf", type=int, default=23, help="bi+h264, bi+hevc, bi+vp9: the encoder's CRF (default 23)")
    parser.add_argument("--qscale", type=int, default=4, help="bi+mpeg2, bi+mpeg4: fixed quantiser (default 4)")
    parser.add_argument("--quality", type=int, default=75, help="bi+jpeg: Pillow's JPEG quality (default 75)")
    parser.add_argument("--models", default="bicubic,delta", help="NAME or NAME=WEIGHTS, comma-separated")
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--cache", default="~/.cache/vidsr-lr", help="LR cache folder ('' for none)")
    parser.add_argument("--self-ensemble", type=int, choices=[2, 4, 8], default=None, metavar="N",
                        help="also score each trained model's self-ensemble of N flips and transposes (a row each)")
    parser.add_argument("--warm-start", action="store_true",
                        help="load NAME=WEIGHTS as model.init_weights does (another scale, a related model)")
    args = parser.parse_args(argv)
    scale = args.scale
    torch.set_num_threads(1)
    try:
        compressed = args.degradation in COMPRESSED
        kind = "bi" if compressed else args.degradation
        views = held_out_views(args.data, args.clips.split(","), scale, kind, None, args.frames, args.cache or None)
        if compressed:
            from vidsr.data.real import VideoCodec, compress_clip

            encoder = COMPRESSED[args.degradation]
            by_crf = encoder in ("libx264", "libx265", "libvpx-vp9", "libsvtav1")
            preset = "medium" if encoder in ("libx264", "libx265") else None
            codec = None if encoder == "jpeg" else VideoCodec(encoder, args.crf, preset) \
                if by_crf else VideoCodec(encoder, None, None, args.qscale)
            quantisers, headers = [], []
            for view in views:
                if encoder == "jpeg":
                    view.lr, quantiser = jpeg_clip(view.lr, args.quality)
                    quantisers.append(quantiser)
                    continue
                encoded = compress_clip(view.lr, codec)
                view.lr = encoded.frames
                quantisers.append(encoded.quantiser)
                if encoded.headers is not None:
                    headers.append(encoded.headers)
        views = validation_clips(views, scale, args.crop, None)
    except VidsrError as error:
        print(f"validation: {error}", file=sys.stderr)
        return 2
    settings = ""
    if compressed:
        level = f"quality {args.quality}" if codec is None else \
            f"CRF {args.crf}" if codec.crf is not None else f"qscale {args.qscale}"
        mean = Quantiser(quantisers[0].codec, sum(q.value for q in quantisers) / len(quantisers))
        settings = f" {level} ({mean.describe()}"
        if headers:  # x265: its CRF above, and the slice QP its headers carry
            settings += "; " + Quantiser(headers[0].codec, sum(q.value for q in headers) / len(headers)).describe()
        settings += ")"
    print(f"x{scale} {args.degradation.upper()}{settings}, clips {args.clips} "
          f"(crop {args.crop}, {args.frames} frames), fp32")
    print(f"{'model':40} {'PSNR-Y':>8} {'SSIM-Y':>8}")
    for spec in args.models.split(","):
        head, _, weights = spec.partition("=")
        try:  # NAME, NAME:DEGRADATION (other shipped weights), NAME@S (denoise strength S)
            name, trained_on, blend = spec_weights(head, kind, scale)
            if weights and blend:
                raise VidsrError(f"{spec}: NAME@S picks its weights itself; drop the '=FILE'")
            if weights and args.warm_start:
                model = load_weights(create(name, scale, pretrained=False), weights, keep_grid=True,
                                     warm_start=True).eval()
            else:
                model = create(name, scale, degradation=trained_on, weights=weights or blend)
        except VidsrError as error:
            print(f"validation: {error}", file=sys.stderr)
            return 2
        fp32 = make_precision("fp32", torch.device("cpu"))
        scores = validate(model, views, fp32)
        print(f"{spec:40} {scores['psnr_y']:8.3f} {scores['ssim_y']:8.4f}", flush=True)
        if args.self_ensemble and any(True for _ in model.parameters()):
            runner = make_backend(model, "torch", "cpu", "fp32", self_ensemble=args.self_ensemble)
            figures = [validate_clip(runner, view, fp32) for view in views]
            label = f"{spec} x{args.self_ensemble} self-ensemble"
            print(f"{label:40} {np.mean([f['psnr_y'] for f in figures]):8.3f} "
                  f"{np.mean([f['ssim_y'] for f in figures]):8.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
