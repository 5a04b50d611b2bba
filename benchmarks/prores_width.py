"""Are FFmpeg's ProRes encoders deterministic at every width? (why writer.py warns)

    .venv/bin/python benchmarks/prores_width.py                 # widths 24, 32, 40, 48; 200 clips each
    .venv/bin/python benchmarks/prores_width.py --widths 3416 --height 64 --clips 20

Encodes the same 4 frames ``--clips`` times with each encoder, with frames of random content
made and freed between them (as a real pipeline does), and counts the encodings whose bytes
differ from the first. An encoder that reads only what it was given gives 0 at every width.
"""

from __future__ import annotations

import argparse
import hashlib
import io

import av
import numpy as np


def encode(codec: str, pix_fmt: str, width: int, height: int, rng: np.random.Generator) -> str:
    """MD5 of the packets of 4 fixed frames (a ramp) encoded with ``codec`` in ``pix_fmt``."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mov") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        digest = hashlib.md5()
        for index in range(4):
            ramp = np.clip(np.arange(width) * 5 + index * 3, 0, 255).astype(np.uint8)
            rgba = np.repeat(np.repeat(ramp[None, :, None], height, 0), 4, 2)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgba), format="rgba").reformat(format=pix_fmt)
            for packet in stream.encode(frame):
                digest.update(bytes(packet))
            for _ in range(5):  # other frames come and go, as in a pipeline
                noise = rng.integers(0, 65535, (height, width, 4), dtype=np.uint16)
                av.VideoFrame.from_ndarray(noise, format="rgba64le").reformat(format=pix_fmt)
        for packet in stream.encode(None):
            digest.update(bytes(packet))
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", default="24,32,40,48")
    parser.add_argument("--height", type=int, default=16)
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--codecs", default="prores_ks,prores_aw")
    parser.add_argument("--formats", default="yuv444p10le,yuva444p10le", help="4444 without and with alpha")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"PyAV {av.__version__}, FFmpeg {av.library_versions['libavcodec']} (libavcodec)")
    print("| encoder | format | width | encodings unlike the first |")
    print("|---|---|---:|---:|")
    for codec in args.codecs.split(","):
        for pix_fmt in args.formats.split(","):
            for width in (int(w) for w in args.widths.split(",")):
                digests = [encode(codec, pix_fmt, width, args.height, rng) for _ in range(args.clips)]
                differing = sum(d != digests[0] for d in digests)
                print(f"| {codec} | {pix_fmt} | {width} | {differing} of {args.clips} |", flush=True)


if __name__ == "__main__":
    main()
