"""One run at a time per output: the processes of one run share it, another run is refused.

A long job is made by the processes of one run (one token: one process, or the ranks of
``--jobs`` and torchrun), which claim its segments in the work folder. A second run started on
the same output (the same command typed twice, a ``--resume`` while the first still runs)
would take the first run's claims and partial segments for those of a killed run and delete
them, and the first would stop with a traceback. So every process of a run holds a shared
POSIX lock on ``.<OUTPUT name>.vidsr-lock`` beside the output, which records the run's token,
process and host: a process that finds the lock held by another token stops with a one-line
error naming that process; one of the same run joins it. The kernel drops the locks of a
process that dies (a killed run leaves an unheld file, which the next run takes over), and
the last process of a run to let go deletes the file.

The first process takes the lock exclusively, writes its run into the file and turns the lock
into a shared one in one step (POSIX record locks convert atomically; ``flock`` locks do
not). Without ``fcntl`` (Windows) there is no lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import weakref
from pathlib import Path

from vidsr.errors import VidsrError

try:
    import fcntl
except ImportError:  # pragma: no cover (Windows)
    fcntl = None  # type: ignore[assignment]


def lock_path(output: Path) -> Path:
    """The lock file of ``output``."""
    return output.with_name(f".{output.name}.vidsr-lock")


class RunLock:
    """The lock of ``output`` for the run ``token``, held from :meth:`acquire` to :meth:`release`
    (or until this object is collected, or the process ends)."""

    def __init__(self, output: Path, token: str) -> None:
        self.output, self.token = output, token
        self.path = lock_path(output)
        self._fd: int | None = None
        self._closer: weakref.finalize | None = None

    def acquire(self) -> RunLock:
        """Hold the lock; a :class:`VidsrError` when another live run holds it."""
        if fcntl is None or self._fd is not None:
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # held (shared) by the processes of a live run
                owner = _owner(fd)
                if owner.get("token") != self.token:
                    raise VidsrError(
                        f"{self.output} is being made by another vidsr run (process {owner.get('pid', '?')} on "
                        f"{owner.get('host', '?')}): wait for it to finish, or stop it first"
                    ) from None
                fcntl.lockf(fd, fcntl.LOCK_SH)  # a process of this run: join it
            else:  # nobody holds it: this run's
                record = {"token": self.token, "pid": os.getpid(), "host": socket.gethostname()}
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(record).encode(), 0)
                fcntl.lockf(fd, fcntl.LOCK_SH)  # exclusive -> shared, atomically
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._closer = weakref.finalize(self, _let_go, fd, self.path)
        return self

    def release(self) -> None:
        """Let go; the last process of the run deletes the file."""
        if self._fd is not None and self._closer is not None:
            self._fd = None
            self._closer()  # (runs once: not again when this object is collected)


def _let_go(fd: int, path: Path) -> None:
    """Release the lock held on ``fd``, deleting ``path`` when no other process holds it."""
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody else holds it any more
    except OSError:
        pass
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)
    finally:
        os.close(fd)


def _owner(fd: int) -> dict:
    """The run recorded in a lock file (empty while its first process is writing it)."""
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
