"""``rtmer demo``: a synthetic clip with known micro-expressions through the whole pipeline with the
shipped weights, and what it found beside the ground truth. No camera, data set or network."""

from __future__ import annotations

import argparse
import sys

from rtmer.commands._app import add_run_args


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from rtmer.app import demo
    from rtmer.app.build import build_runner
    from rtmer.commands import _app
    from rtmer.config import parse_size
    from rtmer.errors import InputError
    from rtmer.weights import find

    config = _app.config_from_args(args)
    if config.classifier.enabled and args.model is None:
        try:
            find(config.classifier.model)
        except InputError as exc:  # a checkout without the demo weights still shows the spotting
            print(f"rtmer: note: {exc}; the demo spots without classifying", file=sys.stderr)
            config = replace(config, classifier=replace(config.classifier, model="none"))
    source, truth = demo.demo_clip(args.fps, parse_size(args.size), args.seed)
    if not config.output.quiet:
        print(
            f"demo: {len(truth)} synthetic micro-expressions ({', '.join(t.label for t in truth)}) in "
            f"{source.n} frames at {args.fps:g} fps, {args.size}; rendered as they are replayed"
        )
    runner = build_runner(source, config)
    _app.run(runner)
    matches, extra = demo.match(truth, runner.records)
    for line in demo.report(matches, extra, args.fps):
        print(line)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="a synthetic clip with known micro-expressions through the whole pipeline, against the truth",
        description=(
            "Render a short synthetic clip (the built-in face, one micro-expression of each MEGC2019 class), "
            "replay it through the live pipeline with the shipped weights, and print what was found beside "
            "the ground truth. Needs no camera, data set or network."
        ),
    )
    p.add_argument("--fps", type=float, default=200.0, help="the clip's frame rate (default 200)")
    p.add_argument("--size", default="640x480", help="the clip's frame size, WIDTHxHEIGHT (default 640x480)")
    p.add_argument("--seed", type=int, default=0, help="the clip's random seed (default 0)")
    add_run_args(p)
    p.set_defaults(handler=run)
