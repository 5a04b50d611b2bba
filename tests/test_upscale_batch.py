"""`vidsr upscale` batches (several inputs, a folder of videos, a list of paths), and the same
work shared by `torchrun --nproc-per-node=2` (gloo): every output equals the one-process
output, every frame appears once, and a rank killed mid-segment is restarted and resumes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_upscale_jobs import assert_same_file, killer, leftovers, subprocess_env
from video_support import probe, write_keyframed

from vidsr.cli.main import main
from vidsr.video import segments
from vidsr.video.batch import BatchRun, Ranks, batch_items, own_cpus
from vidsr.video.jobs import Engine, JobOptions
from vidsr.video.segments import WorkFolder
from vidsr.video.synthetic import pattern_frames, write_video

pytestmark = pytest.mark.usefixtures("tiny_tensors")
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    """Three 20-frame clips with audio, a corrupt one, and a 50-frame one."""
    folder = tmp_path_factory.mktemp("videos")
    for name in ("a", "b", "c"):
        write_video(folder / f"{name}.mp4", pattern_frames(20 + ord(name) - ord("a"), 48, 64), audio_seconds=0.8)
    (folder / "bad.mp4").write_bytes(b"not a video\n" * 50)
    write_keyframed(folder / "long.mkv", 50, audio_seconds=2.0)
    return folder


def test_batch_reports_each_file_and_goes_on_after_a_bad_one(videos, tmp_path, capsys):
    out = tmp_path / "out"
    sources = [str(videos / name) for name in ("a.mp4", "bad.mp4", "b.mp4")]
    code = main(["upscale", *sources, str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert "FAILED   " + str(videos / "bad.mp4") + ": not a video file that FFmpeg can read" in err
    assert "vidsr: 2 done, 0 skipped, 1 failed" in err
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "b.mp4"]
    assert len(probe(out / "b.mp4", decode_rgb=False).times) == 21

    listing = tmp_path / "inputs.txt"  # relative paths, a comment, a blank line
    listing.write_text(f"# the batch\n{videos / 'a.mp4'}\n\n{Path('..') / videos.name / 'c.mp4'}\n")
    code = main(["upscale", str(listing), str(out), "--suffix", ".mkv"])
    err = capsys.readouterr().err
    assert code == 0 and "2 done, 0 skipped, 0 failed" in err
    code = main(["upscale", *sources, str(out), "-q"])  # again: complete outputs are skipped
    err = capsys.readouterr().err
    assert code == 1 and "0 done, 2 skipped, 1 failed" in err
    assert sorted(p.name for p in out.iterdir()) == ["a.mkv", "a.mp4", "b.mp4", "c.mkv"]


def test_a_batch_where_every_input_fails_leaves_no_folder_it_made(videos, tmp_path, capsys):
    bad = [str(videos / "bad.mp4"), str(tmp_path / "missing.mp4")]
    assert main(["upscale", *bad, str(tmp_path / "new"), "-q"]) == 1
    assert "0 done, 0 skipped, 2 failed" in capsys.readouterr().err and not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()  # a folder that was there stays
    assert main(["upscale", *bad, str(tmp_path / "mine"), "-q"]) == 1
    assert (tmp_path / "mine").is_dir()


def test_a_folder_of_videos_is_a_batch(videos, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.mp4", "c.mp4"):
        (folder / name).write_bytes((videos / name).read_bytes())
    assert main(["upscale", str(folder), str(tmp_path / "out"), "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.mp4", "c.mp4"]


def test_two_inputs_with_one_output_name_are_refused(videos, tmp_path, capsys):
    other = tmp_path / "a.mp4"
    other.write_bytes((videos / "a.mp4").read_bytes())
    assert main(["upscale", str(videos / "a.mp4"), str(other), str(tmp_path / "out")]) == 2
    assert "would both be written to" in capsys.readouterr().err


def vidsr(*args: str, ranks: int = 1, restarts: int = 0, **env: str) -> subprocess.CompletedProcess:
    """``vidsr ARGS`` in one process, or under torchrun with ``ranks`` processes (the killer
    script when ``env`` arms it)."""
    program = [str(killer(Path(env.pop("KILLER_DIR")))), *args] if "KILLER_DIR" in env else ["-m", "vidsr", *args]
    launcher = []
    if ranks > 1:
        launcher = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={ranks}",
                    f"--max-restarts={restarts}"]  # fmt: skip
    command = [sys.executable, *launcher, *program]
    return subprocess.run(command, env={**subprocess_env(), **env}, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=600)  # fmt: skip


@pytest.mark.slow
def test_two_ranks_share_a_batch_with_the_one_process_result(videos, tmp_path):
    sources = [str(videos / f"{name}.mp4") for name in ("a", "b", "c")]
    one = vidsr("upscale", *sources, str(tmp_path / "one"), "--threads", "1", "-q")
    assert one.returncode == 0, one.stderr
    two = vidsr("upscale", *sources, str(tmp_path / "two"), "--threads", "1", ranks=2)
    assert two.returncode == 0, two.stderr
    assert "3 done, 0 skipped, 0 failed" in two.stderr
    assert two.stderr.count("vidsr: video input: delta at denoise strength") == 1  # said once, not per rank
    assert {line.split("]")[0] for line in two.stderr.splitlines() if "] done" in line} == {
        "vidsr: [rank 0", "vidsr: [rank 1"}  # fmt: skip
    for name in ("a", "b", "c"):
        assert_same_file(tmp_path / "two" / f"{name}.mp4", tmp_path / "one" / f"{name}.mp4")
    assert leftovers(tmp_path / "two") == []
    held = sorted(line.split("held to CPU ")[1] for line in two.stderr.splitlines() if "held to CPU" in line)
    if len(os.sched_getaffinity(0)) >= 2:  # each rank on a CPU of its own
        assert len(held) == 2 and held[0] != held[1], two.stderr
    else:
        assert held == [], two.stderr


def test_ranks_get_cpus_of_their_own_only_when_all_fit():
    assert [own_cpus(rank, 2, 1, [4, 5]) for rank in (0, 1)] == [{4}, {5}]
    assert [own_cpus(rank, 2, 2, range(4)) for rank in (0, 1)] == [{0, 1}, {2, 3}]
    assert own_cpus(0, 3, 1, [0, 1]) is None  # 3 ranks, 2 CPUs: left to the scheduler
    assert own_cpus(1, 2, 2, [0, 1, 2]) is None


@pytest.mark.slow
def test_two_ranks_split_a_long_video_and_a_killed_rank_resumes(videos, tmp_path):
    """Rank 1 is SIGKILLed mid-segment; torchrun restarts both ranks, which finish the job."""
    source, common = str(videos / "long.mkv"), ["--segment-frames", "8", "--threads", "1", "-q"]
    one = vidsr("upscale", source, str(tmp_path / "one.mkv"), *common)
    assert one.returncode == 0, one.stderr
    out = tmp_path / "out"
    out.mkdir()
    two = vidsr("upscale", source, str(out / "two.mkv"), *common, ranks=2, restarts=1,
                KILLER_DIR=str(tmp_path), KILL_AT_PACKET="12", KILL_RANK="1")  # fmt: skip
    assert two.returncode == 0, two.stderr
    assert "exitcode: -9" in two.stderr  # the first attempt's rank 1 was killed
    assert_same_file(out / "two.mkv", tmp_path / "one.mkv")
    times = probe(out / "two.mkv", decode_rgb=False).times
    assert times == probe(videos / "long.mkv", decode_rgb=False).times  # each frame once, none missing
    assert sorted(p.name for p in out.iterdir()) == ["two.mkv"]


@dataclass(frozen=True)
class TakeTurns(Ranks):
    """Two ranks in one process, one after the other: rank 0's broadcasts are kept for rank 1,
    and rank 1 does all of its work while rank 0 waits in the final gather (a barrier)."""

    board: list = field(default_factory=list)
    other: list = field(default_factory=list)  # rank 1's run, called from rank 0's gather

    def broadcast(self, value):
        if self.rank == 0:
            self.board.append(value)
            return value
        return self.board.pop(0)

    def gather(self, value):
        return [value, self.other.pop()()] if self.rank == 0 else [{}, value]


@pytest.mark.parametrize("force", [False, True])
def test_a_rank_that_comes_late_does_not_redo_a_finished_video(videos, tmp_path, force):
    """Rank 0 finishes the whole batch before rank 1 gets to it: rank 1 must find every video
    claimed (not redo it with --force, nor report it failed because its output exists)."""
    out = tmp_path / "out"
    items = batch_items([videos / "a.mp4", videos / "b.mp4"], out)
    options = JobOptions(threads=1, force=force, quiet=True)
    first = TakeTurns(rank=0, world_size=2)
    second = TakeTurns(rank=1, world_size=2, board=first.board)
    late: list[BatchRun] = []

    def rank_one() -> dict:
        late.append(BatchRun(items, lambda device: Engine("bicubic", 4), options, ranks=second))
        stamps = {item.target: item.target.stat().st_mtime_ns for item in items}
        late[0].run()
        assert {item.target: item.target.stat().st_mtime_ns for item in items} == stamps  # nothing rewritten
        return late[0].outcomes

    first.other.append(rank_one)
    outcomes = BatchRun(items, lambda device: Engine("bicubic", 4), options, ranks=first).run()
    assert [o.status for o in outcomes] == ["done", "done"]
    assert late[0].outcomes == {}  # neither done again nor failed
    assert leftovers(out) == []  # the claims are gone once every rank is done


@pytest.mark.parametrize("when", ["after-the-join", "as-the-folder-goes"])
def test_a_rank_that_comes_late_to_a_joined_long_video_does_nothing(videos, tmp_path, monkeypatch, when):
    """Rank 1 comes to a long video after rank 0 did every segment and joined them: after the
    work folder went, or with the output in place and the folder still there. Nothing to do,
    nothing reported failed, nothing left behind."""
    out = tmp_path / "out"
    items = batch_items([videos / "long.mkv"], out)
    options = JobOptions(threads=1, segment_frames=8, quiet=True)
    first = TakeTurns(rank=0, world_size=2)
    second = TakeTurns(rank=1, world_size=2, board=first.board)
    late: list[BatchRun] = []

    def rank_one() -> dict:
        late.append(BatchRun(items, lambda device: Engine("bicubic", 4), options, ranks=second))
        late[0].run()
        return late[0].outcomes

    if when == "as-the-folder-goes":
        remove = WorkFolder.remove

        def remove_after_rank_one(work):
            if work.output.exists() and not late:
                rank_one()
            remove(work)

        monkeypatch.setattr(WorkFolder, "remove", remove_after_rank_one)
        first.other.append(dict)
    else:
        first.other.append(rank_one)
    outcomes = BatchRun(items, lambda device: Engine("bicubic", 4), options, ranks=first).run()
    assert [o.status for o in outcomes] == ["done"]
    assert late[0].outcomes == {}
    assert leftovers(out) == []


def test_a_claim_made_as_the_work_folder_is_deleted_fails_and_leaves_nothing(tmp_path, monkeypatch):
    """The race behind a work folder left beside a finished output: rank 0 deletes the folder's
    files, rank 1 claims "final" in it, rank 0's rmdir then fails on the new claim (and
    ``rmtree(ignore_errors=True)`` hid it). The folder is renamed away before it is deleted."""
    work = WorkFolder(tmp_path / "out.mkv", "run1")
    work.create({"segments": []})
    other_rank = WorkFolder(tmp_path / "out.mkv", "run1")
    claims = []

    def rmtree_as_it_goes(path, ignore_errors=False):  # rmtree's order: the files, then the folder
        for child in Path(path).iterdir():
            child.unlink()
        claims.append(other_rank.claim("final"))
        with contextlib.suppress(OSError):
            os.rmdir(path)

    monkeypatch.setattr(segments.shutil, "rmtree", rmtree_as_it_goes)
    work.remove()
    assert claims == [False]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_jobs_share_a_batch_with_a_bad_file_and_a_long_video_as_one_process_does(videos, tmp_path):
    """``--jobs 2`` (forked copies, no torchrun), 2 threads each on 2 cores: more threads than
    cores (so not held), the model's thread pool started in every copy."""
    sources = [str(videos / name) for name in ("a.mp4", "bad.mp4", "b.mp4", "long.mkv")]
    common = ["--segment-frames", "8", "--threads", "2"]
    one = vidsr("upscale", *sources, str(tmp_path / "one"), *common, "-q")
    assert one.returncode == 1, one.stderr
    two = vidsr("upscale", *sources, str(tmp_path / "two"), *common, "--jobs", "2")
    assert two.returncode == 1, two.stderr
    assert "3 done, 0 skipped, 1 failed" in two.stderr
    assert two.stderr.count("vidsr: video input: delta at denoise strength") == 1
    assert "FAILED   " + str(videos / "bad.mp4") + ": not a video file that FFmpeg can read" in two.stderr
    workers = {line.split("]")[0] for line in two.stderr.splitlines() if "] done" in line or "] long.mkv:" in line}
    assert workers == {"vidsr: [rank 0", "vidsr: [rank 1"}, two.stderr
    for name in ("a.mp4", "b.mp4", "long.mkv"):
        assert_same_file(tmp_path / "two" / name, tmp_path / "one" / name)
    assert probe(tmp_path / "two" / "long.mkv", decode_rgb=False).times == probe(videos / "long.mkv",
                                                                               decode_rgb=False).times  # fmt: skip
    assert leftovers(tmp_path / "two") == []


def test_a_killed_job_stops_the_batch_and_the_same_command_resumes_it(videos, tmp_path):
    source, common = str(videos / "long.mkv"), ["--segment-frames", "8", "--threads", "1", "-q"]
    one = vidsr("upscale", source, str(tmp_path / "one.mkv"), *common)
    assert one.returncode == 0, one.stderr
    out = tmp_path / "out"
    out.mkdir()
    two = vidsr("upscale", source, str(out / "two.mkv"), *common, "--jobs", "2",
                KILLER_DIR=str(tmp_path), KILL_AT_PACKET="12", KILL_FORKED="1")  # fmt: skip
    assert two.returncode != 0
    assert "job 1 was killed (SIGKILL)" in two.stderr and "--resume" in two.stderr, two.stderr
    assert not (out / "two.mkv").exists()
    again = vidsr("upscale", source, str(out / "two.mkv"), *common, "--jobs", "2", "--resume")
    assert again.returncode == 0, again.stderr
    assert_same_file(out / "two.mkv", tmp_path / "one.mkv")
    assert sorted(p.name for p in out.iterdir()) == ["two.mkv"]


@pytest.mark.parametrize(("extra", "env", "message"), [
    (["--jobs", "0"], {}, "--jobs must be 1 or more"),
    (["--jobs", "2", "--device", "cuda"], {}, "for GPUs use torchrun"),
    (["--jobs", "2"], {"WORLD_SIZE": "2"}, "under torchrun, use --nproc-per-node"),
])  # fmt: skip
def test_jobs_refused_where_they_cannot_work(videos, tmp_path, capsys, monkeypatch, extra, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["upscale", str(videos / "a.mp4"), str(videos / "b.mp4"), str(tmp_path / "out"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_batch_into_its_own_folder_is_refused_and_earlier_outputs_are_left_out(tmp_path, capsys):
    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("a", "b"):
        write_video(clips / f"{name}.mp4", pattern_frames(4, 24, 32))
    before = {p: p.read_bytes() for p in clips.iterdir()}
    assert main(["upscale", str(clips), str(clips), "--model", "bicubic", "-q"]) == 2  # was "2 skipped", exit 0
    assert "their outputs would replace them" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in clips.iterdir()} == before

    # `vidsr upscale clips/* clips/out`, run twice: the second time the glob also matches clips/out
    argv = ["upscale", str(clips / "a.mp4"), str(clips / "b.mp4"), str(clips / "out"), "--model", "bicubic", "-q"]
    assert main(argv) == 0
    capsys.readouterr()
    assert main([*argv[:3], str(clips / "out"), *argv[3:]]) == 0  # was: "would both be written to"
    err = capsys.readouterr().err
    assert "left out 2 input(s) that are their own output" in err
    assert sorted(p.name for p in (clips / "out").iterdir()) == ["a.mp4", "b.mp4"]


def test_a_refused_batch_leaves_no_folder(videos, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["upscale", str(videos / "a.mp4"), str(videos / "a.mp4"), str(out), "-q"]) == 2
    assert "would both be written to" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_as_input_is_refused_not_a_hang(tmp_path, capsys):
    pipe = tmp_path / "stream.mp4"
    os.mkfifo(pipe)  # read once for the plan, opened again for the frames: it would block for ever
    assert main(["upscale", str(pipe), str(tmp_path / "o.mp4"), "--model", "bicubic", "-q"]) == 2
    assert "is a named pipe, not a file" in capsys.readouterr().err


@pytest.mark.parametrize(("forked", "says"), [(True, "another process of --jobs stopped"),
                                              (False, "torchrun restarts the ranks")])
def test_a_dead_peer_is_told_in_the_words_of_how_the_processes_were_started(forked, says):
    from vidsr.errors import VidsrError
    from vidsr.video.batch import _peer_failures

    with pytest.raises(VidsrError, match=says) as caught, _peer_failures(forked):
        raise RuntimeError("[../gloo/transport/tcp/pair.cc:553] Connection closed by peer [127.0.0.1]:1234")
    assert ("gloo" in str(caught.value)) is not forked  # (--jobs users never ran torchrun or gloo)


def test_planning_a_batch_holds_no_output_locks(videos, tmp_path, monkeypatch):
    # A batch of thousands must not hold a lock (a file descriptor) per video once it has planned:
    # while the first video is made, only its own lock is held.
    from vidsr.video.jobs import Job

    out = tmp_path / "out"
    items = batch_items([videos / "a.mp4", videos / "b.mp4", videos / "long.mkv"], out)
    seen: list[list[str]] = []
    original = Job.run_single

    def looking(self, started=None):
        seen.append(sorted(p.name for p in out.glob(".*.vidsr-lock")))
        return original(self, started)

    monkeypatch.setattr(Job, "run_single", looking)
    run = BatchRun(items, lambda device: Engine("bicubic", 4), JobOptions(threads=1, segment_frames=30, quiet=True))
    assert [o.status for o in run.run()] == ["done", "done", "done"]
    assert seen == [[".a.mp4.vidsr-lock"], [".b.mp4.vidsr-lock"]]
    assert leftovers(out) == []
