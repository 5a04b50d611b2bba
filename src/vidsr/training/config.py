"""Training configuration: YAML sections over defaults, then ``key=value`` overrides.

A config file holds the sections ``model``, ``data``, ``val``, ``optim``, ``schedule``,
``loss`` and ``train`` (plus a top-level ``name``); any key left out keeps its default
below. Overrides use dotted keys and YAML scalars: ``optim.lr=2e-4 train.steps=100
data.val_split=[blackswan,dog]``. Unknown keys are errors, so a typo never goes unseen.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vidsr.errors import VidsrError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
LOSSES = ("charbonnier", "l1", "mse")
OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("cosine", "step", "constant")


@dataclass
class ModelConfig:
    """Which network to train."""

    name: str = "delta"
    scale: int = 4
    init_weights: str | None = None  # start from these weights (safetensors or checkpoint)


@dataclass
class DataConfig:
    """Training clips, degradation and augmentation. ``batch_size`` is the global batch;
    ``num_workers`` is ``auto`` unless set (the loader sized to the machine, below)."""

    train_dirs: list[str] = field(default_factory=lambda: ["../shared/data/train/davis2016_480p"])
    degradation: str = "bi"  # bi, bd, or real (vidsr.data.real: drawn per clip from train.seed)
    sigma: float = 1.6  # Gaussian blur of the "bd" degradation
    real_variants: int = 1  # "real": degradations drawn per training clip (each a cached LR copy)
    real_plain_prob: float = 0.4  # "real": share of clips only downscaled (BI) and compressed (vidsr.data.real)
    real_crf: list[int] = field(default_factory=lambda: [18, 40])  # "real": x264's CRF range, drawn uniformly
    window: int = 7  # output frames per training sample (plus the model's radius of real context each side)
    # Output frames per optimiser step: a sample of ``window`` frames is trained as
    # window/chunk consecutive steps, the detached recurrent state carried from one to the
    # next (truncated back-propagation through time). None: the whole window in one step.
    chunk: int | None = None
    interval: list[int] = field(default_factory=lambda: [1])  # frame step(s), one drawn per sample
    reverse: bool = True  # random temporal reversal
    flip: bool = True  # random horizontal and vertical flips
    transpose: bool = True  # random transposition of height and width
    colour: float = 0.0  # share of samples recoloured: random channel order, per-channel gains
    # Share of samples that are synthetic camera pans over one still frame (TrainingWindows.pan_clip):
    # slow, sub-pixel motion, the kind that lets a recurrent model recover detail from the past.
    pan: float = 0.0
    pan_speed: float = 8.0  # largest pan speed, GT pixels per frame (8 at x4: 2 LR pixels)
    gt_patch: int = 128  # GT patch side (a multiple of the scale)
    batch_size: int = 8  # global: split evenly over the DDP ranks
    # DataLoader worker processes per training process: an integer, or "auto" for
    # resolve_num_workers(): min(4, CPUs this process may use / processes on this node - 1),
    # at least 0 (loading in the training process). "auto" stays in the saved config, so a
    # run resumed on another machine sizes itself to that machine.
    num_workers: int | str = "auto"
    val_split: int | list[str] = 2  # clips held out for validation: a count or names
    lr_cache: str | None = None  # folder for cached LR frames (None: in memory only)


@dataclass
class ValConfig:
    """Validation on whole held-out clips through the streaming path."""

    crop: int | None = 256  # centre GT crop side (None: whole frames)
    max_frames: int | None = 30  # first frames of each clip (None: all)
    chunk: int = 10  # frames pushed to the streamer at a time
    precision: str = "fp32"
    best_metric: str = "psnr_y"  # psnr_y or ssim_y (higher is better)


@dataclass
class OptimConfig:
    """Optimiser and gradient clipping."""

    name: str = "adam"
    lr: float = 4e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.99])
    weight_decay: float = 0.0
    clip_grad: float | None = 1.0  # max global gradient norm (None: no clipping)
    momentum: float = 0.0  # sgd only (Adam's moments are betas)
    # Parameter-name prefix -> multiple of lr for the parameters under it, e.g.
    # {core.feedback: 10}: a layer added at zero to trained weights learns at its own rate.
    lr_scale: dict[str, float] = field(default_factory=dict)


@dataclass
class ScheduleConfig:
    """Learning-rate schedule: cosine with linear warm-up (default), step or constant."""

    name: str = "cosine"
    warmup_steps: int = 500
    min_lr: float = 1e-7  # cosine floor
    milestones: list[int] = field(default_factory=list)  # step schedule
    gamma: float = 0.5  # step schedule factor at each milestone


@dataclass
class LossConfig:
    """Pixel loss between SR and GT frames."""

    name: str = "charbonnier"
    eps: float = 1e-3  # Charbonnier epsilon
    # Weights of the auxiliary losses a model returns (flow: Model.auxiliary_losses()):
    # photometric warping loss of its flow, and the flow's smoothness. 0: not computed.
    warp_weight: float = 0.0
    smooth_weight: float = 0.0


@dataclass
class TrainConfig:
    """Loop length, precision, seed, intervals, device and run folder."""

    steps: int = 100_000
    precision: str = "auto"  # auto, fp32, bf16, fp16
    seed: int = 0
    log_interval: int = 20
    val_interval: int = 2000
    checkpoint_interval: int = 500
    # Exponential moving average of the weights (BasicSR's ema_decay): 0 = off; e.g. 0.999.
    # With it on, validation scores the average and the raw weights, and best.pt (what
    # `vidsr export` ships) keeps whichever is better.
    ema: float = 0.0
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    run_dir: str | None = None  # default: ~/.cache/vidsr-runs/<name>


@dataclass
class Config:
    """The whole training configuration."""

    name: str = "run"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    val: ValConfig = field(default_factory=ValConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (YAML- and JSON-friendly)."""
        return dataclasses.asdict(self)


# Keys whose value is a mapping of the user's own keys, not a section.
_MAPPINGS = {"optim.lr_scale"}


def _merge(base: dict[str, Any], update: dict[str, Any], where: str, origin: str) -> None:
    """Recursively write ``update`` into ``base``, rejecting keys that ``base`` lacks."""
    for key, value in update.items():
        dotted = f"{where}{key}"
        if key not in base:
            known = ", ".join(sorted(base))
            raise VidsrError(f"{origin}: unknown config key {dotted!r} (known here: {known})")
        if dotted in _MAPPINGS:
            if not isinstance(value, dict):
                raise VidsrError(f"{origin}: {dotted} must be a mapping (e.g. {{core.feedback: 10}}), not {value!r}")
            base[key] = dict(value)
        elif isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise VidsrError(f"{origin}: {dotted!r} must be a section (a mapping)")
            _merge(base[key], value, f"{dotted}.", origin)
        else:
            base[key] = value


def parse_override(text: str) -> dict[str, Any]:
    """``"optim.lr=2e-4"`` -> ``{"optim": {"lr": 0.0002}}`` (value parsed as YAML)."""
    if "=" not in text:
        raise VidsrError(f"override {text!r} is not of the form key=value (e.g. optim.lr=2e-4)")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise VidsrError(f"override {text!r} has no key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as error:
        raise VidsrError(f"override {text!r}: value is not valid YAML ({_one_line(error)})") from None
    result: dict[str, Any] = {}
    node = result
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return result


def _check_override_type(update: dict[str, Any], defaults: dict[str, Any], origin: str) -> None:
    """A value of the wrong type in an override (``update``, one key) is blamed on the
    override (``origin``), not on the config file."""
    node: Any = update
    default: Any = defaults
    dotted = []
    while isinstance(node, dict) and len(node) == 1 and isinstance(default, dict):
        key, node = next(iter(node.items()))
        dotted.append(key)
        default = default.get(key)
    if not isinstance(default, dict) and ".".join(dotted) not in _MAPPINGS:
        _coerce(node, default, ".".join(dotted), origin)


def _one_line(error: yaml.YAMLError) -> str:
    """A YAML error in one line: what is wrong, and where (line and column, from 1)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else problem


def _number(value: Any) -> Any:
    """YAML 1.1 reads ``1e-3`` as a string (it wants ``1.0e-3``): accept the usual spelling."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _coerce(value: Any, default: Any, dotted: str, origin: str) -> Any:
    """Check a value against the type of its default; ints become floats where floats go."""
    if value is None or default is None:
        return value
    if dotted == "data.num_workers":
        return value  # auto or a count: see validate()
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise VidsrError(f"{origin}: {dotted} must be true or false, not {value!r}")
        return value
    if isinstance(default, float):
        value = _number(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise VidsrError(f"{origin}: {dotted} must be a number, not {value!r}")
        return float(value)
    if isinstance(default, int):
        if isinstance(value, list) and dotted == "data.val_split":
            if not all(isinstance(v, str) for v in value):
                raise VidsrError(
                    f"{origin}: data.val_split names must be strings: quote numeric clip "
                    f"names (REDS: ['000', '011', '015', '020']), got {value!r}"
                )
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise VidsrError(f"{origin}: {dotted} must be an integer, not {value!r}")
        return value
    if isinstance(default, str):
        if not isinstance(value, str):
            raise VidsrError(f"{origin}: {dotted} must be a string, not {value!r}")
        return value
    if isinstance(default, list):
        items = value if isinstance(value, list) else [value]
        if dotted == "data.train_dirs":
            return [str(v) for v in items]
        integers = all(isinstance(v, int) and not isinstance(v, bool) for v in items)
        if dotted in ("data.interval", "schedule.milestones") and not integers:
            raise VidsrError(f"{origin}: {dotted} must be a list of integers, not {value!r}")
        if dotted == "optim.betas":
            items = [_number(v) for v in items]
            if len(items) != 2 or not all(isinstance(v, (int, float)) for v in items):
                raise VidsrError(f"{origin}: optim.betas must be two numbers, not {value!r}")
            return [float(v) for v in items]
        return items
    return value


# Keys whose default is None and whose type must still be checked.
_OPTIONAL_TYPES: dict[str, type | tuple[type, ...]] = {
    "model.init_weights": str,
    "data.lr_cache": str,
    "data.chunk": int,
    "val.crop": int,
    "val.max_frames": int,
    "optim.clip_grad": (int, float),
    "train.run_dir": str,
}


def _build(cls: type, tree: dict[str, Any], prefix: str, origin: str) -> Any:
    defaults = cls()
    kwargs = {}
    for item in dataclasses.fields(cls):
        value = tree[item.name]
        default = getattr(defaults, item.name)
        dotted = f"{prefix}{item.name}"
        if dataclasses.is_dataclass(default):
            kwargs[item.name] = _build(type(default), value, f"{dotted}.", origin)
            continue
        expected = _OPTIONAL_TYPES.get(dotted)
        if dotted == "optim.clip_grad":
            value = _number(value)
        if expected is not None and value is not None:
            if isinstance(value, bool) or not isinstance(value, expected):
                raise VidsrError(f"{origin}: {dotted} has the wrong type: {value!r}")
            if dotted == "optim.clip_grad":
                value = float(value)
        kwargs[item.name] = _coerce(value, default, dotted, origin)
    return cls(**kwargs)


def validate(config: Config, origin: str = "config") -> Config:
    """Check values and their combinations; raises :class:`VidsrError` naming the key."""

    def fail(message: str) -> None:
        raise VidsrError(f"{origin}: {message}")

    if not config.name or "/" in config.name:
        fail(f"name must be a plain run name, not {config.name!r}")
    if config.model.scale not in (2, 3, 4):
        fail(f"model.scale must be 2, 3 or 4, not {config.model.scale}")
    data = config.data
    from vidsr.data.degradation import TRAINING_DEGRADATIONS

    if data.degradation not in TRAINING_DEGRADATIONS:
        fail(f"data.degradation must be bi, bd or real, not {data.degradation!r}")
    if not isinstance(data.real_variants, int) or data.real_variants < 1:
        fail(f"data.real_variants must be an integer of at least 1, not {data.real_variants!r}")
    if not isinstance(data.real_plain_prob, (int, float)) or not 0 <= data.real_plain_prob <= 1:
        fail(f"data.real_plain_prob must be a number from 0 to 1, not {data.real_plain_prob!r}")
    scales = config.optim.lr_scale
    if not isinstance(scales, dict) or not all(
        isinstance(k, str) and k and not isinstance(v, bool) and isinstance(v, (int, float)) and v > 0
        for k, v in scales.items()
    ):
        fail(f"optim.lr_scale must map parameter-name prefixes to positive numbers, not {scales!r}")
    crf = data.real_crf
    if not isinstance(crf, (list, tuple)) or len(crf) != 2 or not all(type(v) is int for v in crf) \
            or not 0 <= crf[0] <= crf[1] <= 51:
        fail(f"data.real_crf must be two integers [low, high], 0 <= low <= high <= 51, not {crf!r}")
    if not (math.isfinite(data.sigma) and data.sigma > 0):
        fail(f"data.sigma must be a positive number, not {data.sigma}")
    if not data.train_dirs:
        fail("data.train_dirs is empty")
    if data.window < 1:
        fail("data.window must be at least 1")
    if not 0.0 <= data.colour <= 1.0:
        fail(f"data.colour ({data.colour}) must be a share of samples in [0, 1]")
    if not 0.0 <= data.pan <= 1.0:
        fail(f"data.pan ({data.pan}) must be a share of samples in [0, 1]")
    if data.pan and data.degradation not in ("bi", "bd"):
        fail(f"data.pan needs the bi or bd degradation (made on the fly), not {data.degradation!r}")
    if data.pan_speed < 0:
        fail(f"data.pan_speed ({data.pan_speed}) must be at least 0 (GT pixels per frame)")
    if data.chunk is not None and (data.chunk < 1 or data.window % data.chunk):
        fail(f"data.chunk ({data.chunk}) must divide data.window ({data.window})")
    if not data.interval or min(data.interval) < 1:
        fail("data.interval must list positive frame steps")
    if data.gt_patch < config.model.scale or data.gt_patch % config.model.scale:
        fail(f"data.gt_patch ({data.gt_patch}) must be a positive multiple of model.scale")
    if data.batch_size < 1:
        fail("data.batch_size must be positive")
    if data.num_workers != "auto" and (
        isinstance(data.num_workers, bool) or not isinstance(data.num_workers, int)
        or data.num_workers < 0
    ):
        fail(f"data.num_workers must be auto or a count >= 0, not {data.num_workers!r}")
    if isinstance(data.val_split, int) and data.val_split < 0:
        fail("data.val_split cannot be negative")
    val = config.val
    if val.crop is not None and (val.crop < config.model.scale or val.crop % config.model.scale):
        fail(f"val.crop ({val.crop}) must be a multiple of model.scale (or null)")
    if val.max_frames is not None and val.max_frames < 1:
        fail("val.max_frames must be positive (or null)")
    if val.chunk < 1:
        fail("val.chunk must be positive")
    if val.precision not in PRECISIONS:
        fail(f"val.precision must be one of {', '.join(PRECISIONS)}")
    if val.best_metric not in ("psnr_y", "ssim_y"):
        fail("val.best_metric must be psnr_y or ssim_y")
    optim = config.optim
    if optim.name not in OPTIMIZERS:
        fail(f"optim.name must be one of {', '.join(OPTIMIZERS)}, not {optim.name!r}")
    if not (math.isfinite(optim.lr) and optim.lr > 0):
        fail(f"optim.lr must be a positive number, not {optim.lr}")
    if not (math.isfinite(optim.weight_decay) and optim.weight_decay >= 0):
        fail(f"optim.weight_decay must be 0 or more, not {optim.weight_decay}")
    if not all(0 <= beta < 1 for beta in optim.betas):
        fail(f"optim.betas must be two numbers in [0, 1), not {optim.betas}")
    if optim.clip_grad is not None and optim.clip_grad <= 0:
        fail("optim.clip_grad must be positive (or null)")
    if not 0 <= optim.momentum < 1:
        fail("optim.momentum must be in [0, 1)")
    if optim.momentum and optim.name != "sgd":
        fail(f"optim.momentum is for sgd; {optim.name} uses optim.betas")
    schedule = config.schedule
    if schedule.name not in SCHEDULES:
        fail(f"schedule.name must be one of {', '.join(SCHEDULES)}, not {schedule.name!r}")
    if schedule.warmup_steps < 0:
        fail("schedule.warmup_steps cannot be negative")
    if not (math.isfinite(schedule.min_lr) and schedule.min_lr >= 0):
        fail(f"schedule.min_lr must be 0 or more, not {schedule.min_lr}")
    if not (math.isfinite(schedule.gamma) and schedule.gamma > 0):
        fail(f"schedule.gamma must be a positive factor, not {schedule.gamma}")
    if not (math.isfinite(config.loss.eps) and config.loss.eps > 0):
        fail(f"loss.eps must be a positive number, not {config.loss.eps}")
    if config.loss.name not in LOSSES:
        fail(f"loss.name must be one of {', '.join(LOSSES)}, not {config.loss.name!r}")
    for key in ("warp_weight", "smooth_weight"):
        if not getattr(config.loss, key) >= 0:  # (nan too)
            fail(f"loss.{key} must be 0 or more, not {getattr(config.loss, key)}")
    train = config.train
    if train.steps < 1:
        fail("train.steps must be positive")
    if not 0 <= train.seed < 2**32:
        fail(f"train.seed must be from 0 to 2**32 - 1, not {train.seed}")
    if train.precision not in PRECISIONS:
        fail(f"train.precision must be one of {', '.join(PRECISIONS)}, not {train.precision!r}")
    for key in ("log_interval", "val_interval", "checkpoint_interval"):
        if getattr(train, key) < 1:
            fail(f"train.{key} must be positive")
    if not 0.0 <= train.ema < 1.0:
        fail(f"train.ema must be in [0, 1) (0 = off, e.g. 0.999), not {train.ema}")
    if train.checkpoint_interval % train.log_interval:
        # A resumed run restarts its loss window at the checkpoint: only a checkpoint on a
        # log step makes its metrics.jsonl the same as that of a run that never stopped.
        fail(f"train.checkpoint_interval ({train.checkpoint_interval}) must be a multiple of "
             f"train.log_interval ({train.log_interval})")
    chunks = sequence_steps(config)
    for key in ("steps", "checkpoint_interval"):
        if getattr(train, key) % chunks:
            # A checkpoint must fall between two samples: the recurrent state carried across
            # the steps of one sample is not saved.
            fail(f"train.{key} ({getattr(train, key)}) must be a multiple of data.window / "
                 f"data.chunk ({chunks}): the optimiser steps of one training sample")
    return config


def sequence_steps(config: Config) -> int:
    """Optimiser steps per training sample (truncated BPTT): ``window / chunk``."""
    chunk = config.data.chunk or config.data.window
    return config.data.window // chunk


def resolve_num_workers(value: int | str) -> int:
    """``data.num_workers`` as a count. ``auto``: the CPUs this process may use
    (``os.sched_getaffinity``, which honours taskset and container CPU sets; else
    ``os.cpu_count()``) shared among the processes torchrun starts on this node
    (``LOCAL_WORLD_SIZE``), less one for the training process itself, at most 4 and at
    least 0 (0: batches are loaded in the training process)."""
    if value != "auto":
        return int(value)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    processes = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return min(4, max(0, cpus // processes - 1))


def config_from_dict(tree: dict[str, Any], overrides: list[str] = (), origin: str = "config") -> Config:
    """Defaults, then ``tree``, then the ``key=value`` overrides; validated."""
    resolved = Config().to_dict()
    _merge(resolved, tree, "", origin)
    derived = resolved.get("name") == _derived_name(resolved)  # e.g. flow_x4_bi for that model
    defaults = Config().to_dict()
    for text in overrides:
        update = parse_override(text)
        _merge(resolved, update, "", f"override {text!r}")
        _check_override_type(update, defaults, f"override {text!r}")
    if derived and not any(text.partition("=")[0].strip() == "name" for text in overrides):
        # model.scale=2 on flow_x4_bi.yaml trains flow_x2_bi: its name (progress bar, default
        # run folder) follows, so that it cannot resume or overwrite the x4 run's folder.
        resolved["name"] = _derived_name(resolved)
    config = _build(Config, resolved, "", origin)
    try:
        return validate(config, origin)
    except VidsrError as error:  # a bad value set by an override is blamed on the override
        message = str(error).removeprefix(f"{origin}: ")
        for text in reversed(overrides):
            if message.startswith(text.partition("=")[0].strip() + " "):
                raise VidsrError(f"override {text!r}: {message}") from None
        raise


def _derived_name(tree: dict[str, Any]) -> str:
    """``<model>_x<scale>_<degradation>``, the name of the configs in ``configs/``."""
    model, data = tree.get("model", {}), tree.get("data", {})
    return f"{model.get('name')}_x{model.get('scale')}_{data.get('degradation')}"


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path`` (empty file: empty mapping)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VidsrError(f"config file not found: {path}") from None
    except OSError as error:
        raise VidsrError(f"cannot read config {path}: {error}") from None
    try:
        tree = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise VidsrError(f"{path} is not valid YAML: {_one_line(error)}") from None
    if tree is None:
        return {}
    if not isinstance(tree, dict):
        raise VidsrError(f"{path} must hold a YAML mapping of config sections")
    return tree


def load_config(path: str | Path | None, overrides: list[str] = ()) -> Config:
    """Read a YAML config (or the defaults when ``path`` is None) and apply overrides.

    Without a ``name`` key, the run is named after the file (``configs/delta_x4_bi.yaml``
    -> ``delta_x4_bi``).
    """
    if path is None:
        return config_from_dict({}, overrides, "defaults")
    tree = read_yaml(path)
    tree.setdefault("name", Path(path).stem)
    return config_from_dict(tree, overrides, str(path))


def save_config(config: Config, path: str | Path) -> None:
    """Write the resolved config as YAML."""
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")


# Keys that may differ between a run and its continuation (they change neither the data
# stream nor the updates); anything else must match the run's saved config.
RESUMABLE_CHANGES = {
    "train.steps",
    "train.log_interval",
    "train.val_interval",
    "train.checkpoint_interval",
    "train.run_dir",
    "train.ema",  # switched on mid-run: the average starts from the weights of that step
    "data.num_workers",
    "data.lr_cache",
    "name",  # a label: runs started before names followed model.scale overrides still resume
}


def config_differences(a: Config, b: Config) -> list[str]:
    """Dotted keys whose values differ between two configs."""

    def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in tree.items():
            if isinstance(value, dict):
                out.update(flatten(value, f"{prefix}{key}."))
            else:
                out[f"{prefix}{key}"] = value
        return out

    left, right = flatten(a.to_dict()), flatten(b.to_dict())
    return sorted(key for key in left if left[key] != right.get(key))
