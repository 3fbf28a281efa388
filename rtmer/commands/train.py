"""``rtmer train``: cross-validate a model on licensed (or synthetic) data sets, report, and
optionally train final weights with a model card.

  rtmer train --model laenet --data casme2=DIR,samm=DIR,smic=DIR --protocol megc2019 --folds loso \\
      --out runs/laenet-megc
  rtmer train --model laenet --data synthetic=DIR --pretrain ckplus=DIR --final --out runs/demo

The run folder gets config.json, folds/ (one checkpoint per finished fold: --resume continues an
interrupted run), predictions.csv, report.md/.json with confusion PNGs, and with --final the
weights (safetensors + ONNX) and their card <name>.json, usable by rtmer live --model CARD.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from rtmer.errors import InputError

DEFAULT_CACHE = Path(os.environ.get("RTMER_CACHE_DIR", Path.home() / ".cache" / "rtmer")) / "features"


def load_labelled(pairs: list[tuple[str, str]], protocol: str) -> Any:
    """The clips of every (data set, root) pair, labelled by ``protocol``."""
    from rtmer.data import load
    from rtmer.data.protocols import apply, get_protocol

    proto = get_protocol(protocol)
    clips = []
    for name, root in pairs:
        clips.extend(load(name, root).clips)
    labelled = apply(proto, clips)
    if len(labelled) == 0:
        raise InputError(
            f"protocol {proto.name} keeps none of the {len(clips)} clips found (it labels "
            f"{', '.join(proto.datasets)}); check --data and --protocol"
        )
    return labelled


def _options(items: list[str] | None) -> dict[str, Any]:
    """KEY=VALUE pairs (--option, --feature) with JSON values (a bare word is a string)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"expected KEY=VALUE (e.g. width_mult=1.0 or residual=rrs), got {item!r}")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def _device(name: str) -> str:
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError(
            "--device cuda: torch sees no CUDA device (CPU-only torch, or no GPU); use --device cpu"
        )
    if name == "cuda":
        # cuBLAS needs this before CUDA starts for torch's deterministic mode.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return name


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, file=sys.stderr, flush=True)


def write_predictions(path: Path, labelled: Any, probabilities: np.ndarray) -> None:
    """One row per clip: key, data set, subject, true class, predicted class, probabilities."""
    classes = labelled.classes
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["clip", "dataset", "subject", "label", "prediction", *[f"p_{c}" for c in classes]])
        for clip, label, p in zip(labelled.clips, labelled.labels, probabilities, strict=True):
            w.writerow([clip.key, clip.dataset, clip.subject_key, classes[label], classes[int(np.argmax(p))],
                        *[f"{v:.6f}" for v in p]])  # fmt: skip


def _pretrain(args: argparse.Namespace, model: str, spec: Any, out: Path) -> dict[str, Any]:
    """LAENet's CK+ pre-training: all CK+ sequences (onset = first frame, apex = last), the
    ckplus-7 classes; CK+ shares no subject with the micro-expression sets, so no fold leaks."""
    import torch
    from safetensors.torch import load_file, save_file

    from rtmer.commands.data import parse_sources
    from rtmer.export.weights import state_tensors
    from rtmer.train.inputs import model_inputs
    from rtmer.train.loso import RunConfig, fit_fresh
    from rtmer.train.recipes import recipe

    path = out / "pretrain.safetensors"
    if args.resume and path.is_file():
        return load_file(str(path))
    pairs = parse_sources(None, None, [args.pretrain])
    if [n for n, _ in pairs] != ["ckplus"]:
        raise InputError(f"--pretrain takes ckplus=DIR, got {args.pretrain!r}")
    ck = load_labelled(pairs, "ckplus-7")
    _say(args.quiet, f"pre-training on CK+: {len(ck)} sequences, {len(ck.classes)} classes")
    x = model_inputs(ck, model, spec, cache=args.cache, progress=not args.quiet)
    rec = recipe(model).with_overrides(epochs=args.pretrain_epochs)
    config = RunConfig(
        model=model, recipe=rec, num_classes=len(ck.classes), seed=args.seed, device=_device(args.device),
        options=_options(args.option),
    )  # fmt: skip
    fitted = fit_fresh(config, torch.from_numpy(x), torch.from_numpy(ck.labels.copy()), rec, args.seed)
    state = state_tensors(fitted.net)
    save_file(state, str(path))
    return state


def run(args: argparse.Namespace) -> int:
    from rtmer.commands.data import parse_sources
    from rtmer.features import FeatureSpec
    from rtmer.models import registry
    from rtmer.models.registry import import_torch_module

    import_torch_module("torch")
    from rtmer.train import report
    from rtmer.train.inputs import model_inputs
    from rtmer.train.loso import RunConfig, run_cv
    from rtmer.train.recipes import recipe

    started = time.time()
    spec_model = registry.get(args.model)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.resume:
        raise InputError(f"{out} is not empty; pass --resume to continue that run, or another --out")
    out.mkdir(parents=True, exist_ok=True)
    labelled = load_labelled(parse_sources(None, None, args.data), args.protocol or spec_model.protocol)
    rec = recipe(args.model).with_overrides(
        epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, stage2_epochs=args.stage2_epochs
    )
    feature = FeatureSpec.from_overrides(_options(args.feature))
    config = RunConfig(
        model=args.model, recipe=rec, num_classes=len(labelled.classes), folds=args.folds,
        epoch_choice="validation" if args.select_epochs else "fixed", seed=args.seed,
        device=_device(args.device), options=_options(args.option),
    )  # fmt: skip
    run_config = {
        "model": args.model,
        "protocol": labelled.protocol.name,
        "data": [f"{n}={r}" for n, r in parse_sources(None, None, args.data)],
        "run": asdict(config),
        "feature": feature.overrides(),
        "pretrain": args.pretrain,
        "pretrain_epochs": args.pretrain_epochs if args.pretrain else None,
    }
    (out / "config.json").write_text(json.dumps(run_config, indent=2, default=str) + "\n")
    _say(args.quiet, f"{args.model}: {len(labelled)} clips, {len(labelled.subject_set())} subjects, "
         f"classes {labelled.class_counts()}, folds {args.folds}, device {config.device}")  # fmt: skip
    x = model_inputs(labelled, args.model, feature, cache=args.cache, progress=not args.quiet)
    init = _pretrain(args, args.model, feature, out) if args.pretrain else None

    def progress(record: Any) -> None:
        _say(args.quiet, f"  fold {record.name}: {record.n_train} train / {record.n_test} test clips, "
             f"{record.epochs} epochs, {record.seconds:.1f} s")  # fmt: skip

    result = run_cv(
        x, labelled.labels, labelled.subjects, config, out=out, resume=args.resume, jobs=args.jobs,
        init=init, progress=progress,
    )  # fmt: skip
    write_predictions(out / "predictions.csv", labelled, result.probabilities)
    scores = report.scores_by_dataset(
        [c.dataset for c in labelled.clips], labelled.labels, result.predictions, len(labelled.classes)
    )
    notes = [
        f"{spec_model.name}, {args.folds} over {len(labelled.subject_set())} subjects, {rec.epochs} epochs "
        + (
            "chosen per fold on a validation split of the training subjects"
            if args.select_epochs
            else "fixed in advance"
        ),
        f"recipe: {rec.source}",
    ]
    manifest = report.manifest(run_config, labelled, started)
    path = report.write_report(out, f"rtmer train: {args.model}", scores, labelled.classes, manifest, notes)
    print(report.format_table(scores))
    print(f"report: {path}")
    if args.final:
        card = _final(args, labelled, x, config, result, scores, init, out, manifest)
        print(f"weights: {card.path}")
    return 0


def _final(
    args: argparse.Namespace,
    labelled: Any,
    x: np.ndarray,
    config: Any,
    result: Any,
    scores: Any,
    init: Any,
    out: Path,
    manifest: dict[str, Any],
) -> Any:
    """Trains once on every clip (the cross-validated recipe; with --select-epochs the median of
    the folds' chosen epochs) and writes the weights and their card."""
    import torch

    from rtmer.export.weights import save_weights
    from rtmer.features import FeatureSpec
    from rtmer.train.loso import fit_fresh
    from rtmer.weights import SYNTHETIC_STATEMENT, WeightCard

    rec = config.recipe
    if config.epoch_choice == "validation":
        chosen = int(np.median([f.epochs for f in result.folds]))
        rec = (
            replace(rec, stage2_epochs=chosen) if rec.strategy == "two_stage" else replace(rec, epochs=chosen)
        )
    labels = torch.from_numpy(labelled.labels.copy())
    fitted = fit_fresh(config, torch.from_numpy(x), labels, rec, config.seed, init)
    synthetic = {c.dataset for c in labelled.clips} == {"synthetic"}
    name = args.name or f"{args.model}-{'synthetic' if synthetic else labelled.protocol.name}"
    composite = scores["composite"]
    card = WeightCard(
        path=out / f"{name}.json",
        name=name,
        model=args.model,
        classes=tuple(labelled.classes),
        protocol=labelled.protocol.name,
        files={},
        feature=FeatureSpec.from_overrides(_options(args.feature)).overrides(),
        synthetic=synthetic,
        training={
            "data": manifest["config"]["data"],
            "data_fingerprint": manifest["data"]["fingerprint"],
            "clips": len(labelled),
            "subjects": len(labelled.subject_set()),
            "recipe": asdict(rec),
            "options": config.options,
            "generator": _generator(manifest["config"]["data"]),
            "pretrain": args.pretrain and "ckplus",
            "seed": config.seed,
            "rtmer": manifest["rtmer"],
            "git": manifest["git"],
        },
        metrics={
            "protocol": f"{config.folds} cross-validation, predictions pooled, scored once",
            "folds": len(result.folds),
            "uf1": round(composite.uf1, 4),
            "uar": round(composite.uar, 4),
            "accuracy": round(composite.accuracy, 4),
            "per_dataset": {k: {"uf1": round(v.uf1, 4), "uar": round(v.uar, 4)} for k, v in scores.items()},
            "note": "the cross-validation scores of this recipe; the weights are the same recipe trained "
            "once on all clips",
        },
        params=sum(p.numel() for p in fitted.net.parameters()),
        created=time.strftime("%Y-%m-%d"),
        statement=SYNTHETIC_STATEMENT if synthetic else "Trained on the data sets named under training.",
    )
    card = save_weights(fitted.net, card, svm=fitted.svm, options=config.options)
    card.path.with_suffix(".md").write_text(card.markdown())
    return card


def _generator(data: list[str]) -> list[dict[str, Any]]:
    """What made each synthetic data set: rtmer_synthetic.json's generator, seed, rate and size."""
    out = []
    for item in data:
        name, _, root = item.partition("=")
        path = Path(root) / "rtmer_synthetic.json"
        if name == "synthetic" and path.is_file():
            d = json.loads(path.read_text())
            out.append(
                {k: d.get(k) for k in ("generator", "kind", "seed", "fps", "size")}
                | {"subjects": len(d.get("subjects", []))}
            )
    return out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="cross-validate a model (LOSO), report, optionally train final weights",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", required=True, help="ststnet, laenet, mjfn, cropnet, aggregation, cnn_lstm_se")
    p.add_argument(
        "--data", required=True, action="append", help="NAME=DIR[,NAME=DIR...]: casme2, samm, smic, synthetic"
    )
    p.add_argument(
        "--protocol", help="megc2019, casme2-5 or aggregation-4 (default: the model's, see rtmer models)"
    )
    p.add_argument("--folds", default="loso", help="loso (default) or kfold:K (K folds of whole subjects)")
    p.add_argument("--out", required=True, help="the run folder")
    p.add_argument("--epochs", type=int, help="epochs per fold (default: the model's recipe)")
    p.add_argument("--stage2-epochs", type=int, help="CNN-LSTM-SE: temporal-stage epochs")
    p.add_argument("--lr", type=float, help="learning rate (default: the recipe's)")
    p.add_argument("--batch-size", type=int, help="batch size (default: the recipe's)")
    p.add_argument("--select-epochs", action="store_true",
                   help="choose each fold's epochs on a validation split of its training subjects (never the "
                   "test subject); --epochs is then the upper bound")  # fmt: skip
    p.add_argument(
        "--feature",
        action="append",
        metavar="KEY=VALUE",
        help="feature option of rtmer.features.FeatureSpec, JSON value (repeatable), e.g. residual=rrs, "
        'flow_size=[96,96], tvl1={"scales":3}; kept on the card, so inference builds the same input',
    )
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="model constructor option, e.g. "
                   "width_mult=1.0 (repeatable)")  # fmt: skip
    p.add_argument("--pretrain", metavar="ckplus=DIR", help="pre-train on CK+ first (LAENet's paper)")
    p.add_argument("--pretrain-epochs", type=int, default=30, help="CK+ pre-training epochs (default 30)")
    p.add_argument("--final", action="store_true", help="then train on all clips and write weights + card")
    p.add_argument("--name", help="the weights' name (default MODEL-synthetic or MODEL-PROTOCOL)")
    p.add_argument("--jobs", type=int, default=1, help="folds in parallel processes (default 1)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default auto")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--cache", default=str(DEFAULT_CACHE), help=f"feature cache (default {DEFAULT_CACHE})")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(handler=run)
