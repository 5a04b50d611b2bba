"""How far each inference path is from torch fp32 on Vid4 x4 BI (issue 14's exactness bar).

Runs ``vidsr evaluate`` once per backend and precision (one torch thread each; a JSON per
path in ``--out``, reused when it is already there), then prints a Markdown table: Y-PSNR,
its difference from torch fp32 (bar: 0.02 dB, INT8 0.05 dB) and TC, per model.

    .venv/bin/python benchmarks/exactness.py --data ../shared/data/vid4/GT --models delta,five_parallel \\
        --out ~/.cache/vidsr-runs
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

PATHS = [("torch", "fp32"), ("torch", "bf16"), ("onnxruntime", "fp32"), ("openvino", "fp32"), ("openvino", "bf16"),
         ("openvino", "int8")]  # fmt: skip
BAR_DB = {"int8": 0.05}  # others: 0.02


def evaluate(data: str, models: str, backend: str, precision: str, out: Path) -> dict | None:
    """The JSON of one path (run now unless ``out`` holds it); None when the path cannot run here."""
    target = out / f"exact_{backend}_{precision}.json"
    if not target.is_file():
        command = [sys.executable, "-m", "vidsr", "evaluate", "--data", data, "--models", models, "--backend", backend,
                   "--precision", precision, "--json", str(target)]  # fmt: skip
        print("running:", " ".join(command), flush=True)
        done = subprocess.run(command, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True)
        if done.returncode != 0:
            print(f"  {backend} {precision}: skipped ({done.stderr.strip().splitlines()[-1:]})", flush=True)
            return None
    return json.loads(target.read_text())["models"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/vid4/GT")
    parser.add_argument("--models", default="delta,five_parallel")
    parser.add_argument("--out", type=Path, default=Path("exactness"))
    args = parser.parse_args()
    args.out = args.out.expanduser()
    args.out.mkdir(parents=True, exist_ok=True)
    results = {path: evaluate(args.data, args.models, *path, args.out) for path in PATHS}
    reference = results[("torch", "fp32")]
    if reference is None:
        sys.exit("torch fp32 failed: nothing to compare with")
    print("\n| model | path | Y-PSNR (dB) | vs torch fp32 | within bar | TC |")
    print("|---|---|---:|---:|---|---:|")
    for model in args.models.split(","):
        base = reference[model]["average"]["psnr_y"]
        for (backend, precision), scores in results.items():
            if scores is None:
                continue
            average = scores[model]["average"]
            delta = average["psnr_y"] - base
            bar = BAR_DB.get(precision, 0.02)
            print(f"| {model} | {backend} {precision} | {average['psnr_y']:.4f} | {delta:+.4f} | "
                  f"{'yes' if abs(delta) <= bar else 'NO'} ({bar} dB) | {average['tc']:.3f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
