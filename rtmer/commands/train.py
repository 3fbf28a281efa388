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
import json
from pathlib import Path
from typing import Any

from rtmer.commands.data import parse_sources
from rtmer.errors import InputError
from rtmer.train import DEFAULT_CACHE


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


def _ckplus_root(value: str | None) -> str | None:
    """The DIR of ``--pretrain ckplus=DIR`` (None without it)."""
    if not value:
        return None
    pairs = parse_sources(None, None, [value])
    if [n for n, _ in pairs] != ["ckplus"]:
        raise InputError(f"--pretrain takes ckplus=DIR, got {value!r}")
    return pairs[0][1]


def run(args: argparse.Namespace) -> int:
    from rtmer.models.registry import import_torch_module

    import_torch_module("torch")
    from rtmer.train import report
    from rtmer.train.job import TrainJob, run_job

    job = TrainJob(
        model=args.model, data=tuple(parse_sources(None, None, args.data)), out=Path(args.out),
        protocol=args.protocol, folds=args.folds, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
        stage2_epochs=args.stage2_epochs, select_epochs=args.select_epochs, feature=_options(args.feature),
        options=_options(args.option), pretrain=_ckplus_root(args.pretrain),
        pretrain_epochs=args.pretrain_epochs, final=args.final, name=args.name, processes=args.jobs,
        device=args.device, seed=args.seed, resume=args.resume, cache=args.cache, progress=not args.quiet,
    )  # fmt: skip
    result = run_job(job)
    print(report.format_table(result.scores))
    print(f"report: {result.report}")
    if result.card is not None:
        print(f"weights: {result.card.path}")
    return 0


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
