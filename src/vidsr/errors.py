"""The one exception type that the CLI turns into a one-line error message."""

from __future__ import annotations

from pathlib import Path


class VidsrError(Exception):
    """A user-facing error: bad input, a missing file, an impossible request.

    The CLI prints ``vidsr: error: <message>`` and exits non-zero, without a traceback.
    """


def create_parent(path: Path) -> None:
    """Create the folder of ``path`` (and its parents), or raise a one-line :class:`VidsrError`
    where a file stands in the way or the system refuses."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise VidsrError(f"cannot write {path}: a file stands where its folder should be") from None
    except OSError as error:
        raise VidsrError(f"cannot write {path}: {error.strerror}") from None
