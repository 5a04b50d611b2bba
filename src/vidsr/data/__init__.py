"""Frame data: MATLAB-compatible resizing, the BI/BD degradations, frame files, datasets."""

from vidsr.data.datasets import REDS4, Clip, ClipDataset, ClipSource, find_clips, open_dataset
from vidsr.data.degradation import DEGRADATIONS, crop_to_multiple, degrade, degrade_uint8
from vidsr.data.frames import (
    list_frames,
    natural_sort_key,
    read_clip,
    read_frame,
    to_tensor,
    to_uint8,
    write_frame,
)
from vidsr.data.resize import imresize, imresize_uint8

__all__ = [
    "DEGRADATIONS",
    "REDS4",
    "Clip",
    "ClipDataset",
    "ClipSource",
    "crop_to_multiple",
    "degrade",
    "degrade_uint8",
    "find_clips",
    "imresize",
    "imresize_uint8",
    "list_frames",
    "natural_sort_key",
    "open_dataset",
    "read_clip",
    "read_frame",
    "to_tensor",
    "to_uint8",
    "write_frame",
]
