"""Safe output: refuse to overwrite by accident, and never leave a half-written result.

The output is written under a hidden temporary name in the output's own folder and moved
into place (``os.replace``, atomic on one file system) only when it is complete; on an
error or Ctrl-C the temporary file or folder is deleted. It is created the way ``cp`` and
ffmpeg create files: a new output gets the permissions the user's umask allows (0644 and
0755 with umask 022), and a replaced output keeps the permissions it had.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vidsr.errors import VidsrError

_FRAME_SUFFIXES = (".png", ".jpg", ".jpeg")


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_paths(source: Path, output: Path, *, force: bool, folder: bool) -> None:
    """Refuse a missing input, INPUT == OUTPUT, and an existing OUTPUT without ``force``."""
    if not source.exists():
        raise VidsrError(f"input not found: {source}")
    if source.resolve() == output.resolve() or _same(source, output):
        raise VidsrError(f"INPUT and OUTPUT are the same path ({source}); choose another OUTPUT")
    if output.is_dir() and source.resolve().is_relative_to(output.resolve()):
        raise VidsrError(f"the input {source} is inside the output folder {output}; choose another OUTPUT")
    if output.is_dir():
        if not folder:
            raise VidsrError(f"{output} is a folder; give a file name with a video suffix (.mp4, .mkv...)")
        contents = [p for p in output.iterdir()]
        if contents and not force:
            raise VidsrError(f"output folder {output} is not empty; use --force to replace its frames")
        others = [p for p in contents if not (p.is_file() and p.suffix.lower() in _FRAME_SUFFIXES)]
        if others:
            raise VidsrError(
                f"output folder {output} holds files other than frames ({others[0].name}); not replacing it"
            )
    elif output.exists() and not force:
        raise VidsrError(f"{output} already exists; use --force to replace it")
    if not output.parent.exists():
        raise VidsrError(f"the folder of the output does not exist: {output.parent}")


@contextmanager
def atomic_output(output: Path, *, folder: bool) -> Iterator[Path]:
    """Yields a temporary path beside ``output``; moves it to ``output`` on success only."""
    partial = _create_partial(output, folder)
    try:
        _keep_mode(output, partial)
        yield partial
        _move_into_place(partial, output, folder)
    except BaseException:
        _remove(partial)
        raise


def _create_partial(output: Path, folder: bool) -> Path:
    """A new, hidden file or folder beside ``output``, with the permissions the umask allows.

    (``tempfile.mkstemp``/``mkdtemp`` would make it private, 0600/0700, whatever the umask.)
    """
    for _ in range(100):
        partial = output.parent / f".{output.name}.partial-{secrets.token_hex(4)}{'' if folder else output.suffix}"
        try:
            if folder:
                os.mkdir(partial, 0o777)  # the kernel applies the umask
            else:
                os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return partial
    raise FileExistsError(f"no free temporary name beside {output}")


def _keep_mode(output: Path, partial: Path) -> None:
    """A replaced output keeps its permission bits (as ``cp`` onto an existing file does)."""
    try:
        old = output.stat()
    except OSError:
        return
    if stat.S_ISDIR(old.st_mode) == partial.is_dir():
        os.chmod(partial, stat.S_IMODE(old.st_mode))


def _move_into_place(partial: Path, output: Path, folder: bool) -> None:
    if not (folder and output.exists()):
        os.replace(partial, output)
        return
    # An existing folder (or a file where a folder goes): swap, then delete the old one.
    old = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.old-"))
    os.rmdir(old)
    os.replace(output, old)
    try:
        os.replace(partial, output)
    except BaseException:
        os.replace(old, output)
        raise
    _remove(old)


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass
