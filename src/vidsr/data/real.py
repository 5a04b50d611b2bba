"""The "real" degradation: a random second-order mix of blur, resizing, noise, JPEG and
video compression, drawn per clip, to train models for real-world (compressed) video.

It is Real-ESRGAN's second-order degradation (Wang et al., ICCVW 2021) as RealBasicVSR
(Chan et al., CVPR 2022) applies it to video: the parameters are drawn once per clip and
then drift slightly from frame to frame (a random walk kept inside the ranges), and a video
codec compresses the whole LR clip, so that its artefacts move with the content as real ones
do. Where the published ranges are harsher than a compact model (tens of thousands of
parameters) can undo, they are narrowed (column "published" below). The video codec is
libx264 at a CRF (or MPEG-4 part 2 at a fixed quantiser) instead of RealBasicVSR's bitrates
of 10-100 kbit/s, so that its strength does not depend on the frame size.

A share of the clips (``PLAIN_PROB``, 0.4) is "plain": the GT is only downscaled with
MATLAB's bicubic (as BI) and then goes through the video codec. That is the commonest real
input (a clean master, downscaled and compressed for the web or a phone), and a compact model
trained only on the full chain over-smooths it. The other clips get the full chain.

Per frame, in float RGB in [0, 1] (GT ``H x W``, LR ``H/s x W/s``), clamped after each step:

1. first order, at GT size: blur -> resize by r1 -> noise -> JPEG;
2. second order: blur (p 0.8) -> resize to r2 x the LR size -> noise;
3. in random order (p 0.5): {resize to the LR size, then a sinc filter (p 0.8)} and JPEG;
4. then the whole uint8 LR clip goes through the video codec (yuv420p, BT.601 limited
   range, 25 fps, one thread) and is decoded back to RGB (:func:`compress_clip`).

What is drawn per clip (uniformly in a range unless probabilities are given), and how much
it may change from one frame to the next:

==================== ===================================================== ================== ==========
parameter            drawn from                                            published          drift
==================== ===================================================== ================== ==========
blur kernel          iso .405, aniso .225, generalised iso .108 / aniso    same               -
                     .027, plateau iso .108 / aniso .027, sinc .1
kernel size          odd, 7 to 21                                          same               -
blur sigma x, y      first [0.2, 3], second [0.2, 1.5] (iso: x = y)        same               0.02
kernel rotation      [-pi, pi]                                             same               0.05 (0.31)
kernel beta          generalised [0.5, 4], plateau [1, 2]                  same               0.05 / 0.1
sinc cut-off omega   [pi/3, pi] under 13 taps, [pi/5, pi] from 13          same               0.0628
first resize r1      up .2 [1, 1.5], down .7 [0.3, 1], keep .1 (x GT)      down [0.15, 1]     0.015
second resize r2     up .3 [1, 1.2], down .4 [0.6, 1], keep .3 (x LR)      down [0.3, 1]      0.015 (0.03)
resize method        bicubic, bilinear, area (1/3 each; final one too)     same               -
first noise          Gaussian .5 sigma [1, 20] / Poisson .5 scale          [1, 30] / [0.05,   0.1 / 0.005
                     [0.05, 2]; grey (same on R, G, B) .4                  3]
second noise         Gaussian sigma [1, 10] / Poisson scale [0.05, 1]      [1, 25] / [0.05,   0.1 / 0.005
                                                                           2.5]
JPEG quality         [40, 95], first and final                             [30, 95]           2 (3)
final sinc           p 0.8, size 7 to 21, omega as above                   omega [pi/3, pi]   0.0628
video codec          libx264 .8: CRF [18, 40], preset ultrafast, super-    10-100 kbit/s      -
                     fast, veryfast, faster, fast, medium or slow;
                     MPEG-4 part 2 .2: quantiser [2, 20]; keyframe
                     interval 15, 30, 60 or 250 frames
==================== ===================================================== ================== ==========

A run may change two of these (:class:`RealMix`, ``data.real_plain_prob`` and
``data.real_crf`` in a training config): the share of plain clips and x264's CRF range.

Gaussian noise sigma is in 0-255 units; Poisson noise is ``(Poisson(255 x) / 255 - x) x
scale``; grey noise is drawn on the luma and added to R, G and B alike. Resizes are
centred (``align_corners=False``): LR pixel ``i`` stays centred on GT pixel ``s*i +
(s-1)/2`` as after BI, so the LR grid of "real" is BI's (``LR_GRID["real"] = "centre"``).

Everything random comes from the :class:`RealParams` (its ``seed`` drives the drift and the
noise), so ``degrade_real(gt, s, draw_params(np.random.default_rng(n)))`` is the same clip
for the same ``n``; :func:`clip_rng` gives a clip's generator from a run seed and its name.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

import av
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from vidsr.data.degradation import crop_to_multiple, degrade_uint8
from vidsr.errors import VidsrError
from vidsr.video.colour import Colour, frame_to_rgb, rgb_to_frame
from vidsr.video.encoding_defaults import X265_SAFE_WIDTH, x265_narrow_params
from vidsr.video.quantiser import Quantiser, frame_quantiser, mean_quantiser

__all__ = [
    "FIRST",
    "SECOND",
    "X264_PRESETS",
    "Encoded",
    "Kernel",
    "Noise",
    "Ranges",
    "RealParams",
    "Stage",
    "VideoCodec",
    "clip_params",
    "clip_rng",
    "codec_versions",
    "compress_clip",
    "degrade_real",
    "draw_params",
]

KERNEL_KINDS = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso", "sinc")
KERNEL_PROBS = (0.405, 0.225, 0.108, 0.027, 0.108, 0.027, 0.1)
KERNEL_SIZES = (7, 9, 11, 13, 15, 17, 19, 21)
RESIZE_METHODS = ("bicubic", "bilinear", "area")
BETA = {"generalized": (0.5, 4.0), "plateau": (1.0, 2.0)}
ANGLE = (-math.pi, math.pi)
GREY_NOISE_PROB = 0.4
JPEG_QUALITY = (40, 95)
SECOND_BLUR_PROB = 0.8
FINAL_SINC_PROB = 0.8
# Largest change from one frame to the next (uniform in [-step, step]) of each drifting value.
DRIFT = {"sigma": 0.02, "angle": 0.05, "generalized": 0.05, "plateau": 0.1, "omega": 0.0628,
         "resize": 0.015, "gaussian": 0.1, "poisson": 0.005, "jpeg": 2}
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow", "placebo")
# Video: libx264 (else MPEG-4 part 2), its CRF and preset, MPEG-4's quantiser, keyframe interval.
X264_PROB = 0.8
CRF = (18, 40)
PRESETS_DRAWN = X264_PRESETS[:7]  # ultrafast to slow
QSCALE = (2, 20)
KEYINTS = (15, 30, 60, 250)
VIDEO_RATE = 25  # frames per second given to the encoder (it matters only to rate control)
VIDEO_COLOUR = Colour()  # BT.601 limited range: what FFmpeg assumes for untagged yuv420p
# Share of "plain" clips: a clean MATLAB-bicubic downscale, then only the video codec.
PLAIN_PROB = 0.4


@dataclass(frozen=True)
class RealMix:
    """What a training run may change in the draw: the share of "plain" clips and x264's
    CRF range (defaults: the module table). Neither changes the other draws of a clip."""

    plain_prob: float = PLAIN_PROB
    crf: tuple[int, int] = CRF

    def __post_init__(self) -> None:
        prob = self.plain_prob
        if isinstance(prob, bool) or not isinstance(prob, (int, float)) or not 0 <= prob <= 1:
            raise VidsrError(f"the share of plain clips must be a number from 0 to 1, not {prob!r}")
        crf = tuple(self.crf) if isinstance(self.crf, (list, tuple)) else ()
        if len(crf) != 2 or not all(type(v) is int for v in crf) or not 0 <= crf[0] <= crf[1] <= 51:
            raise VidsrError(
                f"the CRF range must be two integers [low, high], 0 <= low <= high <= 51, not {self.crf!r}"
            )
        object.__setattr__(self, "crf", crf)

    def key(self) -> str:
        """Its part of an LR cache key: empty for the defaults (earlier caches stay valid)."""
        key = f"|plain {self.plain_prob}" if self.plain_prob != PLAIN_PROB else ""
        return key + (f"|crf {self.crf[0]}-{self.crf[1]}" if self.crf != CRF else "")


@dataclass(frozen=True)
class Ranges:
    """The ranges of one order of the degradation (see the module table)."""

    sigma: tuple[float, float]  # blur sigma
    blur_prob: float
    resize_probs: tuple[float, float, float]  # up, down, keep
    up: tuple[float, float]
    down: tuple[float, float]
    gaussian: tuple[float, float]  # Gaussian noise sigma, 0-255 units
    poisson: tuple[float, float]  # Poisson noise scale


FIRST = Ranges((0.2, 3.0), 1.0, (0.2, 0.7, 0.1), (1.0, 1.5), (0.3, 1.0), (1.0, 20.0), (0.05, 2.0))
SECOND = Ranges((0.2, 1.5), SECOND_BLUR_PROB, (0.3, 0.4, 0.3), (1.0, 1.2), (0.6, 1.0), (1.0, 10.0), (0.05, 1.0))


def _walk(rng: np.random.Generator, value: float, step: float, bounds: tuple[float, float]) -> float:
    """One step of the drift: ``value`` plus uniform noise in ``[-step, step]``, kept in bounds."""
    return float(np.clip(value + rng.uniform(-step, step), *bounds))


def _isotropic(kind: str) -> bool:
    return kind.endswith("iso") and not kind.endswith("aniso")


def omega_range(size: int) -> tuple[float, float]:
    """Real-ESRGAN's sinc cut-off range: [pi/3, pi] under 13 taps, [pi/5, pi] from 13."""
    return (math.pi / 3 if size < 13 else math.pi / 5), math.pi


@dataclass(frozen=True)
class Kernel:
    """A blur kernel: a (generalised, plateau) Gaussian, isotropic or not, or a circular sinc."""

    kind: str  # one of KERNEL_KINDS
    size: int  # odd side
    sigma_x: float = 0.0
    sigma_y: float = 0.0
    angle: float = 0.0  # rotation (radians)
    beta: float = 1.0  # shape of the generalised and plateau kernels
    omega: float = 0.0  # sinc cut-off (radians per pixel)

    @property
    def family(self) -> str:
        """iso, aniso, generalized, plateau or sinc."""
        return self.kind.split("_")[0]

    @property
    def isotropic(self) -> bool:
        return _isotropic(self.kind)

    def weights(self) -> np.ndarray:
        """The normalised ``(size, size)`` kernel (Real-ESRGAN's formulas), float64."""
        radius = self.size // 2
        yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float64)
        if self.kind == "sinc":
            dist = torch.from_numpy(np.hypot(xx, yy) * self.omega)
            with np.errstate(divide="ignore", invalid="ignore"):
                kernel = self.omega * torch.special.bessel_j1(dist).numpy() / (2 * math.pi * np.hypot(xx, yy))
            kernel[radius, radius] = self.omega**2 / (4 * math.pi)
        else:
            cos, sin = math.cos(self.angle), math.sin(self.angle)
            rotation = np.array([[cos, -sin], [sin, cos]])
            inverse = np.linalg.inv(rotation @ np.diag([self.sigma_x**2, self.sigma_y**2]) @ rotation.T)
            quad = inverse[0, 0] * xx**2 + (inverse[0, 1] + inverse[1, 0]) * xx * yy + inverse[1, 1] * yy**2
            if self.family in ("iso", "aniso"):
                kernel = np.exp(-0.5 * quad)
            elif self.family == "generalized":
                kernel = np.exp(-0.5 * quad**self.beta)
            else:  # plateau
                kernel = 1.0 / (1.0 + quad**self.beta)
        return kernel / kernel.sum()

    def drifted(self, rng: np.random.Generator, sigma: tuple[float, float]) -> Kernel:
        """The kernel of the next frame (``sigma``: the range of this order's blur)."""
        if self.kind == "sinc":
            return dataclasses.replace(self, omega=_walk(rng, self.omega, DRIFT["omega"], omega_range(self.size)))
        sigma_x = _walk(rng, self.sigma_x, DRIFT["sigma"], sigma)
        if self.isotropic:
            return dataclasses.replace(self, sigma_x=sigma_x, sigma_y=sigma_x, beta=self._beta_walk(rng))
        return dataclasses.replace(
            self, sigma_x=sigma_x, sigma_y=_walk(rng, self.sigma_y, DRIFT["sigma"], sigma),
            angle=_walk(rng, self.angle, DRIFT["angle"], ANGLE), beta=self._beta_walk(rng),
        )

    def _beta_walk(self, rng: np.random.Generator) -> float:
        if self.family not in BETA:
            return self.beta
        return _walk(rng, self.beta, DRIFT[self.family], BETA[self.family])


def draw_kernel(rng: np.random.Generator, sigma: tuple[float, float], kind: str | None = None) -> Kernel:
    """A random kernel (Real-ESRGAN's kinds and probabilities unless ``kind`` is given)."""
    kind = kind or str(rng.choice(KERNEL_KINDS, p=KERNEL_PROBS))
    size = int(rng.choice(KERNEL_SIZES))
    if kind == "sinc":
        return Kernel(kind, size, omega=float(rng.uniform(*omega_range(size))))
    sigma_x = float(rng.uniform(*sigma))
    isotropic = _isotropic(kind)
    sigma_y = sigma_x if isotropic else float(rng.uniform(*sigma))
    angle = 0.0 if isotropic else float(rng.uniform(*ANGLE))
    family = kind.split("_")[0]
    beta = float(rng.uniform(*BETA[family])) if family in BETA else 1.0
    return Kernel(kind, size, sigma_x, sigma_y, angle, beta)


@dataclass(frozen=True)
class Noise:
    """Additive noise of one order: Gaussian (``level`` = sigma, 0-255) or Poisson (scale)."""

    kind: str  # "gaussian" or "poisson"
    level: float
    grey: bool  # drawn on the luma, the same on R, G and B

    def drifted(self, rng: np.random.Generator, ranges: Ranges) -> Noise:
        return dataclasses.replace(self, level=_walk(rng, self.level, DRIFT[self.kind], getattr(ranges, self.kind)))

    def apply(self, x: Tensor, rng: np.random.Generator) -> Tensor:
        """``x`` ``(1, 3, h, w)`` plus this noise (unclamped)."""
        _, _, height, width = x.shape
        if self.kind == "gaussian":
            shape = (1 if self.grey else 3, height, width)
            noise = torch.from_numpy(rng.standard_normal(shape, dtype=np.float32)) * (self.level / 255.0)
        else:
            image = x[0].clamp(0, 1)
            if self.grey:
                image = (0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2])[None]
            counts = rng.poisson(image.numpy().astype(np.float64) * 255.0)
            noise = (torch.from_numpy(counts.astype(np.float32)) / 255.0 - image) * self.level
        return x + noise[None]


@dataclass(frozen=True)
class Stage:
    """One order of the degradation: blur, resize, noise, and a JPEG quality (the first
    order's own JPEG; for the second order, the final JPEG)."""

    blur: Kernel | None
    resize: float  # first order: times the GT size; second: times the LR size
    method: str  # bicubic, bilinear or area
    noise: Noise
    jpeg: int

    def drifted(self, rng: np.random.Generator, ranges: Ranges) -> Stage:
        if self.resize > 1:
            resize = _walk(rng, self.resize, DRIFT["resize"], ranges.up)
        elif self.resize < 1:
            resize = _walk(rng, self.resize, DRIFT["resize"], ranges.down)
        else:
            resize = 1.0  # "keep" stays kept
        jpeg = int(np.clip(self.jpeg + rng.integers(-DRIFT["jpeg"], DRIFT["jpeg"] + 1), *JPEG_QUALITY))
        blur = None if self.blur is None else self.blur.drifted(rng, ranges.sigma)
        return Stage(blur, resize, self.method, self.noise.drifted(rng, ranges), jpeg)


def draw_stage(rng: np.random.Generator, ranges: Ranges) -> Stage:
    """A random order of the degradation within ``ranges``."""
    blur = draw_kernel(rng, ranges.sigma) if rng.random() < ranges.blur_prob else None
    mode = int(rng.choice(3, p=ranges.resize_probs))
    resize = float(rng.uniform(*(ranges.up, ranges.down)[mode])) if mode < 2 else 1.0
    method = str(rng.choice(RESIZE_METHODS))
    kind = "gaussian" if rng.random() < 0.5 else "poisson"
    noise = Noise(kind, float(rng.uniform(*getattr(ranges, kind))), bool(rng.random() < GREY_NOISE_PROB))
    jpeg = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    return Stage(blur, resize, method, noise, jpeg)


@functools.cache
def x264_asm() -> str | None:
    """The instruction sets x264 may use here: ``"AVX2"`` on CPUs with AVX-512, else None
    (x264's own choice).

    x264's AVX-512 kernels made the in-memory round trip unrepeatable: in one process, after
    earlier decodes, the same 20-frame 96x64 clip at CRF 33 gave 4,215 bytes on 20 of 30 calls
    and 4,240-4,292 on the others (``benchmarks/x264_repeatability.py``, AMD EPYC with
    AVX-512; a width of 214 varied too in other runs), so those kernels read memory whose
    contents earlier work leaves behind. Capped at AVX2, every call gave the same stream, as
    x264's C code does. The cap also makes an AVX-512 machine encode with the code paths of an
    AVX2-only one.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            flags = next((line for line in info if line.startswith("flags")), "").split()
        return "AVX2" if "avx512bw" in flags else None
    except OSError:  # not Linux: PyTorch's reading of the CPU
        return "AVX2" if torch.backends.cpu.get_cpu_capability() == "AVX512" else None


@dataclass(frozen=True)
class VideoCodec:
    """A video round trip's encoder settings: yuv420p, BT.601 limited range, 25 fps, one
    encoder thread (so that the same input gives the same stream)."""

    codec: str = "libx264"  # or "mpeg4" (MPEG-4 part 2), "mpeg2video" (DVD), "libvpx-vp9" (web), "libx265", "libsvtav1"
    crf: int | None = 23  # libx264, libx265 (0-51), libvpx-vp9 or libsvtav1 (0-63) constant rate factor (lower: better)
    preset: str | None = "medium"  # libx264 / libx265 preset (the same names)
    qscale: int | None = None  # mpeg4 / mpeg2video fixed quantiser, 1-31 (lower: better)
    gop: int | None = None  # keyframe interval (None: the encoder's own, 250 for x264)

    def __post_init__(self) -> None:
        crf_top = {"libx264": 51, "libx265": 51, "libvpx-vp9": 63, "libsvtav1": 63}.get(self.codec)
        if crf_top is not None:
            if not isinstance(self.crf, int) or isinstance(self.crf, bool) or not 0 <= self.crf <= crf_top:
                raise VidsrError(f"{self.codec} CRF must be an integer from 0 to {crf_top}, not {self.crf!r}")
            if self.codec in ("libx264", "libx265") and self.preset not in X264_PRESETS:
                raise VidsrError(f"unknown x264 preset {self.preset!r}; use one of {', '.join(X264_PRESETS)}")
        elif self.codec in ("mpeg4", "mpeg2video"):
            if not isinstance(self.qscale, int) or not 1 <= self.qscale <= 31:
                raise VidsrError(f"{self.codec} quantiser must be an integer from 1 to 31, not {self.qscale!r}")
        else:
            raise VidsrError(
                f"unknown video codec {self.codec!r}; use libx264, libx265, libvpx-vp9, libsvtav1, mpeg2video or mpeg4"
            )
        if self.gop is not None and self.gop < 1:
            raise VidsrError(f"keyframe interval must be positive, not {self.gop}")

    @property
    def label(self) -> str:
        """``h264``, ``hevc``, ``vp9``, ``mpeg2`` or ``mpeg4``: the name in degradation names (``bi+h264``)."""
        labels = {"libx264": "h264", "libx265": "hevc", "libvpx-vp9": "vp9", "libsvtav1": "av1", "mpeg2video": "mpeg2"}
        return labels.get(self.codec, self.codec)

    def options(self, width: int | None = None) -> dict[str, str]:
        """The encoder's FFmpeg options (for frames ``width`` pixels wide, where that matters)."""
        if self.codec == "libx264":
            options = {"crf": str(self.crf), "preset": str(self.preset)}
            if x264_asm() is not None:
                options["x264-params"] = f"asm={x264_asm()}"
        elif self.codec == "libx265":  # one thread pool of one frame: the same input, the same stream
            options = {"crf": str(self.crf), "preset": str(self.preset),
                       "x265-params": "log-level=error:pools=1:frame-threads=1"}  # fmt: skip
            try:  # (narrow frames: see vidsr.video.encoding_defaults; compress_clip pads them)
                narrow = x265_narrow_params(width if width is not None else X265_SAFE_WIDTH)
            except ValueError as error:
                raise VidsrError(str(error)) from None
            if narrow:
                options["x265-params"] += f":{narrow}"
        elif self.codec == "libvpx-vp9":  # constant quality, as YouTube-like web encodes
            options = {"crf": str(self.crf), "b": "0", "deadline": "good", "cpu-used": "4"}
        elif self.codec == "libsvtav1":  # SVT-AV1's default preset, one thread, no log on stderr
            options = {"crf": str(self.crf), "preset": "8", "svtav1-params": "lp=1:log-level=1"}
        else:
            options = {"qmin": str(self.qscale), "qmax": str(self.qscale)}
        if self.gop is not None:
            options["g"] = str(self.gop)
        return options

    def settings(self) -> dict[str, Any]:
        """Everything that fixes the stream, for reports (JSON)."""
        fixed = {"pix_fmt": "yuv420p", "colour": VIDEO_COLOUR.describe(), "rate": VIDEO_RATE, "threads": 1}
        if self.codec == "libx264":
            fixed["x264_asm"] = x264_asm() or "auto"
        return {**dataclasses.asdict(self), **fixed}


class Encoded(NamedTuple):
    """A video round trip: the decoded uint8 frames, the stream's size and its encoder."""

    frames: np.ndarray
    bytes: int
    encoder: str  # x264's version and options string (from the stream), "" for others
    quantiser: Quantiser | None = None  # mean quantiser of the decoded frames (vidsr.video.quantiser)
    headers: Quantiser | None = None  # HEVC by x265: the slice QP of its headers (quantiser: its CRF)

    @property
    def qp(self) -> float | None:
        """The mean H.264 quantiser (None for other codecs)."""
        return self.quantiser.value if self.quantiser is not None and self.quantiser.codec == "H.264" else None


def _encoder_info(stream: bytes) -> str:
    """x264's SEI text (``x264 - core 165 - ... - options: cabac=1 ref=3 ...``), if any."""
    start = stream.find(b"x264 - core")
    if start < 0:
        return ""
    end = stream.find(b"\0", start)
    return stream[start : end if end > 0 else len(stream)].decode("ascii", "replace")


def compress_clip(frames: np.ndarray, codec: VideoCodec) -> Encoded:
    """Encode uint8 RGB frames ``(T, h, w, 3)`` with ``codec`` in memory, decode them back.

    Odd sizes are padded to even ones (the last row or column repeated: yuv420p needs even
    sizes) and cropped back after decoding; so are frames narrower than 64 pixels for x265
    (:data:`~vidsr.video.encoding_defaults.X265_SAFE_WIDTH`: its kernels corrupt memory there).
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected uint8 frames (T, h, w, 3), got {frames.dtype} {frames.shape}")
    count, height, width = frames.shape[:3]
    wide = max(width + width % 2, X265_SAFE_WIDTH if codec.codec == "libx265" else 0)
    padded = np.pad(frames, ((0, 0), (0, height % 2), (0, wide - width), (0, 0)), mode="edge")
    try:
        av.codec.Codec(codec.codec, "w")
    except (av.error.FFmpegError, ValueError):
        raise VidsrError(f"this PyAV/FFmpeg build has no {codec.codec} encoder") from None
    buffer = io.BytesIO()
    size = 0
    time_base = Fraction(1, VIDEO_RATE)
    with av.open(buffer, "w", format="matroska") as container:
        stream = container.add_stream(codec.codec, rate=VIDEO_RATE, options=codec.options(padded.shape[2]))
        stream.width, stream.height = padded.shape[2], padded.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_count = 1
        stream.codec_context.time_base = time_base
        for index in [*range(count), None]:
            frame = None
            if index is not None:  # explicit timestamps: without them x264 is not repeatable
                frame = rgb_to_frame(padded[index], VIDEO_COLOUR, "yuv420p")
                frame.pts, frame.time_base = index, time_base
            for packet in stream.encode(frame):
                size += packet.size
                container.mux(packet)
    data = buffer.getvalue()
    decoded = []
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        stream.codec_context.options = {"export_side_data": "venc_params"}
        quantisers = []
        for frame in container.decode(stream):
            decoded.append(frame_to_rgb(frame, VIDEO_COLOUR))
            quantisers.append(frame_quantiser(frame))
    if len(decoded) != count:
        raise VidsrError(f"{codec.codec} round trip gave {len(decoded)} frames for {count}")
    out = np.stack(decoded)[:, :height, :width]
    known = [q for q in quantisers if q is not None]
    mean = Quantiser(known[0].codec, float(np.mean([q.value for q in known]))) if known else None
    headers = None
    if mean is None:  # HEVC: x265's CRF, and the headers' slice QP; AV1: its base_q_idx
        mean = mean_quantiser(io.BytesIO(data), frames=count, spots=1)
        if codec.codec == "libx265":
            headers = mean_quantiser(io.BytesIO(data), frames=count, spots=1, settings=False)
    return Encoded(np.ascontiguousarray(out), size, _encoder_info(data), mean, headers)


def draw_video(rng: np.random.Generator, crf_range: tuple[int, int] = CRF) -> VideoCodec:
    """A random video codec setting (module table; x264's CRF from ``crf_range``)."""
    gop = int(rng.choice(KEYINTS))
    if rng.random() < X264_PROB:
        crf = int(rng.integers(crf_range[0], crf_range[1] + 1))
        return VideoCodec("libx264", crf, str(rng.choice(PRESETS_DRAWN)), gop=gop)
    return VideoCodec("mpeg4", None, None, int(rng.integers(QSCALE[0], QSCALE[1] + 1)), gop)


@dataclass(frozen=True)
class RealParams:
    """Everything drawn for one clip (the values of its first frame, see :meth:`frames`)."""

    first: Stage
    second: Stage  # its ``jpeg`` is the final JPEG
    sinc: Kernel | None  # after the resize to the LR size
    method: str  # of the resize to the LR size
    jpeg_first: bool  # the final JPEG before the resize to LR and the sinc (else after)
    video: VideoCodec
    seed: int  # drives the drift and the noise
    plain: bool = False  # MATLAB bicubic to the LR size only (no blur, noise, JPEG), then the codec

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def frames(self, count: int) -> list[RealParams]:
        """The parameters of ``count`` frames: these, then a bounded random walk (``DRIFT``)."""
        rng = np.random.default_rng([self.seed, 0])
        params = [self]
        for _ in range(count - 1):
            last = params[-1]
            sinc = None if last.sinc is None else last.sinc.drifted(rng, FIRST.sigma)
            params.append(dataclasses.replace(
                last, first=last.first.drifted(rng, FIRST), second=last.second.drifted(rng, SECOND), sinc=sinc,
            ))
        return params


def draw_params(rng: np.random.Generator, mix: RealMix = RealMix()) -> RealParams:
    """Draw one clip's degradation (module table, with ``mix``'s share of "plain" clips and CRF range)."""
    plain = bool(rng.random() < mix.plain_prob)
    first = draw_stage(rng, FIRST)
    second = draw_stage(rng, SECOND)
    sinc = draw_kernel(rng, FIRST.sigma, "sinc") if rng.random() < FINAL_SINC_PROB else None
    method = str(rng.choice(RESIZE_METHODS))
    jpeg_first = bool(rng.random() < 0.5)
    video = draw_video(rng, mix.crf)
    return RealParams(first, second, sinc, method, jpeg_first, video, int(rng.integers(2**63 - 1)), plain)


def clip_rng(seed: int, name: str) -> np.random.Generator:
    """The generator of clip ``name`` in a run seeded ``seed`` (the name hashed: stable
    across processes and machines)."""
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    return np.random.default_rng([int(seed), digest])


def clip_params(seed: int, name: str, mix: RealMix = RealMix()) -> RealParams:
    """The degradation of clip ``name`` in a run (or ``vidsr degrade``) seeded ``seed``."""
    return draw_params(clip_rng(seed, name), mix)


def codec_versions() -> str:
    """The PyAV and FFmpeg versions, whose encoders make the LR (for cache keys)."""
    return f"av {av.__version__} {sorted(av.library_versions.items())}"


def _filter(x: Tensor, kernel: Kernel) -> Tensor:
    """Convolve ``(1, 3, h, w)`` with the kernel, mirror padding (edge repeated on tiny frames)."""
    weights = torch.from_numpy(kernel.weights()).to(x.dtype)
    pad = kernel.size // 2
    mode = "reflect" if pad < min(x.shape[-2:]) else "replicate"
    padded = F.pad(x, (pad, pad, pad, pad), mode=mode)
    return F.conv2d(padded, weights.expand(3, 1, -1, -1), groups=3)


def _resize(x: Tensor, size: tuple[int, int], method: str) -> Tensor:
    if tuple(x.shape[-2:]) == size:
        return x
    if method == "area":
        return F.interpolate(x, size=size, mode="area")
    return F.interpolate(x, size=size, mode=method, align_corners=False)


def _quantise(x: Tensor) -> np.ndarray:
    """``(1, 3, h, w)`` float -> uint8 ``(h, w, 3)``."""
    return (x[0] * 255.0).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()


def _jpeg(x: Tensor, quality: int) -> Tensor:
    buffer = io.BytesIO()
    Image.fromarray(_quantise(x)).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as image:
        decoded = np.array(image.convert("RGB"))
    return torch.from_numpy(decoded).permute(2, 0, 1)[None].to(x.dtype) / 255.0


def _stage(x: Tensor, stage: Stage, size: tuple[int, int], rng: np.random.Generator) -> Tensor:
    if stage.blur is not None:
        x = _filter(x, stage.blur)
    x = _resize(x, size, stage.method).clamp(0, 1)
    return stage.noise.apply(x, rng).clamp(0, 1)


def _scaled(size: tuple[int, int], factor: float) -> tuple[int, int]:
    return max(2, round(size[0] * factor)), max(2, round(size[1] * factor))


def degrade_real(gt: np.ndarray, scale: int, params: RealParams) -> np.ndarray:
    """LR uint8 frames ``(T, H/s, W/s, 3)`` of uint8 GT frames ``(T, H, W, 3)`` (cropped to
    a multiple of ``scale`` first), degraded as ``params`` say, then video-compressed."""
    gt = np.asarray(gt)
    if gt.dtype != np.uint8 or gt.ndim != 4 or gt.shape[-1] != 3:
        raise ValueError(f"expected uint8 frames (T, H, W, 3), got {gt.dtype} {gt.shape}")
    if scale not in (2, 3, 4):
        raise ValueError(f"scale must be 2, 3 or 4, not {scale}")
    gt = crop_to_multiple(gt, scale, channels_last=True)
    count, height, width = gt.shape[:3]
    lr_size = (height // scale, width // scale)
    if params.plain:
        return compress_clip(degrade_uint8(gt, scale, "bi"), params.video).frames
    noise_rng = np.random.default_rng([params.seed, 1])
    lr = np.empty((count, *lr_size, 3), dtype=np.uint8)
    for index, frame in enumerate(params.frames(count)):
        x = torch.from_numpy(np.ascontiguousarray(gt[index])).permute(2, 0, 1)[None].float() / 255.0
        x = _jpeg(_stage(x, frame.first, _scaled((height, width), frame.first.resize), noise_rng), frame.first.jpeg)
        x = _stage(x, frame.second, _scaled(lr_size, frame.second.resize), noise_rng)
        if frame.jpeg_first:
            x = _jpeg(x, frame.second.jpeg)
        x = _resize(x, lr_size, frame.method)
        if frame.sinc is not None:
            x = _filter(x, frame.sinc)
        x = x.clamp(0, 1)
        if not frame.jpeg_first:
            x = _jpeg(x, frame.second.jpeg)
        lr[index] = _quantise(x)
    return compress_clip(lr, params.video).frames
