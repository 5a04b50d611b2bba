"""Safe output: refuse to overwrite by accident, and never leave a half-written result.

The output is written under a hidden temporary name in the output's own folder and moved
into place (``os.replace``, atomic on one file system) only when it is complete; on an
error or Ctrl-C the temporary file or folder is deleted.
"""

from __future__ import annotations

import os
import shutil
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
    parent = output.parent
    prefix = f".{output.name}.partial-"
    if folder:
        partial = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    else:
        handle, name = tempfile.mkstemp(dir=parent, prefix=prefix, suffix=output.suffix)
        os.close(handle)
        partial = Path(name)
    try:
        yield partial
        _move_into_place(partial, output, folder)
    except BaseException:
        _remove(partial)
        raise


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
