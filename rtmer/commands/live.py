"""``rtmer live --camera 0``: spot and classify micro-expressions from a camera, live."""

from __future__ import annotations

import argparse

from rtmer.commands._app import add_run_args


def run(args: argparse.Namespace) -> int:
    from rtmer.app.build import build_runner
    from rtmer.capture.sources import CameraSource
    from rtmer.commands import _app

    config = _app.config_from_args(
        args, capture__fps=args.fps, capture__size=args.size, capture__fourcc=args.fourcc
    )
    cap = config.capture
    camera = int(args.camera) if args.camera.isdigit() else args.camera
    source = CameraSource(camera, fps=cap.fps or None, size=cap.size_wh, fourcc=cap.fourcc or None)
    _app.run(build_runner(source, config))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "live",
        help="spot and classify micro-expressions from a camera, with an overlay window",
        description=(
            "Live: camera -> capture thread -> ring buffer -> face tracker -> motion -> spotter -> "
            "classifier -> console, events file, overlay window, annotated video. Ctrl-C (or q in the "
            "window) stops; every event found is flushed and a summary printed."
        ),
    )
    p.add_argument("--camera", default="0", help="camera index or device path (default 0)")
    p.add_argument("--fps", type=float, help="frame rate to ask the camera for (e.g. 200)")
    p.add_argument("--size", help="frame size to ask the camera for, WIDTHxHEIGHT (e.g. 640x480)")
    p.add_argument("--fourcc", help="pixel format to ask the camera for (MJPG, YUYV)")
    add_run_args(p)
    p.set_defaults(handler=run)
