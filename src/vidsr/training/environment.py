"""What a run ran on: git commit, versions, host, processor, GPUs, world size, command."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

import vidsr


def git_commit(folder: Path | None = None) -> dict[str, Any] | None:
    """``{"commit", "dirty"}`` of the checkout holding the vidsr sources, or None."""
    folder = folder or Path(vidsr.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=10
        )
        if commit.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder, capture_output=True, text=True, timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def cpu_name() -> str:
    """The processor's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware_summary(device: torch.device) -> str:
    """One line such as ``1x NVIDIA H100 80GB HBM3`` or ``CPU: AMD EPYC (2 cores)``."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    return f"CPU: {cpu_name()} ({os.cpu_count()} cores, {threads} torch thread{'s' if threads != 1 else ''})"


def command_line() -> list[str]:
    """This process's command line as typed (``python -m vidsr`` for the module form)."""
    program = Path(sys.argv[0]).name
    if program == "__main__.py":
        program = "python -m vidsr"
    return [program, *sys.argv[1:]]


def environment(device: torch.device, world_size: int, precision: str) -> dict[str, Any]:
    """Everything worth recording about where and how a run was started."""
    info: dict[str, Any] = {
        "command": command_line(),
        "cwd": os.getcwd(),
        "git": git_commit(),
        "vidsr": vidsr.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "hardware": hardware_summary(device),
        "precision": precision,
        "world_size": world_size,
        "torchrun": {k: os.environ[k] for k in ("WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR",
                                                   "MASTER_PORT", "TORCHELASTIC_RUN_ID")
                     if k in os.environ},
    }
    if torch.cuda.is_available():
        info["cuda"] = torch.version.cuda
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info
