"""What ``rtmer live``, ``replay`` and ``demo`` share: the flags over the config file, and one run
(a :class:`rtmer.app.runner.Runner` from :func:`rtmer.app.build.build_runner`) to its end."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rtmer.app.records import RunSummary
    from rtmer.app.runner import Runner
    from rtmer.config import PipelineConfig


def add_face_args(p: argparse.ArgumentParser) -> None:
    """The face front end's flags (``[tracker] face_backend`` / ``face_crop`` in a config file)."""
    p.add_argument(
        "--face-backend",
        choices=("dlib", "mediapipe"),
        help="face landmarks: dlib (default) or mediapipe (the rtmer[mediapipe] extra)",
    )
    p.add_argument(
        "--face-crop",
        choices=("detect", "full"),
        help="detect: find the face (default); full: every frame is a tight face crop (CASME II Cropped)",
    )


def add_run_args(p: argparse.ArgumentParser) -> None:
    """The flags every run command takes; each overrides its config-file setting when given."""
    p.add_argument("--config", metavar="FILE.toml", help="settings file (rtmer config show prints one)")
    p.add_argument(
        "--model",
        help="shipped weights name, a model card .json, or 'none' to spot only (default laenet)",
    )
    p.add_argument("--backend", help="inference runtime: auto, onnx, torch or tensorrt (default auto)")
    p.add_argument("--threads", type=int, help="inference threads (default 1; 0: the runtime's choice)")
    p.add_argument(
        "--landmark-every",
        type=int,
        metavar="K",
        help="face landmarks every K frames (default: the tracker's)",
    )
    p.add_argument("--events", metavar="OUT.jsonl", help="write each event record as one JSON line")
    p.add_argument("--save", metavar="ANNOTATED.mp4", help="write the overlay-annotated frames as a video")
    p.add_argument(
        "--no-window",
        dest="window",
        action="store_const",
        const=False,
        help="no overlay window (headless; also the fallback when no display is available)",
    )
    p.add_argument("--quiet", action="store_const", const=True, help="print only the summary")
    add_face_args(p)
    p.add_argument("--verbose", action="store_true", help="let third-party libraries' log lines through")


def config_from_args(args: argparse.Namespace, **extra: object) -> PipelineConfig:
    """The config file (``--config``) with the flags given on top; ``extra``: more
    ``section__key`` values (``capture__fps=200``) from the command's own flags."""
    from rtmer.config import load_config, with_overrides
    from rtmer.logs import set_verbose

    if args.verbose:
        set_verbose(True)
    flags = {
        "classifier.model": args.model,
        "classifier.backend": args.backend,
        "classifier.threads": args.threads,
        "tracker.landmark_every": args.landmark_every,
        "tracker.face_backend": args.face_backend,
        "tracker.face_crop": args.face_crop,
        "output.events": args.events,
        "output.save": args.save,
        "output.window": args.window,
        "output.quiet": args.quiet,
    }
    flags |= {k.replace("__", "."): v for k, v in extra.items()}
    return with_overrides(load_config(args.config), flags)


def run(runner: Runner) -> RunSummary:
    """Run to the end (the console sink prints events and the summary); a capture error that ended
    the run (a truncated file) is raised after the summary, for the CLI's one error line."""
    summary = runner.run()
    if runner.error is not None:
        raise runner.error
    return summary


__all__ = ["add_face_args", "add_run_args", "config_from_args", "run"]
