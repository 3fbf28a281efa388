"""Synthetic data rendering speed (target: a 60 s, 200 fps, 640x480 video in <= 60 s).

Measures, wall clock on this machine: one long video rendered and encoded to mp4 (rendering on the
main thread, encoding on a writer thread), and labelled clips in the CASME II layout (exact
bicubic warps, JPEG files). Prints a table and one JSON line.

    python bench/synth.py [--seconds 60] [--clips 24]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rtmer.synth import generator


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="video length (default 60)")
    ap.add_argument("--fps", type=float, default=200.0)
    ap.add_argument("--clips", type=int, default=24, help="clips to render (2 subjects)")
    args = ap.parse_args()
    subject = generator.make_subjects(1, None, (480, 640), 64.0, seed=0)[0]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        rows = generator.generate_video(
            Path(tmp) / "bench.mp4", seconds=args.seconds, fps=args.fps, progress=False, _subject=subject
        )
        video_s = time.perf_counter() - t0
        frames = int(round(args.seconds * args.fps))
        t0 = time.perf_counter()
        records = generator.generate_clips(
            Path(tmp) / "clips",
            subjects=2,
            clips_per_subject=max(1, args.clips // 2),
            contact_sheets=0,
            progress=False,
        )
        clips_s = time.perf_counter() - t0
    clip_frames = sum(r.offset - r.first_frame + 1 for r in records)
    print(f"{'what':40s} {'wall s':>8s} {'frames':>7s} {'ms/frame':>9s}  target")
    target = "PASS" if video_s <= args.seconds else "MISS"
    print(f"{'video 640x480 (render + mp4)':40s} {video_s:8.1f} {frames:7d} {1000 * video_s / frames:9.2f}  "
          f"<= real time ({args.seconds:g} s): {target}")  # fmt: skip
    per_frame = 1000 * clips_s / clip_frames
    print(f"{'clips 256x256 (render + jpg)':40s} {clips_s:8.1f} {clip_frames:7d} {per_frame:9.2f}")
    summary = {
        "bench": "synth",
        "video_s": video_s,
        "video_frames": frames,
        "video_seconds": args.seconds,
        "expressions": len(rows),
        "clips_s": clips_s,
        "clip_frames": clip_frames,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
