"""upscale_video keeps everything: frames, timestamps (VFR), duration, audio, subtitles,
colour tags, rotation; streams through models with look-ahead and state; fails safely."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from video_support import FailingModel, TinyRecurrent, probe

from vidsr.data.frames import list_frames, read_clip, to_tensor, write_frame
from vidsr.errors import VidsrError
from vidsr.models import create
from vidsr.video.colour import PRI_BT709, SPC_BT709, TRC_BT709, Colour, frame_to_rgb
from vidsr.video.pipeline import InputStoppedEarly, upscale_video
from vidsr.video.synthetic import pattern_frame, pattern_frames, write_video

pytestmark = pytest.mark.usefixtures("tiny_tensors")

# Variable frame rate: gaps of 20-100 ms in a 1/1000 time base.
VFR_PTS = [0, 40, 80, 100, 160, 260, 300, 320, 360, 440, 480, 500, 540, 640, 680, 720, 760, 800, 900, 940,
           960, 1000, 1040, 1080, 1140, 1160, 1200, 1240, 1300, 1320]  # fmt: skip
BT709 = Colour(SPC_BT709, False, PRI_BT709, TRC_BT709)


def quiet_upscale(*args, **kwargs):
    kwargs.setdefault("quiet", True)
    kwargs.setdefault("on_warning", lambda message: None)
    return upscale_video(*args, **kwargs)


@pytest.fixture(scope="module")
def vfr_mp4(tmp_path_factory) -> Path:
    """30 frames of 40x30, VFR, BT.709 tags, rotated 90 degrees, 1.4 s of AAC audio."""
    path = tmp_path_factory.mktemp("in") / "vfr.mp4"
    return write_video(
        path,
        pattern_frames(len(VFR_PTS), 30, 40),
        pts=VFR_PTS,
        durations=[b - a for a, b in zip(VFR_PTS, VFR_PTS[1:])] + [20],
        time_base=Fraction(1, 1000),
        fps=25,
        colour=BT709,
        rotation=90,
        audio_seconds=1.4,
    )


@pytest.fixture(scope="module")
def mkv_with_subtitles(tmp_path_factory) -> Path:
    """24 frames of 35x27 (odd), 25 fps, AAC audio and two SRT cues."""
    path = tmp_path_factory.mktemp("in") / "subs.mkv"
    cues = [(0.1, 0.5, "Hello"), (0.6, 0.9, "World")]
    return write_video(path, pattern_frames(24, 27, 35), audio_seconds=0.96, subtitles=cues)


def test_mp4_keeps_frames_timestamps_duration_audio_colour_rotation(vfr_mp4, tmp_path):
    out = tmp_path / "out.mp4"
    result = quiet_upscale(vfr_mp4, out)
    src, dst = probe(vfr_mp4, decode_rgb=False), probe(out, decode_rgb=False)
    assert result.frames == len(VFR_PTS) == len(dst.times)
    assert (dst.width, dst.height) == (160, 120)
    assert dst.times == src.times  # exact, variable frame rate kept
    assert dst.end == src.end == Fraction(1320 + 20, 1000)  # last frame keeps its duration
    assert dst.duration == pytest.approx(src.duration, abs=0.001)
    assert ("audio", "aac") in dst.streams
    # Copied packet for packet: the same bytes at the same pts/dts/duration in the same time
    # base (counts and summed durations alone would let a same-codec re-encode through).
    assert len(dst.packet_data["audio"]) > 10
    assert dst.packet_data["audio"] == src.packet_data["audio"]
    assert (dst.colorspace, dst.color_range, dst.color_primaries, dst.color_trc) == (1, 1, 1, 1)
    assert dst.rotation == src.rotation == 90
    assert not any("warning" in w for w in result.warnings)


def test_mkv_subtitles_copied_or_converted(mkv_with_subtitles, tmp_path):
    src = probe(mkv_with_subtitles, decode_rgb=False)
    assert src.packets["subtitle"] == 2
    same = tmp_path / "out.mkv"
    quiet_upscale(mkv_with_subtitles, same)
    dst = probe(same, decode_rgb=False)
    assert [kind for kind, _ in dst.streams] == ["video", "audio", "subtitle"]
    assert dst.packets["subtitle"] == 2 and dst.packet_data["audio"] == src.packet_data["audio"]
    assert dst.times == src.times and len(dst.times) == 24

    converted = tmp_path / "out.mp4"
    result = quiet_upscale(mkv_with_subtitles, converted)
    dst = probe(converted, decode_rgb=False)
    assert ("subtitle", "mov_text") in dst.streams
    assert any("converted to mov_text" in w for w in result.warnings)
    assert dst.packets["audio"] == src.packets["audio"]
    # mov_text marks the gaps between cues with empty samples: the two cues are there.
    assert dst.packets["subtitle"] >= 2


def test_audio_reencoded_when_container_cannot_hold_it(tmp_path):
    # AAC cannot go into WebM: re-encoded to Opus, same length.
    source = write_video(tmp_path / "in.mp4", pattern_frames(10, 24, 32), audio_seconds=0.4)
    out = tmp_path / "out.webm"
    result = quiet_upscale(source, out)
    dst = probe(out, decode_rgb=False)
    assert ("audio", "opus") in dst.streams and dst.packets["audio"] > 0
    assert any("re-encoded to libopus" in w for w in result.warnings)
    assert len(dst.times) == 10


@pytest.mark.parametrize("full_range", [False, True])
@pytest.mark.parametrize("matrix", [SPC_BT709, 6])
def test_colour_matrix_and_range_read_and_written(tmp_path, matrix, full_range):
    colour = Colour(matrix, full_range, 1 if matrix == SPC_BT709 else 6, 1 if matrix == SPC_BT709 else 6)
    rgb = np.zeros((16, 64, 3), np.uint8)
    rgb[:, :32] = (200, 40, 90)
    rgb[:, 32:] = (30, 160, 220)
    source = write_video(tmp_path / "in.mkv", [rgb] * 4, colour=colour, crf=0)
    out = tmp_path / "out.mkv"
    quiet_upscale(source, out, model="raw", crf=0)
    dst = probe(out)
    assert (dst.colorspace, dst.color_range == 2) == (matrix, full_range)
    assert (dst.color_primaries, dst.color_trc) == (colour.primaries, colour.trc)
    expected = np.repeat(np.repeat(rgb, 4, axis=0), 4, axis=1).astype(int)
    inner = (slice(None), np.r_[0:80, 176:256])  # away from the colour edge (chroma blur)
    error = np.abs(dst.frames[0].astype(int) - expected)[inner]
    assert error.max() <= 3
    # The check can fail: reading with the other matrix and range gives other colours.
    with av.open(str(out)) as container:
        frame = next(container.decode(video=0))
        other = Colour(6 if matrix == SPC_BT709 else SPC_BT709, not full_range)
        wrong = np.abs(frame_to_rgb(frame, other).astype(int) - expected)[inner]
    assert wrong.max() > 10


def test_odd_sizes_and_scales(tmp_path, mkv_with_subtitles):
    x4 = quiet_upscale(mkv_with_subtitles, tmp_path / "x4.mkv")
    assert (x4.width, x4.height) == (140, 108)
    assert probe(tmp_path / "x4.mkv", decode_rgb=False).width == 140
    warnings: list[str] = []
    x3 = upscale_video(mkv_with_subtitles, tmp_path / "x3.mp4", scale=3, quiet=True, on_warning=warnings.append)
    assert (x3.width, x3.height) == (105, 81)
    got = probe(tmp_path / "x3.mp4", decode_rgb=False)
    assert (got.width, got.height) == (106, 82)  # yuv420p needs even sizes
    assert any("padded to 106x82" in w for w in warnings)
    # PNG frames keep the exact odd size.
    quiet_upscale(mkv_with_subtitles, tmp_path / "x3_frames", scale=3)
    assert read_clip(tmp_path / "x3_frames").shape == (24, 81, 105, 3)


def test_frame_folder_in_and_out_is_exact(tmp_path):
    frames = np.stack([pattern_frame(i, 20, 28) for i in range(9)])
    for i, frame in enumerate(frames):
        write_frame(tmp_path / "lr" / f"f{i + 1}.png", frame)  # natural order: f1 .. f9
    model = TinyRecurrent()
    result = quiet_upscale(tmp_path / "lr", tmp_path / "sr", model=model)
    assert result.frames == 9
    with torch.inference_mode():
        whole = (model(to_tensor(frames)[None])[0] * 255).clamp(0, 255).movedim(-3, -1).numpy()
    got = read_clip(tmp_path / "sr")
    # Each written value is the whole-clip output rounded: streamed in chunks, the model sees
    # other batch sizes, and oneDNN's kernels for them (AVX-512 here) may move a value that
    # sits on a rounding tie by 1e-6, hence the 1e-3 beyond half a code value.
    assert np.abs(got - whole).max() <= 0.5 + 1e-3
    assert [p.name for p in list_frames(tmp_path / "sr")][:2] == ["f1.png", "f2.png"]  # the input's names


def test_frame_folder_to_video_uses_fps(tmp_path):
    for i in range(5):
        write_frame(tmp_path / "lr" / f"{i:03d}.png", pattern_frame(i, 16, 16))
    quiet_upscale(tmp_path / "lr", tmp_path / "out.mp4", fps=10)
    got = probe(tmp_path / "out.mp4", decode_rgb=False)
    assert got.times == [Fraction(i, 10) for i in range(5)]
    assert got.end == Fraction(1, 2)


@pytest.mark.parametrize("model", ["bicubic", "tiny"])
def test_tiled_equals_untiled(tmp_path, model):
    frames = np.stack([pattern_frame(i, 40, 52) for i in range(12)])
    for i, frame in enumerate(frames):
        write_frame(tmp_path / "lr" / f"{i:03d}.png", frame)
    net = TinyRecurrent() if model == "tiny" else "bicubic"
    quiet_upscale(tmp_path / "lr", tmp_path / "whole", model=net)
    tiled = quiet_upscale(tmp_path / "lr", tmp_path / "tiled", model=net, tile=16)
    assert tiled.tile == 16
    whole, parts = read_clip(tmp_path / "whole").astype(int), read_clip(tmp_path / "tiled").astype(int)
    assert np.abs(whole - parts).max() <= 1


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failure_mid_video_leaves_no_output(vfr_mp4, tmp_path, error):
    out = tmp_path / "out.mp4"
    with pytest.raises(type(error)):
        quiet_upscale(vfr_mp4, out, model=FailingModel(fail_after=12, error=error))
    assert list(tmp_path.iterdir()) == []  # neither the output nor a temporary file


def test_failure_keeps_existing_output_untouched(vfr_mp4, tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous result")
    with pytest.raises(RuntimeError):
        quiet_upscale(vfr_mp4, out, model=FailingModel(fail_after=5), force=True)
    assert out.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_truncated_input_writes_frames_before_and_says_where(tmp_path):
    source = write_video(
        tmp_path / "in.mp4", pattern_frames(40, 24, 32), audio_seconds=1.6, options={"movflags": "faststart"}
    )
    data = source.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out.mp4"
    with pytest.raises(InputStoppedEarly, match=r"truncated or corrupt: stopped after frame \d+ \(t=") as caught:
        quiet_upscale(truncated, out)
    written = caught.value.result.frames
    assert 0 < written < 40
    assert len(probe(out, decode_rgb=False).times) == written  # a complete, playable file
    assert "were written to" in str(caught.value)


def test_model_with_shipped_weights_or_warning(tmp_path, monkeypatch):
    from vidsr.models import registry

    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path / "no-weights")
    warnings: list[str] = []
    write_frame(tmp_path / "lr" / "0.png", pattern_frame(0, 16, 16))
    upscale_video(tmp_path / "lr", tmp_path / "sr", model="fsrcnn", quiet=True, on_warning=warnings.append)
    assert any("untrained" in w for w in warnings)


@pytest.fixture
def shipped_fsrcnn(tmp_path, monkeypatch) -> tuple[Path, dict[str, torch.nn.Module]]:
    """A shipped-weights folder (in place of vidsr/weights) with distinct fsrcnn x4 BI and BD weights."""
    from vidsr.models import registry, save_weights

    folder = tmp_path / "shipped"
    folder.mkdir()
    monkeypatch.setattr(registry, "WEIGHTS_DIR", folder)
    models = {"bi": create("fsrcnn", pretrained=False), "bd": create("fsrcnn", pretrained=False)}
    with torch.no_grad():
        for param in models["bd"].parameters():
            param.add_(0.05)  # every layer differs (the last one starts at zero)
    for degradation, model in models.items():
        save_weights(model, folder / f"fsrcnn_x4_{degradation}.safetensors")
    return folder, models


def test_shipped_weights_of_the_chosen_degradation(shipped_fsrcnn, tmp_path):
    from vidsr.video.inference import load_model

    folder, saved = shipped_fsrcnn

    def first(net: torch.nn.Module) -> torch.Tensor:
        return next(net.parameters()).detach()

    def no_warning(message: str) -> None:
        raise AssertionError(message)

    assert not torch.equal(first(saved["bi"]), first(saved["bd"]))
    for degradation in ("bi", "bd"):
        net = load_model("fsrcnn", 4, on_warning=no_warning, degradation=degradation)
        assert torch.equal(first(net), first(saved[degradation]))
    assert torch.equal(first(load_model("fsrcnn", 4, on_warning=no_warning)), first(saved["bi"]))  # default: BI
    given = load_model("fsrcnn", 4, folder / "fsrcnn_x4_bi.safetensors", on_warning=no_warning, degradation="bd")
    assert torch.equal(first(given), first(saved["bi"]))  # --weights wins over the degradation

    (folder / "fsrcnn_x4_bd.safetensors").unlink()
    warnings: list[str] = []
    load_model("fsrcnn", 4, on_warning=warnings.append, degradation="bd")
    assert len(warnings) == 1
    assert "no shipped weights for x4 BD (fsrcnn_x4_bd.safetensors)" in warnings[0]
    assert "untrained" in warnings[0] and "--degradation bi" in warnings[0]
    with pytest.raises(VidsrError, match="unknown degradation 'BD'; use one of bi, bd"):
        load_model("fsrcnn", 4, degradation="BD")


def test_upscale_video_passes_the_degradation(shipped_fsrcnn, tmp_path):
    write_frame(tmp_path / "lr" / "0.png", pattern_frame(0, 16, 16))
    outputs = {}
    for degradation in ("bi", "bd"):
        quiet_upscale(tmp_path / "lr", tmp_path / degradation, model="fsrcnn", degradation=degradation)
        outputs[degradation] = read_clip(tmp_path / degradation)
    assert not np.array_equal(outputs["bi"], outputs["bd"])
    with pytest.raises(VidsrError, match="unknown degradation"):
        quiet_upscale(tmp_path / "lr", tmp_path / "bad", model="fsrcnn", degradation="gauss")
    assert not (tmp_path / "bad").exists()


def test_bad_requests(tmp_path):
    write_frame(tmp_path / "lr" / "0.png", pattern_frame(0, 16, 16))
    with pytest.raises(VidsrError, match="unknown model"):
        quiet_upscale(tmp_path / "lr", tmp_path / "a.mp4", model="nope")
    with pytest.raises(VidsrError, match="unknown video encoder"):
        quiet_upscale(tmp_path / "lr", tmp_path / "a.mp4", codec="nope")
    with pytest.raises(VidsrError, match="cannot hold libx264"):
        quiet_upscale(tmp_path / "lr", tmp_path / "a.webm", codec="libx264")
    with pytest.raises(VidsrError, match="CUDA is not available"):
        if torch.cuda.is_available():
            raise VidsrError("CUDA is not available (skipped: this machine has CUDA)")
        quiet_upscale(tmp_path / "lr", tmp_path / "a.mp4", device="cuda")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr"]


def test_tiles_chosen_automatically_when_a_frame_does_not_fit(tmp_path, monkeypatch):
    import vidsr.video.tiling as tiling

    for i in range(3):
        write_frame(tmp_path / "lr" / f"{i}.png", pattern_frame(i, 96, 128))
    quiet_upscale(tmp_path / "lr", tmp_path / "whole")
    need = tiling.estimate_bytes(create("bicubic"), 96, 128, chunk=4)
    monkeypatch.setattr(tiling, "available_memory", lambda device: need)  # half of that is the budget
    warnings: list[str] = []
    result = upscale_video(tmp_path / "lr", tmp_path / "tiled", quiet=True, on_warning=warnings.append)
    assert result.tile is not None and result.tile < 96
    assert any("do not fit in memory" in w for w in warnings)
    whole, tiled = read_clip(tmp_path / "whole").astype(int), read_clip(tmp_path / "tiled").astype(int)
    assert np.abs(whole - tiled).max() <= 1


def test_top_level_api_and_rotation_into_matroska(vfr_mp4, tmp_path):
    import vidsr

    result = vidsr.upscale_video(vfr_mp4, tmp_path / "out.mkv", quiet=True)
    assert result.frames == len(VFR_PTS) and result.fps > 0
    got = probe(tmp_path / "out.mkv", decode_rgb=False)
    source = probe(vfr_mp4, decode_rgb=False)
    assert got.rotation == 90
    # Matroska cannot start below 0: the MP4's AAC priming (-1024 samples) shifts every
    # stream by the same 21 ms, so the timing relative to the first frame is what is kept.
    assert [t - got.times[0] for t in got.times] == source.times
    assert got.times[0] == Fraction(21, 1000)


@pytest.mark.parametrize(("codec", "suffix"), [("ffv1", ".mkv"), ("png", ".mov")])
def test_lossless_codecs_give_the_exact_frames(mkv_with_subtitles, tmp_path, codec, suffix):
    quiet_upscale(mkv_with_subtitles, tmp_path / "frames")
    quiet_upscale(mkv_with_subtitles, tmp_path / f"out{suffix}", codec=codec)
    got = probe(tmp_path / f"out{suffix}")
    np.testing.assert_array_equal(np.stack(got.frames), read_clip(tmp_path / "frames"))
    assert len(got.times) == 24


def test_writer_does_not_import_the_pipeline():
    # writer.py sits below pipeline.py: DEFAULT_CRF lives in encoding_defaults, and pipeline
    # re-exports it for the CLI and compare.py. A fresh interpreter sees what writer imports.
    import subprocess
    import sys

    code = (
        "import sys, vidsr.video.writer as w\n"
        "assert 'vidsr.video.pipeline' not in sys.modules, 'writer imports the pipeline'\n"
        "from vidsr.video.pipeline import DEFAULT_CRF\n"
        "assert DEFAULT_CRF == w.DEFAULT_CRF == 18\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
