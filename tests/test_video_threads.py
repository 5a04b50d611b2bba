"""The pipeline's threads: bounded, ordered, errors handed back, stoppable."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from vidsr.video.threads import BackgroundWorker, Prefetcher


def test_prefetcher_yields_everything_in_order_and_stays_bounded():
    produced = []

    def source():
        for i in range(50):
            produced.append(i)
            yield i

    prefetch = Prefetcher(source(), depth=3)
    seen = []
    for item in prefetch:
        time.sleep(0.001)
        assert len(produced) - len(seen) <= 3 + 2  # queue + one in hand + one being made
        seen.append(item)
    assert seen == list(range(50))


def test_prefetcher_hands_errors_to_the_consumer():
    def source():
        yield 1
        raise ValueError("broken input")

    prefetch = Prefetcher(source(), depth=2)
    assert next(prefetch) == 1
    with pytest.raises(ValueError, match="broken input"):
        next(prefetch)


def test_prefetcher_close_stops_an_endless_source():
    prefetch = Prefetcher(itertools.count(), depth=2)
    assert next(prefetch) == 0
    prefetch.close()
    assert not any(t.name == "vidsr-reader" and t.is_alive() for t in threading.enumerate())


def test_worker_handles_in_order_and_raises_its_error():
    handled = []
    worker = BackgroundWorker(handled.append, depth=2)
    for i in range(20):
        worker.put(i)
    worker.finish()
    assert handled == list(range(20))

    def fail(item):
        if item == 3:
            raise OSError("disk full")

    worker = BackgroundWorker(fail, depth=1)
    with pytest.raises(OSError, match="disk full"):
        for i in range(100):
            worker.put(i)
        worker.finish()
