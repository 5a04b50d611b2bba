"""Pre-train ``flow``'s optical-flow network alone, on LR frame pairs, before the full model.

    python -m vidsr.training.flow_pretrain --config configs/flow_x4_bi.yaml \\
        --out ~/.cache/vidsr-runs/flow_x4_bi_pre.safetensors
    vidsr train --config configs/flow_x4_bi.yaml \\
        model.init_weights=~/.cache/vidsr-runs/flow_x4_bi_pre.safetensors

Why: inside the full model the flow network (zero-initialised, so the model starts as
delta) learns slowly. Its photometric loss reaches it directly, but every step also pays for
the whole super-resolution network, and at a fine-tuning learning rate 150 steps moved it
to explaining only 3-5% of the frame-to-frame difference. The flow network alone costs
about a fifth of the model per LR pixel and needs no HR frames, so here it is trained by
itself (unsupervised, as SPyNet-style estimators are when no flow ground truth exists):
the loss is the trainer's auxiliary loss, Charbonnier(warp(frame t-1, flow), frame t)
plus ``loss.smooth_weight / loss.warp_weight`` times the flow smoothness, on random LR
patches of consecutive training frames (either order, random flips and transposition).

The model is built from the config (``model.name: flow``) and its ``model.init_weights``
(delta's, warm-started), so the file written holds the whole model: the same delta plus a
trained flow network. Validation clips (``data.val_split``) are never trained on; the
share of the frame difference the flow explains on them is printed at the end
(:func:`explained_motion`; ``benchmarks/flow_check.py`` prints it per clip).
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from vidsr.errors import VidsrError
from vidsr.models import create
from vidsr.models.flow import Flow, warp
from vidsr.models.layers import luma
from vidsr.models.weights import load_weights, save_weights
from vidsr.training.config import Config, load_config
from vidsr.training.data import (
    Clip,
    discover_clips,
    load_clips,
    split_clips,
    validation_clips,
)
from vidsr.training.export import duration_text, earlier_stages
from vidsr.training.losses import flow_smoothness, warping_loss


def explained_motion(model: Flow | Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                     lr: torch.Tensor) -> dict[str, float]:
    """How much of the difference between consecutive frames ``lr`` ``(T, 3, h, w)`` the flow
    of ``model`` (a :class:`Flow`, or any ``flow(current, previous)`` giving ``(1, 2, h, w)``
    in LR pixels) explains: mean |Y(t) - Y(t-1)| (``no_warp``), mean |Y(t) - Y(warp(t-1))|
    (``warped``), ``explained = 1 - warped / no_warp``, and the mean and 99th percentile flow length."""
    estimate = model.flow if isinstance(model, Flow) else model
    plain, warped, lengths = [], [], []
    with torch.no_grad():
        for t in range(1, len(lr)):
            previous, current = lr[t - 1 : t], lr[t : t + 1]
            flow = estimate(current, previous)
            plain.append(255 * (luma(current) - luma(previous)).abs().mean().item())  # Y, 0-255 scale
            warped.append(255 * (luma(current) - luma(warp(previous, flow))).abs().mean().item())
            lengths.append(flow.norm(dim=1).flatten())
    length = torch.cat(lengths)
    no_warp, with_warp = float(np.mean(plain)), float(np.mean(warped))
    sample = length[:: max(1, len(length) // 100_000)]
    return {"no_warp": no_warp, "warped": with_warp, "explained": 1 - with_warp / max(no_warp, 1e-12),
            "flow_mean": length.mean().item(), "flow_p99": torch.quantile(sample, 0.99).item()}


def random_pairs(clips: Sequence[Clip], batch: int, patch: int,
                 rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch`` random LR patches of consecutive frames: ``(previous, current)``, each
    ``(batch, 3, patch, patch)`` in [0, 1]; either temporal order, random flips and transposition."""
    previous, current = [], []
    for _ in range(batch):
        clip = clips[rng.integers(len(clips))]
        frames, height, width = clip.lr.shape[:3]
        t = int(rng.integers(1, frames))
        top, left = int(rng.integers(0, height - patch + 1)), int(rng.integers(0, width - patch + 1))
        pair = clip.lr[t - 1 : t + 1, top : top + patch, left : left + patch]  # (2, p, p, 3)
        if rng.random() < 0.5:
            pair = pair[::-1]
        if rng.random() < 0.5:
            pair = pair[:, :, ::-1]
        if rng.random() < 0.5:
            pair = pair[:, ::-1]
        if rng.random() < 0.5:
            pair = pair.transpose(0, 2, 1, 3)
        tensor = torch.from_numpy(np.ascontiguousarray(pair)).permute(0, 3, 1, 2).float() / 255
        previous.append(tensor[0])
        current.append(tensor[1])
    return torch.stack(previous), torch.stack(current)


def pretrain_flow(model: Flow, clips: Sequence[Clip], steps: int, batch: int = 16, patch: int = 64,
                  lr: float = 1e-3, smooth: float = 0.1, seed: int = 0, progress: bool = True) -> list[float]:
    """Train ``model.flow`` alone for ``steps`` Adam steps (cosine learning rate to 0);
    returns the loss of every step. The rest of the model is not touched."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(model.flow.parameters(), lr=lr, betas=(0.9, 0.99))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps)))
    model.flow.train()
    losses = []
    bar = tqdm(range(steps), desc="flow pre-training", unit="step", disable=not progress)
    for _ in bar:
        previous, current = random_pairs(clips, batch, patch, rng)
        flow = model.flow(current, previous)
        loss = warping_loss(previous, current, flow) + smooth * flow_smoothness(flow)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.flow.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.5f}")
    model.flow.eval()
    return losses


def pretrain_card(config: Config, steps: int, batch: int, patch: int, seconds: float,
                  command: Sequence[str], flow_from: str | None = None) -> dict[str, Any]:
    """The JSON written beside the pre-trained weights, in the fields that
    :func:`vidsr.training.export.earlier_stages` reads, so that the card of a run started
    from them lists this stage and the runs before it."""
    earlier = earlier_stages(config.model.init_weights)
    if flow_from:  # the flow network's own earlier stage (e.g. the BI pre-training for BD)
        earlier.append(earlier_stages(flow_from)[-1])
    return {
        "model": "flow", "scale": config.model.scale, "degradation": config.data.degradation,
        "step": steps, "samples_seen": steps * batch,
        "data": {"batch_size": batch, "window": 2, "gt_patch": patch * config.model.scale},
        "training_time_s": round(seconds, 1), "training_time": duration_text(seconds),
        "command": shlex.join(command), "flow_from": flow_from,
        "what": "flow network alone on LR frame pairs (vidsr.training.flow_pretrain); the rest of the model "
                "is model.init_weights unchanged",
        "initialised_from": earlier,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="a flow training config (configs/flow_x4_*.yaml)")
    parser.add_argument("--out", required=True, help="weights file to write (.safetensors): the whole model")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=64, help="LR patch side")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--flow-from", default=None, metavar="FILE",
                        help="start the flow network from another flow model's weights (e.g. the BI one for BD)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("overrides", nargs="*", help="config overrides key=value")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_config(args.config, args.overrides)
    if config.model.name != "flow":
        raise VidsrError(f"{args.config} trains {config.model.name}, not flow")
    model = create("flow", config.model.scale, degradation=config.data.degradation, pretrained=False)
    if config.model.init_weights:
        load_weights(model, Path(config.model.init_weights).expanduser(), keep_grid=True, warm_start=True)
    if args.flow_from:
        donor = create("flow", config.model.scale, weights=args.flow_from)
        model.flow.load_state_dict(donor.flow.state_dict())
    data = config.data
    folders = discover_clips(data.train_dirs)
    train_names, val_names = split_clips(list(folders), data.val_split)
    clips = load_clips({name: folders[name] for name in train_names}, config.model.scale, data.degradation,
                       data.sigma, data.lr_cache, seed=config.train.seed)
    held_out = load_clips({name: folders[name] for name in val_names}, config.model.scale, data.degradation,
                          data.sigma, data.lr_cache, seed=config.train.seed)
    views = validation_clips(held_out, config.model.scale, config.val.crop, config.val.max_frames)

    def report(when: str) -> None:
        for view in views:
            row = explained_motion(model, torch.from_numpy(view.lr).permute(0, 3, 1, 2).float() / 255)
            print(f"{when}: {view.name}: explained {row['explained']:.1%} of the frame difference "
                  f"({row['no_warp']:.2f} -> {row['warped']:.2f} Y), |flow| mean {row['flow_mean']:.2f} "
                  f"p99 {row['flow_p99']:.2f} LR px", flush=True)

    report("before")
    smooth = config.loss.smooth_weight / config.loss.warp_weight if config.loss.warp_weight > 0 else 0.1
    start = time.time()
    losses = pretrain_flow(model, clips, args.steps, args.batch, args.patch, args.lr, smooth, config.train.seed)
    seconds = time.time() - start
    print(f"{args.steps} steps in {seconds:.0f} s, loss {np.mean(losses[:50]):.5f} -> "
          f"{np.mean(losses[-50:]):.5f}")
    report("after")
    save_weights(model, Path(args.out).expanduser(), {
        "model": "flow", "scale": str(config.model.scale), "degradation": data.degradation,
        "lr_grid": model.lr_grid, "flow_pretrain_steps": str(args.steps),
        "initialised_from": str(config.model.init_weights), "flow_from": str(args.flow_from)})
    card = pretrain_card(config, args.steps, args.batch, args.patch, seconds,
                         ["python", "-m", "vidsr.training.flow_pretrain", *sys.argv[1:]] if argv is None
                         else ["python", "-m", "vidsr.training.flow_pretrain", *argv], args.flow_from)
    Path(args.out).expanduser().with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {args.out} and its card {Path(args.out).with_suffix('.json').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
