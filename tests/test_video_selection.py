"""Time ranges and segment spans: which frames a range holds, and that the spans of a long
video, found by seeking (timestamps) or by counting (no timestamps), give every frame once."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from video_support import write_keyframed

from vidsr.errors import VidsrError
from vidsr.video.reader import VideoFileReader, open_video
from vidsr.video.selection import SpanFrames, TimeRange, parse_time, plan_spans, select

COUNT = 40  # frames at 25 fps, a keyframe every 8


@pytest.fixture(scope="module")
def keyframed(tmp_path_factory) -> Path:
    return write_keyframed(tmp_path_factory.mktemp("sel") / "k.mp4", COUNT)


@pytest.fixture(scope="module")
def decoded(keyframed) -> list:
    with open_video(keyframed) as reader:
        return [(frame.pts, frame.rgb) for frame in reader]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("1.5", Fraction(3, 2)), ("00:01:30.5", Fraction(181, 2)), ("1:02:03", 3723),
     ("02:03.25", Fraction(493, 4))],
)
def test_times_in_seconds_or_clock_form(text, seconds):
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["-1", "abc", "1:75", "1:2:3:4", ""])
def test_bad_times_are_one_line_errors(text):
    with pytest.raises(VidsrError, match="not a time|cannot be negative"):
        parse_time(text)


def test_duration_and_frames_exclude_each_other():
    with pytest.raises(VidsrError, match="not both"):
        TimeRange(Fraction(0), Fraction(1), 5)


def _without_timeline(monkeypatch) -> None:
    monkeypatch.setattr(VideoFileReader, "timeline", lambda self: None)


@pytest.mark.parametrize("unit", ["pts", "index"])
def test_range_holds_the_frames_of_its_times(keyframed, decoded, monkeypatch, unit):
    if unit == "index":
        _without_timeline(monkeypatch)
    time_range = TimeRange(Fraction(2, 5), Fraction(1, 2))  # 0.40 s to 0.88 s: frames 10..21
    with open_video(keyframed) as reader:
        selection, _ = select(reader, time_range)
        assert selection.unit == unit
        spans = plan_spans(selection, _, 1000, 0)
        with SpanFrames(keyframed, selection, spans[0], reader=reader) as frames:
            got = list(frames)
    step = decoded[1][0] - decoded[0][0]
    assert [f.pts for f in got] == [pts - 10 * step for pts, _ in decoded[10:23]]  # shifted to start at 0
    assert all(np.array_equal(f.rgb, rgb) for f, (_, rgb) in zip(got, decoded[10:23]))
    if unit == "pts":
        assert selection.count == 13


def test_range_past_the_end_is_an_error(keyframed):
    with open_video(keyframed) as reader, pytest.raises(VidsrError, match="no frame in the range"):
        select(reader, TimeRange(Fraction(5)))


@pytest.mark.parametrize("unit", ["pts", "index"])
def test_spans_give_every_frame_once_with_warmup_and_lookahead(keyframed, decoded, monkeypatch, unit):
    if unit == "index":
        _without_timeline(monkeypatch)
    size, warmup, lookahead = 12, 5, 2
    with open_video(keyframed) as reader:
        selection, stamps = select(reader, TimeRange())
    spans = plan_spans(selection, stamps, size, warmup)
    assert len(spans) == 4
    kept = []
    for index, span in enumerate(spans):
        with SpanFrames(keyframed, selection, span, lookahead) as frames:
            got = list(frames)
        first = index * size
        warm = [f for f in got if not f.keep and f.pts < decoded[first][0]]
        assert len(warm) == min(first, warmup)  # the frames just before the segment
        ahead = [f for f in got if not f.keep and f.pts >= decoded[first][0]]
        assert len(ahead) == (lookahead if index < 3 else 0)
        assert frames.outcome.more == (index < 3)
        for frame in got:  # each frame, seeked to or not, is the one decoded in order
            number = [pts for pts, _ in decoded].index(frame.pts)
            assert np.array_equal(frame.rgb, decoded[number][1])
        kept += [f.pts for f in got if f.keep]
    assert kept == [pts for pts, _ in decoded]
