"""One run at a time per output (vidsr.video.runlock): another run is refused, the processes
of one run share it, a killed run's lock is taken over, the last to let go deletes it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vidsr.cli.main import main
from vidsr.errors import VidsrError
from vidsr.video.runlock import RunLock, lock_path

pytest.importorskip("fcntl")

HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from vidsr.video.runlock import RunLock
    lock = RunLock(Path(sys.argv[1]), sys.argv[2]).acquire()  # (kept: collected, it lets go)
    print("held", flush=True)
    time.sleep(60)
""")


def hold(output: Path, token: str) -> subprocess.Popen:
    """Another process holding ``output``'s lock for run ``token`` (until killed)."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(output), token], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_another_run_is_refused_the_same_run_joins_a_killed_run_is_taken_over(tmp_path: Path) -> None:
    output = tmp_path / "out.mp4"
    holder = hold(output, "run-a")
    try:
        with pytest.raises(VidsrError, match=rf"out.mp4 is being made by another vidsr run \(process {holder.pid} on"):
            RunLock(output, "run-b").acquire()
        rank = RunLock(output, "run-a").acquire()  # a process of the same run
        rank.release()
        assert lock_path(output).exists()  # the holder is still at work: the file stays
    finally:
        holder.kill()
        holder.wait()
    taken = RunLock(output, "run-b").acquire()  # the kernel dropped the killed holder's lock
    taken.release()
    assert not lock_path(output).exists()  # the last to let go deletes it


def test_upscale_on_an_output_another_run_is_making_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    from vidsr.video.synthetic import pattern_frames, write_video

    clip = tmp_path / "in.mp4"
    write_video(clip, pattern_frames(4, 24, 32))
    output = tmp_path / "out.mp4"
    holder = hold(output, "someone-else")
    try:
        assert main(["upscale", str(clip), str(output), "--model", "bicubic", "-q"]) == 2
        assert "is being made by another vidsr run" in capsys.readouterr().err
        assert not output.exists()
    finally:
        holder.kill()
        holder.wait()
    assert main(["upscale", str(clip), str(output), "--model", "bicubic", "-q"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4"]  # no lock file left
