"""One image in or out: a photo upscaled to an image file, or a still of a video
(``--start TIME --frames 1``); its ICC profile, EXIF and alpha kept where the format holds
them; GIFs and opaque RGBA images are not taken for transparent ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidsr.cli.main import main
from vidsr.data.frames import read_frame
from vidsr.errors import VidsrError
from vidsr.video.colour import palette_frame
from vidsr.video.pipeline import upscale_video
from vidsr.video.reader import open_video
from vidsr.video.synthetic import pattern_frames, write_video

H, W = 18, 26


@pytest.fixture()
def photo(tmp_path: Path) -> np.ndarray:
    return next(iter(pattern_frames(1, H, W)))


def upscale(source: Path, target: Path, **kwargs) -> list[str]:
    notes: list[str] = []
    upscale_video(source, target, "bicubic", quiet=True, on_warning=notes.append, **kwargs)
    return notes


def test_a_png_photo_gives_the_same_pixels_as_a_frame_folder(tmp_path: Path, photo: np.ndarray) -> None:
    source = tmp_path / "photo.png"
    Image.fromarray(photo).save(source)
    assert upscale(source, tmp_path / "big.png") == []
    upscale(source, tmp_path / "frames")
    (frame,) = sorted((tmp_path / "frames").iterdir())
    big = read_frame(tmp_path / "big.png")
    assert big.shape == (4 * H, 4 * W, 3)
    np.testing.assert_array_equal(big, read_frame(frame))


@pytest.mark.parametrize("suffix", [".jpg", ".webp", ".tif", ".bmp"])
def test_other_image_formats_are_written(tmp_path: Path, photo: np.ndarray, suffix: str) -> None:
    source = tmp_path / "photo.png"
    Image.fromarray(photo).save(source)
    upscale(source, tmp_path / f"big{suffix}")
    with Image.open(tmp_path / f"big{suffix}") as image:
        assert image.size == (4 * W, 4 * H) and image.mode == "RGB"


def test_icc_profile_and_exif_are_kept_with_the_new_size(tmp_path: Path, photo: np.ndarray) -> None:
    source = tmp_path / "phone.jpg"
    profile = b"\x00\x00\x02\x0cnot-a-real-profile-but-bytes" * 4
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 to display
    exif[0x010F] = "vidsr test camera"
    exif.get_ifd(0x8769)[0xA002] = W
    exif.get_ifd(0x8769)[0xA003] = H
    Image.fromarray(photo).save(source, quality=95, icc_profile=profile, exif=exif.tobytes())
    upscale(source, tmp_path / "big.jpg")
    with Image.open(tmp_path / "big.jpg") as image:
        assert image.info.get("icc_profile") == profile
        kept = image.getexif()
        assert kept[0x0112] == 6 and kept[0x010F] == "vidsr test camera"
        assert (kept.get_ifd(0x8769)[0xA002], kept.get_ifd(0x8769)[0xA003]) == (4 * W, 4 * H)
    # FFmpeg 8 attaches the EXIF to the decoded frame as side data of a type that PyAV does not
    # know (reading it crashed); the orientation also comes as a display matrix, which a
    # video output keeps as its rotation.
    with open_video(source) as reader:
        matrix = reader.info.display_matrix
    assert matrix is not None
    upscale(source, tmp_path / "big.mp4")
    with open_video(tmp_path / "big.mp4") as reader:
        assert reader.info.display_matrix == matrix


def test_transparency_is_kept_in_png_and_dropped_with_a_warning_in_jpeg(tmp_path: Path, photo: np.ndarray) -> None:
    source = tmp_path / "logo.png"
    alpha = np.full((H, W), 255, np.uint8)
    alpha[:, : W // 2] = 0
    Image.fromarray(np.dstack([photo, alpha])).save(source)
    assert upscale(source, tmp_path / "big.png") == []
    with Image.open(tmp_path / "big.png") as image:
        assert image.mode == "RGBA"
        planes = np.asarray(image)[..., 3]
    assert planes[:, : 4 * W // 2 - 4].max() == 0 and planes[:, 4 * W // 2 + 4 :].min() == 255
    notes = upscale(source, tmp_path / "big.jpg")
    assert any("alpha channel" in note and ".jpg cannot store" in note for note in notes)
    # An RGBA image that is opaque everywhere has no transparency to lose: no warning.
    Image.fromarray(np.dstack([photo, np.full((H, W), 255, np.uint8)])).save(tmp_path / "opaque.png")
    assert upscale(tmp_path / "opaque.png", tmp_path / "opaque.jpg") == []


def test_a_palette_png_keeps_its_transparent_colour(tmp_path: Path, photo: np.ndarray) -> None:
    """A palette PNG with a transparent colour (``tRNS``), as logos are saved, comes out RGBA,
    transparent where it was, as from a folder of such frames; an opaque palette PNG, RGB."""
    quantized = Image.fromarray(photo).quantize(15)  # colours 0-14, and 15 for the transparent one
    indices = np.array(quantized)
    indices[:, : W // 2] = 15
    indexed = Image.fromarray(indices, "P")
    indexed.putpalette(quantized.getpalette()[: 15 * 3] + [255, 0, 255])
    indexed.save(tmp_path / "logo.png", transparency=15)
    indexed.save(tmp_path / "opaque.png")
    assert upscale(tmp_path / "logo.png", tmp_path / "big.png") == []
    with Image.open(tmp_path / "big.png") as image:
        assert image.mode == "RGBA"
        planes = np.asarray(image)[..., 3]
    assert planes[:, : 4 * W // 2 - 4].max() == 0 and planes[:, 4 * W // 2 + 4 :].min() == 255
    (tmp_path / "folder").mkdir()
    (tmp_path / "logo.png").rename(tmp_path / "folder" / "logo.png")
    upscale(tmp_path / "folder", tmp_path / "from_folder")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "from_folder" / "logo.png"))[..., 3], planes)
    assert upscale(tmp_path / "opaque.png", tmp_path / "opaque_big.png") == []
    with Image.open(tmp_path / "opaque_big.png") as image:
        assert image.mode == "RGB"


def test_gifs_are_transparent_only_when_they_are(tmp_path: Path, photo: np.ndarray) -> None:
    frames = [Image.fromarray(np.roll(photo, 2 * i, axis=1)) for i in range(3)]
    frames[0].save(tmp_path / "opaque.gif", save_all=True, append_images=frames[1:], duration=100)
    edge = np.where(np.arange(W) < 5, 0, 255).astype(np.uint8)[None].repeat(H, 0)  # transparent at the left
    clear = [Image.fromarray(np.dstack([np.asarray(f), edge])) for f in frames]
    clear[0].save(tmp_path / "clear.gif", save_all=True, append_images=clear[1:], duration=100, disposal=2)
    with open_video(tmp_path / "opaque.gif") as reader:
        assert not reader.info.alpha  # (FFmpeg decodes every GIF as BGRA)
    with open_video(tmp_path / "clear.gif") as reader:
        assert reader.info.alpha
    assert upscale(tmp_path / "opaque.gif", tmp_path / "opaque.mp4") == []


def test_a_video_into_an_image_needs_one_frame(tmp_path: Path, capsys) -> None:
    video = write_video(tmp_path / "clip.mp4", list(pattern_frames(6, H + 2, W + 2)))
    target = tmp_path / "still.png"
    with pytest.raises(VidsrError, match="holds one frame, and clip.mp4 has 6"):
        upscale(video, target)
    assert not target.exists() and not list(tmp_path.glob(".still.png.partial-*"))
    assert main(["upscale", str(video), str(target), "--model", "bicubic", "--start", "0.12", "--frames", "1",
                 "-q"]) == 0  # fmt: skip
    assert read_frame(target).shape == (4 * (H + 2), 4 * (W + 2), 3)
    assert main(["upscale", str(video), str(tmp_path / "s.jpg"), "--model", "bicubic", "--frames", "1",
                 "--dry-run"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "a JPG image" in out and "CRF" not in out and not (tmp_path / "s.jpg").exists()


def test_an_unknown_suffix_names_the_image_suffixes(tmp_path: Path, photo: np.ndarray, capsys) -> None:
    Image.fromarray(photo).save(tmp_path / "photo.png")
    assert main(["upscale", str(tmp_path / "photo.png"), str(tmp_path / "big.xyz"), "-q"]) != 0
    err = capsys.readouterr().err
    assert "unknown output suffix .xyz" in err and ".jpg" in err and ".webp" in err


def test_a_batch_of_images_gives_images(tmp_path: Path, photo: np.ndarray) -> None:
    Image.fromarray(photo).save(tmp_path / "a.png")
    Image.fromarray(photo).save(tmp_path / "b.jpg")
    assert main(["upscale", str(tmp_path / "a.png"), str(tmp_path / "b.jpg"), str(tmp_path / "out"),
                 "--model", "bicubic", "-q"]) == 0  # fmt: skip
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["a.png", "b.jpg"]
    with Image.open(tmp_path / "out" / "b.jpg") as image:
        assert image.format == "JPEG" and image.size == (4 * W, 4 * H)


def test_compare_into_an_image_needs_one_frame(tmp_path: Path, photo: np.ndarray) -> None:
    from vidsr.video.compare import compare_videos

    Image.fromarray(photo).save(tmp_path / "photo.png")
    compare_videos(tmp_path / "photo.png", tmp_path / "side.png", ["bicubic", "bicubic"], quiet=True)
    with Image.open(tmp_path / "side.png") as image:
        assert image.size == (2 * 4 * W, 4 * H)
    video = write_video(tmp_path / "clip.mp4", list(pattern_frames(4, H + 2, W + 2)))
    with pytest.raises(VidsrError, match="holds one frame, and clip.mp4 has 4"):
        compare_videos(video, tmp_path / "side2.png", ["bicubic", "bicubic"], quiet=True)


def test_a_folder_of_images_of_other_sizes_is_refused_before_any_output(tmp_path: Path, photo: np.ndarray,
                                                                         capsys) -> None:  # fmt: skip
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(photo).save(folder / "a.png")
    Image.fromarray(photo[:10, :12]).save(folder / "b.jpg")
    assert main(["upscale", str(folder), str(tmp_path / "out"), "--model", "bicubic", "-q"]) == 2
    err = capsys.readouterr().err
    assert "b.jpg is 12x10, not 26x18 like a.png" in err and f"vidsr upscale {folder}/* OUTPUT_FOLDER" in err
    assert not (tmp_path / "out").exists()
    # As the error says: named one by one, they are a batch of images.
    assert main(["upscale", str(folder / "a.png"), str(folder / "b.jpg"), str(tmp_path / "out"), "--model",
                 "bicubic", "-q"]) == 0  # fmt: skip
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["a.png", "b.jpg"]


def test_a_folder_of_turned_phone_frames_comes_out_upright(tmp_path: Path, photo: np.ndarray) -> None:
    """Phones store portrait pictures sideways with EXIF orientation 6; viewers turn them, and
    so does vidsr (a burst or a time-lapse exported as JPEGs), also when checking the sizes."""
    folder = tmp_path / "burst"
    folder.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    for index in range(3):
        Image.fromarray(np.roll(photo, index, axis=1)).save(folder / f"{index:03d}.png", exif=exif)
    Image.fromarray(np.roll(photo, 3, axis=1).transpose(1, 0, 2)[:, ::-1]).save(folder / "003.png")  # upright
    assert read_frame(folder / "000.png").shape == (W, H, 3)
    np.testing.assert_array_equal(read_frame(folder / "000.png"), np.rot90(photo, k=-1))
    assert upscale(folder, tmp_path / "out") == []
    frames = sorted((tmp_path / "out").iterdir())
    assert len(frames) == 4 and {read_frame(f).shape for f in frames} == {(4 * W, 4 * H, 3)}


def test_a_gif_in_gives_a_gif_out_with_its_timing_and_transparency(tmp_path: Path, photo: np.ndarray) -> None:
    frames = [Image.fromarray(np.roll(photo, 3 * i, axis=1)) for i in range(4)]
    durations = [100, 200, 100, 300]  # ms, as GIFs keep them (centiseconds)
    frames[0].save(tmp_path / "in.gif", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    assert upscale(tmp_path / "in.gif", tmp_path / "out.gif") == []
    upscale(tmp_path / "in.gif", tmp_path / "frames")  # the same frames, lossless, for reference
    with Image.open(tmp_path / "out.gif") as image:
        assert (image.size, image.n_frames, image.info.get("loop")) == ((4 * W, 4 * H), 4, 0)
        shown = []
        for index, reference in enumerate(sorted((tmp_path / "frames").iterdir())):
            image.seek(index)
            shown.append(image.info["duration"])
            # Exactly the frame's own 256-colour palette image (dithered), close to the full colour.
            shown_rgb, full = np.asarray(image.convert("RGB")), read_frame(reference)
            np.testing.assert_array_equal(shown_rgb, palette_frame(full).to_ndarray(format="rgb24"))
            assert 10 * np.log10(255**2 / np.mean((shown_rgb.astype(np.float64) - full) ** 2)) > 25
    assert shown == durations
    # GIF transparency is on or off per pixel: the transparent columns stay transparent.
    edge = np.where(np.arange(W) < 5, 0, 255).astype(np.uint8)[None].repeat(H, 0)
    clear = [Image.fromarray(np.dstack([np.asarray(f), edge])) for f in frames]
    clear[0].save(tmp_path / "clear.gif", save_all=True, append_images=clear[1:], duration=100, disposal=2)
    assert upscale(tmp_path / "clear.gif", tmp_path / "clear_x4.gif") == []
    with Image.open(tmp_path / "clear_x4.gif") as image:
        alpha = np.asarray(image.convert("RGBA"))[..., 3]
    assert alpha[:, : 4 * 5 - 2].max() == 0 and alpha[:, 4 * 5 + 2 :].min() == 255


@pytest.mark.parametrize("loop", [None, 0, 3])
def test_a_gif_keeps_its_loop_count_and_a_video_made_into_a_gif_loops(tmp_path: Path, photo: np.ndarray,
                                                                        loop: int | None) -> None:  # fmt: skip
    frames = [Image.fromarray(np.roll(photo, 3 * i, axis=1)) for i in range(3)]
    extra = {} if loop is None else {"loop": loop}
    frames[0].save(tmp_path / "in.gif", save_all=True, append_images=frames[1:], duration=100, **extra)
    assert upscale(tmp_path / "in.gif", tmp_path / "out.gif") == []
    with Image.open(tmp_path / "in.gif") as source, Image.open(tmp_path / "out.gif") as image:
        assert source.info.get("loop") == loop  # (what Pillow wrote: no NETSCAPE block for None)
        assert image.info.get("loop") == loop
    video = write_video(tmp_path / "clip.mp4", list(pattern_frames(3, H, W)), audio_seconds=0.2)
    assert upscale(video, tmp_path / "clip.gif") == ["stream #1 (audio, aac): a GIF has no sound; dropped (a "
                                                     "video file output keeps it)"]  # fmt: skip
    with Image.open(tmp_path / "clip.gif") as image:
        assert image.info.get("loop") == 0
