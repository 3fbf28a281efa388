"""``rtmer eval``: score a training run's pooled predictions again, or trained weights on a data set.

  rtmer eval runs/laenet-megc                      # re-score predictions.csv, rewrite the report
  rtmer eval --weights laenet --data synthetic=DIR # shipped or trained weights on held-out data

A run is scored from the out-of-fold predictions it stored (every clip predicted by the fold that
held out its subject). Weights are scored on every clip of the data given: use data the weights
never saw (another synthetic seed, another data set); the card names what they were trained on.
"""

from __future__ import annotations

import argparse

from rtmer.commands.data import parse_sources
from rtmer.errors import InputError
from rtmer.train import DEFAULT_CACHE


def run(args: argparse.Namespace) -> int:
    if (args.run is None) == (args.weights is None):
        raise InputError("give a run folder (rtmer eval RUN) or --weights W --data NAME=DIR, not both")
    if args.weights is not None and not args.data:
        raise InputError("--weights needs --data NAME=DIR (the clips to score)")
    from rtmer.train import report
    from rtmer.train.evaluate import rescore_run, score_weights

    if args.run is not None:
        print(report.format_table(rescore_run(args.run).scores))
        return 0
    result = score_weights(
        args.weights, parse_sources(None, None, args.data), protocol=args.protocol, backend=args.backend,
        out=args.out, cache=args.cache, progress=not args.quiet,
    )  # fmt: skip
    print(report.format_table(result.scores))
    if result.report is not None:
        print(f"report: {result.report}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
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
