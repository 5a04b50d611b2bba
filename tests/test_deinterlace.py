"""Interlaced input (DVD rips, TV captures) is deinterlaced as it is read, frame for frame."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from video_support import interrupted_at_second_segment, probe

from vidsr.cli.main import main
from vidsr.errors import VidsrError
from vidsr.video.pipeline import upscale_video
from vidsr.video.reader import open_video
from vidsr.video.synthetic import pattern_frames, weave_fields, write_video

pytestmark = pytest.mark.usefixtures("tiny_tensors")

FRAMES, HEIGHT, WIDTH = 12, 64, 96


def checkerboard(t: float) -> np.ndarray:
    """8-px squares moving right by 6 px per frame time."""
    x, y = np.arange(WIDTH)[None, :], np.arange(HEIGHT)[:, None]
    value = (((x + 6 * t) // 8 + y // 8) % 2) * 200 + 30
    return np.repeat(value[..., None], 3, axis=2).astype(np.uint8)


def interlaced_clip(path: Path) -> Path:
    """Each frame weaves two fields half a frame time apart, as an interlaced camera sees motion."""
    frames = (weave_fields(checkerboard(i), checkerboard(i + 0.5)) for i in range(FRAMES))
    return write_video(path, frames, crf=12, interlaced=True)


def combing(rgb: np.ndarray) -> float:
    """How far the odd rows stand from the mean of the even rows around them (woven fields: large)."""
    luma = rgb.astype(np.float64).mean(axis=2)
    return float(np.abs(luma[1:-1:2] - (luma[0:-2:2] + luma[2::2]) / 2).mean())


def read(path: Path, mode: str) -> tuple[list, list[str], bool]:
    with open_video(path, deinterlace=mode) as reader:
        frames = list(reader)
        return frames, list(reader.info.warnings), reader.info.deinterlaced


def test_interlaced_input_is_deinterlaced_with_the_same_frames_and_times(tmp_path: Path) -> None:
    source = interlaced_clip(tmp_path / "tv.mkv")
    woven, woven_notes, flagged_off = read(source, "off")
    auto, notes, flagged = read(source, "auto")
    assert flagged and not flagged_off and not woven_notes
    assert [n for n in notes if "interlaced; deinterlaced" in n and "--deinterlace off" in n], notes
    assert len(auto) == len(woven) == FRAMES
    assert [(f.pts, f.duration) for f in auto] == [(f.pts, f.duration) for f in woven]
    before = np.mean([combing(f.rgb) for f in woven])
    after = np.mean([combing(f.rgb) for f in auto])
    assert after < before / 2, (before, after)
    forced, forced_notes, _ = read(source, "on")  # every frame: the same here, all are flagged
    assert all(np.array_equal(a.rgb, b.rgb) for a, b in zip(auto, forced, strict=True)) and not forced_notes


def test_progressive_input_is_left_alone_unless_asked(tmp_path: Path) -> None:
    source = write_video(tmp_path / "p.mp4", pattern_frames(6, 32, 48))
    plain, _, _ = read(source, "off")
    auto, notes, flagged = read(source, "auto")
    assert not flagged and not notes
    assert all(np.array_equal(a.rgb, b.rgb) for a, b in zip(plain, auto, strict=True))
    forced, _, forced_flag = read(source, "on")
    assert forced_flag and [(f.pts, f.duration) for f in forced] == [(f.pts, f.duration) for f in plain]


def test_upscale_and_its_segments_deinterlace_and_refuse_a_bad_mode(tmp_path: Path, capsys) -> None:
    source = interlaced_clip(tmp_path / "tv.mkv")
    outputs = {}
    for mode in ("auto", "off"):
        outputs[mode] = tmp_path / f"{mode}.mkv"
        assert main(["upscale", str(source), str(outputs[mode]), "--model", "raw", "--deinterlace", mode,
                     "--codec", "ffv1", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err.count("interlaced; deinterlaced") == 1, err
    auto, off = probe(outputs["auto"]), probe(outputs["off"])
    assert auto.times == off.times and len(auto.frames) == FRAMES
    assert np.mean([combing(f) for f in auto.frames]) < np.mean([combing(f) for f in off.frames]) / 2
    # In resumable segments (4 frames each): the same frame count and times as one pass.
    segmented = tmp_path / "segments.mkv"
    result = upscale_video(source, segmented, model="raw", codec="ffv1", quiet=True, segment_frames=4,
                           on_warning=lambda message: None)
    assert result.frames == FRAMES and probe(segmented).times == auto.times
    with pytest.raises(VidsrError, match="--deinterlace must be one of auto, on, off, not 'yes'"):
        upscale_video(source, tmp_path / "bad.mkv", model="raw", deinterlace="yes")
    assert not (tmp_path / "bad.mkv").exists()
    with pytest.raises(SystemExit):
        main(["upscale", str(source), str(tmp_path / "bad.mkv"), "--deinterlace", "yes"])
    assert "--deinterlace" in capsys.readouterr().err


def test_a_resumed_job_keeps_its_deinterlacing_and_older_journals_resume(tmp_path: Path, capsys, monkeypatch) -> None:
    source = interlaced_clip(tmp_path / "tv.mkv")
    args = [str(source), str(tmp_path / "out.mkv"), "--model", "raw", "--codec", "ffv1", "-q"]
    interrupted_at_second_segment(monkeypatch, capsys, args)
    assert main(["upscale", *args, "--segment-frames", "4", "--resume", "--deinterlace", "off"]) == 2
    assert "other settings (deinterlaced True -> False)" in capsys.readouterr().err
    # A journal written before the setting existed: progressive input resumes as before.
    progressive = write_video(tmp_path / "p.mp4", pattern_frames(12, 32, 48))
    args = [str(progressive), str(tmp_path / "p.mkv"), "--model", "raw", "--codec", "ffv1", "-q"]
    interrupted_at_second_segment(monkeypatch, capsys, args)
    journal_path = tmp_path / ".p.mkv.vidsr-work" / "journal.json"
    journal = json.loads(journal_path.read_text())
    assert journal["settings"].pop("deinterlaced") is False
    journal_path.write_text(json.dumps(journal))
    assert main(["upscale", *args, "--segment-frames", "4", "--resume"]) == 0, capsys.readouterr().err
    assert len(probe(tmp_path / "p.mkv").times) == 12
