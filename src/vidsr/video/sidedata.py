"""Reading a frame's side data when FFmpeg attaches types that PyAV does not know.

PyAV names side data with its own enum of the types it knew when it was built; FFmpeg 8
attaches newer ones (EXIF to every JPEG that has it, LCEVC, MV-HEVC view IDs and 3D
reference displays to Apple's spatial video), and reading ``frame.side_data`` of such a
frame raised ``ValueError: 31 is not a valid Type``: `vidsr upscale photo.jpg` crashed on
phone photos. :func:`side_data` first lets the enum name an unknown type ``UNKNOWN_<n>``
(the data stays readable, and nothing here uses it).
"""

from __future__ import annotations

from typing import Any

import av
from av.sidedata.sidedata import Type


def _unknown_type(cls: type[Type], value: object) -> Type | None:
    """Enum hook: a pseudo-member for a side-data type number newer than PyAV."""
    if not isinstance(value, int):
        return None
    member = object.__new__(cls)
    member._value_ = value
    member._name_ = f"UNKNOWN_{value}"
    return member


def side_data(frame: av.VideoFrame) -> Any:
    """``frame.side_data`` (PyAV's mapping from :class:`Type` to side data), also for frames
    with side-data types that PyAV does not know."""
    if Type._missing_.__func__ is not _unknown_type:
        Type._missing_ = classmethod(_unknown_type)
    return frame.side_data
