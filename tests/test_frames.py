"""Frame files: natural order, conversions to 8-bit RGB, clear errors naming the file."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from vidsr.data.frames import (
    list_frames,
    natural_sort_key,
    read_clip,
    read_frame,
    to_tensor,
    to_uint8,
    write_frame,
)
from vidsr.errors import VidsrError


def png_rgb16(path: Path, array: np.ndarray) -> None:
    """Write a 16-bit RGB PNG by hand (Pillow cannot write one)."""
    height, width, _ = array.shape
    raw = b"".join(b"\x00" + array[row].astype(">u2").tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def test_natural_sort_orders_numbers_by_value() -> None:
    names = ["Frame 10.png", "Frame 9.png", "Frame 100.png", "frame 1.png", "Frame 09b.png"]
    assert sorted(names, key=natural_sort_key) == [
        "frame 1.png",
        "Frame 9.png",
        "Frame 09b.png",
        "Frame 10.png",
        "Frame 100.png",
    ]
    assert sorted(["im2.png", "im10.png", "im1.png"], key=natural_sort_key) == ["im1.png", "im2.png", "im10.png"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=30, unique=True), st.sampled_from(["", "0", "00"]))
def test_natural_sort_property(numbers: list[int], pad: str) -> None:
    names = [f"Frame {pad}{n}.png" for n in numbers]
    ordered = sorted(names, key=natural_sort_key)
    assert ordered == [f"Frame {pad}{n}.png" for n in sorted(numbers)]


def test_list_frames_filters_and_sorts(tmp_path: Path) -> None:
    frame = np.zeros((4, 4, 3), dtype=np.uint8)
    for name in ["Frame 10.png", "Frame 9.jpg", "Frame 2.JPEG"]:
        write_frame(tmp_path / name, frame)
    (tmp_path / "notes.txt").write_text("not a frame")
    (tmp_path / ".hidden.png").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    assert [p.name for p in list_frames(tmp_path)] == ["Frame 2.JPEG", "Frame 9.jpg", "Frame 10.png"]


def test_empty_folder_error_names_folder(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(VidsrError, match=f"no PNG or JPEG frames in {tmp_path}"):
        list_frames(tmp_path)
    with pytest.raises(VidsrError, match="not a folder"):
        list_frames(tmp_path / "missing")


def test_unreadable_image_error_names_file(tmp_path: Path) -> None:
    bad = tmp_path / "Frame 1.png"
    bad.write_bytes(b"this is not a png")
    with pytest.raises(VidsrError, match="Frame 1.png"):
        read_frame(bad)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_image_error_names_file(tmp_path: Path, suffix: str, rng: np.random.Generator) -> None:
    path = tmp_path / f"cut{suffix}"
    write_frame(path, rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VidsrError, match=f"cut{suffix}"):
        read_frame(path)


def test_mixed_sizes_in_clip_error_names_file(tmp_path: Path) -> None:
    write_frame(tmp_path / "a1.png", np.zeros((8, 8, 3), dtype=np.uint8))
    write_frame(tmp_path / "a2.png", np.zeros((8, 8, 3), dtype=np.uint8))
    write_frame(tmp_path / "a3.png", np.zeros((8, 10, 3), dtype=np.uint8))
    with pytest.raises(VidsrError, match="a3.png.*one size"):
        read_clip(tmp_path)


def test_grayscale_is_converted_to_rgb(tmp_path: Path) -> None:
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8)
    Image.fromarray(gray, mode="L").save(tmp_path / "g.png")
    frame = read_frame(tmp_path / "g.png")
    assert frame.shape == (8, 8, 3) and frame.dtype == np.uint8
    for channel in range(3):
        np.testing.assert_array_equal(frame[..., channel], gray)


def test_rgba_and_palette_are_converted_to_rgb(tmp_path: Path, rng: np.random.Generator) -> None:
    rgba = rng.integers(0, 256, (6, 7, 4), dtype=np.uint8)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_frame(tmp_path / "a.png"), rgba[..., :3])  # alpha dropped
    rgb = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    palette = read_frame(tmp_path / "p.png")
    assert palette.shape == (6, 7, 3) and palette.dtype == np.uint8


def test_16bit_gray_is_scaled_to_8bit(tmp_path: Path) -> None:
    values = np.array([[0, 257 * 100, 65535, 1000]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    frame = read_frame(tmp_path / "g16.png")
    assert frame.dtype == np.uint8 and frame.shape == (1, 4, 3)
    np.testing.assert_array_equal(frame[0, :, 0], [0, 100, 255, 4])  # round(v / 257)


def test_16bit_rgb_is_reduced_to_8bit(tmp_path: Path) -> None:
    values = np.array([[[0, 257 * 100, 65535], [65535, 0, 257 * 7]]], dtype=np.uint16)
    png_rgb16(tmp_path / "c16.png", values)
    frame = read_frame(tmp_path / "c16.png")
    assert frame.dtype == np.uint8 and frame.shape == (1, 2, 3)
    np.testing.assert_array_equal(frame, (values // 257).astype(np.uint8))


def test_write_then_read_png_is_lossless(tmp_path: Path, rng: np.random.Generator) -> None:
    frame = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    path = write_frame(tmp_path / "deep" / "f.png", frame)
    np.testing.assert_array_equal(read_frame(path), frame)
    clip = read_clip(tmp_path / "deep")
    assert clip.shape == (1, 9, 11, 3)
    assert read_frame(path).flags.writeable


def test_jpeg_frames_are_read(tmp_path: Path) -> None:
    frame = np.full((16, 16, 3), 128, dtype=np.uint8)
    write_frame(tmp_path / "f.jpg", frame)
    got = read_frame(tmp_path / "f.jpg")
    assert got.shape == (16, 16, 3)
    assert np.abs(got.astype(int) - 128).max() <= 2


@settings(max_examples=25, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9), st.just(3))))
def test_tensor_round_trip(frames: np.ndarray) -> None:
    tensor = to_tensor(frames)
    assert tensor.dtype == torch.float32
    assert tensor.shape == (frames.shape[0], 3, frames.shape[1], frames.shape[2])
    assert float(tensor.min()) >= 0.0 and float(tensor.max()) <= 1.0
    np.testing.assert_array_equal(to_uint8(tensor), frames)


def test_to_uint8_clamps_and_rounds() -> None:
    values = torch.tensor([-0.2, 0.0, 0.4 / 255, 0.6 / 255, 1.0, 1.3]).view(1, 1, 6).expand(3, 1, 6)
    assert to_uint8(values)[0, :, 0].tolist() == [0, 0, 0, 1, 255, 255]
    with pytest.raises(ValueError):
        to_uint8(torch.zeros(4, 4))
