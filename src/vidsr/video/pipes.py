"""``-`` as INPUT or OUTPUT: a video read from standard input or written to standard output.

vidsr reads an input more than once (its header to plan the job, then its frames, then its
audio and subtitles to copy them) and writes the output into a temporary file that is renamed
once complete. A pipe allows neither. So standard input is first copied into a temporary
file (in ``$TMPDIR``), and the output is written into a temporary file that is copied to
standard output once complete: Matroska by default, which players and FFmpeg read from a
pipe, or the container of ``--suffix``. Nothing else goes to standard output while vidsr
works; messages and the progress bar are on standard error.

    ffmpeg -i in.mov -f matroska - | vidsr upscale - out.mp4
    vidsr upscale in.mp4 - | ffmpeg -i - -c:v libx265 out.mkv
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

from vidsr.errors import VidsrError
from vidsr.video.messages import format_bytes, say

STDIO = "-"
PIPE_SUFFIX = ".mkv"  # the container written to standard output, unless --suffix says otherwise
_BLOCK = 1 << 20


def uses_pipes(inputs: Sequence[str], output: str) -> bool:
    """Whether standard input or output is named (``-``)."""
    return STDIO in inputs or output == STDIO


@contextmanager
def piped(inputs: Sequence[str], output: str, suffix: str | None = None, *, quiet: bool = False,
          ) -> Iterator[tuple[list[str], str]]:  # fmt: skip
    """``(inputs, output)`` with ``-`` replaced by temporary files: standard input copied into
    one before the work, the output copied to standard output after it (on success only)."""
    if list(inputs).count(STDIO) > 1 or (STDIO in inputs and len(inputs) > 1):
        raise VidsrError("standard input (-) holds one video: it cannot be one of several inputs")
    if STDIO in inputs and sys.stdin.isatty():
        raise VidsrError("INPUT is - (standard input), which is a terminal here: pipe a video into vidsr")
    if output == STDIO and sys.stdout.isatty():
        raise VidsrError("OUTPUT is - (standard output), which is a terminal here: pipe it into a player or a file")
    suffix = suffix if suffix is None or suffix.startswith(".") else f".{suffix}"
    with tempfile.TemporaryDirectory(prefix="vidsr-pipe-") as scratch:
        folder = Path(scratch)
        named = [str(_copy_stdin(folder / "stdin", quiet)) if text == STDIO else text for text in inputs]
        if output != STDIO:
            yield named, output
            return
        target = folder / f"stdout{suffix or PIPE_SUFFIX}"
        with redirect_stdout(sys.stderr):  # only the video goes to standard output
            yield named, str(target)
        if target.exists():  # (not after --dry-run)
            _copy_to_stdout(target)


def _copy_stdin(path: Path, quiet: bool) -> Path:
    """Standard input, copied into ``path`` (a progress bar in bytes on stderr, unless ``quiet``)."""
    from tqdm import tqdm

    with path.open("wb") as copy, tqdm(desc="standard input", unit="B", unit_scale=True, disable=quiet,
                                       file=sys.stderr, leave=False) as bar:  # fmt: skip
        while block := sys.stdin.buffer.read(_BLOCK):
            copy.write(block)
            bar.update(len(block))
    size = path.stat().st_size
    if size == 0:
        raise VidsrError("standard input (-) is empty: nothing was piped into vidsr")
    if not quiet:
        say(f"standard input: {format_bytes(size)} read into {path.parent} (removed when done)")
    return path


def _copy_to_stdout(path: Path) -> None:
    """The file at ``path``, written to standard output."""
    out = sys.stdout.buffer
    try:
        with path.open("rb") as source:
            shutil.copyfileobj(source, out, _BLOCK)
        out.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)  # no second error when Python flushes at exit
        os.dup2(devnull, sys.stdout.fileno())
        raise VidsrError("standard output was closed before the whole video was written") from None
