"""``rtmer spot-eval``: score spotted intervals against ground truth with the MEGC spotting metric."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rtmer.spotting.metrics import Interval
    from rtmer.spotting.truth import VideoEvents

_EPILOG = """\
Ground truth: a spotting CSV (columns video, onset, apex, offset, type = micro|macro; 0-based
frames), as `rtmer synth long` writes it. Predictions: the same CSV format, or JSON lines (.jsonl),
one event per line with onset, offset, apex, kind, and optionally video (or source) and emitted
(the frame at which a streaming spotter emitted it); records sharing an event_id are one event, so
the file `rtmer spot --events` writes is read as it is.

A spotted interval is a true positive when its IoU with a ground-truth interval of the same kind is
at least --iou (MEGC: 0.5), each counted once; TP, FP and FN are summed over all videos before
precision, recall and F1. The videos scored are those named in the truth or the predictions.

Synthetic videos' <stem>_events.json files found beside the truth file give each video's fps,
its length (for false alarms per minute) and its blinks (false positives on blinks are counted);
--fps overrides their rate, and is needed where there are none.
"""


def _align(names: Iterable[str], known: list[str]) -> dict[str, str]:
    """Map each name to a known video: the same string, else the same file name, else the same stem
    (predictions may name "/data/s01.mp4" or "s01" where the truth says "s01.mp4")."""
    out: dict[str, str] = {}
    for name in names:
        p = Path(name)
        same = [k for k in known if k == name] or [k for k in known if Path(k).name == p.name]
        same = same or [k for k in known if Path(k).stem == p.stem]
        out[name] = same[0] if len(same) == 1 else name
    return out


def _sidecars(truth: Path, videos: list[str]) -> dict[str, VideoEvents]:
    """The events files of the scored videos, from the truth file's folder."""
    from rtmer.spotting.truth import read_events_json

    found = [read_events_json(p) for p in sorted(truth.parent.glob("*_events.json"))]
    names = _align((e.video for e in found), videos)
    return {names[e.video]: e for e in found if names[e.video] in videos}


def _read_predictions(path: Path, default_video: str | None) -> dict[str, list[Interval]]:
    from rtmer.errors import InputError
    from rtmer.spotting.truth import read_predictions_jsonl, read_spotting_csv

    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_spotting_csv(path)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return read_predictions_jsonl(path, default_video)
    raise InputError(f"cannot tell the format of {path}: name it .csv (spotting CSV) or .jsonl (JSON lines)")


def _spot_data(spec: str) -> tuple[Path, dict[str, list[Interval]]]:
    """``synthetic=DIR``: run the streaming spotter over every video of a ``rtmer synth long``
    folder; returns its ground-truth CSV and the spotted intervals per video."""
    from rtmer.app.pipeline import spot_video
    from rtmer.errors import InputError
    from rtmer.spotting.metrics import Interval
    from rtmer.spotting.truth import read_events_json

    name, _, folder = spec.partition("=")
    if name != "synthetic" or not folder:
        raise InputError(
            f"--data {spec}: only synthetic=DIR (a `rtmer synth long` folder) has long videos with "
            "spotting ground truth here; CASME II and SAMM are short clips"
        )
    root = Path(folder)
    truth = root / "ground_truth.csv"
    videos = sorted(root.glob("*.mp4"))
    if not truth.is_file() or not videos:
        raise InputError(
            f"--data {spec}: expected *.mp4 videos and ground_truth.csv in {root} (rtmer synth long)"
        )
    found: dict[str, list[Interval]] = {}
    for mp4 in videos:
        fps = read_events_json(root / f"{mp4.stem}_events.json").fps
        events, _ = spot_video(str(mp4), fps)
        found[mp4.name] = [
            Interval(
                e.onset, e.apex if e.offset is None else e.offset, e.apex, e.kind, e.score, e.emitted_index
            )
            for e in events
        ]
    return truth, found


def run(args: argparse.Namespace) -> int:
    from rtmer.errors import InputError
    from rtmer.spotting.metrics import evaluate, format_report
    from rtmer.spotting.truth import read_spotting_csv

    if args.data:
        truth_path, raw = _spot_data(args.data)
        truth = read_spotting_csv(truth_path)
    else:
        if not (args.truth and args.predicted):
            raise InputError("give --truth GT.csv and --predicted PRED, or --data synthetic=DIR")
        truth_path = Path(args.truth)
        truth = read_spotting_csv(truth_path)
        only = next(iter(truth)) if len(truth) == 1 else None
        raw = _read_predictions(Path(args.predicted), only)
    names = _align(raw, list(truth))
    predicted: dict[str, list[Interval]] = {}
    for name, intervals in raw.items():
        predicted.setdefault(names[name], []).extend(intervals)
    videos = sorted(set(truth) | set(predicted))
    sidecars = _sidecars(truth_path, videos)
    fps: dict[str, float] = {}
    for v in videos:
        if args.fps is not None:
            fps[v] = args.fps
        elif v in sidecars:
            fps[v] = sidecars[v].fps
        else:
            raise InputError(
                f"no frame rate for video {v!r}: give --fps (or keep its _events.json beside the truth)"
            )
    report = evaluate(
        {v: (predicted.get(v, []), truth.get(v, [])) for v in videos},
        fps,
        {v: sidecars[v].n_frames for v in videos} if set(videos) <= set(sidecars) else None,
        threshold=args.iou,
        distractors={v: e.distractors for v, e in sidecars.items()} if sidecars else None,
    )
    print(json.dumps(report.as_dict()) if args.json else format_report(report))
    return 0


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "spot-eval",
        help="score spotted intervals against ground truth (MEGC spotting F1, apex error)",
        description="Score spotted intervals against ground truth: the MEGC spotting metric per kind and\n"
        "overall, apex error, emission delay and false alarms per minute.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--truth", metavar="GT.csv", help="ground truth (spotting CSV)")
    p.add_argument("--predicted", metavar="PRED", help="spotted intervals (.jsonl events or spotting .csv)")
    p.add_argument(
        "--data",
        metavar="synthetic=DIR",
        help="instead of --truth/--predicted: spot every video of a `rtmer synth long` folder and score it",
    )
    p.add_argument(
        "--fps", type=_positive, help="frame rate of every video (default: from the _events.json files)"
    )
    p.add_argument("--iou", type=_fraction, default=0.5, help="IoU for a true positive (default 0.5, MEGC)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(handler=run)
