"""SMPTE timecodes (``HH:MM:SS:FF``; ``;`` before the frames for drop-frame): moved by a number
of frames, so that the upscaled part of a camera file keeps the timecode of its first frame.

Drop-frame timecode (29.97 and 59.94 fps) skips frame numbers 0 and 1 (0-3 at 59.94) at the
start of every minute except every tenth, so that it keeps to the wall clock; the arithmetic
is SMPTE 12M's.
"""

from __future__ import annotations

import re
from fractions import Fraction

from vidsr.errors import VidsrError

_PATTERN = re.compile(r"(\d{1,2})([:;.])(\d{2})([:;.])(\d{2})([:;.,])(\d{2,3})")


def shift_timecode(timecode: str, frames: int, rate: Fraction) -> str:
    """``timecode`` moved ``frames`` frames later at ``rate`` frames per second (wrapping at 24 h)."""
    match = _PATTERN.fullmatch(timecode.strip())
    if match is None:
        raise VidsrError(f"not a timecode: {timecode!r}")
    hours, sep1, minutes, sep2, seconds, sep3, count = match.groups()
    per_second = round(rate)
    if per_second < 1:
        raise VidsrError(f"no timecode at {float(rate):g} fps")
    drop = 2 * round(per_second / 30) if sep3 in ";," else 0  # frame numbers skipped per minute
    total_minutes = 60 * int(hours) + int(minutes)
    number = (3600 * int(hours) + 60 * int(minutes) + int(seconds)) * per_second + int(count)
    number -= drop * (total_minutes - total_minutes // 10)
    number += frames
    day = 24 * 3600 * per_second - drop * (24 * 60 - 24 * 6)
    number %= day
    if drop:  # back to the labels, which skip numbers
        per_ten = 600 * per_second - 9 * drop
        per_minute = 60 * per_second - drop
        tens, rest = divmod(number, per_ten)
        number += 9 * drop * tens + (drop * ((rest - drop) // per_minute) if rest > drop else 0)
    seconds_total, frame = divmod(number, per_second)
    minutes_total, second = divmod(seconds_total, 60)
    hour, minute = divmod(minutes_total, 60)
    width = len(count)
    return f"{hour:02d}{sep1}{minute:02d}{sep2}{second:02d}{sep3}{frame:0{width}d}"
