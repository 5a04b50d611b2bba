"""benchmarks/temporal_memory.py on generated clips: the three variants and their differences."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from vidsr.data.frames import write_frame
from vidsr.models import create, save_weights

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "temporal_memory.py"


def load_script():
    spec = importlib.util.spec_from_file_location("temporal_memory_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clips")
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float64)
    for t in range(7):
        frame = 128 + 80 * np.sin(0.3 * (xx + 2 * t)) * np.cos(0.25 * yy)
        frame = frame[..., None] + rng.normal(0, 6, (32, 32, 3))
        write_frame(root / "moving" / f"{t:03d}.png", np.clip(frame, 0, 255).astype(np.uint8))
    return root


def rows(text: str) -> dict[str, list[float]]:
    found = {}
    for line in text.splitlines():
        match = re.match(r"\| (\w+) \(r=\d\) \|(.*)\|$", line)
        if match:
            found[match.group(1)] = [float(cell) for cell in match.group(2).split("|")]
    return found


def random_weights(folder: Path) -> tuple[Path, Path]:
    """delta with random (untrained-looking) weights and a non-zero head, so that memory can
    matter, and untrained fsrcnn: their weights files."""
    torch.manual_seed(0)
    model = create("delta", 4, pretrained=False)
    for parameter in model.parameters():
        parameter.data.normal_(0, 0.05)
    delta = save_weights(model, folder / "delta.safetensors")
    return delta, save_weights(create("fsrcnn", 4, pretrained=False), folder / "fsrcnn.safetensors")


def test_variants_and_differences(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    delta, fsrcnn = random_weights(tmp_path)
    argv = ["--data", str(data), "--clips", "moving", "--models", "fsrcnn,delta",
            "--weights", f"delta={delta}", "--weights", f"fsrcnn={fsrcnn}",
            "--crop", "32", "--frames", "7", "--skip", "2", "--long-frames", "12", "--pan-speed", "0"]
    assert load_script().main(argv) == 0
    out = capsys.readouterr().out
    table = rows(out)
    # A per-frame network has no past and no warm-up: all variants agree exactly.
    full, window, alone, memory, past, warm = table["fsrcnn"]
    assert full == window == alone and memory == past == warm == 0.0
    full, window, alone, memory, past, warm = table["delta"]
    assert memory == pytest.approx(full - window, abs=2e-3) and past == pytest.approx(full - alone, abs=2e-3)
    assert alone != full  # with random weights the state changes the output
    assert warm != 0.0  # ... and so does the warm-up
    long_rows = [line for line in out.splitlines() if line.startswith("| delta | ")]
    assert [row.split(" | ")[1] for row in long_rows] == ["moving (ping-pong)", "flat sky (synthetic)"]


def test_the_slow_pan_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``--pan-speed``: the same table on a synthetic pan over each clip's first frame; a
    per-frame network gains nothing from the past there, a recurrent one's output changes."""
    rng = np.random.default_rng(4)
    for t in range(3):
        write_frame(tmp_path / "clips" / "still" / f"{t:03d}.png", rng.integers(0, 256, (80, 96, 3), dtype=np.uint8))
    delta, fsrcnn = random_weights(tmp_path)
    argv = ["--data", str(tmp_path / "clips"), "--clips", "still", "--models", "fsrcnn,delta",
            "--weights", f"delta={delta}", "--weights", f"fsrcnn={fsrcnn}", "--crop", "32",
            "--frames", "6", "--skip", "2", "--long-frames", "0", "--pan-speed", "2"]
    assert load_script().main(argv) == 0
    out = capsys.readouterr().out
    pan = rows(out.split("Slow camera motion")[1])
    assert pan["fsrcnn"][3:5] == [0.0, 0.0]
    full, _, alone, _, past, _ = pan["delta"]
    assert alone != full and past == pytest.approx(full - alone, abs=2e-3)
    assert rows(out.split("Slow camera motion")[0])["delta"] != pan["delta"]  # another clip


def test_ping_pong_and_flat_sky() -> None:
    script = load_script()
    assert script.ping_pong(4, 10).tolist() == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
    sky = script.flat_sky_clip(5, 48, 64)
    assert sky.shape == (5, 48, 64, 3) and sky.dtype == np.uint8
    assert np.ptp(sky[:, 20, 40:44].astype(int), axis=1).max() <= 1  # flat sky (away from the kite)
    assert not np.array_equal(sky[0, 40:], sky[4, 40:])  # the ground moves


def test_unknown_clip_is_an_error(data: Path) -> None:
    with pytest.raises(SystemExit):
        load_script().main(["--data", str(data), "--clips", "nosuch", "--models", "fsrcnn"])
