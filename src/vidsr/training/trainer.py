"""The training loop: data, mixed precision, schedule, validation, checkpoints, DDP.

:func:`train` runs one process's share of a run. Launched plainly it trains on one device;
launched by ``torchrun --nproc_per_node=N -m vidsr train ...`` every process joins a DDP
job, takes ``batch_size / N`` samples of each step, and rank 0 alone writes the run folder:

* ``config.yaml`` (the resolved config), ``env.json`` (git commit, versions, hardware,
  command; ``env-resume-<step>.json`` for each continuation);
* ``metrics.jsonl`` (training and validation rows, see :mod:`vidsr.training.logbook`);
* ``last.pt`` every ``checkpoint_interval`` steps and ``best.pt`` at each best validation
  score (atomic writes; see :mod:`vidsr.training.checkpoint`).

A run continued with ``resume=True`` from ``last.pt`` reproduces the uninterrupted run
exactly: the data stream is a function of the step, and every state is restored.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from vidsr.backends.allocator import tune_allocator
from vidsr.data.degradation import LR_GRID, REAL
from vidsr.data.real import RealMix
from vidsr.errors import VidsrError
from vidsr.models.base import VSRModel, detach_state
from vidsr.models.registry import create
from vidsr.models.weights import load_weights
from vidsr.training import distributed
from vidsr.training.checkpoint import kill_point, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from vidsr.training.config import (
    RESUMABLE_CHANGES,
    Config,
    config_differences,
    config_from_dict,
    resolve_num_workers,
    save_config,
    sequence_steps,
)
from vidsr.training.data import (
    Clip,
    StepSampler,
    TrainingWindows,
    discover_clips,
    load_clips,
    make_loader,
    real_variants,
    split_clips,
    validation_clips,
)
from vidsr.training.distributed import DistContext
from vidsr.training.environment import environment
from vidsr.training.export import record_lineage
from vidsr.training.logbook import MetricsLog
from vidsr.training.losses import AUXILIARY_LOSSES, make_loss
from vidsr.training.optim import make_optimizer, make_scheduler
from vidsr.training.precision import make_precision
from vidsr.training.validation import validate


@dataclass
class TrainResult:
    """What a finished :func:`train` call leaves behind."""

    run_dir: Path
    step: int
    loss: float | None
    best: dict[str, Any] | None


def build_model(name: str, scale: int, degradation: str = "bi") -> VSRModel:
    """A model by registry name (``delta``...) or by import path (``package.module:Class``,
    any :class:`VSRModel` subclass taking ``scale``: train your own network unregistered),
    with its bicubic base on the LR grid of ``degradation``."""
    if ":" not in name:
        return create(name, scale, degradation=degradation, pretrained=False)
    module_name, class_name = name.split(":", 1)
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise VidsrError(f"cannot import model {name!r}: {error}") from None
    if not (isinstance(cls, type) and issubclass(cls, VSRModel)):
        raise VidsrError(f"{name} is not a VSRModel subclass")
    return cls(scale).set_lr_grid(LR_GRID[degradation])


def default_run_dir(name: str) -> Path:
    """``~/.cache/vidsr-runs/<name>``: outside any work tree."""
    return Path.home() / ".cache" / "vidsr-runs" / name


def resolve_run_dir(config: Config, run_dir: str | Path | None = None) -> Path:
    """The run folder: the argument, else ``train.run_dir``, else the default."""
    chosen = run_dir or config.train.run_dir
    return Path(chosen).expanduser() if chosen else default_run_dir(config.name)


def data_notes(train_clips: list, sampled: list, val_clips: list, checkpoint: dict[str, Any] | None,
               gt_patch: int) -> list[str]:
    """What the user should know about the data: training clips too small for ``gt_patch``
    (never sampled), and, on resuming, clips that differ from those the run was trained on."""
    notes = []
    small = sorted({clip.name for clip in train_clips} - {clip.name for clip in sampled})
    if small:
        notes.append(f"{len(small)} training clip(s) smaller than data.gt_patch ({gt_patch} GT pixels) are never "
                     f"sampled: {', '.join(small[:5])}{' ...' if len(small) > 5 else ''}")  # fmt: skip
    for kind, clips in (("train", train_clips), ("val", val_clips)):
        before = (checkpoint or {}).get(f"{kind}_clips")
        now = [clip.name for clip in clips]
        if before is not None and sorted(before) != sorted(now):
            added, gone = sorted(set(now) - set(before)), sorted(set(before) - set(now))
            change = "; ".join(part for part in (f"new: {', '.join(added[:5])}" if added else "",
                                                 f"gone: {', '.join(gone[:5])}" if gone else "") if part)  # fmt: skip
            notes.append(f"the {'training' if kind == 'train' else 'validation'} clips differ from those the run "
                         f"was trained on ({change}): the resumed run is no exact continuation")  # fmt: skip
    return notes


def prepare_run(config: Config, run_dir: Path, resume: bool) -> dict[str, Any] | None:
    """The checkpoint to continue from (or None for a fresh run), after the checks.

    A folder that already has ``last.pt`` is continued only with ``resume``; its config
    must match, apart from :data:`RESUMABLE_CHANGES` (e.g. ``train.steps`` to extend it).
    """
    last = run_dir / "last.pt"
    if not last.exists():
        return None
    if not resume:
        raise VidsrError(
            f"{run_dir} already holds a run (last.pt); pass --resume to continue it "
            "or --run-dir to start a new one"
        )
    checkpoint = load_checkpoint(last)
    saved = config_from_dict(checkpoint["config"], origin=str(last))
    differences = [k for k in config_differences(saved, config) if k not in RESUMABLE_CHANGES]
    if differences:
        raise VidsrError(
            f"cannot resume {run_dir}: the config differs from the run's in "
            f"{', '.join(differences)}"
        )
    return checkpoint


def train(
    config: Config,
    run_dir: str | Path | None = None,
    *,
    resume: bool = False,
    quiet: bool = False,
) -> TrainResult:
    """Train (or continue) the run described by ``config``; see the module docstring."""
    context = distributed.setup(config.train.device)
    try:
        folder = resolve_run_dir(config, run_dir)
        # Rank 0 decides (it owns the run folder) and hands the checkpoint to the others,
        # so that nodes without a shared file system resume too.
        outcome: tuple[str, Any] = ("ok", None)
        failure: Exception | None = None
        if context.is_main:
            try:
                outcome = ("ok", prepare_run(config, folder, resume))
            except Exception as error:  # any failure must reach the other ranks, or they hang
                failure = error
                message = str(error) if isinstance(error, VidsrError) else f"{type(error).__name__}: {error}"
                outcome = ("error", message)
        outcome = distributed.broadcast(outcome, context)
        if outcome[0] == "error":
            if failure is not None and not isinstance(failure, VidsrError):
                raise failure  # rank 0 keeps the real traceback of an unexpected error
            raise VidsrError(outcome[1])
        return Trainer(config, context, folder, outcome[1], quiet).run()
    finally:
        distributed.cleanup(context)


class SequenceStep(torch.nn.Module):
    """The model's :meth:`~vidsr.models.base.VSRModel.forward_sequence` as ``forward``
    (the module DDP wraps): ``(lr with context, state) -> (sr, state)``."""

    def __init__(self, model: VSRModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, lr: torch.Tensor, hidden: Any = None,
                precomputed: torch.Tensor | None = None) -> tuple[torch.Tensor, Any]:
        if precomputed is None:
            return self.model.forward_sequence(lr, hidden)
        return self.model.forward_sequence(lr, hidden, precomputed=precomputed)


class WithPrecomputed(torch.utils.data.Dataset):
    """Training windows plus the same windows of precomputed frames (two_step's step-1
    frames): ``(lr, gt, frames)``, ``frames`` ``(T + 2c, 3, s*p, s*p)`` for every LR frame.

    ``frames`` comes from a second :class:`TrainingWindows` over clips whose GT is the
    precomputed frames, with the context frames counted as output frames (same length,
    ``context=0``): a sample is a pure function of ``(seed, index)`` and of the clips'
    shapes, so both draw the same window, crop, flips and transpose.
    """

    def __init__(self, windows: TrainingWindows, frames: TrainingWindows) -> None:
        self.windows, self.frames = windows, frames

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        lr, gt = self.windows[index]
        _, frames = self.frames[index]
        return lr, gt, frames


def precomputed_clips(model: VSRModel, clips: list[Clip], cache_dir: str | None,
                      progress: bool = True) -> list[Clip]:
    """``model.precompute`` (two_step: step 1) over every whole clip, once: each clip with its
    precomputed frames in place of the GT. Cached in ``cache_dir`` (``data.lr_cache``) under
    ``model.precompute_key()`` (two_step: step 1's weights' sha-256) and the LR frames' hash."""
    cache = Path(cache_dir).expanduser() if cache_dir else None
    key = model.precompute_key()
    out = []
    for clip in tqdm(clips, desc="precomputing", unit="clip", disable=not progress, leave=False):
        path = None
        if cache is not None:
            lr_hash = hashlib.sha256(np.ascontiguousarray(clip.lr).data).hexdigest()[:12]
            safe = clip.name.replace("/", "__").replace("#", "_")
            path = cache / f"{safe}-{key}-{lr_hash}.npy"
            if path.is_file():
                frames = np.load(path)
                if frames.shape == clip.gt.shape:
                    out.append(Clip(clip.name, frames, clip.lr))
                    continue
        frames = model.precompute(clip.lr)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(temporary, frames)
            os.replace(temporary, path)
        out.append(Clip(clip.name, frames, clip.lr))
    return out


class Trainer:
    """One process of a training run (see :func:`train`).

    A training sample is ``data.window`` output frames of one clip (with the model's
    radius of real context frames each side). It is trained as ``window / chunk``
    consecutive optimiser steps of ``chunk`` frames, the recurrent state detached and
    carried from one step to the next (truncated back-propagation through time), so the
    network learns from states that have run for the whole window, not only from a cold
    start. Checkpoints fall between samples (the config checks it).
    """

    def __init__(
        self,
        config: Config,
        context: DistContext,
        run_dir: Path,
        checkpoint: dict[str, Any] | None,
        quiet: bool = False,
    ) -> None:
        self.config = config
        self.context = context
        self.run_dir = run_dir
        self.quiet = quiet or not context.is_main
        self.device = context.device
        self.precision = make_precision(config.train.precision, self.device)
        self.val_precision = make_precision(config.val.precision, self.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed patch sizes: pick the fastest kernels
        seed = config.train.seed
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)

        # Model, optimiser, schedule, scaler, loss.
        data = config.data
        self.model = build_model(config.model.name, config.model.scale, data.degradation).to(self.device)
        if config.model.init_weights and checkpoint is None:
            # BI weights may start a BD run: the base stays on this run's grid. A related
            # model's weights may start this one (delta -> flow, two_step: adapt_init_state).
            load_weights(self.model, Path(config.model.init_weights).expanduser(), keep_grid=True,
                         warm_start=True)
        self.optimizer = make_optimizer(self.model, config.optim)
        self.scheduler = make_scheduler(self.optimizer, config.schedule, config.train.steps)
        self.scaler = self.precision.make_scaler()
        self.loss_fn = make_loss(config.loss.name, config.loss.eps)
        # Auxiliary losses the model returns from its ``auxiliary_losses()`` hook (flow:
        # warp, smooth), each weighted by ``loss.<name>_weight``; those at 0 are skipped.
        self.aux_weights = {name: getattr(config.loss, f"{name}_weight") for name in AUXILIARY_LOSSES
                            if getattr(config.loss, f"{name}_weight") > 0}
        if self.aux_weights and not callable(getattr(self.model, "auxiliary_losses", None)):
            raise VidsrError(f"{config.model.name} returns no auxiliary losses: set "
                             + " and ".join(f"loss.{name}_weight=0" for name in self.aux_weights))
        # Moving average of the weights (train.ema > 0): validated, kept as best.pt, exported.
        self.ema = (AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(config.train.ema),
                                  use_buffers=True) if config.train.ema > 0 else None)
        self.step = 0
        self.elapsed = 0.0
        self.best: dict[str, Any] | None = None
        if checkpoint is not None:
            self._restore(checkpoint)
        self.parallel: torch.nn.Module = SequenceStep(self.model)
        if context.enabled:
            device_ids = [self.device] if self.device.type == "cuda" else None
            self.parallel = DistributedDataParallel(self.parallel, device_ids=device_ids)

        # Data.
        self.global_batch = data.batch_size
        if data.batch_size % context.world_size:
            raise VidsrError(
                f"data.batch_size={data.batch_size} is not divisible by the "
                f"{context.world_size} processes"
            )
        folders = discover_clips(data.train_dirs)
        train_names, val_names = split_clips(list(folders), data.val_split)
        if not train_names:
            raise VidsrError("no training clips left after the validation split")
        mix = RealMix(data.real_plain_prob, tuple(data.real_crf))
        clips = load_clips(folders, config.model.scale, data.degradation, data.sigma,
                           data.lr_cache, progress=not self.quiet, seed=seed, mix=mix)
        by_name = {clip.name: clip for clip in clips}
        self.train_clips = [by_name[name] for name in train_names]
        if data.degradation == REAL and data.real_variants > 1:
            self.train_clips = real_variants(self.train_clips, folders, config.model.scale,
                                             data.real_variants, data.lr_cache, not self.quiet, seed,
                                             mix)
        self.val_clips = validation_clips(
            [by_name[name] for name in val_names], config.model.scale,
            config.val.crop, config.val.max_frames,
        )
        self.dataset = TrainingWindows(
            self.train_clips, config.model.scale, window=data.window, intervals=data.interval,
            gt_patch=data.gt_patch, reverse=data.reverse, flip=data.flip,
            transpose=data.transpose, seed=seed, lr_grid=LR_GRID[data.degradation],
            context=self.model.radius, colour=data.colour, pan=data.pan, pan_speed=data.pan_speed,
            kind=data.degradation, sigma=data.sigma,
        )
        self.notes = data_notes(self.train_clips, self.dataset.clips, self.val_clips, checkpoint, data.gt_patch)
        if callable(getattr(self.model, "precompute", None)):  # two_step: step-1 frames, cached
            if data.colour or data.pan:
                raise VidsrError(f"data.colour and data.pan must be 0 for {config.model.name}: its cached "
                                 "step-1 frames are of the original clips")
            frames = TrainingWindows(
                precomputed_clips(self.model, self.train_clips, data.lr_cache, not self.quiet),
                config.model.scale, window=data.window + 2 * self.model.radius,
                intervals=data.interval, gt_patch=data.gt_patch, reverse=data.reverse,
                flip=data.flip, transpose=data.transpose, seed=seed,
                lr_grid=LR_GRID[data.degradation], context=0,
            )
            self.dataset = WithPrecomputed(self.dataset, frames)
        self.chunks = sequence_steps(config)
        self.chunk = data.chunk or data.window
        self.log = MetricsLog(run_dir / "metrics.jsonl")
        if checkpoint is not None:
            set_rng_state(self._my_rng(checkpoint["rng"]))

    # -- state ------------------------------------------------------------------------

    def _my_rng(self, states: list[dict[str, Any]]) -> dict[str, Any]:
        return states[self.context.rank] if len(states) == self.context.world_size else states[0]

    def _restore(self, checkpoint: dict[str, Any]) -> None:
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.scheduler.load_state_dict(checkpoint["scheduler"])
        # The rate for the next step under *this* config's schedule (the same value unless
        # train.steps was changed to extend the run; then the cosine follows the new end).
        for group, base, factor in zip(self.optimizer.param_groups, self.scheduler.base_lrs,
                                       self.scheduler.lr_lambdas):
            group["lr"] = base * factor(self.scheduler.last_epoch)
        if checkpoint.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(checkpoint["scaler"])
        self.step = int(checkpoint["step"])
        self.elapsed = float(checkpoint.get("elapsed_s", 0.0))
        self.best = checkpoint.get("best")
        if self.ema is not None:
            if checkpoint.get("ema"):
                self.ema.module.load_state_dict(checkpoint["ema"])
                self.ema.n_averaged.fill_(int(checkpoint.get("ema_updates", 1)))
            else:  # train.ema switched on for a resumed run: the average starts here
                self.ema.module.load_state_dict(self.model.state_dict())

    def _state(self) -> dict[str, Any]:
        """The checkpoint dict (a collective call: every rank's RNG state is gathered)."""
        rngs = distributed.all_gather(rng_state(), self.context)
        return {
            "step": self.step,
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rngs,
            "config": self.config.to_dict(),
            "best": self.best,
            "elapsed_s": self.elapsed,
            "samples": self.step // self.chunks * self.global_batch,
            "precision": self.precision.mode,
            "world_size": self.context.world_size,
            "model_name": self.config.model.name,
            "scale": self.config.model.scale,
            "degradation": self.config.data.degradation,
            "train_clips": [clip.name for clip in self.train_clips],
            "val_clips": [clip.name for clip in self.val_clips],
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **({} if self.ema is None else {
                "ema": {k: v.detach().cpu() for k, v in self.ema.module.state_dict().items()},
                "ema_updates": int(self.ema.n_averaged),
            }),
        }

    def _save(self, name: str, raw_weights: bool = False) -> None:
        """Write a checkpoint; ``raw_weights``: without the average, so that it ships the raw
        weights (a best.pt where they validated better; last.pt always keeps both)."""
        state = self._state()
        if raw_weights:
            state.pop("ema", None)
            state.pop("ema_updates", None)
        if self.context.is_main:
            save_checkpoint(state, self.run_dir / name)

    # -- run --------------------------------------------------------------------------

    def _start_files(self, resumed_from: int | None) -> None:
        if not self.context.is_main:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        info = environment(self.device, self.context.world_size, self.precision.mode)
        save_config(self.config, self.run_dir / "config.yaml")
        if resumed_from is None:
            (self.run_dir / "metrics.jsonl").unlink(missing_ok=True)
            (self.run_dir / "env.json").write_text(json.dumps(info, indent=2) + "\n")
            record_lineage(self.run_dir, self.config.model.init_weights)
        else:
            self.log.truncate_after(resumed_from)
            name = f"env-resume-{resumed_from}.json"
            (self.run_dir / name).write_text(json.dumps(info, indent=2) + "\n")

    def _announce(self, resumed: bool) -> None:
        if self.quiet:
            return
        params = sum(p.numel() for p in self.model.parameters())
        frames = sum(c.frames for c in self.train_clips)
        action = f"resuming at step {self.step}" if resumed else "starting"
        print(
            f"vidsr train: {action}: {self.config.model.name} x{self.config.model.scale} "
            f"{self.config.data.degradation.upper()} ({params:,} parameters), "
            f"{len(self.train_clips)} training clips ({frames} frames), "
            f"{len(self.val_clips)} validation clips; {self.precision.mode} on {self.device}"
            f" x{self.context.world_size}; run folder {self.run_dir}",
            file=sys.stderr,
        )
        for note in self.notes:
            print(f"vidsr train: warning: {note}", file=sys.stderr)

    def run(self) -> TrainResult:
        """Train up to ``train.steps``; returns the final step, loss and best scores."""
        config = self.config.train
        resumed = self.step > 0
        self._start_files(self.step if resumed else None)
        self._announce(resumed)
        if self.step >= config.steps:
            if not self.quiet:
                print(f"vidsr train: already at step {self.step} of {config.steps}; nothing to do",
                      file=sys.stderr)
            return TrainResult(self.run_dir, self.step, None, self.best)

        if self.device.type == "cpu":
            tune_allocator()  # the step's large batch and activations stay on the heap: +11% samples/s
        sampler = StepSampler(self.global_batch, self.step // self.chunks, self.context.rank,
                              self.context.world_size)
        loader = make_loader(self.dataset, sampler, resolve_num_workers(self.config.data.num_workers),
                             seed=self.config.train.seed * 1000 + self.context.rank,
                             pin_memory=self.device.type == "cuda")
        batches = iter(loader)
        bar = tqdm(total=config.steps, initial=self.step, desc=f"train {self.config.name}",
                   unit="step", disable=self.quiet, dynamic_ncols=True, file=sys.stderr)
        window_loss = torch.zeros((), dtype=torch.float64, device=self.device)
        window_aux = {name: torch.zeros((), dtype=torch.float64, device=self.device)
                      for name in self.aux_weights}
        window_steps = 0
        window_start = session_start = time.perf_counter()
        elapsed_before = self.elapsed
        last_loss: float | None = None
        clip = self.config.optim.clip_grad
        context_frames = 2 * self.model.radius
        hidden: Any = None
        self.model.train()
        try:
            while self.step < config.steps:
                part = self.step % self.chunks
                if part == 0:  # a new sample: new clips, cold state
                    lr_sample, gt_sample, *extra = next(batches)
                    pre_sample = extra[0].to(self.device, non_blocking=True) if extra else None
                    lr_sample = lr_sample.to(self.device, non_blocking=True)
                    gt_sample = gt_sample.to(self.device, non_blocking=True)
                    hidden = None
                first = part * self.chunk
                lr = lr_sample[:, first : first + self.chunk + context_frames]
                gt = gt_sample[:, first : first + self.chunk]
                pre = None if pre_sample is None else pre_sample[:, first : first + self.chunk + context_frames]
                with self.precision.autocast():
                    sr, hidden = self.parallel(lr, hidden, pre)
                hidden = detach_state(hidden)
                loss = self.loss_fn(sr, gt)
                if self.aux_weights:
                    terms = self.model.auxiliary_losses()
                    for name, weight in self.aux_weights.items():
                        loss = loss + weight * terms[name]
                        window_aux[name] += terms[name].detach()
                self.optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(loss).backward()
                if clip is not None:
                    self.scaler.unscale_(self.optimizer)
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
                step_lr = self.optimizer.param_groups[0]["lr"]
                self.scaler.step(self.optimizer)
                self.scaler.update()
                self.scheduler.step()
                if self.ema is not None:
                    self.ema.update_parameters(self.model)
                self.step += 1
                kill_point("step", self.step)
                window_loss += loss.detach()
                window_steps += 1
                self.elapsed = elapsed_before + time.perf_counter() - session_start
                bar.update(1)

                if self.step % config.log_interval == 0 or self.step == config.steps:
                    now = time.perf_counter()
                    mean = distributed.all_reduce_mean(window_loss / window_steps, self.context)
                    last_loss = float(mean)
                    if not math.isfinite(last_loss):
                        raise VidsrError(
                            f"the loss became {last_loss} by step {self.step}; lower optim.lr, "
                            "set optim.clip_grad, or use --precision fp32"
                        )
                    speed = window_steps * self.global_batch / max(now - window_start, 1e-9)
                    aux = {f"loss_{name}": float(distributed.all_reduce_mean(total / window_steps, self.context))
                           for name, total in window_aux.items()}  # unweighted
                    row = {"kind": "train", "step": self.step, "loss": last_loss, **aux, "lr": step_lr,
                           "samples_per_s": speed / self.chunks,
                           "frames_per_s": speed * self.chunk, "elapsed_s": self.elapsed}
                    if self.context.is_main:
                        self.log.write(row)
                    bar.set_postfix(loss=f"{last_loss:.4g}", lr=f"{step_lr:.2e}",
                                    samples_s=f"{speed:.1f}", refresh=False)
                    window_loss.zero_()
                    for total in window_aux.values():
                        total.zero_()
                    window_steps = 0
                    window_start = time.perf_counter()

                pause = time.perf_counter()
                if self.val_clips and (self.step % config.val_interval == 0
                                       or self.step == config.steps):
                    self._validate(bar)
                if self.step % config.checkpoint_interval == 0 or self.step == config.steps:
                    self._save("last.pt")
                window_start += time.perf_counter() - pause  # samples/s counts training only
        finally:
            bar.close()
            del batches  # stops the loader's worker processes
        if not self.quiet:
            best = (f"; best validation PSNR-Y {self.best['psnr_y']:.2f} dB, SSIM-Y "
                    f"{self.best['ssim_y']:.4f} at step {self.best['step']}" if self.best else "")
            print(f"vidsr train: done at step {self.step} in {self.elapsed:.0f} s; "
                  f"loss {last_loss:.4g}{best}; run folder {self.run_dir}", file=sys.stderr)
        return TrainResult(self.run_dir, self.step, last_loss, self.best)

    def _validate(self, bar: tqdm) -> None:
        """Score the validation clips. With ``train.ema`` both the averaged and the raw
        weights are scored (``raw`` in the row), and ``best.pt`` keeps whichever of the two
        is better (``best.weights``: ``ema`` or ``raw``; the average leads while the rate is
        high, the raw weights can overtake it near the end of a short cosine)."""
        scored = self.model if self.ema is None else self.ema.module
        scores = validate(scored, self.val_clips, self.val_precision, self.context, self.config.val.chunk)
        metric = self.config.val.best_metric
        candidate, weights = scores, None
        raw = None
        if self.ema is not None:
            raw_scores = validate(self.model, self.val_clips, self.val_precision, self.context,
                                  self.config.val.chunk)
            raw = {"psnr_y": raw_scores["psnr_y"], "ssim_y": raw_scores["ssim_y"]}
            candidate, weights = ((raw_scores, "raw") if raw_scores[metric] > scores[metric]
                                  else (scores, "ema"))
        improved = self.best is None or candidate[metric] > self.best[metric]
        if improved:
            self.best = {"step": self.step, "psnr_y": candidate["psnr_y"],
                         "ssim_y": candidate["ssim_y"], "clips": candidate["clips"],
                         **({} if weights is None else {"weights": weights})}
        if self.context.is_main:
            extra = {} if raw is None else {"ema": True, "raw": raw, "better": weights}
            self.log.write({"kind": "val", "step": self.step, "psnr_y": scores["psnr_y"],
                            "ssim_y": scores["ssim_y"], "clips": scores["clips"],
                            "best": improved, **extra})
            if not self.quiet:
                bar.write(f"step {self.step}: validation PSNR-Y {scores['psnr_y']:.2f} dB, "
                          f"SSIM-Y {scores['ssim_y']:.4f}"
                          + ("" if raw is None else f" (EMA; raw weights {raw['psnr_y']:.2f} dB)")
                          + ((" (best, " + weights + ")" if weights else " (best)") if improved else ""),
                          file=sys.stderr)
        kill_point("validation", self.step)  # its row logged, best.pt not yet written
        if improved:
            self._save("best.pt", raw_weights=weights == "raw")
