"""``rtmer eval``: score a training run's pooled predictions again, or trained weights on a data set.

  rtmer eval runs/laenet-megc                      # re-score predictions.csv, rewrite the report
  rtmer eval --weights laenet --data synthetic=DIR # shipped or trained weights on held-out data

A run is scored from the out-of-fold predictions it stored (every clip predicted by the fold that
held out its subject). Weights are scored on every clip of the data given: use data the weights
never saw (another synthetic seed, another data set); the card names what they were trained on.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

from rtmer.errors import InputError


def _read_predictions(run: Path) -> tuple[list[str], np.ndarray, np.ndarray, tuple[str, ...]]:
    path = run / "predictions.csv"
    if not path.is_file():
        raise InputError(f"{run} has no predictions.csv; is it a finished rtmer train run folder?")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise InputError(f"{path} holds no predictions")
    classes = tuple(k[2:] for k in rows[0] if k.startswith("p_"))
    index = {c: i for i, c in enumerate(classes)}
    try:
        labels = np.array([index[r["label"]] for r in rows], np.int64)
        preds = np.array([index[r["prediction"]] for r in rows], np.int64)
    except KeyError as exc:
        raise InputError(f"{path}: class {exc} is not among the probability columns {classes}") from exc
    return [r["dataset"] for r in rows], labels, preds, classes


def _score_run(args: argparse.Namespace) -> int:
    from rtmer.train import report

    run = Path(args.run)
    datasets, labels, preds, classes = _read_predictions(run)
    scores = report.scores_by_dataset(datasets, labels, preds, len(classes))
    previous = run / "report.json"
    manifest = json.loads(previous.read_text()).get("manifest", {}) if previous.is_file() else {}
    notes = [f"re-scored by rtmer eval on {time.strftime('%Y-%m-%d %H:%M:%S')} from predictions.csv"]
    report.write_report(run, f"rtmer eval: {run.name}", scores, classes, manifest, notes)
    print(report.format_table(scores))
    return 0


def _score_weights(args: argparse.Namespace) -> int:
    from rtmer.backends import open_backend
    from rtmer.commands.data import parse_sources
    from rtmer.commands.train import load_labelled
    from rtmer.train import report
    from rtmer.train.inputs import model_inputs

    started = time.time()
    backend = open_backend(args.weights, args.backend)
    card = backend.card
    labelled = load_labelled(parse_sources(None, None, args.data), args.protocol or card.protocol)
    if tuple(labelled.classes) != tuple(card.classes):
        raise InputError(
            f"the weights predict {', '.join(card.classes)} but protocol {labelled.protocol.name} has "
            f"{', '.join(labelled.classes)}; pass --protocol {card.protocol}"
        )
    x = model_inputs(labelled, card.model, card.feature_spec(), cache=args.cache, progress=not args.quiet)
    probs = np.concatenate([backend(x[i : i + 1]) for i in range(len(x))])
    preds = probs.argmax(axis=1)
    scores = report.scores_by_dataset(
        [c.dataset for c in labelled.clips], labelled.labels, preds, len(card.classes)
    )
    print(report.format_table(scores))
    if args.out:
        out = Path(args.out)
        config = {
            "weights": str(card.path),
            "backend": backend.name,
            "data": args.data,
            "protocol": labelled.protocol.name,
        }
        notes = [f"weights {card.name} ({card.model}) with the {backend.name} backend on every clip given"]
        if card.synthetic:
            notes.append("these weights were trained on synthetic data only")
        report.write_report(
            out,
            f"rtmer eval: {card.name}",
            scores,
            card.classes,
            report.manifest(config, labelled, started),
            notes,
        )
        print(f"report: {out / 'report.md'}")
    return 0


def run(args: argparse.Namespace) -> int:
    if (args.run is None) == (args.weights is None):
        raise InputError("give a run folder (rtmer eval RUN) or --weights W --data NAME=DIR, not both")
    if args.weights is not None and not args.data:
        raise InputError("--weights needs --data NAME=DIR (the clips to score)")
    return _score_run(args) if args.run is not None else _score_weights(args)


def register(sub: argparse._SubParsersAction) -> None:
    from rtmer.commands.train import DEFAULT_CACHE

    p = sub.add_parser(
        "eval",
        help="score a training run again, or weights on a data set",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run", nargs="?", help="an rtmer train run folder")
    p.add_argument("--weights", help="a model card .json, or a shipped model/weights name (see rtmer models)")
    p.add_argument("--data", action="append", help="NAME=DIR[,NAME=DIR...]")
    p.add_argument("--protocol", help="default: the weights' protocol")
    p.add_argument("--backend", default="auto", help="onnx, torch, tensorrt or auto (default)")
    p.add_argument("--out", help="write report.md/.json and confusion PNGs here")
    p.add_argument("--cache", default=str(DEFAULT_CACHE), help=f"feature cache (default {DEFAULT_CACHE})")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(handler=run)
