"""`vidsr train`: train a model from a YAML config, on one device or under torchrun.

    vidsr train --config configs/delta_x4_bi.yaml optim.lr=2e-4 train.steps=20000
    vidsr train --resume --run-dir ~/.cache/vidsr-runs/delta_x4_bi
    torchrun --nproc_per_node=4 -m vidsr train --config configs/delta_x4_bi.yaml
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vidsr.errors import VidsrError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model from a YAML config (torchrun for several GPUs/machines)",
        description=(
            "Train a model. The config's sections (model, data, val, optim, schedule, loss, "
            "train) are overridden by KEY=VALUE arguments with dotted keys, e.g. "
            "optim.lr=2e-4 train.steps=1000. The run folder (default "
            "~/.cache/vidsr-runs/<name>) receives config.yaml, env.json, metrics.jsonl, "
            "last.pt and best.pt. Several processes: torchrun --nproc_per_node=N -m vidsr "
            "train ... (data.batch_size is the global batch)."
        ),
    )
    parser.add_argument("--config", "-c", metavar="FILE.yaml",
                        help="training config (default: the built-in defaults, or with "
                             "--resume --run-dir the run's own config.yaml)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="config overrides with dotted keys, values as YAML scalars")
    parser.add_argument("--run-dir", metavar="DIR",
                        help="run folder (default: train.run_dir, else ~/.cache/vidsr-runs/<name>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in the run folder from last.pt (starts it if absent)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"),
                        help="same as train.precision=... (auto: bf16/fp16 on GPU, fp32 on "
                             "CPUs without native bf16)")
    parser.add_argument("--device", help="same as train.device=... (auto, cpu, cuda, cuda:N)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar or messages")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidsr.training.config import load_config
    from vidsr.training.trainer import resolve_run_dir, train

    overrides = list(args.overrides)
    if args.precision:
        overrides.append(f"train.precision={args.precision}")
    if args.device:
        overrides.append(f"train.device={args.device}")
    folder = Path(args.run_dir).expanduser() if args.run_dir else None
    if folder is not None and folder.exists() and not folder.is_dir():
        raise VidsrError(f"--run-dir {folder} is a file, not a run folder")
    if args.config:
        config = load_config(args.config, overrides)
    elif args.resume and folder is not None and (folder / "config.yaml").is_file():
        config = load_config(folder / "config.yaml", overrides)  # continue with the run's own config
    elif args.resume and folder is not None and (folder / "last.pt").is_file():
        from vidsr.training.checkpoint import load_checkpoint
        from vidsr.training.config import config_from_dict

        last = folder / "last.pt"  # (config.yaml lost): the config the checkpoint holds
        config = config_from_dict(load_checkpoint(last)["config"], overrides, origin=str(last))
    elif args.resume and folder is not None:
        raise VidsrError(f"nothing to resume in {folder} (no last.pt or config.yaml): give --config FILE to "
                         "start a run there")  # fmt: skip
    else:
        config = load_config(None, overrides)  # the defaults: delta x4 BI on DAVIS
    train(config, resolve_run_dir(config, args.run_dir), resume=args.resume, quiet=args.quiet)
    return 0
