"""Datasets of clips: GT frames with their LR frames, loaded one clip at a time.

Layouts understood by :func:`find_clips` / :func:`open_dataset`:

* a single clip: a folder of frames;
* a folder of clip folders (the Vid4 layout: ``GT/calendar/Frame 001.png``...);
* REDS: ``train_sharp/NNN/00000000.png`` with LR in ``train_sharp_bicubic/X4/NNN/...``
  (give the dataset root or the ``*_sharp`` folder); the evaluation split is REDS4
  (clips 000, 011, 015, 020), the training split is every other clip;
* paired GT/LR folders: ``lr=`` a folder with the same layout and clip names.

An explicit ``lr`` folder is used as given; REDS's shipped bicubic LR is used only for BI.
Otherwise LR is generated from GT with :func:`vidsr.data.degradation.degrade_uint8`. GT frames whose size is
not a multiple of the scale are cropped (bottom/right) to one, and a note says so.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vidsr.data.degradation import DEGRADATIONS, crop_to_multiple, degrade_uint8
from vidsr.data.frames import is_frame_file, list_frames, natural_sort_key, read_clip
from vidsr.errors import VidsrError

__all__ = [
    "REDS4",
    "Clip",
    "ClipDataset",
    "ClipSource",
    "find_clips",
    "open_dataset",
    "reds_lr_folder",
    "stderr_note",
]

REDS4 = ("000", "011", "015", "020")


def stderr_note(message: str) -> None:
    """Default sink of dataset notes: ``vidsr: note: ...`` on stderr."""
    tqdm.write(f"vidsr: note: {message}", file=sys.stderr)  # on its own line below a progress bar


@dataclass(frozen=True)
class ClipSource:
    """Where one clip's frames are: GT frame files and, when given, LR frame files."""

    name: str
    gt_frames: tuple[Path, ...]
    lr_frames: tuple[Path, ...] | None = None


@dataclass
class Clip:
    """One loaded clip: uint8 GT ``(T, H, W, 3)`` (cropped to the scale) and LR ``(T, h, w, 3)``."""

    name: str
    gt: np.ndarray
    lr: np.ndarray
    frame_names: list[str] = field(default_factory=list)
    lr_generated: bool = True

    @property
    def frames(self) -> int:
        return int(self.gt.shape[0])


def _has_frames(folder: Path) -> bool:
    return any(is_frame_file(p) for p in folder.iterdir())


def _subfolders(folder: Path) -> list[Path]:
    return sorted(
        (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=natural_sort_key,
    )


def _reds_gt_root(folder: Path) -> Path | None:
    """The ``*_sharp`` folder of a REDS layout (root or the folder itself), else None."""
    if folder.name in ("train_sharp", "val_sharp") or (
        folder.name.endswith("_sharp") and (folder.parent / f"{folder.name}_bicubic").is_dir()
    ):
        return folder
    for name in ("train_sharp", "val_sharp"):
        if (folder / name).is_dir():
            return folder / name
    return None


def reds_lr_folder(gt_root: Path, scale: int) -> Path | None:
    """REDS's bicubic LR folder beside ``train_sharp`` (``train_sharp_bicubic/X4``), if any."""
    candidate = gt_root.parent / f"{gt_root.name}_bicubic" / f"X{scale}"
    return candidate if candidate.is_dir() else None


def find_clips(folder: str | Path, notify: Callable[[str], None] | None = stderr_note,
               ) -> tuple[list[tuple[str, Path]], str]:  # fmt: skip
    """Clip folders under ``folder`` and the layout name ("clip", "folders" or "reds");
    ``notify`` hears of folders left out (subfolders of a clip folder, folders without frames)."""
    folder = Path(folder)
    notify = notify or (lambda message: None)
    if not folder.exists():
        raise VidsrError(f"data folder not found: {folder}")
    if not folder.is_dir():
        raise VidsrError(f"not a folder: {folder}")
    if _has_frames(folder):
        inside = [p.name for p in _subfolders(folder) if _has_frames(p)]
        if inside:
            notify(f"{folder} holds frames, so it is one clip: its clip folders ({', '.join(inside[:3])}"
                   f"{' ...' if len(inside) > 3 else ''}) are left out")  # fmt: skip
        return [(folder.resolve().name, folder)], "clip"
    reds = _reds_gt_root(folder)
    if reds is not None:
        clips = [(p.name, p) for p in _subfolders(reds) if _has_frames(p)]
        if not clips:
            raise VidsrError(f"no clip folders with frames in {reds}")
        return clips, "reds"
    clips = [(p.name, p) for p in _subfolders(folder) if _has_frames(p)]
    if not clips:
        raise VidsrError(
            f"no frames in {folder}: expected PNG/JPEG frames or clip folders of frames"
        )
    empty = [p.name for p in _subfolders(folder) if not _has_frames(p)]
    if empty:
        notify(f"{len(empty)} folder(s) in {folder} without PNG/JPEG frames left out: {', '.join(empty[:3])}"
               f"{' ...' if len(empty) > 3 else ''}")  # fmt: skip
    return clips, "folders"


class ClipDataset:
    """An ordered set of clips, loaded lazily one at a time by iteration."""

    def __init__(
        self,
        sources: Sequence[ClipSource],
        scale: int = 4,
        degradation: str = "bi",
        sigma: float = 1.6,
        notify: Callable[[str], None] | None = stderr_note,
    ) -> None:
        if degradation not in DEGRADATIONS:
            raise VidsrError(f"unknown degradation {degradation!r}; use one of {', '.join(DEGRADATIONS)}")
        if scale not in (2, 3, 4):
            raise VidsrError(f"scale must be 2, 3 or 4, not {scale}")
        self.sources = list(sources)
        self.scale = scale
        self.degradation = degradation
        self.sigma = sigma
        self.notify = notify or (lambda message: None)

    def __len__(self) -> int:
        return len(self.sources)

    @property
    def names(self) -> list[str]:
        return [source.name for source in self.sources]

    @property
    def frame_counts(self) -> dict[str, int]:
        """Frames per clip, from the file lists (nothing is read)."""
        return {source.name: len(source.gt_frames) for source in self.sources}

    def first_frames(self, count: int) -> ClipDataset:
        """The same clips cut to their first ``count`` frames (only those are ever read)."""
        if count < 1:
            raise VidsrError(f"max frames must be >= 1, not {count}")
        sources = [
            replace(s, gt_frames=s.gt_frames[:count],
                    lr_frames=None if s.lr_frames is None else s.lr_frames[:count])
            for s in self.sources
        ]
        return ClipDataset(sources, self.scale, self.degradation, self.sigma, self.notify)

    def __iter__(self) -> Iterator[Clip]:
        for source in self.sources:
            yield self.load(source)

    def load(self, source: ClipSource | str) -> Clip:
        """Read one clip's GT (cropped to the scale) and its given or generated LR."""
        if isinstance(source, str):
            matches = [s for s in self.sources if s.name == source]
            if not matches:
                raise VidsrError(f"no clip named {source!r}; clips: {', '.join(self.names)}")
            source = matches[0]
        gt = read_clip(list(source.gt_frames))
        names = [p.name for p in source.gt_frames]
        if source.lr_frames is not None:
            lr = read_clip(list(source.lr_frames))
            gt = self._fit_gt_to_lr(source, gt, lr)
            return Clip(source.name, gt, lr, names, lr_generated=False)
        gt = self._crop(source.name, gt)
        lr = np.stack([degrade_uint8(frame, self.scale, self.degradation, self.sigma) for frame in gt])
        return Clip(source.name, gt, lr, names, lr_generated=True)

    def _crop(self, name: str, gt: np.ndarray) -> np.ndarray:
        cropped = crop_to_multiple(gt, self.scale, channels_last=True)
        if cropped.shape != gt.shape:
            self.notify(
                f"{name}: frames {gt.shape[2]}x{gt.shape[1]} cropped to "
                f"{cropped.shape[2]}x{cropped.shape[1]} (a multiple of the scale {self.scale})"
            )
        return np.ascontiguousarray(cropped)

    def _fit_gt_to_lr(self, source: ClipSource, gt: np.ndarray, lr: np.ndarray) -> np.ndarray:
        assert source.lr_frames is not None
        if len(lr) != len(gt):
            raise VidsrError(
                f"clip {source.name}: {len(gt)} GT frames but {len(lr)} LR frames in "
                f"{source.lr_frames[0].parent}"
            )
        s = self.scale
        height, width = gt.shape[1:3]
        lr_h, lr_w = lr.shape[1:3]
        if (height // s, width // s) != (lr_h, lr_w):
            raise VidsrError(
                f"LR frame {source.lr_frames[0]} is {lr_w}x{lr_h}; GT {width}x{height} at x{s} "
                f"needs {width // s}x{height // s}"
            )
        return self._crop(source.name, gt)


def _pair_sources(
    gt_clips: list[tuple[str, Path]], gt_layout: str, lr_dir: Path, scale: int
) -> list[ClipSource]:
    """Match GT clips with the clips of an LR folder of the same layout."""
    if lr_dir.is_dir() and not any(lr_dir.iterdir()):
        raise VidsrError(f"the LR folder {lr_dir} is empty: no PNG or JPEG frames, no clip folders")
    if gt_layout == "clip" or _has_frames(lr_dir):
        if len(gt_clips) != 1 or not _has_frames(lr_dir):
            raise VidsrError(
                f"{lr_dir} and the GT folder have different layouts (one clip vs clip folders)"
            )
        name, gt_folder = gt_clips[0]
        return [_paired(name, list_frames(gt_folder), list_frames(lr_dir))]
    reds = _reds_gt_root(lr_dir)
    if reds is not None:
        lr_dir = reds_lr_folder(reds, scale) or reds
    sources = []
    for name, gt_folder in gt_clips:
        lr_folder = lr_dir / name
        if not lr_folder.is_dir():
            raise VidsrError(f"no LR clip folder {lr_folder} for GT clip {name}")
        sources.append(_paired(name, list_frames(gt_folder), list_frames(lr_folder)))
    return sources


def _paired(name: str, gt_frames: list[Path], lr_frames: list[Path]) -> ClipSource:
    """A clip's GT and LR frames, paired in order. Where the names are the GT's (as ``vidsr
    degrade`` writes them), they must all be: an LR frame named otherwise would shift every
    pairing after it."""
    gt_names = [p.stem for p in gt_frames]
    if set(gt_names) & {p.stem for p in lr_frames}:
        stray = next((p for p in lr_frames if p.stem not in set(gt_names)), None)
        if stray is not None:
            raise VidsrError(f"clip {name}: LR frame {stray} has no GT frame of that name, as the others do "
                             "(frames pair by name, or by order where no name matches)")  # fmt: skip
    return ClipSource(name, tuple(gt_frames), tuple(lr_frames))


def open_dataset(
    data: str | Path,
    lr: str | Path | None = None,
    *,
    scale: int = 4,
    degradation: str = "bi",
    sigma: float = 1.6,
    clips: Sequence[str] | None = None,
    reds_split: str = "reds4",
    notify: Callable[[str], None] | None = stderr_note,
) -> ClipDataset:
    """A :class:`ClipDataset` over ``data`` (any layout above), with LR from ``lr`` or generated.

    ``clips`` keeps only the named clips (a list, or one name). For REDS, ``reds_split`` is
    "reds4" (the four evaluation clips), "train" (the others) or "all"; REDS's own bicubic LR
    frames are used for BI when present, and LR is generated otherwise.
    """
    gt_clips, layout = find_clips(data)
    if layout == "reds":
        gt_root = _reds_gt_root(Path(data))
        assert gt_root is not None
        if reds_split == "reds4":
            gt_clips = [c for c in gt_clips if c[0] in REDS4]
            if gt_root.name != "train_sharp" or not gt_clips:
                raise VidsrError(
                    f"REDS4 is clips {', '.join(REDS4)} of train_sharp; none found under {gt_root} "
                    "(--reds-split all for other REDS folders)"
                )
        elif reds_split == "train":
            gt_clips = [c for c in gt_clips if c[0] not in REDS4]
        elif reds_split != "all":
            raise VidsrError(f"unknown REDS split {reds_split!r}; use reds4, train or all")
        if lr is None and degradation == "bi":
            lr = reds_lr_folder(gt_root, scale)
    if clips is not None:
        wanted = [clips] if isinstance(clips, str) else list(clips)  # one name, not its letters
        known = {name for name, _ in gt_clips}
        missing = [name for name in wanted if name not in known]
        if missing:
            raise VidsrError(f"no clip {', '.join(missing)} in {data}; clips: {', '.join(sorted(known))}")
        gt_clips = [c for c in gt_clips if c[0] in wanted]
    if not gt_clips:
        raise VidsrError(f"no clips selected in {data}")
    if lr is not None:
        lr_dir = Path(lr)
        if not lr_dir.is_dir():
            raise VidsrError(f"LR folder not found: {lr_dir}")
        sources = _pair_sources(gt_clips, layout, lr_dir, scale)
    else:
        sources = [ClipSource(name, tuple(list_frames(folder))) for name, folder in gt_clips]
    return ClipDataset(sources, scale=scale, degradation=degradation, sigma=sigma, notify=notify)

