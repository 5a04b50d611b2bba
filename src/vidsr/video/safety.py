"""Safe output: refuse to overwrite by accident, and never leave a half-written result.

The output is written under a hidden temporary name in the output's own folder and moved
into place (``os.replace``, atomic on one file system) only when it is complete; on an
error or Ctrl-C the temporary file or folder is deleted. It is created the way ``cp`` and
ffmpeg create files: a new output gets the permissions the user's umask allows (0644 and
0755 with umask 022), and a replaced output keeps the permissions it had.

A run killed outright (SIGKILL, a power cut) cannot delete its temporary output
(``.OUTPUT.partial-*``). The run that writes one holds an advisory lock (``flock``) on it,
which the kernel drops when the process dies: :func:`remove_stale_partials` deletes the
unlocked ones, and the jobs call it before they write an output and once it is complete.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vidsr.errors import VidsrError

try:
    import fcntl
except ImportError:  # (not on Windows: partial outputs are then never taken as stale)
    fcntl = None  # type: ignore[assignment]

_FRAME_SUFFIXES = (".png", ".jpg", ".jpeg")


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_input(source: Path) -> None:
    """Refuse a missing input, and one that is neither a file nor a folder: vidsr reads an
    input more than once (plan, frames, audio), so a named pipe would hang on its second open
    and a device would never end; a stream goes through ``-`` (copied to a file first)."""
    if not source.exists():
        raise VidsrError(f"input not found: {source}")
    if not (source.is_file() or source.is_dir()):
        kind = "a named pipe" if stat.S_ISFIFO(source.stat().st_mode) else "a device or socket"
        raise VidsrError(f"{source} is {kind}, not a file: give a file, or pipe the stream into "
                         "`vidsr upscale - OUTPUT` (it is copied to a temporary file first)")


def check_paths(source: Path, output: Path, *, force: bool, folder: bool) -> None:
    """Refuse a missing input, INPUT == OUTPUT, and an existing OUTPUT without ``force``."""
    check_input(source)
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
    check_output_folder(output)


def check_output_folder(output: Path) -> None:
    """Refuse an ``output`` whose folder is missing or is a file."""
    if not output.parent.exists():
        raise VidsrError(f"the folder of the output does not exist: {output.parent}")
    if not output.parent.is_dir():
        raise VidsrError(f"the folder of the output is a file, not a folder: {output.parent}")


@contextmanager
def atomic_output(output: Path, *, folder: bool) -> Iterator[Path]:
    """Yields a temporary path beside ``output``; moves it to ``output`` on success only."""
    partial, lock = _create_partial(output, folder)
    try:
        _keep_mode(output, partial)
        yield partial
        _move_into_place(partial, output, folder)
    except BaseException:
        _remove(partial)
        raise
    finally:
        if lock is not None:
            os.close(lock)


def partial_name(output: Path) -> str:
    """The glob of ``output``'s temporary outputs."""
    return f".{output.name}.partial-*"


def _create_partial(output: Path, folder: bool) -> tuple[Path, int | None]:
    """A new, hidden file or folder beside ``output``, with the permissions the umask allows,
    and a descriptor that holds its lock (closing it releases the lock; None without locks).

    (``tempfile.mkstemp``/``mkdtemp`` would make it private, 0600/0700, whatever the umask.)
    """
    for _ in range(100):
        partial = output.parent / f".{output.name}.partial-{secrets.token_hex(4)}{'' if folder else output.suffix}"
        try:
            if folder:
                os.mkdir(partial, 0o777)  # the kernel applies the umask
                handle = os.open(partial, os.O_RDONLY) if fcntl is not None else None
            else:
                handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        if handle is not None and fcntl is None:
            os.close(handle)
            handle = None
        if handle is not None:
            _lock(handle, wait=True)
        return partial, handle
    raise FileExistsError(f"no free temporary name beside {output}")


def _lock(handle: int, *, wait: bool) -> bool:
    """An exclusive advisory lock on an open file or folder: False when another process holds it
    (or when this file system or system has no locks, so that nothing is taken as stale)."""
    if fcntl is None:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    except OSError:  # a file system without locks: count it as held (never delete it)
        return False
    return True


def remove_stale_partials(output: Path) -> list[Path]:
    """Delete the temporary outputs of ``output`` that no running process holds (left by a
    run that was killed outright); the paths deleted. Those of a live run are left alone."""
    removed: list[Path] = []
    if fcntl is None:
        return removed
    for partial in sorted(output.parent.glob(partial_name(output))):
        try:
            handle = os.open(partial, os.O_RDONLY)
        except OSError:
            continue
        try:
            if _lock(handle, wait=False):
                _remove(partial)
                removed.append(partial)
        finally:
            with contextlib.suppress(OSError):
                os.close(handle)
    return removed


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
