"""``rtmer export``: a card's torch weights -> ONNX (checked against torch), or its ONNX file -> a
TensorRT engine built on this GPU and cached."""

from __future__ import annotations

import argparse

from rtmer.errors import InputError
from rtmer.weights import WeightCard, find, write_card


def _onnx(card: WeightCard) -> int:
    from dataclasses import replace

    from rtmer.backends.torch import load_model
    from rtmer.export.onnx import OPSET, TOLERANCE, export_onnx
    from rtmer.models import registry

    spec = registry.get(card.model)
    model = load_model(card)
    name = card.files.get("onnx", f"{card.path.stem}.onnx")
    path = export_onnx(model, spec, card.path.parent / name, opset=OPSET)
    if card.files.get("onnx") != name:
        write_card(replace(card, files={**card.files, "onnx": name}))
    print(f"wrote {path} (opset {OPSET}; ONNX Runtime matches torch within {TOLERANCE:g})")
    return 0


def _tensorrt(card: WeightCard, fp16: bool) -> int:
    from rtmer.export.tensorrt import engine_for, sidecar

    cached = engine_for(card, fp16=fp16)
    key = cached.key
    state = "up to date" if cached.rebuilt is None else f"built ({cached.rebuilt})"
    print(f"{state}: {cached.path}")
    print(
        f"  {key.precision} for {key.gpu_name} (compute {key.compute_capability}), TensorRT "
        f"{key.tensorrt_version}, ONNX sha256 {key.model_sha256[:12]}; key in {sidecar(cached.path)}"
    )
    return 0


def run(args: argparse.Namespace) -> int:
    card = find(args.weights)
    if args.model is not None and args.model != card.model:
        raise InputError(f"--weights {args.weights} are for model {card.model!r}, not {args.model!r}")
    if args.fp16 and args.format != "tensorrt":
        raise InputError("--fp16 applies to --format tensorrt only")
    return _onnx(card) if args.format == "onnx" else _tensorrt(card, args.fp16)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export weights to ONNX, or build a TensorRT engine for this GPU",
        description=(
            "--format onnx: write the card's torch weights as ONNX beside the card (needs the train "
            "extra), checked with onnx.checker and against torch. --format tensorrt: build an engine "
            "from the card's ONNX file on this GPU (needs the gpu extra) and cache it under "
            "$RTMER_CACHE_DIR/engines (default ~/.cache/rtmer/engines), keyed by GPU, compute "
            "capability, TensorRT version, model hash and precision; an up-to-date engine is reused."
        ),
    )
    p.add_argument(
        "--weights", required=True, metavar="W", help="a model card .json, or a shipped model / card name"
    )
    p.add_argument("--model", metavar="M", help="the registry model the weights must be for (a check)")
    p.add_argument("--format", required=True, choices=("onnx", "tensorrt"))
    p.add_argument("--fp16", action="store_true", help="TensorRT: allow FP16 kernels (default FP32)")
    p.set_defaults(handler=run)
