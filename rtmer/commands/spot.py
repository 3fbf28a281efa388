"""``rtmer spot``: find expressions in a video or image folder, as they would be found live."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rtmer.commands._app import add_face_args
from rtmer.errors import InputError

if TYPE_CHECKING:
    from rtmer.types import SpotEvent


def _event_json(e: SpotEvent, source: str) -> str:
    from dataclasses import asdict

    record = asdict(e)
    record["stage"] = "apex" if record["offset"] is None else "offset"
    record["source"] = source
    return json.dumps(record)


def plot_signal(
    path: Path,
    index: np.ndarray,
    face: np.ndarray,
    threshold: np.ndarray,
    spotted: list[tuple[int, int, str]],
    truth: list[tuple[int, int, str]],
    *,
    width: int = 1600,
    height: int = 420,
) -> None:
    """The face motion signal, the spotter's threshold, spotted intervals (filled) and ground truth
    (outlined above), drawn with OpenCV into a PNG."""
    import cv2

    img = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 60, width - 20, 40, height - 40
    lo, hi = int(index[0]), int(index[-1]) if index.size else 1
    ymax = float(max(np.percentile(face, 99.5) * 1.2, threshold.max() * 1.2, 1e-3)) if face.size else 1.0

    def x(i: float) -> int:
        return int(left + (right - left) * (i - lo) / max(hi - lo, 1))

    def y(v: float) -> int:
        return int(bottom - (bottom - top) * min(v, ymax) / ymax)

    colours = {"micro": (60, 160, 60), "macro": (40, 130, 230)}  # BGR: green, orange
    for a, b, kind in spotted:
        cv2.rectangle(
            img,
            (x(a), top),
            (x(b), bottom),
            tuple(int(c * 0.35 + 255 * 0.65) for c in colours.get(kind, (128,) * 3)),
            -1,
        )
    for a, b, kind in truth:
        cv2.rectangle(img, (x(a), top - 22), (x(b), top - 8), colours.get(kind, (0, 0, 0)), 2)
    for series, colour in ((threshold, (40, 40, 220)), (face, (30, 30, 30))):
        pts = np.stack([[x(i) for i in index], [y(v) for v in series]], axis=1).astype(np.int32)
        cv2.polylines(img, [pts], False, colour, 1, cv2.LINE_AA)
    cv2.line(img, (left, bottom), (right, bottom), (0, 0, 0), 1)
    cv2.line(img, (left, top), (left, bottom), (0, 0, 0), 1)
    for label, pos in ((f"{ymax:.2f} px", top), ("0", bottom)):
        cv2.putText(img, label, (4, pos + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    legend = "black: face motion  red: threshold  filled: spotted (green micro, orange macro)  boxes: truth"
    cv2.putText(img, legend, (left, height - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(
        img, f"frames {lo}-{hi}", (right - 140, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA
    )
    if not cv2.imwrite(str(path), img):
        raise InputError(f"cannot write the plot to {path}; check the folder exists and is writable")


def _truth(path: str | None) -> list[tuple[int, int, str]]:
    if path is None:
        return []
    import csv

    p = Path(path)
    if not p.is_file():
        raise InputError(f"--truth {p}: no such file; give a ground-truth CSV (video,onset,apex,offset,type)")
    with p.open(newline="", encoding="utf-8") as fh:
        return [(int(r["onset"]), int(r["offset"]), r.get("type", "micro")) for r in csv.DictReader(fh)]


def run(args: argparse.Namespace) -> int:
    from rtmer.app.pipeline import Pipeline
    from rtmer.app.sources import open_file
    from rtmer.face.tracker import FaceTracker, TrackerConfig
    from rtmer.logs import set_verbose
    from rtmer.types import SpotEvent

    if args.verbose:
        set_verbose(True)
    source = Path(args.source)
    frames_in = open_file(source, fps=args.fps)
    fps = frames_in.info.fps
    if not fps > 0:
        frames_in.close()
        raise InputError(f"{source}: cannot read its frame rate; give --fps")
    try:
        tracker = FaceTracker(
            config=TrackerConfig(face_backend=args.face_backend or "", face_crop=args.face_crop or "detect")
        )
    except BaseException:
        frames_in.close()
        raise
    events_out = open(args.events, "w", encoding="utf-8") if args.events else None  # noqa: SIM115
    rows: list[tuple[int, float, float]] = []
    final: list[SpotEvent] = []
    frames = 0
    try:
        with Pipeline(fps, tracker=tracker) as pipe, frames_in:
            for r in pipe.run(frames_in):
                emitted = [r] if isinstance(r, SpotEvent) else list(r.events)
                if not isinstance(r, SpotEvent):
                    frames += 1
                    if r.signal is not None:
                        rows.append((r.index, r.signal.face, pipe.spotter.threshold()))
                for e in emitted:
                    if events_out:
                        events_out.write(_event_json(e, str(source)) + "\n")
                        events_out.flush()
                    if e.offset is not None:
                        final.append(e)
                    if not args.quiet:
                        stage = "apex  " if e.offset is None else "offset"
                        where = f"onset {e.onset} apex {e.apex} offset {e.offset}"
                        print(f"{stage} event {e.event_id}: {e.kind} {where}")
    finally:
        if events_out:
            events_out.close()
    if frames == 0:
        raise InputError(
            f"{source}: no frame could be decoded; is it a video or image folder OpenCV can read?"
        )
    if args.plot and rows:
        arr = np.array(rows)
        spotted = [(e.onset, e.offset, e.kind) for e in final if e.offset is not None]
        plot_signal(Path(args.plot), arr[:, 0], arr[:, 1], arr[:, 2], spotted, _truth(args.truth))
    print(f"{frames} frames at {fps:g} fps: {len(final)} expression(s) with onset and offset")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "spot",
        help="find expressions (onset, apex, offset) in a video, causally, as live",
        description="Run the face tracker, the motion engine and the streaming apex spotter over a video.",
    )
    p.add_argument("source", help="a video file, or a folder of frames (needs --fps)")
    p.add_argument(
        "--events", metavar="OUT.jsonl", help="write each event as one JSON line when it is emitted"
    )
    p.add_argument(
        "--plot", metavar="SIGNAL.png", help="draw the motion signal, threshold and spotted intervals"
    )
    p.add_argument("--truth", metavar="GT.csv", help="ground truth to draw on the plot (rtmer synth's CSV)")
    p.add_argument("--fps", type=float, help="the source's frame rate (default: what the container says)")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    add_face_args(p)
    p.add_argument("--verbose", action="store_true", help="let third-party libraries' log lines through")
    p.set_defaults(handler=run)
