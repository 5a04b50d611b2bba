"""``-`` for INPUT and OUTPUT: videos piped into and out of `vidsr upscale` and `vidsr compare`."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from video_support import probe

from vidsr.cli.main import main
from vidsr.video.synthetic import pattern_frames, write_video

pytestmark = pytest.mark.usefixtures("tiny_tensors")


class Pipe(io.TextIOWrapper):
    """A text stream over bytes, which is not a terminal (as a shell pipe)."""

    def __init__(self, data: bytes = b"") -> None:
        super().__init__(io.BytesIO(data))

    def isatty(self) -> bool:
        return False


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("in") / "clip.mp4", pattern_frames(6, 24, 32), audio_seconds=0.3)


def run_piped(monkeypatch, capsys, argv: list[str], stdin: bytes = b"") -> tuple[int, bytes, str]:
    """``vidsr ARGV`` with ``stdin`` piped in; (exit code, standard output's bytes, stderr)."""
    out = Pipe()
    monkeypatch.setattr(sys, "stdin", Pipe(stdin))
    monkeypatch.setattr(sys, "stdout", out)
    code = main(argv)
    out.flush()
    return code, out.buffer.getvalue(), capsys.readouterr().err


def test_a_video_piped_in_gives_what_the_file_gives(clip, tmp_path, monkeypatch, capsys):
    main(["upscale", str(clip), str(tmp_path / "file.mp4"), "--model", "bicubic", "-q"])
    code, written, err = run_piped(monkeypatch, capsys, ["upscale", "-", str(tmp_path / "piped.mp4"), "--model",
                                                         "bicubic"], clip.read_bytes())  # fmt: skip
    assert code == 0 and written == b"" and "standard input: " in err
    file, piped = probe(tmp_path / "file.mp4"), probe(tmp_path / "piped.mp4")
    assert piped.times == file.times and np.array_equal(piped.frames, file.frames)
    assert [s.type for s in av.open(str(tmp_path / "piped.mp4")).streams] == ["video", "audio"]


@pytest.mark.parametrize(("extra", "container"), [([], "matroska"), (["--suffix", ".mp4"], "mp4")])
def test_standard_output_holds_the_video_and_nothing_else(clip, tmp_path, monkeypatch, capsys, extra, container):
    code, written, err = run_piped(monkeypatch, capsys, ["upscale", str(clip), "-", "--model", "bicubic", *extra])
    assert code == 0 and "wrote standard output: 6 frames, 128x96" in err
    (tmp_path / "out").write_bytes(written)
    with av.open(str(tmp_path / "out")) as video:
        assert container in video.format.name and [s.type for s in video.streams] == ["video", "audio"]
        assert sum(1 for _ in video.decode(video=0)) == 6
    code, written, err = run_piped(monkeypatch, capsys, ["compare", "-", "-", "--models", "raw,bicubic", "-q"],
                                   clip.read_bytes())  # fmt: skip
    assert code == 0 and written[:4] == b"\x1a\x45\xdf\xa3"  # Matroska's EBML header
    assert "mean PSNR" not in err  # (no GT: no figures)
    code, written, err = run_piped(monkeypatch, capsys, ["upscale", "-", "-", "--model", "bicubic", "--dry-run"],
                                   clip.read_bytes())  # fmt: skip
    assert code == 0 and written == b"" and "output:   " in err  # the report, on stderr


@pytest.mark.parametrize(
    ("argv", "stdin", "says"),
    [
        (["upscale", "-", "{tmp}/o.mp4"], b"", "standard input (-) is empty"),
        (["upscale", "-", "{clip}", "{tmp}/o"], b"x", "holds one video: it cannot be one of several inputs"),
        (["upscale", "{clip}", "-", "--resume"], b"", "for one process, without --resume or --jobs"),
        (["upscale", "-", "{tmp}/o.mp4"], b"not a video\n" * 50, "not a video file that FFmpeg can read"),
    ],
)
def test_pipes_refused_where_they_cannot_work(clip, tmp_path, monkeypatch, capsys, argv, stdin, says):
    args = [a.format(tmp=tmp_path, clip=clip) for a in argv]
    code, written, err = run_piped(monkeypatch, capsys, [*args, "--model", "bicubic", "-q"], stdin)
    assert code == 2 and written == b"" and says in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


def test_a_reader_that_stops_early_gets_a_one_line_error(clip, tmp_path):
    """`vidsr upscale in.mp4 - | true` (a reader that has gone): one line, exit status 2."""
    command = f"{sys.executable} -m vidsr upscale {clip} - --model bicubic -q | true"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "standard output was closed before the whole video was written" in done.stderr
