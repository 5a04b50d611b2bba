"""Inference speed of every shipped model on every backend here, the encoder, and `vidsr upscale`.

    .venv/bin/python benchmarks/inference.py                           # everything, both sizes
    .venv/bin/python benchmarks/inference.py --models delta --sizes 180x320 --json delta.json
    .venv/bin/python benchmarks/inference.py --parts peaks,models      # leave out the encoder and end to end

Prints a table and writes JSON (``--json``, default ``inference.json``). In one run:

* **peaks**: the fp32 and bf16 matmul peaks of this CPU, as multiply-adds per second: the
  best of torch's ``mm`` (MKL) and OpenVINO's MatMul (oneDNN) on 2048x2048 matrices.
* **models**: for each shipped model (``raw``, ``bicubic``, ``fsrcnn``, ``previous``,
  ``delta``, ``five_parallel``), each LR size (180x320 -> 720x1280, 270x480 -> 1080x1920)
  and each backend configuration: ``eager fp32`` (today's path before the backends:
  ``model.streamer()`` under ``torch.no_grad``, the reference of the speed-ups; these rows
  run first, before vidsr's allocator settings, which are process-wide, are applied),
  ``torch fp32`` and ``torch bf16`` (inference mode, depth-form step, channels_last,
  autocast), ``onnxruntime fp32``, ``openvino fp32`` and ``openvino bf16``, and what
  ``auto`` picks. Per row: ms per output frame, frames/s, the process's peak resident memory
  while that row ran (VmHWM, reset before each row; it includes the libraries and caches
  loaded by earlier rows, whose level before the row is in the JSON as ``rss_before_mib``),
  multiply-adds per second from the
  model's own count (:func:`vidsr.models.facts.macs_per_lr_pixel`) and as a share of the
  peak of the precision used, the time as a ratio to bicubic's (upscale's fast fp32 path)
  and the speed-up over ``eager fp32``. Frames are streamed in steady state: a model's
  reverse warm-up (once per clip) is switched off on the benchmark's copy, the first
  ``radius + 2`` frames are not timed, then ``--frames`` frames are pushed one by one and
  the median step is the row's time.
* **encode**: x264 alone at upscale's defaults (CRF 18, the default preset), yuv420p, on
  the model's output of a real-looking clip (the demo's camera over a photograph), at
  each output size; with ``--presets``, every preset from ultrafast to medium with its size
  and the PSNR (Y, and RGB) of the decoded frames against the model's output.
* **upscale**: `vidsr upscale --model delta` (a subprocess, default settings, as a user
  runs it) on 320x180 videos of N and 2N frames: the rate is N / (t(2N) - t(N)), start-up
  (imports, model, export, compile) cancelled out; beside it the bound
  1 / (t_model + t_encode) from this run's auto row and encode row, and their ratio.
* **cuda** (when a GPU is present): delta on ``cuda`` in fp32, fp16 and bf16 autocast,
  with and without CUDA graphs.

Time it on a quiet machine: other processes on the cores change every figure.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

MODELS = ["raw", "bicubic", "fsrcnn", "previous", "delta", "five_parallel"]
SIZES = [(180, 320), (270, 480)]
CONFIGS = [  # (label, backend, precision); "eager" is the pre-backend reference path
    ("eager fp32", "eager", "fp32"),
    ("torch fp32", "torch", "fp32"),
    ("torch bf16", "torch", "bf16"),
    ("onnxruntime fp32", "onnxruntime", "fp32"),
    ("openvino fp32", "openvino", "fp32"),
    ("openvino bf16", "openvino", "bf16"),
    ("openvino int8", "openvino", "int8"),  # opt-in (NNCF; its calibration is outside the timing)
    ("auto", "auto", "auto"),
]
PRESETS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"]


# -- machine -------------------------------------------------------------------------------


def machine() -> dict:
    """CPU model, flags that matter, cores, threads, versions, load."""
    name, flags = platform.processor() or "unknown", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    from vidsr import __version__
    from vidsr.backends import available_backends
    from vidsr.training.precision import cpu_has_native_bf16

    versions = {"vidsr": __version__, "torch": torch.__version__, "python": platform.python_version()}
    for package in ("onnxruntime", "openvino"):
        try:
            versions[package] = __import__(package).__version__
        except ImportError:
            pass
    return {
        "cpu": name, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "avx512f": "avx512f" in flags, "avx512_bf16": "avx512_bf16" in flags, "amx_bf16": "amx_bf16" in flags,
        "native_bf16": cpu_has_native_bf16(), "backends": available_backends(), "versions": versions,
        "load_average_1min": os.getloadavg()[0], "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "malloc_env": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")},
    }  # fmt: skip


def reset_peak() -> None:
    """Reset this process's peak resident memory (Linux: ``5`` to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        pass


def peak_mib() -> float | None:
    """This process's peak resident memory since the last :func:`reset_peak`, MiB."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


# -- peaks ---------------------------------------------------------------------------------


def _best_rate(run, macs: float, repeats: int = 8) -> float:
    run()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return macs / best


def matmul_peaks(n: int = 2048) -> dict:
    """Multiply-adds/s of an n x n x n matmul: torch (MKL) and OpenVINO (oneDNN), fp32 and bf16."""
    macs = float(n) ** 3
    found: dict[str, float] = {}
    for precision, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a, b = torch.rand(n, n).to(dtype), torch.rand(n, n).to(dtype)
        found[f"torch {precision}"] = _best_rate(lambda a=a, b=b: torch.mm(a, b), macs)
    try:
        import openvino as ov
        import openvino.opset13 as ops

        from vidsr.backends.graph import openvino_core

        left = ops.parameter([n, n], np.float32)
        right = ops.constant(np.random.rand(n, n).astype(np.float32))
        model = ov.Model([ops.matmul(left, right, False, False)], [left])
        core = openvino_core()
        x = np.random.rand(n, n).astype(np.float32)
        for precision, hint in (("fp32", "f32"), ("bf16", "bf16")):
            config = {"INFERENCE_PRECISION_HINT": hint, "INFERENCE_NUM_THREADS": torch.get_num_threads()}
            request = core.compile_model(model, "CPU", config).create_infer_request()
            found[f"openvino {precision}"] = _best_rate(
                lambda request=request: request.infer({0: x}, share_inputs=True), macs)
    except ImportError:
        pass
    peaks = {p: max(v for k, v in found.items() if k.endswith(p)) for p in ("fp32", "bf16")}
    return {"peak_macs_per_s": peaks, "measured": found, "n": n}


# -- models --------------------------------------------------------------------------------


def lr_clip(frames: int, height: int, width: int) -> torch.Tensor:
    """The demo's camera clip at LR size, ``(1, T, 3, h, w)`` in [0, 1]."""
    from vidsr.data.frames import to_tensor
    from vidsr.video.demo import make_clip

    return to_tensor(make_clip(frames, height, width))[None]


class _Eager:
    """Today's path before the backends: the model's own streamer under no_grad, fp32."""

    def __init__(self, model) -> None:
        self.model = model

    def streamer(self):
        model = self.model

        class _S:
            def __init__(self) -> None:
                self.inner = model.streamer()

            def push(self, lr):
                with torch.no_grad():
                    return self.inner.push(lr)

            def flush(self):
                with torch.no_grad():
                    return self.inner.flush()

        return _S()

    def describe(self) -> str:
        return "eager fp32 (model.streamer(), no_grad)"


def steady_model(name: str, scale: int = 4):
    """The shipped model with its reverse warm-up off (a benchmark copy): steady-state steps."""
    from vidsr.models import create

    model = create(name, scale)
    model = copy.deepcopy(model).eval()
    model.warmup = 0
    return model


def time_stream(runner, clip: torch.Tensor, lead: int) -> float:
    """Seconds per output frame: ``lead`` frames untimed, then one frame per push, each timed;
    the median (robust to a moment of other work on the machine)."""
    streamer = runner.streamer()
    streamer.push(clip[:, :lead])
    steps = []
    for index in range(lead, clip.shape[1]):
        started = time.perf_counter()
        produced = streamer.push(clip[:, index : index + 1]).shape[1]
        if clip.is_cuda:
            torch.cuda.synchronize()
        steps.append((time.perf_counter() - started) / max(produced, 1))
    return float(np.median(steps))


def bench_models(names, sizes, frames: int, peaks: dict, configs, note) -> list[dict]:
    """Every row; the eager reference rows first, before vidsr's allocator settings are applied
    (they are process-wide and cannot be undone), so the reference is today's path as it is."""
    from vidsr.backends import available_backends
    from vidsr.backends.allocator import tune_allocator

    installed = available_backends()
    jobs = [(size, name, config) for size in sizes for name in names for config in configs]
    jobs.sort(key=lambda job: job[2][1] != "eager")  # stable: eager rows first
    rows = []
    for (height, width), name, (label, backend, precision) in jobs:
        if backend != "eager":
            tune_allocator()
        model = steady_model(name)
        trained = any(True for _ in model.parameters())
        if not trained and (backend not in ("eager", "torch") or label == "torch bf16"):
            continue  # parameter-free models run on torch whatever the backend (make_backend)
        if backend not in ("eager", "auto") and backend not in installed:
            rows.append({"model": name, "size": [height, width], "config": label, "skipped": "not installed"})
            continue
        row = bench_row(model, name, (height, width), frames, label, backend, precision, note)
        if "skipped" not in row and trained and row["precision"] in peaks["peak_macs_per_s"]:
            row["share_of_peak"] = row["gmacs_per_s"] * 1e9 / peaks["peak_macs_per_s"][row["precision"]]
        rows.append(row)
    add_ratios(rows)
    labels = [config[0] for config in CONFIGS]
    rows.sort(key=lambda r: (r["size"], MODELS.index(r["model"]) if r["model"] in MODELS else 99,
                             labels.index(r["config"])))  # fmt: skip
    for row in rows:
        if "skipped" not in row:
            print(format_row(row), flush=True)
    return rows


def bench_row(model, name: str, size: tuple[int, int], frames: int, label: str, backend: str, precision: str,
              note) -> dict:  # fmt: skip
    """One row: ms per frame, fps, peak memory and multiply-adds/s of one model on one backend."""
    from vidsr.backends import BackendUnavailable, make_backend
    from vidsr.models.facts import macs_per_lr_pixel

    height, width = size
    macs = macs_per_lr_pixel(model) * height * width
    clip = lr_clip(model.radius + 2 + frames, height, width)
    gc.collect()
    reset_peak()
    before = peak_mib()  # right after a reset: the resident memory now
    try:
        if backend == "eager":
            runner = _Eager(model)
        else:
            runner = make_backend(model, backend, "cpu", precision, note=note, fast_bicubic=name == "bicubic")
        seconds = time_stream(runner, clip, model.radius + 2)
    except BackendUnavailable as error:
        return {"model": name, "size": [height, width], "config": label, "skipped": str(error)}
    used = getattr(getattr(runner, "chosen", None) or runner, "precision", "fp32")
    return {
        "model": name, "size": [height, width], "config": label, "backend": runner.describe(),
        "precision": used if used in ("bf16", "int8") else "fp32", "ms": seconds * 1e3, "fps": 1 / seconds,
        "peak_mib": peak_mib(), "rss_before_mib": before, "gmacs_per_s": macs / seconds / 1e9,
        "macs_per_frame": macs,
    }  # fmt: skip


def add_ratios(rows: list[dict]) -> None:
    """Each row's time over bicubic's (upscale's fast path) and the eager reference's speed-up."""
    timed = {(r["model"], tuple(r["size"]), r["config"]): r["ms"] for r in rows if "skipped" not in r}
    for row in rows:
        if "skipped" in row:
            continue
        size = tuple(row["size"])
        bicubic = timed.get(("bicubic", size, "torch fp32"))
        eager = timed.get((row["model"], size, "eager fp32"))
        if bicubic:
            row["ratio_to_bicubic"] = row["ms"] / bicubic
        if eager:
            row["speedup_vs_eager"] = eager / row["ms"]


# -- encoder and end to end ----------------------------------------------------------------


def model_output(height: int, width: int, frames: int) -> list[np.ndarray]:
    """uint8 SR frames of delta (fp32) on the demo clip: what the encoder gets in upscale."""
    from vidsr.data.frames import to_uint8
    from vidsr.models import create

    clip = lr_clip(frames, height, width)
    with torch.inference_mode():
        return list(to_uint8(create("delta", 4)(clip)[0]))


def encode_frames(frames: list[np.ndarray], preset: str | None = None, crf: int | None = None) -> dict:
    """x264 alone (upscale's writer, packets kept in memory): ms per frame and bytes per frame."""
    from vidsr.video.writer import VideoFileWriter

    packets: list = []
    height, width = frames[0].shape[:2]
    source = _source(width // 4, height // 4)
    options = {} if preset is None else {"preset": preset}
    if crf is not None:
        options["crf"] = crf
    writer = VideoFileWriter(None, source, width, height, copy_streams=False, final_suffix=".mp4",
                             packets=lambda packet: packets.append(bytes(packet)), **options)  # fmt: skip
    started = time.perf_counter()
    for index, rgb in enumerate(frames):
        writer.write(rgb, index, 1)
    writer.close()
    seconds = time.perf_counter() - started
    return {"ms": seconds / len(frames) * 1e3, "bytes_per_frame": sum(map(len, packets)) / len(frames),
            "packets": packets, "extradata": writer.extradata}  # fmt: skip


def _source(width: int, height: int):
    """What the writer needs to know of an input: 25 fps, BT.601 tags."""
    from fractions import Fraction

    from vidsr.video.colour import Colour
    from vidsr.video.reader import SourceInfo

    return SourceInfo(Path("bench.mp4"), width, height, Fraction(1, 25), Fraction(25), None, Colour())


def decoded_psnr(frames: list[np.ndarray], result: dict) -> dict:
    """PSNR (Y and RGB, dB) of the encoded frames, decoded, against the frames given."""
    import av

    from vidsr.metrics.image import psnr, rgb_to_y

    codec = av.CodecContext.create("h264", "r")
    codec.extradata = result["extradata"] or None
    decoded = []
    for data in result["packets"] + [None]:
        for frame in codec.decode(av.Packet(data) if data is not None else None):
            decoded.append(frame.to_ndarray(format="rgb24"))
    count = min(len(decoded), len(frames))
    ys = [psnr(rgb_to_y(decoded[i]), rgb_to_y(frames[i])) for i in range(count)]
    rgbs = [psnr(decoded[i], frames[i]) for i in range(count)]
    return {"psnr_y": float(np.mean(ys)), "psnr_rgb": float(np.mean(rgbs)), "frames": count}


def bench_encode(sizes, frames: int, presets: bool) -> list[dict]:
    from vidsr.video.encoding_defaults import DEFAULT_PRESET

    rows = []
    for height, width in sizes:
        output = model_output(height, width, frames)
        for preset in PRESETS if presets else [DEFAULT_PRESET]:
            result = encode_frames(output, preset)
            row = {"size": [height * 4, width * 4], "preset": preset, "crf": 18, "ms": result["ms"],
                   "fps": 1e3 / result["ms"], "kbytes_per_frame": result["bytes_per_frame"] / 1e3,
                   "default": preset == DEFAULT_PRESET}  # fmt: skip
            if presets:
                row.update(decoded_psnr(output, result))
            rows.append(row)
            print(f"encode {width * 4}x{height * 4} x264 {preset:<10} CRF 18 {row['ms']:7.1f} ms/frame "
                  f"{row['kbytes_per_frame']:7.1f} kB/frame"
                  + (f"  PSNR-Y {row['psnr_y']:.2f} dB, RGB {row['psnr_rgb']:.2f} dB" if presets else ""),
                  flush=True)  # fmt: skip
    return rows


def bench_upscale(frames: int, workdir: Path) -> dict:
    """`vidsr upscale --model delta` on 320x180 videos of N and 2N frames (subprocesses), after a
    short run that fills the caches (auto's measured choice, the exports, OpenVINO's blobs)."""
    from vidsr.data.frames import to_uint8
    from vidsr.video.synthetic import write_video

    times = {}
    for count in (frames // 4, frames, 2 * frames):  # the first fills the caches (auto's choice, exports)
        source = workdir / f"in_{count}.mp4"
        clip = lr_clip(count, 180, 320)
        write_video(source, list(to_uint8(clip[0])), crf=10)
        command = [str(Path(sys.executable).with_name("vidsr")), "upscale", str(source), str(workdir / "out.mp4"),
                   "--model", "delta", "--force", "--quiet"]  # fmt: skip
        if not Path(command[0]).exists():
            command[:1] = [sys.executable, "-m", "vidsr"]
        started = time.perf_counter()
        subprocess.run(command, check=True)
        times[count] = time.perf_counter() - started
        print(f"upscale {count} frames 320x180 -> 1280x720: {times[count]:.2f} s", flush=True)
    marginal = frames / (times[2 * frames] - times[frames])
    return {"frames": [frames, 2 * frames], "seconds": [times[frames], times[2 * frames]], "fps": marginal,
            "fps_including_startup": 2 * frames / times[2 * frames]}  # fmt: skip


def bench_cuda(frames: int) -> list[dict]:
    from vidsr.backends import make_backend

    rows = []
    model = steady_model("delta").cuda()
    for height, width in SIZES:
        clip = lr_clip(model.radius + 2 + frames, height, width).cuda()
        for precision in ("fp32", "fp16", "bf16"):
            for graphs in (False, True):
                runner = make_backend(model, "torch", "cuda", precision, cuda_graphs=graphs)
                seconds = time_stream(runner, clip, model.radius + 2)
                torch.cuda.synchronize()
                row = {"size": [height, width], "precision": precision, "cuda_graphs": graphs, "ms": seconds * 1e3,
                       "fps": 1 / seconds, "gpu": torch.cuda.get_device_name()}  # fmt: skip
                rows.append(row)
                print(f"cuda delta {width}x{height} {precision} graphs={graphs}: {row['ms']:.2f} ms/frame", flush=True)
    return rows


# -- report --------------------------------------------------------------------------------


def format_row(row: dict) -> str:
    height, width = row["size"]
    parts = [f"{row['model']:<14}{width}x{height:<5}{row['config']:<18}{row['ms']:9.1f}{row['fps']:8.1f}"]
    parts.append(f"{row['peak_mib']:8.0f}" if row.get("peak_mib") else f"{'-':>8}")
    parts.append(f"{row['gmacs_per_s']:9.1f}")
    parts.append(f"{row['share_of_peak'] * 100:7.1f}%" if "share_of_peak" in row else f"{'-':>8}")
    parts.append(f"{row['ratio_to_bicubic']:8.2f}" if "ratio_to_bicubic" in row else f"{'-':>8}")
    parts.append(f"{row['speedup_vs_eager']:8.2f}x" if "speedup_vs_eager" in row else f"{'-':>9}")
    return "".join(parts) + ("  " + row["backend"] if row["config"] == "auto" else "")


HEADER = (f"{'model':<14}{'LR size':<10}{'config':<18}{'ms/frame':>9}{'fps':>8}{'peak MiB':>8}{'GMAC/s':>9}"
          f"{'of peak':>8}{'x bicub':>8}{'vs eager':>9}")  # fmt: skip


def markdown(report: dict) -> str:
    """The README's table."""
    m = report["machine"]
    peaks = report.get("peaks", {}).get("peak_macs_per_s", {})
    lines = [
        f"CPU: {m['cpu']} ({m['cores']} cores, {m['torch_threads']} torch threads; native bf16: "
        f"{'yes' if m['native_bf16'] else 'no'}), torch {m['versions']['torch']}"
        + "".join(f", {k} {v}" for k, v in m["versions"].items() if k in ("onnxruntime", "openvino")) + ".",
    ]
    if peaks:
        lines.append(f"Matmul peaks measured in the same run: fp32 {peaks['fp32'] / 1e9:.0f} GMAC/s, "
                     f"bf16 {peaks['bf16'] / 1e9:.0f} GMAC/s.")  # fmt: skip
    lines += ["", "| model | LR -> HR | backend | ms/frame | fps | peak MiB | GMAC/s | % of peak | x bicubic "
                  "| vs eager fp32 |",
              "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for row in report.get("models", []):
        if "skipped" in row:
            continue
        h, w = row["size"]
        share = f"{row['share_of_peak'] * 100:.0f}%" if "share_of_peak" in row else "-"
        chosen = row["backend"].split(":", 1)[1].split("(")[0].strip()
        config = row["config"] if row["config"] != "auto" else f"auto ({chosen})"
        ratio = f"{row['ratio_to_bicubic']:.2f}" if "ratio_to_bicubic" in row else "-"  # bicubic not run
        speedup = f"{row['speedup_vs_eager']:.2f}x" if "speedup_vs_eager" in row else "-"
        lines.append(
            f"| {row['model']} | {w}x{h} -> {4 * w}x{4 * h} | {config} | {row['ms']:.1f} | {row['fps']:.1f} | "
            f"{row['peak_mib']:.0f} | {row['gmacs_per_s']:.1f} | {share} | {ratio} | {speedup} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--sizes", default=",".join(f"{h}x{w}" for h, w in SIZES), help="LR HxW, comma-separated")
    parser.add_argument("--configs", default=None, help="comma-separated labels (default: all)")
    parser.add_argument("--parts", default="peaks,models,encode,upscale,cuda")
    parser.add_argument("--frames", type=int, default=9, help="frames timed per row (after the untimed lead)")
    parser.add_argument("--presets", action="store_true", help="time every x264 preset, with size and PSNR")
    parser.add_argument("--encode-frames", type=int, default=60, help="frames encoded per encoder row")
    parser.add_argument("--upscale-frames", type=int, default=100, help="N: videos of N and 2N frames")
    parser.add_argument("--json", type=Path, default=Path("inference.json"))
    parser.add_argument("--markdown", type=Path, default=None, help="also write the README table here")
    parser.add_argument("--cache", type=Path, default=None,
                        help="export cache (VIDSR_ONNX_CACHE; default: a fresh one, so auto measures in this run)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")]
    configs = CONFIGS if args.configs is None else [c for c in CONFIGS if c[0] in args.configs.split(",")]
    if args.cache is None:  # a fresh cache: auto measures its choice in this run
        args.cache = Path(tempfile.mkdtemp(prefix="vidsr-bench-cache-"))
    os.environ["VIDSR_ONNX_CACHE"] = str(args.cache)  # the upscale subprocesses inherit it
    notes: list[str] = []
    report: dict = {"machine": machine(), "notes": notes}
    print(json.dumps(report["machine"]), flush=True)
    if "peaks" in parts or "models" in parts:
        report["peaks"] = matmul_peaks()
        peaks = report["peaks"]["peak_macs_per_s"]
        print(f"matmul peaks: fp32 {peaks['fp32'] / 1e9:.0f} GMAC/s, bf16 {peaks['bf16'] / 1e9:.0f} GMAC/s "
              f"({', '.join(f'{k} {v / 1e9:.0f}' for k, v in report['peaks']['measured'].items())})", flush=True)
    if "models" in parts:
        print(HEADER, flush=True)
        report["models"] = bench_models(args.models.split(","), sizes, args.frames, report["peaks"], configs,
                                        notes.append)  # fmt: skip
    if "encode" in parts:
        report["encode"] = bench_encode(sizes, args.encode_frames, args.presets)
    if "upscale" in parts:
        with tempfile.TemporaryDirectory() as folder:
            report["upscale"] = bench_upscale(args.upscale_frames, Path(folder))
        auto = next((r for r in report.get("models", []) if r["model"] == "delta" and r["config"] == "auto"
                     and r["size"] == [180, 320]), None)  # fmt: skip
        encode = next((r for r in report.get("encode", []) if r["size"] == [720, 1280] and r["default"]), None)
        if auto and encode:
            bound = 1e3 / (auto["ms"] + encode["ms"])
            report["upscale"].update({"bound_fps": bound, "ratio_to_bound": report["upscale"]["fps"] / bound})
        print(f"upscale delta 320x180 -> 1280x720: {report['upscale']['fps']:.1f} fps"
              + (f" = {report['upscale']['ratio_to_bound']:.2f} x the bound {report['upscale']['bound_fps']:.1f} fps "
                 "1 / (t_model + t_encode)" if "bound_fps" in report["upscale"] else ""), flush=True)  # fmt: skip
    if "cuda" in parts:
        report["cuda"] = bench_cuda(args.frames) if torch.cuda.is_available() else "skipped: no CUDA device"
        if not torch.cuda.is_available():
            print("cuda: skipped (no CUDA device)")
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.markdown is not None:
        args.markdown.write_text(markdown(report))
    for message in notes:
        print(f"note: {message}")
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
