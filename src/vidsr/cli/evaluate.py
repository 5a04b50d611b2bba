"""`vidsr evaluate`: score models on a dataset of clips, in the founding table format."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vidsr.errors import VidsrError, create_parent

DEFAULT_MODELS = "raw,bicubic"
BENCHMARK_CRF = 23  # x264's own default
BENCHMARK_PRESET = "medium"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score models on GT clips (PSNR/SSIM/MSE on Y and RGB, temporal consistency)",
        description=(
            "Degrade GT clips (or read given LR clips), super-resolve them with each model and "
            "print MSE, SSIM and PSNR on Y and on RGB, per clip and averaged over clips."
        ),
    )
    parser.add_argument("--data", required=True, type=Path, metavar="DIR",
                        help="GT frames: one clip folder, a folder of clip folders, or REDS")
    parser.add_argument("--lr", type=Path, metavar="DIR",
                        help="LR frames in the same layout (default: generated from GT)")
    parser.add_argument("--reds-split", default="reds4", choices=("reds4", "train", "all"),
                        help="of a REDS folder: REDS4 (clips 000, 011, 015, 020 of train_sharp, the usual "
                             "test set), the other training clips, or every clip (default reds4)")  # fmt: skip
    parser.add_argument("--models", default=DEFAULT_MODELS, metavar="NAMES",
                        help=f"comma-separated model names, NAME:real (or :bi, :bd) for other shipped "
                             f"weights of a model, NAME@S for denoise strength S (0-1, between its BI and "
                             f"real weights), e.g. delta,delta:real,delta@0.5 (default: {DEFAULT_MODELS})")
    parser.add_argument("--scale", type=int, default=4, choices=(2, 3, 4), help="upscaling factor (default: 4)")
    parser.add_argument("--degradation", default="bi", metavar="NAME",
                        help="bi: MATLAB bicubic; bd: Gaussian blur + subsampling; bi+h264: bi, "
                             "then libx264 yuv420p at --crf and back (given --lr frames are "
                             "compressed too); models use their BI weights (default: bi)")
    parser.add_argument("--crf", metavar="N",
                        help=f"bi+h264: x264 CRF, 0-51, lower is better (default: {BENCHMARK_CRF})")
    parser.add_argument("--preset", metavar="NAME",
                        help=f"bi+h264: x264 preset (default: {BENCHMARK_PRESET})")
    parser.add_argument("--sigma", type=float, default=1.6, help="BD blur sigma (default: 1.6)")
    parser.add_argument("--crop-border", type=int, default=0, metavar="N",
                        help="pixels ignored at each border when scoring (default: 0)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--per-frame", action="store_true",
                        help="add each frame's PSNR and SSIM (Y) to the --json figures")
    parser.add_argument("--plot", type=Path, metavar="FILE.png",
                        help="draw each frame's PSNR-Y per clip and model (and the gain over bicubic "
                             "when it is among --models) to a PNG")
    parser.add_argument("--weights", metavar="FILE|NAME=FILE,...",
                        help="weights for the trained model(s): one file, or name=file pairs")
    parser.add_argument("--outputs", action="append", default=[], metavar="NAME=DIR",
                        help="also score frames made elsewhere (another method's published outputs, "
                             "another upscaler's), as a row NAME: DIR in the layout of --data (DIR/<clip>/ "
                             "frames, or the frames of a one-clip --data); repeat for more rows")
    parser.add_argument("--pretrained", action=argparse.BooleanOptionalAction, default=True,
                        help="trained models without --weights use their shipped weights, and "
                             "without shipped weights are an error (default); --no-pretrained "
                             "evaluates them untrained (random weights), with a warning")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="default: cpu")
    from vidsr.cli.backend_options import add_backend_options

    add_backend_options(parser, backend="torch", precision="fp32")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def parse_weights(spec: str | None, names: list[str]) -> dict[str, Path]:
    """``--weights`` as {model name: file}: ``FILE`` (the one trained model) or ``a=F1,b=F2``."""
    if not spec:
        return {}
    if "=" not in spec:
        return {"*": Path(spec)}
    result: dict[str, Path] = {}
    for item in spec.split(","):
        name, sep, file = item.partition("=")
        name = name.strip()
        if not sep or not name or not file:
            raise VidsrError(f"bad --weights item {item!r}: use FILE or name=FILE,...")
        if name not in names:
            raise VidsrError(f"--weights names {name!r}, which is not in --models")
        result[name] = Path(file)
    return result


def parse_outputs(items: list[str], names: list[str]) -> dict[str, Path]:
    """``--outputs NAME=DIR`` items as {row name: folder} (one-line errors, before any work)."""
    outputs: dict[str, Path] = {}
    for item in items:
        name, sep, folder = item.partition("=")
        name = name.strip()
        if not sep or not name or not folder:
            raise VidsrError(f"bad --outputs {item!r}: use NAME=DIR")
        if name in names or name in outputs:
            raise VidsrError(f"--outputs {name}: the name is already a row (in --models or --outputs)")
        if not Path(folder).is_dir():
            raise VidsrError(f"--outputs {name}: no folder {folder}")
        outputs[name] = Path(folder)
    return outputs


def _model_names(spec: str) -> list[str]:
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if not names:
        raise VidsrError("--models is empty")
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise VidsrError(f"model listed twice in --models: {', '.join(sorted(duplicates))}")
    return names


def build_models(args: argparse.Namespace, names: list[str]) -> dict:
    """Create the models: given weights, else shipped weights. A trained model with neither
    is an error naming the weights that exist, unless ``--no-pretrained`` asks for it
    untrained (then a warning)."""
    import torch

    from vidsr.data.degradation import COMPRESSED
    from vidsr.models import create, model_class
    from vidsr.models.registry import check_shipped_weights, spec_weights

    weights = parse_weights(args.weights, names)
    default = COMPRESSED.get(args.degradation, args.degradation)  # bi+h264: BI weights
    # "delta:real": delta, real weights; "delta@0.5": delta, denoise strength 0.5 (a weights file)
    specs = {spec: spec_weights(spec, default, args.scale) for spec in names}
    chosen = {spec: (name, degradation) for spec, (name, degradation, _) in specs.items()}
    blends = {spec: blend for spec, (_, _, blend) in specs.items() if blend is not None}
    classes = {}
    for name in names:
        try:
            classes[name] = model_class(chosen[name][0])
        except ImportError as error:
            raise VidsrError(f"model {name!r} is not available in this version: {error}") from None
    trained = [name for name in names if any(True for _ in classes[name](args.scale).parameters())]
    if "*" in weights:
        if len(trained) != 1:
            raise VidsrError(
                "--weights FILE needs exactly one trained model in --models; use name=FILE,... "
                f"(trained models here: {', '.join(trained) or 'none'})"
            )
        weights = {trained[0]: weights["*"]}
    for name, blend in blends.items():
        if name in weights:
            raise VidsrError(f"{name} picks its weights itself (denoise strength); leave it out of --weights")
        weights[name] = blend
    for name in trained:  # before any work: a trained model needs weights, or --no-pretrained
        if name not in weights and args.pretrained:
            untrained = ("--no-pretrained (untrained)",)
            check_shipped_weights(chosen[name][0], args.scale, chosen[name][1], "--models", also=untrained)
    models = {}
    for name in names:
        model, degradation = chosen[name]
        torch.manual_seed(0)  # untrained models start from the same weights every run
        if name in weights:
            models[name] = create(model, args.scale, degradation=degradation, weights=weights[name])
        elif name in trained and args.pretrained:
            models[name] = create(model, args.scale, degradation=degradation, pretrained=True)
        else:
            if name in trained:
                print(f"vidsr: warning: --no-pretrained: evaluating {name} UNTRAINED (random weights)", file=sys.stderr)
            models[name] = create(model, args.scale, degradation=degradation, pretrained=False)
    return models


def video_codec(args: argparse.Namespace):
    """The x264 settings of ``--degradation bi+h264`` (None for bi and bd); checks the names,
    ``--crf`` and ``--preset`` (one-line errors)."""
    from vidsr.data.degradation import COMPRESSED, DEGRADATIONS
    from vidsr.data.real import X264_PRESETS, VideoCodec

    known = (*DEGRADATIONS, *COMPRESSED)
    if args.degradation not in known:
        raise VidsrError(f"unknown degradation {args.degradation!r}; use one of {', '.join(known)}")
    if args.degradation not in COMPRESSED:
        if args.crf is not None or args.preset is not None:
            raise VidsrError(f"--crf and --preset are for --degradation bi+h264, not {args.degradation}")
        return None
    crf = str(BENCHMARK_CRF if args.crf is None else args.crf).strip()
    if not crf.isdigit() or not 0 <= int(crf) <= 51:
        raise VidsrError(f"--crf must be an integer from 0 to 51 (x264's range), not {crf!r}")
    preset = args.preset or BENCHMARK_PRESET
    if preset not in X264_PRESETS:
        raise VidsrError(f"unknown --preset {preset!r}; use one of {', '.join(X264_PRESETS)}")
    return VideoCodec("libx264", int(crf), preset)


def run(args: argparse.Namespace) -> int:
    from vidsr.data.datasets import open_dataset
    from vidsr.data.degradation import COMPRESSED
    from vidsr.evaluation import evaluate, format_tables

    if args.crop_border < 0:
        raise VidsrError(f"--crop-border must be >= 0, not {args.crop_border}")
    if args.sigma <= 0:
        raise VidsrError(f"--sigma must be positive, not {args.sigma}")
    if args.per_frame and args.json is None:
        raise VidsrError("--per-frame adds each frame's figures to the JSON file: give --json FILE")
    if args.plot is not None and args.plot.suffix.lower() != ".png":
        raise VidsrError(f"--plot writes a PNG: give a name ending in .png, not {args.plot.name}")
    for path in (args.json, args.plot):  # (before the work, not after it)
        if path is not None:
            create_parent(path)
            if path.is_dir():
                raise VidsrError(f"{path} is a folder: give a file name")
    codec = video_codec(args)
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise VidsrError("--device cuda: no CUDA device is available here")
    names = _model_names(args.models)
    outputs = parse_outputs(args.outputs, names)
    models = build_models(args, names)
    dataset = open_dataset(
        args.data, args.lr, scale=args.scale, degradation=COMPRESSED.get(args.degradation, args.degradation),
        sigma=args.sigma, reds_split=args.reds_split,
    )
    result = evaluate(models, dataset, args.crop_border, args.device, progress=not args.quiet, backend=args.backend,
                      precision=args.precision, compression=codec, self_ensemble=args.self_ensemble,
                      outputs=outputs, scene_cuts=args.scene_cuts)  # fmt: skip
    print(format_tables(result), end="")
    if args.json is not None:
        try:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result.to_json(per_frame=args.per_frame), indent=2) + "\n")
        except OSError as error:
            raise VidsrError(f"cannot write {args.json}: {error}") from None
        print(f"\nFigures written to {args.json} (infinite PSNR written as \"inf\").")
    if args.plot is not None:
        from vidsr.evaluation.plot import plot_per_frame

        what = args.degradation.upper() + (f" CRF {codec.crf}" if codec is not None else "")
        data = args.data.resolve()
        name = data.parent.name if data.name.lower() in ("gt", "hr") else data.name  # vid4/GT: "vid4"
        plot_per_frame(result, args.plot, f"{name} x{args.scale} {what}: PSNR-Y per frame")
        print(f"Per-frame plot written to {args.plot}.")
    return 0
