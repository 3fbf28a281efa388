"""``rtmer replay PATH``: a video file or a folder of frames through the whole live pipeline."""

from __future__ import annotations

import argparse

from rtmer.commands._app import add_run_args


def run(args: argparse.Namespace) -> int:
    from rtmer.app.build import build_runner
    from rtmer.app.sources import open_file
    from rtmer.commands import _app

    config = _app.config_from_args(args, capture__fps=args.fps, capture__realtime=args.realtime)
    cap = config.capture
    source = open_file(args.path, fps=cap.fps or None, realtime=cap.realtime)
    _app.run(build_runner(source, config))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay",
        help="run a video file or image folder through the live pipeline (spot, classify, overlay)",
        description=(
            "Replay a recording through the live pipeline: capture thread, ring buffer, face tracker, "
            "motion, spotter, classifier, sinks. As fast as possible by default (no frame dropped); "
            "--realtime paces it at its recorded rate, dropping frames the way a camera would."
        ),
    )
    p.add_argument("path", help="a video file, or a folder of frames (needs --fps)")
    p.add_argument("--fps", type=float, help="the recording's frame rate (default: the container's)")
    p.add_argument(
        "--realtime", action="store_const", const=True, help="pace the replay at the recorded frame rate"
    )
    add_run_args(p)
    p.set_defaults(handler=run)
