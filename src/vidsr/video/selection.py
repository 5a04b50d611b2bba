"""Which frames of an input are upscaled: a time range, and the spans of a long video's segments.

A :class:`TimeRange` (``--start``, ``--duration`` or ``--frames``) selects the frames whose
time from the input's first frame is at least ``start`` and less than ``start + duration``
(or the first ``frames`` of them). :func:`select` finds them: from the packets' timestamps
when the input has a usable :meth:`~vidsr.video.reader.VideoReader.timeline` (unit
``"pts"``: exact count, and a segment starts by seeking), else by decoding in order (unit
``"index"``: frames are numbered within the range, and the count is an estimate).

A :class:`Span` is what one segment runs over: warm-up frames whose outputs are dropped,
the frames it keeps, then up to ``lookahead`` frames after its end so that its last frames
see the same future frames as in one pass. :class:`SpanFrames` yields a span's frames,
with timestamps shifted so that the range starts where the input did.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidsr.errors import VidsrError
from vidsr.video.reader import DecodedFrame, VideoReader, open_video

if TYPE_CHECKING:
    from vidsr.video.remux import Window

_CLOCK = re.compile(r"(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)")


def parse_time(text: str) -> Fraction:
    """Seconds (``90``, ``1.5``) or ``[HH:]MM:SS[.fraction]`` (``00:01:30.5``), exactly."""
    value = text.strip()
    match = _CLOCK.fullmatch(value)
    try:
        if match:
            hours, minutes, seconds = match.groups()
            if int(minutes) >= 60 and hours is not None or float(seconds) >= 60:
                raise ValueError
            return int(hours or 0) * 3600 + int(minutes) * 60 + Fraction(seconds)
        seconds = Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise VidsrError(f"{text!r} is not a time: use seconds (90, 1.5) or HH:MM:SS.ms (00:01:30.5)") from None
    if seconds < 0:
        raise VidsrError(f"a time cannot be negative ({text})")
    return seconds


def format_time(seconds: float | Fraction) -> str:
    """``H:MM:SS.mmm``."""
    ms = round(float(seconds) * 1000)
    return f"{ms // 3600000}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


@dataclass(frozen=True)
class TimeRange:
    """``start`` seconds from the first frame, for ``duration`` seconds or ``frames`` frames."""

    start: Fraction = Fraction(0)
    duration: Fraction | None = None
    frames: int | None = None

    def __post_init__(self) -> None:
        if self.duration is not None and self.frames is not None:
            raise VidsrError("give --duration or --frames, not both")
        if self.start < 0:
            raise VidsrError(f"--start cannot be negative ({self.start})")
        if self.duration is not None and self.duration <= 0:
            raise VidsrError(f"--duration must be positive, not {self.duration}")
        if self.frames is not None and self.frames < 1:
            raise VidsrError(f"--frames must be at least 1, not {self.frames}")

    @classmethod
    def parse(cls, start: str | None, duration: str | None = None, frames: int | None = None) -> TimeRange:
        """From ``--start``, ``--duration`` and ``--frames`` (None: not given)."""
        return cls(parse_time(start) if start else Fraction(0), parse_time(duration) if duration else None, frames)

    @property
    def whole(self) -> bool:
        """True when every frame is selected."""
        return self.start == 0 and self.duration is None and self.frames is None

    @property
    def cuts_end(self) -> bool:
        """True when the range may end before the input does."""
        return self.duration is not None or self.frames is not None

    def describe(self) -> str:
        """E.g. ``from 0:00:01.500 for 2 s`` (empty for the whole input)."""
        if self.whole:
            return ""
        text = f"from {format_time(self.start)}"
        if self.duration is not None:
            text += f" for {float(self.duration):g} s"
        if self.frames is not None:
            text += f" for {self.frames} frames"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"start": str(self.start), "duration": None if self.duration is None else str(self.duration),
                "frames": self.frames}  # fmt: skip


@dataclass(frozen=True)
class Span:
    """Selected frames ``warm <= k < start`` warm the model up (outputs dropped); ``start <= k
    < end`` are kept (``end`` None: to the end of the selection). ``k`` is a timestamp (unit
    ``"pts"``) or a frame number within the range (``"index"``); ``offset`` is the input's
    frame number at ``warm`` (for messages)."""

    warm: int
    start: int
    end: int | None
    offset: int = 0


@dataclass
class Selection:
    """The selected frames of one input, as a job's journal stores them (see module doc)."""

    unit: str  # "pts" or "index"
    count: int | None  # exact for "pts", an estimate (or None) for "index"
    time_range: TimeRange = field(default_factory=TimeRange)
    shift: int = 0  # "pts": ticks taken off every timestamp (the range's start); "index": found while decoding
    end: int | None = None  # "pts": timestamp where the range ends (None: the input's end)
    first: int = 0  # "pts": timestamp of the first selected frame
    first_index: int = 0  # "pts": its frame number in the input

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["time_range"] = self.time_range.to_json()
        return data

    def whole_span(self) -> Span:
        """The span of the whole selection (one pass, no warm-up)."""
        if self.unit == "pts":
            return Span(self.first, self.first, None, self.first_index)
        return Span(0, 0, None)

    def window(self, time_base: Fraction, first_pts: int | None, shift: int | None) -> Window | None:
        """The audio and subtitles that go with the selection (None: all of them); for the
        index unit, ``first_pts`` and ``shift`` are what decoding found (:class:`SpanOutcome`)."""
        from vidsr.video.remux import Window

        if self.time_range.whole:
            return None
        if self.unit == "pts":
            first_pts, shift = self.first, self.shift
        start = None if self.time_range.start == 0 or first_pts is None else first_pts * time_base
        return Window(start=start, shift=(shift or 0) * time_base, cut_end=self.time_range.cuts_end)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Selection:
        span = data["time_range"]
        time_range = TimeRange(
            Fraction(span["start"]), None if span["duration"] is None else Fraction(span["duration"]), span["frames"]
        )
        return cls(**{**data, "time_range": time_range})


def select(reader: VideoReader, time_range: TimeRange) -> tuple[Selection, list[int] | None]:
    """The frames of ``time_range`` in ``reader``'s input, and their timestamps when known.

    Raises :class:`VidsrError` when the timestamps show that the range holds no frame.
    """
    info = reader.info
    timeline = reader.timeline()
    if timeline is None:
        return Selection("index", _estimate(reader, time_range), time_range), None
    t0, tb = timeline[0], info.time_base
    a = bisect.bisect_left(timeline, t0 + math.ceil(time_range.start / tb))
    b = len(timeline)
    if time_range.duration is not None:
        b = bisect.bisect_left(timeline, t0 + math.ceil((time_range.start + time_range.duration) / tb))
    if time_range.frames is not None:
        b = min(b, a + time_range.frames)
    if a >= b:
        last = float((timeline[-1] - t0) * tb)
        raise VidsrError(
            f"{info.path}: no frame in the range {time_range.describe()} (the last frame is at {format_time(last)})"
        )
    selection = Selection(
        "pts", b - a, time_range, shift=timeline[a] - t0, end=timeline[b] if b < len(timeline) else None,
        first=timeline[a], first_index=a,
    )  # fmt: skip
    return selection, timeline[a:b]


def _estimate(reader: VideoReader, time_range: TimeRange) -> int | None:
    """Frames in the range from the declared count and rate (index unit: no timestamps)."""
    info = reader.info
    total = info.expected_frames
    if total is None:
        return time_range.frames
    count = max(0, total - math.floor(time_range.start * info.rate))
    if time_range.duration is not None:
        count = min(count, math.ceil(time_range.duration * info.rate))
    if time_range.frames is not None:
        count = min(count, time_range.frames)
    return max(count, 1)


def plan_spans(selection: Selection, stamps: list[int] | None, frames: int, warmup: int) -> list[Span]:
    """Segments of ``frames`` selected frames, each warmed up on the ``warmup`` frames before it.

    With timestamps the plan is exact; without, the last segment runs to the end of the input
    (however many frames that turns out to be), and segments past the end are empty.
    """
    if stamps is not None:
        count = len(stamps)
        spans = []
        for start in range(0, count, frames):
            stop = start + frames
            warm = max(0, start - warmup)
            spans.append(Span(stamps[warm], stamps[start], stamps[stop] if stop < count else None,
                              selection.first_index + warm))  # fmt: skip
        return spans
    planned = max(1, math.ceil((selection.count or 1) / frames))
    return [
        Span(max(0, i * frames - warmup), i * frames, (i + 1) * frames if i < planned - 1 else None)
        for i in range(planned)
    ]


@dataclass
class SpanOutcome:
    """What iterating a span found out."""

    more: bool = False  # selected frames follow the span's end
    problem: str | None = None  # the input ended early (truncated or corrupt) inside the span
    first_pts: int | None = None  # input timestamp of the first selected frame (index unit)
    shift: int | None = None
    warnings: list[str] = field(default_factory=list)


class SpanFrames:
    """The frames of one :class:`Span` of a selection, for :func:`~vidsr.video.pipeline.run_stage`.

    Frames after the span's end (at most ``lookahead``) come with ``keep=False``. Timestamps
    are shifted by the selection's start. ``reader`` (opened on the same input) is used
    instead of opening a new one (``threads``: the decoder's; ``deinterlace`` and ``deep``: as in
    :func:`~vidsr.video.reader.open_video`). Close it (or use ``with``).
    """

    def __init__(
        self,
        path: Path,
        selection: Selection,
        span: Span,
        lookahead: int = 0,
        *,
        fps: float | Fraction | None = None,
        threads: int | None = None,
        reader: VideoReader | None = None,
        deinterlace: str = "auto",
        deep: bool = False,
    ) -> None:
        self.selection, self.span, self.lookahead = selection, span, lookahead
        self.reader = reader if reader is not None else open_video(path, fps, threads, deinterlace, deep)
        self.info = self.reader.info
        self.outcome = SpanOutcome()
        self._frames: Iterator[DecodedFrame] | None = None
        self._peeked: list[DecodedFrame] = []

    def _source(self) -> Iterator[DecodedFrame]:
        if self._frames is None:
            self._frames = self._by_timestamp() if self.selection.unit == "pts" else self._by_number()
        return self._frames

    def peek(self) -> DecodedFrame | None:
        """The first frame, decoded now (so that :attr:`outcome` knows the shift); None if none."""
        if not self._peeked:
            frame = next(self._source(), None)
            if frame is None:
                return None
            self._peeked.append(frame)
        return self._peeked[0]

    def __iter__(self) -> Iterator[DecodedFrame]:
        source = self._source()
        yield from self._peeked
        self._peeked = []
        yield from source

    def _ahead(self, ahead: int) -> bool:
        """A frame past the span's end: True while it is still wanted as look-ahead."""
        self.outcome.more = True
        return ahead < self.lookahead

    def _by_timestamp(self) -> Iterator[DecodedFrame]:
        selection, span, reader = self.selection, self.span, self.reader
        reader.seek(span.warm, span.offset)
        ahead = 0
        for frame in reader:
            pts = frame.pts
            if pts < span.warm:
                continue
            if selection.end is not None and pts >= selection.end:
                return  # the range ends here
            keep = pts >= span.start
            if span.end is not None and pts >= span.end:
                if not self._ahead(ahead):
                    return
                ahead, keep = ahead + 1, False
            yield DecodedFrame(frame.rgb, pts - selection.shift, frame.duration, keep, frame.alpha)
        self._ended()

    def _by_number(self) -> Iterator[DecodedFrame]:
        selection, span, reader = self.selection, self.span, self.reader
        time_range, tb = selection.time_range, self.info.time_base
        outcome = self.outcome
        first: int | None = None
        number = ahead = 0

        def in_range(pts: int) -> bool:
            return first is None or (pts - first) * tb >= time_range.start

        reader.wants = lambda pts: number >= span.warm and in_range(pts)
        for frame in reader:
            pts = frame.pts
            first = pts if first is None else first
            seconds = (pts - first) * tb
            if seconds < time_range.start:
                continue
            if time_range.duration is not None and seconds >= time_range.start + time_range.duration:
                return
            if time_range.frames is not None and number >= time_range.frames:
                return
            if outcome.shift is None:
                outcome.first_pts, outcome.shift = pts, pts - first
            number += 1
            if number <= span.warm:
                continue
            keep = number > span.start
            if span.end is not None and number > span.end:
                if not self._ahead(ahead):
                    return
                ahead, keep = ahead + 1, False
            yield DecodedFrame(frame.rgb, pts - outcome.shift, frame.duration, keep, frame.alpha)
        self._ended()

    def _ended(self) -> None:
        """The input ended: record why when it ended early."""
        self.outcome.problem = self.reader.problem

    def close(self) -> None:
        self.outcome.warnings = list(self.info.warnings)
        self.reader.close()

    def __enter__(self) -> SpanFrames:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
