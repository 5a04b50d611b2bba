"""`vidsr upscale` time ranges, --dry-run, outputs above 4K, and resumable jobs: a run killed
with SIGKILL and continued with --resume gives the file an uninterrupted run gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from video_support import decoded_audio_seconds, probe, write_keyframed

from vidsr.cli.main import main
from vidsr.video.jobs import Job
from vidsr.video.synthetic import pattern_frames, write_video

pytestmark = pytest.mark.usefixtures("tiny_tensors")

AAC_FRAME = Fraction(1024, 48000)  # audio is cut at whole packets

# Runs `vidsr` and SIGKILLs itself as it writes the KILL_AT_PACKET-th packet of a segment,
# on rank KILL_RANK (0 outside torchrun) of torchrun's first attempt only.
KILLER = """
import os, signal, sys
from vidsr.video import segments
limit = int(os.environ["KILL_AT_PACKET"])
armed = (os.environ.get("RANK", "0") == os.environ.get("KILL_RANK", "0")
         and os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") == "0")
parent = os.getpid()  # KILL_FORKED=1: only in a copy that --jobs forked
original, count = segments.PacketFile.write, [0]
def write(self, packet):
    count[0] += 1
    forked = os.environ.get("KILL_FORKED") != "1" or os.getpid() != parent
    if armed and forked and count[0] == limit:
        os.kill(os.getpid(), signal.SIGKILL)
    original(self, packet)
segments.PacketFile.write = write
from vidsr.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """50 frames of 64x48 at 25 fps (keyframe every 8, B-frames), 2 s of AAC."""
    return write_keyframed(tmp_path_factory.mktemp("in") / "clip.mp4", 50, audio_seconds=2.0)


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = main(["upscale", *args])
    return code, capsys.readouterr().err


def subprocess_env() -> dict[str, str]:
    """One thread everywhere: identical runs, and no fight over the machine's two cores."""
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")


def killer(folder: Path) -> Path:
    script = folder / "killer.py"
    script.write_text(KILLER, encoding="utf-8")
    return script


def assert_same_file(got: Path, expected: Path) -> None:
    """Same frames (times, durations, packets: bit for bit) and the same audio packets."""
    a, b = probe(got, decode_rgb=False), probe(expected, decode_rgb=False)
    assert a.times == b.times and a.durations == b.durations
    assert a.packet_data["video"] == b.packet_data["video"]
    assert a.packet_data.get("audio") == b.packet_data.get("audio")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("segment_frames", ["0", "8"], ids=["one-pass", "segments"])
def test_time_range_cuts_video_and_audio(clip, tmp_path, capsys, segment_frames):
    out = tmp_path / "cut.mp4"
    code, err = run_cli(capsys, str(clip), str(out), "--start", "0.4", "--duration", "00:00:01.2",
                        "--segment-frames", segment_frames, "-q")  # fmt: skip
    assert code == 0, err
    got, source = probe(out, decode_rgb=False), probe(clip, decode_rgb=False)
    assert got.times == [t - Fraction(2, 5) for t in source.times[10:40]]  # 0.4 s to 1.6 s, from 0
    assert got.durations == source.durations[10:40]
    assert abs(decoded_audio_seconds(out) - Fraction(6, 5)) <= AAC_FRAME
    assert leftovers(tmp_path) == []


def test_frames_from_a_clock_time(clip, tmp_path, capsys):
    out = tmp_path / "seven.mkv"
    assert run_cli(capsys, str(clip), str(out), "--start", "00:00:01", "--frames", "7", "-q")[0] == 0
    got, source = probe(out, decode_rgb=False), probe(clip, decode_rgb=False)
    assert len(got.times) == 7
    assert [t - got.times[0] for t in got.times] == [t - source.times[25] for t in source.times[25:32]]
    assert abs(decoded_audio_seconds(out) - Fraction(7, 25)) <= AAC_FRAME


def test_subtitles_are_cut_to_the_range(tmp_path, capsys):
    cues = [(0.1, 0.5, "Hello"), (0.6, 0.9, "World"), (1.0, 1.1, "Late")]
    source = write_video(tmp_path / "subs.mkv", pattern_frames(30, 24, 32), audio_seconds=1.2, subtitles=cues)
    out = tmp_path / "cut.mkv"
    code = run_cli(capsys, str(source), str(out), "--start", "0.3", "--duration", "0.5", "--model", "bicubic", "-q")[0]
    assert code == 0
    start = probe(out, decode_rgb=False).times[0]
    with av.open(str(out)) as container:
        shown = [(p.pts * p.time_base - start, p.duration * p.time_base)
                 for p in container.demux(subtitles=0) if p.size]  # fmt: skip
    times = probe(source, decode_rgb=False).times
    first = next(t for t in times if t - times[0] >= Fraction(3, 10))  # the first frame kept (0.32 s)
    # "Hello" (still showing at the start) is shortened to start with the video, "Late" is past the end.
    assert shown == [(0, Fraction(1, 2) - first), (Fraction(3, 5) - first, Fraction(3, 10))]


def test_range_past_the_end_is_a_one_line_error(clip, tmp_path, capsys):
    code, err = run_cli(capsys, str(clip), str(tmp_path / "out.mp4"), "--start", "3", "-q")
    assert code == 2 and "no frame in the range from 0:00:03.000" in err
    assert list(tmp_path.iterdir()) == []


def test_segments_equal_one_pass_within_one_code_value(clip, tmp_path, capsys):
    """Each segment's warm-up overlap brings the recurrent state close to that of one pass."""
    for name, frames in (("one.mkv", "0"), ("seg.mkv", "8")):
        code, err = run_cli(capsys, str(clip), str(tmp_path / name), "--codec", "ffv1", "--segment-frames", frames,
                            "-q")  # fmt: skip
        assert code == 0, err
    one, seg = probe(tmp_path / "one.mkv"), probe(tmp_path / "seg.mkv")
    assert seg.times == one.times  # (Matroska shifts both by the MP4's AAC priming)
    assert len(seg.times) == len(probe(clip, decode_rgb=False).times)
    assert seg.packet_data["audio"] == one.packet_data["audio"]
    assert max(np.abs(a.astype(int) - b.astype(int)).max() for a, b in zip(one.frames, seg.frames)) <= 1
    assert leftovers(tmp_path) == []


def test_dry_run_reports_and_writes_nothing(clip, tmp_path, capsys):
    code = main(["upscale", str(clip), str(tmp_path / "out.mp4"), "--dry-run", "--segment-frames", "20",
                 "--start", "0.2"])  # fmt: skip
    report = capsys.readouterr().out
    assert code == 0
    for expected in ("64x48", "frames:   45", "256x192 (x4)", "model:    delta; backend ", "cpu",
                     "3 segments of 20 frames", "estimate: "):  # fmt: skip
        assert expected in report, report
    assert list(tmp_path.iterdir()) == []


def test_dry_run_says_where_yuv420p_pads_an_odd_size(tmp_path, capsys):
    source = write_video(tmp_path / "odd.mkv", [np.zeros((17, 33, 3), np.uint8)] * 2, codec="ffv1")
    for out, says in [("x3.mp4", "99x51 (x3), padded to 100x52 for yuv420p, libx264"),
                      ("x3.mkv", "99x51 (x3), padded to 100x52 for yuv420p, libx264"),
                      ("x3.gif", "99x51 (x3), gif")]:  # fmt: skip
        assert main(["upscale", str(source), str(tmp_path / out), "--model", "bicubic", "--scale", "3",
                     "--dry-run"]) == 0  # fmt: skip
        assert says in capsys.readouterr().out


def test_output_above_4k_needs_force_large(tmp_path, capsys):
    source = write_video(tmp_path / "wide.mp4", [np.zeros((544, 1000, 3), np.uint8)])  # x4: 4000x2176
    out = tmp_path / "big.mp4"
    code, err = run_cli(capsys, str(source), str(out), "--model", "bicubic", "-q")
    assert code == 2 and "4000x2176, above 4K (3840x2160): add --force-large" in err
    assert not out.exists()
    assert main(["upscale", str(source), str(out), "--model", "bicubic", "--dry-run"]) == 0
    assert "above 4K: needs --force-large" in capsys.readouterr().out
    code, err = run_cli(capsys, str(source), str(out), "--model", "bicubic", "--force-large", "-q")
    assert code == 0, err and probe(out, decode_rgb=False).width == 4000


def test_sigkill_then_resume_equals_an_uninterrupted_run(clip, tmp_path):
    common = ["upscale", str(clip), "--segment-frames", "12", "--threads", "1", "-q"]
    env = subprocess_env()

    def vidsr(*args: str, **extra: str) -> subprocess.CompletedProcess:
        command = [sys.executable, str(killer(tmp_path)) if extra else "-m", *([] if extra else ["vidsr"]), *args]
        return subprocess.run(command, env={**env, **extra}, capture_output=True, text=True, timeout=300)

    whole = vidsr(*common[:2], str(tmp_path / "whole.mp4"), *common[2:])
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "out" / "resumed.mp4"
    out.parent.mkdir()
    killed = vidsr(*common[:2], str(out), *common[2:], KILL_AT_PACKET="20")  # in the 2nd of 5 segments
    assert killed.returncode == -9, killed.stderr
    work = out.parent / ".resumed.mp4.vidsr-work"
    # no output yet; the killed run's lock file, held by nobody now (runlock: the next run takes it)
    assert sorted(p.name for p in out.parent.iterdir()) == [".resumed.mp4.vidsr-lock", work.name]
    assert (work / "seg-000000.json").exists() and not (work / "seg-000001.json").exists()
    assert any(".part-" in p.name for p in work.iterdir())  # the segment it was writing
    done = work / "seg-000000.packets"  # damaged after the fact: cut at a packet boundary, say
    done.write_bytes(done.read_bytes()[:-100])

    resumed = vidsr(*common[:2], str(out), *common[2:], "--resume")
    assert resumed.returncode == 0, resumed.stderr  # segment 0 redone (its record says another size)
    assert sorted(p.name for p in out.parent.iterdir()) == ["resumed.mp4"]  # work folder gone
    assert_same_file(out, tmp_path / "whole.mp4")
    assert len(probe(out, decode_rgb=False).times) == 50


def test_resume_needs_this_jobs_journal(clip, tmp_path, capsys, monkeypatch):
    source = tmp_path / "clip.mp4"
    source.write_bytes(clip.read_bytes())
    out = tmp_path / "out.mp4"
    args = [str(source), str(out), "--segment-frames", "12", "-q"]
    code, err = run_cli(capsys, *args, "--resume")
    assert code == 2 and "no unfinished job for" in err

    original = Job.run_segment

    def interrupted(self, index, progress=None):
        if index == 2:
            raise KeyboardInterrupt
        return original(self, index, progress)

    monkeypatch.setattr(Job, "run_segment", interrupted)
    code, err = run_cli(capsys, *args)
    assert code == 130 and "2 of 5 segments are done" in err and "--resume continues" in err
    monkeypatch.undo()
    assert not out.exists()

    code, err = run_cli(capsys, *args)
    assert code == 2 and "unfinished job (2 segments done" in err and "add --resume" in err
    code, err = run_cli(capsys, *args, "--crf", "20", "--resume")
    assert code == 2 and "other settings (crf 18 -> 20)" in err
    os.utime(source, ns=(1, 1))
    code, err = run_cli(capsys, *args, "--resume")
    assert code == 2 and "belongs to another input" in err
    code, err = run_cli(capsys, *args, "--force")  # starts again
    assert code == 0, err
    assert len(probe(out, decode_rgb=False).times) == 50
    assert leftovers(tmp_path) == []


def test_a_changed_weights_file_is_named_by_its_path_not_its_identity_record():
    from vidsr.video.jobs import _setting_change

    x4 = {"path": "/w/delta_x4_bi.safetensors", "size": 338832, "mtime_ns": 1}
    assert _setting_change("weights", x4, {**x4, "path": "/w/delta_x2_bi.safetensors"}) == (
        "weights /w/delta_x4_bi.safetensors -> /w/delta_x2_bi.safetensors")
    assert "(changed since" in _setting_change("weights", x4, {**x4, "mtime_ns": 2})
    assert _setting_change("crf", 18, 20) == "crf 18 -> 20"


def interrupt_at_segment(monkeypatch, capsys, args: list[str], index: int = 2) -> None:
    """Run `vidsr upscale ARGS` in this process, stopped (Ctrl-C) as segment ``index`` starts."""
    original = Job.run_segment

    def interrupted(self, segment, progress=None):
        if segment == index:
            raise KeyboardInterrupt
        return original(self, segment, progress)

    monkeypatch.setattr(Job, "run_segment", interrupted)
    code, err = run_cli(capsys, *args)
    monkeypatch.undo()
    assert code == 130, err


def test_journal_keeps_the_backend_auto_chose_and_resume_runs_on_it(clip, tmp_path, capsys, monkeypatch):
    """`--backend auto` (and `--precision auto`) can choose otherwise on another machine or after
    auto's cache changed: a resumed job runs on the backend its journal names, or stops clearly."""
    import vidsr.backends.core

    out = tmp_path / "out.mp4"
    args = [str(clip), str(out), "--segment-frames", "12", "-q"]
    interrupt_at_segment(monkeypatch, capsys, args)
    work = tmp_path / ".out.mp4.vidsr-work"
    journal = json.loads((work / "journal.json").read_text())
    assert journal["settings"]["backend"] == journal["settings"]["precision"] == "auto"  # as asked
    here = {"backend": "torch", "precision": "fp32", "device": "cpu"}  # auto's choice for 64x48 frames
    assert journal["runs_on"] == here
    assert [json.loads((work / f"seg-00000{i}.json").read_text())["runs_on"] for i in (0, 1)] == [here, here]

    def started_with(**runs_on: str) -> None:  # as if the first segments ran elsewhere
        for path in [work / "journal.json", work / "seg-000000.json", work / "seg-000001.json"]:
            data = json.loads(path.read_text())
            data["runs_on"] = {**here, **runs_on}
            path.write_text(json.dumps(data))

    started_with(device="cuda")
    code, err = run_cli(capsys, *args, "--resume")
    assert code == 2 and "was started with backend torch fp32 on cuda; this run is on cpu" in err
    assert "resume with --device cuda, or use --force" in err

    started_with(backend="openvino", precision="bf16")
    real = vidsr.backends.core.missing_packages
    monkeypatch.setattr(vidsr.backends.core, "missing_packages",
                        lambda name: ["openvino"] if name == "openvino" else real(name))  # fmt: skip
    code, err = run_cli(capsys, *args, "--resume")
    monkeypatch.undo()
    assert code == 2 and "was started with backend openvino bf16 on cpu (what --backend auto --precision auto" in err
    assert "cannot run here (backend openvino needs the openvino package" in err and "use --force" in err

    started_with(precision="bf16")  # auto chose torch bf16 there (a CPU with native bf16)
    used = []
    original = Job.run_segment

    def spy(self, segment, progress=None):
        record = original(self, segment, progress)
        used.append(record["runs_on"])
        return record

    monkeypatch.setattr(Job, "run_segment", spy)
    code, err = run_cli(capsys, *args, "--resume")
    assert code == 0, err
    assert used == [{**here, "precision": "bf16"}] * 3  # segments 2-4: as the first two, not fp32
    assert "different backends" not in err
    assert len(probe(out, decode_rgb=False).times) == 50
    assert leftovers(tmp_path) == []


# Runs `vidsr` and SIGKILLs itself at the KILL_AT-th call of VideoFileWriter.KILL_IN (write: a
# one-pass output's frames; mux_packet: the segments joined into the output).
KILL_IN_OUTPUT = """
import os, signal, sys
from vidsr.video import writer
limit, method = int(os.environ["KILL_AT"]), os.environ["KILL_IN"]
original, count = getattr(writer.VideoFileWriter, method), [0]
def patched(self, *args):
    if self._packets is None:  # the output file (not a segment's packets)
        count[0] += 1
        if count[0] == limit:
            os.kill(os.getpid(), signal.SIGKILL)
    return original(self, *args)
setattr(writer.VideoFileWriter, method, patched)
from vidsr.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def run_killed(tmp_path: Path, args: list[str], **kill: str) -> subprocess.CompletedProcess:
    script = tmp_path / "kill_in_output.py"
    script.write_text(KILL_IN_OUTPUT, encoding="utf-8")
    command = [sys.executable, str(script)] if kill else [sys.executable, "-m", "vidsr"]
    return subprocess.run([*command, "upscale", *args], env={**subprocess_env(), **kill},
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_what_a_killed_one_pass_run_leaves_is_removed_by_the_next(clip, tmp_path):
    out = tmp_path / "out" / "one.mp4"
    out.parent.mkdir()
    args = [str(clip), str(out), "--threads", "1", "-q"]
    killed = run_killed(tmp_path, args, KILL_IN="write", KILL_AT="30")
    assert killed.returncode == -9, killed.stderr
    partial, lock = leftovers(out.parent)  # the partial output, and the run lock (held by nobody now)
    assert lock == ".one.mp4.vidsr-lock" and partial.startswith(".one.mp4.partial-")
    (out.parent / ".one.mp4.vidsr-work").mkdir()  # and a work folder killed before its journal
    (out.parent / ".one.mp4.vidsr-work" / "journal.json.abc-12.tmp").write_text("{")

    again = run_killed(tmp_path, args)  # the same command: the leftovers go, the output comes
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["one.mp4"]
    assert len(probe(out, decode_rgb=False).times) == 50


def test_a_run_killed_as_it_joins_the_segments_is_resumed_without_leftovers(clip, tmp_path):
    out = tmp_path / "out" / "long.mp4"
    out.parent.mkdir()
    args = [str(clip), str(out), "--segment-frames", "12", "--threads", "1", "-q"]
    killed = run_killed(tmp_path, args, KILL_IN="mux_packet", KILL_AT="30")
    assert killed.returncode == -9, killed.stderr
    work = out.parent / ".long.mp4.vidsr-work"
    assert [p.name for p in out.parent.iterdir() if ".partial-" in p.name]  # the output it was joining
    (work / "seg-000002.json.deadbeef-12.tmp").write_text("{")  # a record a killed process was writing
    (work / "seg-000002.part-deadbeef").write_bytes(b"VIDSRPK1")

    fresh = run_killed(tmp_path, args)  # without --resume: a clear error, nothing removed
    assert fresh.returncode == 2 and "add --resume to continue it, or --force to start again" in fresh.stderr
    assert work.is_dir()

    resumed = run_killed(tmp_path, [*args, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["long.mp4"]
    assert len(probe(out, decode_rgb=False).times) == 50


def test_a_partial_output_that_a_live_run_holds_is_left_alone(tmp_path):
    import fcntl

    from vidsr.video.safety import atomic_output, remove_stale_partials

    out = tmp_path / "out.mp4"
    stale = tmp_path / ".out.mp4.partial-0000dead.mp4"
    stale.write_bytes(b"half a video")
    with atomic_output(out, folder=False) as partial:
        assert remove_stale_partials(out) == [stale]  # ours is locked: kept
        assert partial.exists() and not stale.exists()
        with open(partial, "rb") as handle, pytest.raises(BlockingIOError):
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        partial.write_bytes(b"done")
    assert out.read_bytes() == b"done" and leftovers(tmp_path) == []
