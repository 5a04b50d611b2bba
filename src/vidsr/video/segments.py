"""A long job's work folder: its journal, finished segments, and claims on the work left.

Beside ``OUTPUT`` lies ``.<OUTPUT name>.vidsr-work/`` while the job is unfinished::

    journal.json          the input's identity, the settings, the selection and the segment plan
    seg-000003.packets    segment 3's encoded video packets (see PacketFile)
    seg-000003.json       its record, written last: the segment is done when it exists
    seg-000003.claim-T    claimed by a process of run T (one run: one token, every rank)
    seg-000003.part-T     segment 3 as run T writes it (renamed to .packets when done)
    final.claim-T         the process of run T that joins the segments into OUTPUT
    *.T-PID.tmp           a JSON file as process PID of run T writes it (then renamed)

Files are created with an exclusive create (claims) or written beside and renamed into
place (everything else), so that processes on several machines can share the folder on a
network file system. Claims and partial files of another run (a killed one) count for
nothing: a resumed run deletes them (:meth:`WorkFolder.clean_stale`), and the folder goes
as a whole when the output is complete: renamed first to ``.<OUTPUT name>.vidsr-work.gone-X``,
then deleted, so that a rank still naming the folder finds it gone instead of adding a claim
to it while it is deleted (which left the folder behind). A killed deletion's ``.gone-X`` is
deleted by the next removal.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av

from vidsr.errors import VidsrError

JOURNAL_VERSION = 1
_MAGIC = b"VIDSRPK1"
_RECORD = struct.Struct("<qqqBI")  # pts, dts, duration, keyframe, size
_NO_TIME = -(2**63)
_HEAD_BYTES = 1 << 20  # the input's first MiB is hashed to recognise it


def work_folder(output: Path) -> Path:
    """``.<name>.vidsr-work`` beside ``output``."""
    return output.parent / f".{output.name}.vidsr-work"


def input_identity(path: Path) -> dict[str, Any]:
    """What tells that an input is still the same file: path, size, time, first MiB's hash."""
    stat = path.stat()
    digest = hashlib.sha256()
    if path.is_dir():
        for file in sorted(path.iterdir()):
            digest.update(f"{file.name}:{file.stat().st_size}\n".encode())
    else:
        with open(path, "rb") as handle:
            digest.update(handle.read(_HEAD_BYTES))
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "head_sha256": digest.hexdigest()}  # fmt: skip


def write_json(path: Path, data: dict[str, Any], token: str = "") -> None:
    """Write ``data`` beside ``path`` and rename it into place (readers never see half a file).

    The file beside is ``<name>.<token>-<pid>.tmp``: a run's ``token`` tells its own from
    those a killed run left.
    """
    partial = path.with_name(f"{path.name}.{token}-{os.getpid()}.tmp")
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def claim(path: Path) -> bool:
    """Create ``path`` if nobody has: True for the one process that did."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except FileExistsError:
        return False
    return True


class PacketFile:
    """Encoded video packets with their exact timestamps, in decode order.

    A container would not do: muxers rescale and shift timestamps (MP4 picks its own time
    base, MPEG-TS adds a delay) and some lose packet durations (Matroska, MPEG-TS).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = open(path, "wb")  # noqa: SIM115 (held open across write() calls; close() closes it)
        self._handle.write(_MAGIC)
        self.count = 0

    def write(self, packet: av.Packet) -> None:
        data = bytes(packet)
        pts = _NO_TIME if packet.pts is None else packet.pts
        dts = _NO_TIME if packet.dts is None else packet.dts
        self._handle.write(_RECORD.pack(pts, dts, packet.duration or 0, bool(packet.is_keyframe), len(data)))
        self._handle.write(data)
        self.count += 1

    def close(self) -> None:
        """Flush to disk (the file is renamed into place after)."""
        if not self._handle.closed:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()

    @staticmethod
    def read(path: Path) -> Iterator[av.Packet]:
        """The packets of a file written by :class:`PacketFile` (without time base or stream)."""
        with open(path, "rb") as handle:
            if handle.read(len(_MAGIC)) != _MAGIC:
                raise VidsrError(f"{path} is not a segment written by vidsr")
            while header := handle.read(_RECORD.size):
                if len(header) < _RECORD.size:
                    raise VidsrError(f"{path} is cut short")
                pts, dts, duration, keyframe, size = _RECORD.unpack(header)
                data = handle.read(size)
                if len(data) < size:
                    raise VidsrError(f"{path} is cut short")
                packet = av.Packet(data)
                packet.pts = None if pts == _NO_TIME else pts
                packet.dts = None if dts == _NO_TIME else dts
                packet.duration = duration
                packet.is_keyframe = bool(keyframe)
                yield packet


class WorkFolder:
    """The work folder of one job (see the module doc); ``token`` names this run's claims."""

    def __init__(self, output: Path, token: str) -> None:
        self.output = output
        self.path = work_folder(output)
        self.token = token
        self.journal_path = self.path / "journal.json"

    def exists(self) -> bool:
        """True when the folder holds a journal (an unfinished job)."""
        return self.journal_path.exists()

    def remove_if_abandoned(self) -> bool:
        """Remove a work folder without a journal (a run killed as it created it): True if one was."""
        if self.path.is_dir() and not self.exists():
            self.remove()
            return True
        return False

    def create(self, journal: dict[str, Any]) -> None:
        """A new work folder holding ``journal`` (any old one is removed first)."""
        self.remove()
        self.path.mkdir()
        write_json(self.journal_path, {"version": JOURNAL_VERSION, **journal}, self.token)

    def journal(self) -> dict[str, Any]:
        """The journal; a clear error when it is missing or not a vidsr journal."""
        try:
            data = json.loads(self.journal_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise VidsrError(f"no unfinished job for {self.output} (no {self.journal_path})") from None
        except (OSError, ValueError) as error:
            raise VidsrError(
                f"{self.journal_path} is not a vidsr journal ({error}); use --force to start again"
            ) from None
        if not isinstance(data, dict) or data.get("version") != JOURNAL_VERSION:
            raise VidsrError(f"{self.journal_path} is not a vidsr journal of this version; use --force to start again")
        return data

    def segment(self, index: int) -> Path:
        return self.path / f"seg-{index:06d}.packets"

    def record_path(self, index: int) -> Path:
        return self.path / f"seg-{index:06d}.json"

    def record(self, index: int) -> dict[str, Any] | None:
        """Segment ``index``'s record, or None while it is not done: also when its packets are
        missing or not the size the record says (deleted or cut after the fact), so that a
        resumed job redoes that segment alone instead of failing when it joins them."""
        try:
            record = json.loads(self.record_path(index).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # half a record cannot be seen (renamed into place); redo it anyway
        try:
            size = self.segment(index).stat().st_size
        except OSError:
            return None
        expected = record.get("bytes") if isinstance(record, dict) else None
        return record if expected is None or expected == size else None

    def claim(self, name: str) -> bool:
        """Claim ``name`` (``seg-000003`` or ``final``) for this run."""
        try:
            return claim(self.path / f"{name}.claim-{self.token}")
        except FileNotFoundError:  # the folder is gone: the job was finished meanwhile
            return False

    def claimed(self, name: str) -> bool:
        """True when a process of this run has claimed ``name``."""
        return (self.path / f"{name}.claim-{self.token}").exists()

    def partial(self, index: int) -> Path:
        return self.path / f"seg-{index:06d}.part-{self.token}"

    def finish_segment(self, index: int, part: Path, record: dict[str, Any]) -> None:
        """Move a written segment into place, then its record (which marks it done)."""
        os.replace(part, self.segment(index))
        write_json(self.record_path(index), record, self.token)

    def clean_stale(self) -> list[Path]:
        """Remove the partial segments, partial JSON files and claims of other runs; those removed."""
        removed = []
        for path in self.path.glob("*"):
            name = path.name
            if ".part-" in name or ".claim-" in name:
                stale = not name.endswith(f"-{self.token}")
            elif name.endswith(".tmp"):
                stale = not name.rsplit(".", 2)[-2].startswith(f"{self.token}-")
            else:
                continue
            if stale:
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
        return removed

    def remove(self) -> None:
        """Delete the folder (and what earlier removals that were killed left of theirs)."""
        gone = self.path.with_name(f"{self.path.name}.gone-{self.token}-{os.getpid()}")
        try:
            os.rename(self.path, gone)  # atomic: from here on, the folder's paths name nothing
        except FileNotFoundError:
            pass
        except OSError:  # (a file system that cannot rename it: delete it where it is)
            shutil.rmtree(self.path, ignore_errors=True)
        for old in self.path.parent.glob(f"{glob.escape(self.path.name)}.gone-*"):
            shutil.rmtree(old, ignore_errors=True)
