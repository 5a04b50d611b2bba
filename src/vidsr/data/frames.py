"""Frame files: a clip is a folder of PNG/JPEG frames in natural order.

Frames are uint8 RGB ``(H, W, 3)`` arrays at this edge (uint16 for video of more than 8
bits per sample); :func:`to_tensor` and :func:`to_uint8` (:func:`to_integer` for either)
convert to and from the package's float ``(..., 3, H, W)`` tensors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from vidsr.errors import VidsrError

__all__ = [
    "FRAME_SUFFIXES",
    "check_one_size",
    "frame_size",
    "is_frame_file",
    "list_frames",
    "natural_sort_key",
    "read_clip",
    "read_frame",
    "to_tensor",
    "to_integer",
    "to_uint8",
    "write_frame",
]

FRAME_SUFFIXES = (".png", ".jpg", ".jpeg")

_DIGITS = re.compile(r"(\d+)")


def natural_sort_key(name: str | Path) -> tuple:
    """Sort key that orders ``Frame 9`` before ``Frame 10`` (case-insensitive)."""
    text = name.name if isinstance(name, Path) else str(name)
    parts = _DIGITS.split(text)  # alternating text, number, text, ...
    folded = tuple(int(part) if index % 2 else part.lower() for index, part in enumerate(parts))
    return folded, text  # ties (case, leading zeros) broken by the name itself


def is_frame_file(path: Path) -> bool:
    """A visible PNG or JPEG file."""
    return path.is_file() and path.suffix.lower() in FRAME_SUFFIXES and not path.name.startswith(".")


def list_frames(folder: str | Path) -> list[Path]:
    """The frame files of a clip folder (PNG/JPEG), in natural order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VidsrError(f"not a folder of frames: {folder}")
    frames = sorted((p for p in folder.iterdir() if is_frame_file(p)), key=natural_sort_key)
    if not frames:
        raise VidsrError(f"no PNG or JPEG frames in {folder}")
    return frames


def _to_rgb8(image: Image.Image) -> np.ndarray:
    """Any Pillow image (gray, palette, RGBA, 16-bit, float...) as uint8 RGB."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        values = np.asarray(image, dtype=np.float64)
        # 16-bit data: scale 0..65535 to 0..255. "I" images from 16-bit PNGs hold 0..65535.
        gray = np.clip(np.floor(values / 257.0 + 0.5), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if mode == "F":
        values = np.asarray(image, dtype=np.float64)
        scale = 255.0 if values.max(initial=0.0) <= 1.0 else 1.0
        gray = np.clip(np.floor(values * scale + 0.5), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if mode != "RGB":
        image = image.convert("RGB")  # L, LA, P, RGBA (alpha dropped), CMYK, YCbCr, 1...
    return np.array(image, dtype=np.uint8)  # a writable copy


def _alpha_of(image: Image.Image) -> np.ndarray | None:
    """A Pillow image's alpha (RGBA, LA, PA, or a palette/gray with a transparent colour) as uint8."""
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        return np.array(image.convert("RGBA"), dtype=np.uint8)[..., 3]
    return None


# EXIF orientations (tag 0x0112): 1 as stored; 2-8 mirrored and/or turned, 5-8 by 90 degrees.
EXIF_ORIENTATION = 0x0112
TURNED_ORIENTATIONS = (5, 6, 7, 8)


def upright(image: Image.Image) -> Image.Image:
    """``image`` as viewers show it: its EXIF orientation applied (a phone stores a portrait
    photo as a landscape one with orientation 6); an image without one as it is."""
    if image.getexif().get(EXIF_ORIENTATION, 1) in range(2, 9):
        return ImageOps.exif_transpose(image)
    return image


def upright_size(image: Image.Image) -> tuple[int, int]:
    """``(width, height)`` of :func:`upright` ``(image)``, from the header alone."""
    width, height = image.size
    turned = image.getexif().get(EXIF_ORIENTATION, 1) in TURNED_ORIENTATIONS
    return (height, width) if turned else (width, height)


def bits_per_sample(path: str | Path) -> int:
    """8, or 16 for an image of 16 bits per sample (16-bit PNG, TIFF), from its header."""
    with Image.open(path) as image:
        stored = getattr(getattr(image, "png", None), "im_rawmode", None) or image.mode  # PNG: "RGB;16B"
        return 16 if image.mode.startswith("I;16") or ";16" in stored else 8


def read_frame(path: str | Path) -> np.ndarray:
    """One frame as uint8 RGB ``(H, W, 3)``; gray, RGBA and 16-bit images are converted."""
    return read_frame_alpha(path, alpha=False)[0]


def read_frame_alpha(path: str | Path, alpha: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """One frame as uint8 RGB ``(H, W, 3)`` and its uint8 alpha ``(H, W)`` (None when the
    image has no transparency, or when ``alpha`` is False), upright (:func:`upright`)."""
    with _opened(path) as image:
        image.load()
        image = upright(image)
        array = _to_rgb8(image)
        transparency = _alpha_of(image) if alpha else None
    return np.ascontiguousarray(array), transparency


@contextmanager
def _opened(path: str | Path) -> Iterator[Image.Image]:
    """``Image.open(path)``, its failures (missing, not an image, damaged) as one-line
    :class:`VidsrError` s, also those raised while the image is read inside the block."""
    try:
        with Image.open(path) as image:
            yield image
    except FileNotFoundError:
        raise VidsrError(f"frame not found: {path}") from None
    except UnidentifiedImageError:
        raise VidsrError(f"not a readable image: {path}") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise VidsrError(f"cannot read image {path}: {error}") from None


def frame_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` of the frame :func:`read_frame` would return, from the header alone."""
    with _opened(path) as image:
        return upright_size(image)


def _other_size(path: Path, shape: tuple[int, int], first: Path, first_shape: tuple[int, int]) -> VidsrError:
    """The error for a frame of ``shape`` (``(height, width)``) in a clip whose ``first`` is ``first_shape``."""
    return VidsrError(f"frame {path} is {shape[1]}x{shape[0]} but {first.name} is "
                      f"{first_shape[1]}x{first_shape[0]}: all frames of a clip must have one size")


def check_one_size(paths: Sequence[Path]) -> tuple[int, int]:
    """The ``(width, height)`` every frame of ``paths`` has, read from the headers alone (fast:
    nothing is decoded), so that a clip can be refused before anything is written for it; a
    :class:`VidsrError` names the first frame of another size."""
    first = frame_size(paths[0])
    for path in paths[1:]:
        size = frame_size(path)
        if size != first:
            raise _other_size(path, size[::-1], paths[0], first[::-1])
    return first


def read_clip(folder: str | Path | Sequence[Path]) -> np.ndarray:
    """All frames of a clip folder (or a list of frame files) as uint8 ``(T, H, W, 3)``."""
    paths = list_frames(folder) if isinstance(folder, (str, Path)) else list(folder)
    if not paths:
        raise VidsrError("no frames to read")
    first = read_frame(paths[0])
    clip = np.empty((len(paths), *first.shape), dtype=np.uint8)
    clip[0] = first
    for index, path in enumerate(paths[1:], start=1):
        frame = read_frame(path)
        if frame.shape != first.shape:
            raise _other_size(path, frame.shape[:2], paths[0], first.shape[:2])
        clip[index] = frame
    return clip


def write_frame(path: str | Path, array: np.ndarray) -> Path:
    """Write a uint8 RGB ``(H, W, 3)`` (RGBA ``(H, W, 4)``, gray ``(H, W)``) frame; format from the suffix."""
    path = Path(path)
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"write_frame needs uint8, got {array.dtype}")
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (3, 4))):
        raise ValueError(f"write_frame needs (H, W, 3), (H, W, 4) or (H, W), got shape {array.shape} "
                         "(channels first? array.transpose(1, 2, 0))")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        Image.fromarray(np.ascontiguousarray(array)).save(path)
    except (OSError, ValueError, KeyError) as error:
        raise VidsrError(f"cannot write frame {path}: {error}") from None
    return path


def to_tensor(frames: np.ndarray) -> Tensor:
    """uint8 (or uint16, full 16-bit scale) ``(..., H, W, 3)`` -> float32 ``(..., 3, H, W)`` in [0, 1]."""
    frames = np.asarray(frames)
    if frames.dtype not in (np.uint8, np.uint16) or frames.ndim < 3 or frames.shape[-1] != 3:
        raise ValueError(f"expected uint8 or uint16 frames (..., H, W, 3), got {frames.dtype} {frames.shape}")
    if frames.dtype == np.uint16:  # (torch's uint16 has few operations): one float copy
        return torch.from_numpy(frames.astype(np.float32)).movedim(-1, -3) / 65535.0
    return torch.tensor(frames).movedim(-1, -3).to(torch.float32) / 255.0


def to_uint8(frames: Tensor) -> np.ndarray:
    """float ``(..., 3, H, W)`` in [0, 1] -> uint8 ``(..., H, W, 3)`` (clamped, rounded)."""
    return to_integer(frames, np.uint8)


def to_integer(frames: Tensor, dtype: type[np.integer] = np.uint8) -> np.ndarray:
    """float ``(..., 3, H, W)`` in [0, 1] -> uint8 or uint16 ``(..., H, W, 3)`` (clamped, rounded)."""
    if frames.dim() < 3 or frames.shape[-3] != 3:
        raise ValueError(f"expected frames (..., 3, H, W), got {tuple(frames.shape)}")
    peak = float(np.iinfo(dtype).max)
    values = (frames.detach().to(torch.float32) * peak).clamp_(0, peak).round_()
    if dtype == np.uint8:
        return values.to(torch.uint8).movedim(-3, -1).cpu().numpy()
    return values.to(torch.int32).movedim(-3, -1).cpu().numpy().astype(dtype)
