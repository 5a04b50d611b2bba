"""Training data: clips from frame folders, cached in memory with their LR frames.

* A training folder holds one sub-folder of frames per clip (DAVIS:
  ``davis2016_480p/<sequence>/00000.jpg``; REDS: ``train_sharp/<000..269>/00000000.png``),
  or is itself one clip. Clips are decoded once and kept as uint8 arrays, cropped to a
  multiple of the scale (bottom/right).
* LR frames are made once per clip from the *full* GT frames with the foundation's
  degradation (BI or BD) and cached (in memory, optionally on disk), so that the LR of a
  patch is exactly the patch of the LR: a GT patch at ``(s*y, s*x)`` pairs with the LR patch
  at ``(y, x)``. The "real" degradation (:mod:`vidsr.data.real`: blur, resizing, noise, JPEG
  and a video codec, drawn per clip from ``(train.seed, clip name)``) is made the same way,
  once, offline: on disk with ``data.lr_cache``, under a key holding the seed.
* Sample ``i`` of a run is a pure function of ``(seed, i)``: a random temporal window
  (length, frame interval, reversal), a random scale-aligned crop, flips and a transpose.
  The infinite :class:`StepSampler` gives rank ``r`` of a ``world``-process job the
  indices ``step*B + r*B/world ...`` of each step, so the data stream depends neither on the
  number of workers nor on the number of processes, and a resumed run picks it up at its
  step.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm import tqdm

from vidsr.data import degradation, real, resize
from vidsr.data.datasets import find_clips
from vidsr.data.degradation import REAL, crop_to_multiple, degrade_uint8
from vidsr.data.frames import list_frames, read_clip, to_tensor
from vidsr.data.real import RealMix
from vidsr.errors import VidsrError
from vidsr.video import colour

_DEGRADE_CHUNK = 8  # frames degraded at a time (bounds float64 memory on 480p frames)


@dataclass
class Clip:
    """One clip held in memory: GT and LR uint8 frames ``(T, H, W, 3)`` / ``(T, H/s, W/s, 3)``."""

    name: str
    gt: np.ndarray
    lr: np.ndarray

    @property
    def frames(self) -> int:
        return len(self.gt)


def discover_clips(train_dirs: Sequence[str | Path]) -> dict[str, Path]:
    """Clip name -> folder over all training folders. Layouts: see
    :func:`vidsr.data.datasets.find_clips` (a clip folder, a folder of clip folders, REDS
    ``train_sharp``). A name found in two folders is prefixed by its folder's name."""
    entries: list[tuple[str, str, Path]] = []
    for root in train_dirs:
        root = Path(root).expanduser()
        if any(part.lower() == "vid4" for part in root.resolve().parts):
            raise VidsrError(f"{root} is Vid4, the evaluation set: never train or validate on it")
        clips, _ = find_clips(root)
        entries.extend((root.name, base, folder) for base, folder in clips)
    counts: dict[str, int] = {}
    for _, base, _ in entries:
        counts[base] = counts.get(base, 0) + 1
    found: dict[str, Path] = {}
    for parent, base, folder in entries:
        name = base if counts[base] == 1 else f"{parent}/{base}"
        if name in found:
            raise VidsrError(f"two training clips are both named {name!r}: {found[name]} and {folder}")
        found[name] = folder
    return found


def split_clips(names: Sequence[str], val_split: int | Sequence[str]) -> tuple[list[str], list[str]]:
    """``(train, val)`` clip names. ``val_split`` is a count (clips evenly spread over the
    sorted list, the same for every seed) or the names to hold out."""
    names = list(names)
    if isinstance(val_split, int):
        if val_split == 0:
            return names, []
        if val_split >= len(names):
            raise VidsrError(
                f"data.val_split={val_split} would hold out all {len(names)} training clips"
            )
        picks = {int((i + 0.5) * len(names) / val_split) for i in range(val_split)}
        val = [name for i, name in enumerate(names) if i in picks]
    else:
        val = []
        for wanted in val_split:
            matches = [n for n in names if n == wanted or n.split("/")[-1] == wanted]
            if not matches:
                raise VidsrError(f"validation clip {wanted!r} is not among the training clips")
            val.extend(m for m in matches if m not in val)
        if len(val) == len(names):
            raise VidsrError("data.val_split holds out every training clip")
    return [n for n in names if n not in val], val


def _cache_key(
    folder: Path, scale: int, kind: str, sigma: float, seed: int = 0, name: str = "", mix: RealMix = RealMix(),
) -> str:
    """A key that changes when the frames or the degradation change (for "real": also the
    seed, the mix (share of plain clips, CRF range), the clip name and the FFmpeg libraries,
    whose encoders it runs)."""
    digest = hashlib.sha256()
    digest.update(f"{folder.resolve()}|x{scale}|{kind}|{sigma if kind == 'bd' else ''}".encode())
    modules = (degradation, resize)
    if kind == REAL:
        digest.update(f"|seed {seed}|{name}|{real.codec_versions()}{mix.key()}".encode())
        modules += (real, colour)
    for module in modules:  # a fix in the degradation code invalidates the cache
        digest.update(Path(module.__file__).read_bytes())
    for path in list_frames(folder):
        stat = path.stat()
        digest.update(f"|{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:20]


def degrade_clip(
    gt: np.ndarray, scale: int, kind: str, sigma: float, seed: int = 0, name: str = "", mix: RealMix = RealMix(),
) -> np.ndarray:
    """LR uint8 frames of a whole clip, degraded a few frames at a time (``real``: the whole
    clip at once, with the parameters of ``(seed, name)`` and ``mix``)."""
    if kind == REAL:
        return real.degrade_real(gt, scale, real.clip_params(seed, name, mix))
    parts = [degrade_uint8(gt[i : i + _DEGRADE_CHUNK], scale, kind, sigma)
             for i in range(0, len(gt), _DEGRADE_CHUNK)]
    return np.concatenate(parts)


def load_clip(
    name: str, folder: Path, scale: int, kind: str, sigma: float, cache_dir: Path | None = None,
    seed: int = 0,
    gt: np.ndarray | None = None,
    mix: RealMix = RealMix(),
) -> Clip:
    """Decode a clip folder, crop it to a multiple of ``scale`` and make (or load) its LR
    (``seed``: the run seed, from which "real" draws this clip's degradation; ``gt``: the
    frames already decoded and cropped, to share them between variants; ``mix``: the share
    of "real" clips that are only downscaled and compressed, and x264's CRF range)."""
    if gt is None:
        gt = np.ascontiguousarray(crop_to_multiple(read_clip(folder), scale, channels_last=True))
    if gt.shape[1] < scale or gt.shape[2] < scale:
        raise VidsrError(f"frames of {folder} are smaller than the scale {scale}")
    cached: Path | None = None
    if cache_dir is not None:
        safe = name.replace("/", "__")
        cached = cache_dir / f"{safe}-{_cache_key(folder, scale, kind, sigma, seed, name, mix)}.npy"
        if cached.is_file():
            lr = np.load(cached)
            if lr.shape == (len(gt), gt.shape[1] // scale, gt.shape[2] // scale, 3):
                return Clip(name, gt, lr)
    lr = degrade_clip(gt, scale, kind, sigma, seed, name, mix)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(temporary, lr)
        os.replace(temporary, cached)
    return Clip(name, gt, lr)


def load_clips(
    folders: dict[str, Path],
    scale: int,
    kind: str,
    sigma: float,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    seed: int = 0,
    mix: RealMix = RealMix(),
) -> list[Clip]:
    """Load several clips (progress bar on stderr); ``seed``, ``mix``: see :func:`load_clip`."""
    cache = Path(cache_dir).expanduser() if cache_dir else None
    items = tqdm(folders.items(), desc="loading clips", unit="clip", disable=not progress,
                 leave=False)
    return [load_clip(name, folder, scale, kind, sigma, cache, seed, mix=mix) for name, folder in items]


def variant_seed(seed: int, variant: int) -> int:
    """The seed of "real" variant ``variant`` of a run seeded ``seed`` (variant 0: ``seed``)."""
    return seed + 1_000_003 * variant


def real_variants(
    clips: list[Clip], folders: dict[str, Path], scale: int, variants: int,
    cache_dir: str | Path | None = None, progress: bool = True, seed: int = 0, mix: RealMix = RealMix(),
) -> list[Clip]:
    """``clips`` (variant 0) and ``variants - 1`` more "real" degradations of each, drawn from
    :func:`variant_seed` and named ``name#k``; the GT frames are shared, not copied."""
    cache = Path(cache_dir).expanduser() if cache_dir else None
    jobs = [(clip, k) for k in range(1, variants) for clip in clips]
    out = list(clips)
    for clip, k in tqdm(jobs, desc="real variants", unit="clip", disable=not progress, leave=False):
        made = load_clip(clip.name, folders[clip.name], scale, REAL, 0.0, cache,
                         variant_seed(seed, k), gt=clip.gt, mix=mix)
        out.append(Clip(f"{clip.name}#{k}", clip.gt, made.lr))
    return out


class TrainingWindows(Dataset):
    """Random LR/GT training windows: sample ``i`` is ``(lr (T+2c,3,p,p), gt (T,3,s*p,s*p))``
    float in [0, 1], drawn from a generator seeded with ``(seed, i)``: ``T = window`` output
    frames with ``c = context`` real LR frames before and after them (a model of radius
    ``c`` needs them for its first and last window; no frame is padded by replication, so
    the loss only falls on frames that have their real context).

    ``pan`` is the share of samples that are synthetic camera pans (:meth:`pan_clip`): one
    frame of the drawn window, cropped along a straight path at a random speed up to
    ``pan_speed`` GT pixels per frame, each crop degraded on the fly with ``kind``
    (``"bi"`` or ``"bd"``, blur ``sigma``). Integer GT steps are quarter-pixel LR steps at x4, so
    every frame samples the scene at another sub-pixel phase, as slow camera motion does
    (Vid4). The training clips move fast (DAVIS): there the past holds little that the
    current frame lacks, and a recurrent model learns to ignore it.

    ``lr_grid`` is where LR pixels sit on the GT grid (see ``VSRModel.set_lr_grid``). A flip
    keeps the centred grid of BI as it is, but moves BD's LR pixel ``i`` from GT pixel ``s*i``
    to ``s*i + s-1``; on the ``"corner"`` grid the GT crop of a flipped axis therefore starts
    ``s-1`` pixels earlier, so that every sample pairs LR pixel ``i`` with GT pixel ``s*i``.
    """

    def __init__(
        self,
        clips: Sequence[Clip],
        scale: int,
        *,
        window: int,
        intervals: Sequence[int],
        gt_patch: int,
        reverse: bool = True,
        flip: bool = True,
        transpose: bool = True,
        seed: int = 0,
        lr_grid: str = "centre",
        context: int = 0,
        colour: float = 0.0,
        pan: float = 0.0,
        pan_speed: float = 8.0,
        kind: str = "bi",
        sigma: float = 1.6,
    ) -> None:
        if gt_patch % scale:
            raise VidsrError(f"gt_patch {gt_patch} is not a multiple of the scale {scale}")
        if lr_grid not in degradation.LR_GRID.values():
            raise VidsrError(f"lr_grid must be centre or corner, not {lr_grid!r}")
        self.lr_grid = lr_grid
        # Corner grid: a flipped axis crops GT s-1 pixels earlier, so keep one LR pixel of margin.
        self._flip_shift = scale - 1 if lr_grid == "corner" else 0
        self._margin = 1 if self._flip_shift else 0
        self.scale = scale
        self.window = window
        self.context = context
        self.colour = colour
        if pan and kind not in ("bi", "bd"):
            raise VidsrError(f"data.pan needs the bi or bd degradation, not {kind!r}")
        self.pan, self.pan_speed = pan, pan_speed
        self.kind, self.sigma = kind, sigma
        length = window + 2 * context  # LR frames per sample
        self.patch = gt_patch // scale
        self.reverse, self.flip, self.transpose = reverse, flip, transpose
        self.seed = seed
        usable = [c for c in clips if min(c.lr.shape[1:3]) >= self.patch + self._margin]
        if not usable:
            raise VidsrError(
                f"no training clip is large enough for GT patches of {gt_patch} pixels"
            )
        self.clips = list(usable)
        # Per interval: the clips long enough for a window, and how many windows each has.
        self.intervals: list[int] = []
        self._choices: list[tuple[np.ndarray, np.ndarray]] = []
        for interval in intervals:
            span = (length - 1) * interval + 1
            counts = np.array([max(0, c.frames - span + 1) for c in self.clips])
            if counts.sum() > 0:
                self.intervals.append(interval)
                self._choices.append((counts, np.cumsum(counts)))
        if not self.intervals:
            longest = max(c.frames for c in self.clips)
            raise VidsrError(
                f"training windows of {length} frames ({window} + {2 * context} of context) do not fit in any clip "
                f"(the longest has {longest} frames); lower data.window or data.interval"
            )

    def __len__(self) -> int:
        """Windows per pass at the first interval (a nominal epoch; sampling is infinite)."""
        return int(self._choices[0][1][-1])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, int(index)])
        which = int(rng.integers(len(self.intervals)))
        interval = self.intervals[which]
        _, cumulative = self._choices[which]
        position = int(rng.integers(cumulative[-1]))
        clip_index = int(np.searchsorted(cumulative, position, side="right"))
        start = position - (int(cumulative[clip_index - 1]) if clip_index else 0)
        clip = self.clips[clip_index]
        frames = start + interval * np.arange(self.window + 2 * self.context)
        if self.pan and rng.random() < self.pan:
            clip = self.pan_clip(clip.gt[frames[len(frames) // 2]], len(frames), rng)
            frames = np.arange(len(frames))
        if self.reverse and rng.random() < 0.5:
            frames = frames[::-1]
        gt_frames = frames[self.context : self.context + self.window]
        p, s, margin = self.patch, self.scale, self._margin
        y = int(rng.integers(margin, clip.lr.shape[1] - p + 1))
        x = int(rng.integers(margin, clip.lr.shape[2] - p + 1))
        flips = rng.random(3) < 0.5
        flip_x, flip_y = self.flip and flips[0], self.flip and flips[1]
        gy = s * y - (self._flip_shift if flip_y else 0)  # see the class doc
        gx = s * x - (self._flip_shift if flip_x else 0)
        lr = clip.lr[frames, y : y + p, x : x + p]
        gt = clip.gt[gt_frames, gy : gy + s * p, gx : gx + s * p]
        if flip_x:
            lr, gt = lr[:, :, ::-1], gt[:, :, ::-1]
        if flip_y:
            lr, gt = lr[:, ::-1], gt[:, ::-1]
        if self.transpose and flips[2]:
            lr, gt = lr.transpose(0, 2, 1, 3), gt.transpose(0, 2, 1, 3)
        if self.colour and rng.random() < self.colour:
            lr, gt = recolour(lr, gt, rng)
        return to_tensor(np.ascontiguousarray(lr)), to_tensor(np.ascontiguousarray(gt))

    def pan_clip(self, still: np.ndarray, length: int, rng: np.random.Generator) -> Clip:
        """A :func:`pan_clip` of ``length`` frames over the GT frame ``still`` ``(H, W, 3)``,
        just large enough for one patch: a straight path at a random speed (up to
        ``pan_speed`` GT pixels per frame, less where the frame is too small) and direction."""
        side = self.scale * (self.patch + self._margin)
        pad = pan_margin(self.scale, self.sigma)
        room = np.array(still.shape[:2]) - side - 2 * pad
        if (room < 0).any():
            raise VidsrError(f"a training frame of {still.shape[1]}x{still.shape[0]} is too small for a pan "
                             f"sample of {side + 2 * pad} pixels; lower data.gt_patch or set data.pan=0")
        angle = rng.uniform(0.0, 2.0 * np.pi)
        velocity = rng.uniform(0.0, self.pan_speed) * np.array([np.sin(angle), np.cos(angle)])
        reach = np.abs(velocity) * (length - 1)
        velocity *= min([1.0] + [room[k] / reach[k] for k in range(2) if reach[k] > 0])
        path = pan_path(velocity, length)
        origin = [int(rng.integers(0, room[k] - np.ptp(path[:, k]) + 1)) - path[:, k].min() + pad for k in range(2)]
        return pan_clip(still, path + np.array(origin), side, self.scale, self.kind, self.sigma)


def pan_margin(scale: int, sigma: float) -> int:
    """GT pixels degraded around a pan crop: whole LR pixels, wider than the BI and BD kernels."""
    return scale * max(4, -(-int(4 * sigma + 1) // scale))


def pan_path(velocity: np.ndarray, length: int) -> np.ndarray:
    """``(length, 2)`` integer ``(dy, dx)`` offsets of a straight path at ``velocity`` GT pixels
    per frame from ``(0, 0)``, rounded to whole GT pixels (quarter LR pixels at x4)."""
    return np.rint(np.arange(length)[:, None] * np.asarray(velocity, dtype=np.float64)[None]).astype(int)


def pan_clip(still: np.ndarray, corners: np.ndarray, side: int, scale: int, kind: str, sigma: float) -> Clip:
    """A camera pan over one still GT frame ``(H, W, 3)``: the ``side`` x ``side`` crops whose
    top-left corners are ``corners`` ``(T, 2)``, and their LR. Each LR frame is the
    degradation (``kind`` bi or bd, blur ``sigma``) of its crop with :func:`pan_margin` more
    pixels around it, so LR and GT pair exactly as a patch of a whole degraded frame does."""
    pad = pan_margin(scale, sigma)
    corners = np.asarray(corners)
    low, high = corners.min(axis=0) - pad, corners.max(axis=0) + side + pad
    if (low < 0).any() or high[0] > still.shape[0] or high[1] > still.shape[1]:
        raise VidsrError(f"a pan of {side}-pixel crops leaves the {still.shape[1]}x{still.shape[0]} frame")
    crops = np.stack([still[y - pad : y + side + pad, x - pad : x + side + pad] for y, x in corners])
    lr = degrade_uint8(crops, scale, kind, sigma)
    inner = slice(pad // scale, (pad + side) // scale)
    return Clip("pan", crops[:, pad : pad + side, pad : pad + side], lr[:, inner, inner])


COLOUR_GAIN = (0.25, 1.0)  # per-channel gain range of the colour augmentation


def recolour(lr: np.ndarray, gt: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Colour augmentation: a random channel order, then per-channel gains in
    :data:`COLOUR_GAIN`, the same for LR and GT.

    Natural training clips hold few flat, saturated colours (a deep blue sky); on them an
    untrained-for recurrent state can run away. A gain commutes with the (linear) BI and BD
    degradations, so the pair stays a pair, up to the LR's uint8 rounding (half a code).
    """
    order = rng.permutation(3)
    gain = rng.uniform(*COLOUR_GAIN, size=3).astype(np.float32)

    def apply(frames: np.ndarray) -> np.ndarray:
        return np.rint(frames[..., order] * gain).astype(np.uint8)

    return apply(lr), apply(gt)


class StepSampler(Sampler[int]):
    """Infinite sample indices of one rank, starting at ``start_step``.

    Step ``k`` uses the global indices ``k*B .. k*B + B - 1``; rank ``r`` of ``world`` takes
    the ``r``-th slice of ``B/world`` of them (a DistributedSampler with no epochs).
    """

    def __init__(self, global_batch: int, start_step: int = 0, rank: int = 0, world_size: int = 1):
        if global_batch % world_size:
            raise VidsrError(
                f"data.batch_size={global_batch} is not divisible by the {world_size} processes"
            )
        self.global_batch = global_batch
        self.per_rank = global_batch // world_size
        self.start_step = start_step
        self.rank = rank

    def __iter__(self) -> Iterator[int]:
        step = self.start_step
        while True:
            first = step * self.global_batch + self.rank * self.per_rank
            yield from range(first, first + self.per_rank)
            step += 1


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seed Python and NumPy from the worker's torch seed."""
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


def make_loader(
    dataset: TrainingWindows,
    sampler: StepSampler,
    num_workers: int,
    seed: int,
    pin_memory: bool = False,
) -> DataLoader:
    """A DataLoader of per-rank batches from ``sampler`` (seeded workers)."""
    generator = torch.Generator()
    generator.manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=sampler.per_rank,
        sampler=sampler,
        num_workers=num_workers,
        pin_memory=pin_memory,
        worker_init_fn=seed_worker,
        generator=generator,
        prefetch_factor=2 if num_workers > 0 else None,
    )


@dataclass
class ValClip:
    """A validation clip: uint8 LR ``(T, h, w, 3)`` and GT ``(T, s*h, s*w, 3)``."""

    name: str
    lr: np.ndarray
    gt: np.ndarray


def held_out_views(
    train_dir: str | Path, names: Sequence[str], scale: int, degradation: str, crop: int | None,
    max_frames: int | None, cache_dir: str | Path | None = None, sigma: float = 1.6,
) -> list[ValClip]:
    """The validation views of clips ``names`` of ``train_dir`` as a training run makes them
    (LR from ``degradation``, cached in ``cache_dir``); a missing clip is a :class:`VidsrError`."""
    folders = discover_clips([train_dir])
    missing = [name for name in names if name not in folders]
    if missing:
        raise VidsrError(f"no clip {', '.join(missing)} in {train_dir}")
    cache = Path(cache_dir).expanduser() if cache_dir else None
    clips = [load_clip(name, folders[name], scale, degradation, sigma, cache) for name in names]
    return validation_clips(clips, scale, crop, max_frames)


def validation_clips(
    clips: Sequence[Clip], scale: int, crop: int | None, max_frames: int | None
) -> list[ValClip]:
    """Validation views of whole clips: the first ``max_frames`` frames, centre-cropped to
    ``crop`` GT pixels (cropping the cached full-frame LR, so LR and GT stay aligned)."""
    views = []
    for clip in clips:
        lr, gt = clip.lr[:max_frames], clip.gt[:max_frames]
        if crop is not None:
            side = crop // scale
            height, width = lr.shape[1:3]
            ch, cw = min(side, height), min(side, width)
            top, left = (height - ch) // 2, (width - cw) // 2
            lr = lr[:, top : top + ch, left : left + cw]
            gt = gt[:, scale * top : scale * (top + ch), scale * left : scale * (left + cw)]
        views.append(ValClip(clip.name, np.ascontiguousarray(lr), np.ascontiguousarray(gt)))
    return views
