"""Bounded producer/consumer threads, so that decoding and encoding overlap the model.

Both classes hold at most ``depth`` items, so memory does not grow with the video's
length; an exception in the thread is raised again in the caller, and ``close``/``abort``
stop the thread promptly (a stop flag is checked while waiting on the queue).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_END = object()
_POLL_SECONDS = 0.1


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> bool:
    """Put ``item`` unless ``stop`` is set first; True if it was put."""
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


class Prefetcher(Iterator[T], Generic[T]):
    """Iterates ``source`` in a background thread, at most ``depth`` items ahead."""

    def __init__(self, source: Iterable[T], depth: int, name: str = "vidsr-reader") -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, args=(source,), name=name, daemon=True)
        self._thread.start()

    def _run(self, source: Iterable[T]) -> None:
        try:
            for item in source:
                if not _put(self._queue, item, self._stop):
                    return
        except BaseException as error:  # handed to the consumer
            _put(self._queue, _Failure(error), self._stop)
            return
        _put(self._queue, _END, self._stop)

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if item is _END:
            self._done = True
            raise StopIteration
        if isinstance(item, _Failure):
            self._done = True
            raise item.error
        return item

    def close(self) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                pass
        self._done = True


class BackgroundWorker(Generic[T]):
    """Calls ``handle(item)`` in a background thread for each item given to :meth:`put`."""

    def __init__(self, handle: Callable[[T], None], depth: int, name: str = "vidsr-writer") -> None:
        self._handle = handle
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            if item is _END:
                return
            try:
                self._handle(item)
            except BaseException as error:  # handed to the producer
                self._error = error
                self._stop.set()
                return

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, item: T) -> None:
        """Queue ``item`` (blocks while ``depth`` items wait); raises the thread's error."""
        self._raise_error()
        if not _put(self._queue, item, self._stop):
            self._raise_error()
            raise RuntimeError("background worker stopped")

    def finish(self) -> None:
        """Wait until every queued item is handled; raises the thread's error."""
        _put(self._queue, _END, self._stop)
        self._thread.join()
        self._raise_error()

    def abort(self) -> None:
        """Stop without handling what is still queued."""
        self._stop.set()
        self._thread.join()
