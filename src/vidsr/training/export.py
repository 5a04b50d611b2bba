"""``vidsr export``: a run's weights as safetensors, with a model card (JSON and Markdown).

The card says what the weights are and how they were made: model, scale, degradation,
data, steps, time, hardware, command, git commit and validation scores. Shipped weights
live at ``src/vidsr/weights/<name>_x<scale>_<degradation>.safetensors`` with their cards.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import vidsr
from vidsr.errors import VidsrError, create_parent
from vidsr.models.weights import save_weights
from vidsr.training.checkpoint import load_checkpoint, shipped_weights
from vidsr.training.config import config_from_dict


# Files of a run folder named like a card (NAME.json) that an export there must not replace.
RUN_FILE_STEMS = ("env", "init_lineage")


def read_env(path: Path) -> dict[str, Any] | None:
    """A run's ``env.json`` (None when missing, or unreadable: said on stderr, not fatal)."""
    if not path.is_file():
        return None
    try:
        env = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        print(f"vidsr: warning: {path} is unreadable ({error}); the card has no hardware or command",
              file=sys.stderr)  # fmt: skip
        return None
    return env if isinstance(env, dict) else None


def command_text(command: Any) -> str | None:
    """The training command of an ``env.json`` (a list of arguments) as one line."""
    if isinstance(command, str):
        return command or None
    return " ".join(str(part) for part in command or []) or None


def choose_checkpoint(run_dir: Path, which: str = "auto") -> Path:
    """``best.pt`` or ``last.pt`` of a run (``auto``: best when validation ran, else last)."""
    if not run_dir.is_dir():
        raise VidsrError(f"run folder not found: {run_dir}")
    if which not in ("auto", "best", "last"):
        raise VidsrError(f"--checkpoint must be best, last or auto, not {which!r}")
    names = ["best.pt", "last.pt"] if which == "auto" else [f"{which}.pt"]
    for name in names:
        if (run_dir / name).is_file():
            return run_dir / name
    raise VidsrError(f"no {' or '.join(names)} in {run_dir}: has the run saved a checkpoint yet?")


def duration_text(seconds: float) -> str:
    """Seconds as ``"1h 02m 03s"``, the model cards' format."""
    hours, rest = divmod(int(round(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s"


def earlier_stages(init_weights: str | None, depth: int = 0) -> list[dict[str, Any]]:
    """The runs whose weights a run started from (``model.init_weights``), oldest first.

    A checkpoint (``.pt``) gives its step, samples, time and command (from the ``env.json``
    beside it), and its own starting point in turn; so does a safetensors file with its model
    card (``.json``) beside it, from the card; other weight files give only their path. A
    safetensors file is also named by its sha256, since shipped files get overwritten.
    """
    if not init_weights:
        return []
    path = Path(init_weights).expanduser()
    stage: dict[str, Any] = {"weights": str(path)}
    earlier: list[dict[str, Any]] = []
    if path.suffix == ".pt" and path.is_file() and depth < 10:
        checkpoint = load_checkpoint(path)
        config = checkpoint["config"]
        env = read_env(path.parent / "env.json") or {}
        elapsed = float(checkpoint.get("elapsed_s", 0.0))
        stage.update({
            "step": checkpoint["step"],
            "samples_seen": checkpoint.get("samples"),
            "batch_size": config["data"]["batch_size"],
            "window": config["data"]["window"],
            "gt_patch": config["data"]["gt_patch"],
            "degradation": config["data"]["degradation"],
            "training_time_s": round(elapsed, 1),
            "training_time": duration_text(elapsed),
            "command": command_text(env.get("command")),
        })
        earlier = run_lineage(path.parent, config["model"].get("init_weights"), depth + 1)
    elif path.suffix == ".safetensors" and path.is_file():
        stage["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    if path.suffix == ".safetensors" and path.with_suffix(".json").is_file():
        card = json.loads(path.with_suffix(".json").read_text())
        stage.update({key: card.get(key) for key in (
            "step", "samples_seen", "degradation", "training_time_s", "training_time", "command")})
        stage.update({key: card.get("data", {}).get(key) for key in ("batch_size", "window", "gt_patch")})
        earlier = list(card.get("initialised_from") or [])
    return [*earlier, stage]


LINEAGE_FILE = "init_lineage.json"


def record_lineage(run_dir: Path, init_weights: str | None) -> None:
    """Write the lineage of ``init_weights`` into a new run's folder, as it is when the run starts.

    A run often starts from the shipped weights that its own export will overwrite; read at
    export time, the lineage would then name the run itself (or an earlier export of it).
    """
    if init_weights:
        lineage = {"init_weights": str(init_weights), "stages": earlier_stages(init_weights)}
        (run_dir / LINEAGE_FILE).write_text(json.dumps(lineage, indent=2) + "\n", encoding="utf-8")


def run_lineage(run_dir: Path, init_weights: str | None, depth: int = 0) -> list[dict[str, Any]]:
    """The runs a run started from: those recorded when it started, else as read now."""
    recorded = run_dir / LINEAGE_FILE
    if init_weights and recorded.is_file():
        lineage = json.loads(recorded.read_text(encoding="utf-8"))
        if lineage.get("init_weights") == str(init_weights):
            return list(lineage["stages"])
    return earlier_stages(init_weights, depth)


def model_card(checkpoint: dict[str, Any], checkpoint_path: Path, weights: Path,
               env: dict[str, Any] | None, parameters: int) -> dict[str, Any]:
    """The card's fields as a JSON-friendly dict."""
    config = checkpoint["config"]
    data, train = config["data"], config["train"]
    best = checkpoint.get("best")
    env = env or {}
    card: dict[str, Any] = {
        "model": config["model"]["name"],
        "scale": config["model"]["scale"],
        "degradation": data["degradation"],
        "parameters": parameters,
        "weights": weights.name,
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "checkpoint": checkpoint_path.name,
        "step": checkpoint["step"],
        "steps_planned": train["steps"],
        "samples_seen": checkpoint.get("samples"),
        "training_time_s": round(float(checkpoint.get("elapsed_s", 0.0)), 1),
        "training_time": duration_text(float(checkpoint.get("elapsed_s", 0.0))),
        "data": {
            "train_dirs": data["train_dirs"],
            "train_clips": checkpoint.get("train_clips"),
            "val_clips": checkpoint.get("val_clips"),
            "window": data["window"],
            "interval": data["interval"],
            "gt_patch": data["gt_patch"],
            "batch_size": data["batch_size"],
        },
        "optimisation": {
            "loss": config["loss"]["name"],
            "optimizer": config["optim"]["name"],
            "lr": config["optim"]["lr"],
            "schedule": config["schedule"]["name"],
            "precision": checkpoint.get("precision"),
            "seed": train["seed"],
            # The shipped weights: the moving average (decay train.ema) or the raw weights.
            "ema": train.get("ema", 0.0) if checkpoint.get("ema") else None,
        },
        "hardware": env.get("hardware"),
        "world_size": checkpoint.get("world_size"),
        "command": command_text(env.get("command")),
        "git_commit": (env.get("git") or {}).get("commit"),
        "git_dirty": (env.get("git") or {}).get("dirty"),
        "torch": env.get("torch"),
        "vidsr": vidsr.__version__,
        "validation": None,
        "initialised_from": run_lineage(checkpoint_path.parent, config["model"].get("init_weights")),
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if data["degradation"] == "bd":
        card["sigma"] = data["sigma"]
    total = card["training_time_s"] + sum(s.get("training_time_s", 0.0) for s in card["initialised_from"])
    card["total_training_time_s"] = round(total, 1)
    card["total_training_time"] = duration_text(total)
    if best:
        card["validation"] = {
            "step": best["step"],
            "psnr_y": round(best["psnr_y"], 4),
            "ssim_y": round(best["ssim_y"], 5),
            "clips": best.get("clips"),
            "protocol": (
                f"held-out training clips (not Vid4), centre crop {config['val']['crop']} px, "
                f"first {config['val']['max_frames']} frames, Y channel, no border crop"
            ),
        }
    return card


def card_markdown(card: dict[str, Any]) -> str:
    """A short human-readable card."""
    lines = [
        f"# {card['model']} x{card['scale']} {card['degradation'].upper()}",
        "",
        f"Weights `{card['weights']}` (sha256 `{card['sha256'][:16]}...`), "
        f"{card['parameters']:,} parameters, exported from `{card['checkpoint']}` "
        f"at step {card['step']} of {card['steps_planned']}.",
        "",
        "| | |",
        "| --- | --- |",
        f"| degradation | {card['degradation'].upper()}"
        + (f" (sigma {card['sigma']})" if "sigma" in card else "") + " |",
        f"| training data | {', '.join(map(str, card['data']['train_dirs']))} |",
        f"| training clips | {len(card['data']['train_clips'] or [])} |",
        f"| validation clips | {', '.join(card['data']['val_clips'] or []) or 'none'} |",
        f"| samples seen | {card['samples_seen']} (batch {card['data']['batch_size']}, "
        f"{card['data']['window']} frames, GT patch {card['data']['gt_patch']}) |",
        f"| optimisation | {card['optimisation']['loss']} loss, {card['optimisation']['optimizer']} "
        f"lr {card['optimisation']['lr']}, {card['optimisation']['schedule']} schedule, "
        f"{card['optimisation']['precision']}"
        + (f", weights averaged (EMA {card['optimisation']['ema']})" if card['optimisation'].get('ema') else "")
        + " |",
        f"| training time | {card['training_time']}"
        + (f" (this run; {card['total_training_time']} with the earlier runs below)"
           if card["initialised_from"] else "") + " |",
        f"| hardware | {card['hardware']} x{card['world_size']} |",
        f"| command | `{card['command']}` |",
        f"| git commit | {card['git_commit']}" + (" (dirty)" if card.get("git_dirty") else "") + " |",
    ]
    stages = card.get("initialised_from") or []
    if stages:
        lines += ["", "Started from the weights of earlier runs (oldest first):", ""]
        for stage in stages:
            name = f"`{stage['weights']}`" + (f" (sha256 `{stage['sha256'][:16]}...`)" if "sha256" in stage else "")
            if "step" not in stage:
                lines.append(f"- {name}")
                continue
            lines.append(
                f"- {name}: step {stage['step']}, {stage['samples_seen']} samples "
                f"(batch {stage['batch_size']}, {stage['window']} frames, GT patch {stage['gt_patch']}, "
                f"{stage['degradation'].upper()}), {stage['training_time']}; `{stage['command']}`"
            )
    validation = card.get("validation")
    if validation:
        lines += [
            "",
            f"Validation at step {validation['step']}: PSNR-Y **{validation['psnr_y']:.2f} dB**, "
            f"SSIM-Y **{validation['ssim_y']:.4f}** ({validation['protocol']}).",
        ]
    else:
        lines += ["", "No validation was run."]
    return "\n".join(lines) + "\n"


def export_run(run_dir: str | Path, out: str | Path, which: str = "auto") -> dict[str, Any]:
    """Write ``out`` (.safetensors) and its cards ``out.json`` / ``out.md``; returns the card."""
    from vidsr.training.trainer import build_model

    run_dir, out = Path(run_dir).expanduser(), Path(out).expanduser()
    if out.suffix != ".safetensors":
        raise VidsrError(f"the output must be a .safetensors file, not {out}")
    if out.is_dir():
        raise VidsrError(f"{out} is a folder: give the name of the .safetensors file to write")
    if out.with_suffix("").resolve().parent == run_dir.resolve() and out.stem in RUN_FILE_STEMS:
        raise VidsrError(f"{out} would write its card over the run's own {out.stem}.json: choose another name")
    path = choose_checkpoint(run_dir, which)
    checkpoint = load_checkpoint(path)
    config = config_from_dict(checkpoint["config"], origin=str(path))
    model = build_model(config.model.name, config.model.scale, config.data.degradation)
    model.load_state_dict(shipped_weights(checkpoint))
    create_parent(out)
    metadata = {
        "format": "pt",
        "model": config.model.name,
        "scale": str(config.model.scale),
        "degradation": config.data.degradation,
        "lr_grid": model.lr_grid,
        "step": str(checkpoint["step"]),
        "vidsr": vidsr.__version__,
    }
    save_weights(model, out, metadata=metadata)
    env = read_env(run_dir / "env.json")
    parameters = sum(p.numel() for p in model.parameters())
    card = model_card(checkpoint, path, out, env, parameters)
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(card_markdown(card), encoding="utf-8")
    return card
