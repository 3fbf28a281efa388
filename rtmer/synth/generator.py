"""Synthetic micro-expressions with exact ground truth (``rtmer synth``).

Three outputs, all deterministic given the seed:

- :func:`generate_clips`: short labelled clips in CASME II's raw layout and coding-sheet format
  (``CASME2_RAW_selected/subXX/EPxx_yy/imgN.jpg`` + ``CASME2-coding-20140508.xlsx``), so the
  CASME II loader reads them unchanged, plus ``rtmer_synthetic.json`` (generator, seed, fps, the
  subjects) and, per clip, the ground-truth displacement at the apex
  (``ground_truth/subXX/EPxx_yy.npy``, float32 H x W x 2, onset -> apex, OpenCV's convention).
- :func:`generate_long`: long videos (mp4) of one subject each, with micro- and
  macro-expressions, blinks, head drift and jitter, mains flicker and sensor noise, and their
  ground truth in the MEGC spotting format (``ground_truth.csv``) plus every event in JSON.
- :func:`generate_video`: one such video at a chosen fps and size, for replay and benchmarks.

Subjects: ``--faces DIR`` photos (or the built-in astronaut) made into distinct identities by
:mod:`rtmer.synth.subjects`. With one base face, subjects differ by face shape (landmark groups
moved by up to 6 % of the eye distance), skin tone (+-10 % per channel), illumination (gain
0.8-1.15, a +-15 % left-right gradient) and noise (1-2.5 grey levels): enough that a model cannot
memorise one appearance, not the variety of real people; more base photos give more.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from queue import Queue

import cv2
import numpy as np

from rtmer import __version__
from rtmer.errors import InputError
from rtmer.synth import au as aus
from rtmer.synth.render import CameraModel, VideoRenderer, render_clip
from rtmer.synth.subjects import BaseFace, Subject, invert_and_warp, make_subject
from rtmer.synth.timeline import MACRO, MICRO, PEAKS, Event, sample_profile, schedule
from rtmer.synth.writers import (
    CASME2_COLUMNS,
    CASME2_SHEET,
    contact_sheet,
    write_json,
    write_spotting_truth,
    write_xlsx,
)

GENERATOR = "rtmer.synth"
#: The CASME II five classes plus the emotions the MEGC composite maps from SAMM's labels.
CLIP_EMOTIONS = ("happiness", "surprise", "disgust", "repression", "others")
RAW_FOLDER = "CASME2_RAW_selected"


class Progress:
    """A one-line progress bar on stderr (updated in place on a terminal, every 10 % otherwise)."""

    def __init__(self, total: int, label: str, enabled: bool = True) -> None:
        self.total, self.label, self.enabled, self.done, self._shown = max(total, 1), label, enabled, 0, -1
        self.tty = sys.stderr.isatty()

    def step(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        pct = int(100 * self.done / self.total)
        if pct != self._shown and (self.tty or pct % 10 == 0):
            self._shown = pct
            bar = "#" * (pct // 4)
            end = "\r" if self.tty and self.done < self.total else "\n"
            print(f"{self.label} [{bar:<25}] {pct:3d}% ({self.done}/{self.total})", end=end, file=sys.stderr)


def _faces(faces: Sequence[BaseFace] | None) -> list[BaseFace]:
    if faces:
        return list(faces)
    from rtmer.synth.faces import default_faces

    return default_faces()


def make_subjects(
    n: int, faces: Sequence[BaseFace] | None, size: tuple[int, int], eye_px: float, seed: int
) -> list[Subject]:
    """``n`` subjects cycling through the base faces, each its own identity (seeded per index)."""
    base = _faces(faces)
    return [
        make_subject(
            f"sub{i + 1:02d}", base[i % len(base)], np.random.default_rng([seed, 1, i]), size, eye_px
        )
        for i in range(n)
    ]


@dataclass(frozen=True)
class ClipRecord:
    """One generated clip, as written to the coding sheet."""

    subject: str
    filename: str
    first_frame: int
    onset: int
    apex: int
    offset: int
    aus: str
    emotion: str


def generate_clips(
    out: str | Path,
    *,
    subjects: int = 20,
    clips_per_subject: int = 12,
    fps: float = 200.0,
    size: tuple[int, int] = (256, 256),
    eye_px: float = 70.0,
    seed: int = 0,
    emotions: Sequence[str] = CLIP_EMOTIONS,
    faces: Sequence[BaseFace] | None = None,
    contact_sheets: int = 3,
    progress: bool = True,
) -> list[ClipRecord]:
    """Short labelled micro-expression clips in the CASME II raw layout (see the module docstring)."""
    for e in emotions:
        if e not in aus.EMOTION_AUS:
            raise InputError(f"unknown emotion {e!r}; choose from {', '.join(aus.EMOTION_AUS)}")
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    people = make_subjects(subjects, faces, size, eye_px, seed)
    records: list[ClipRecord] = []
    bar = Progress(subjects * clips_per_subject, "clips", progress)
    for si, subj in enumerate(people):
        for ci in range(clips_per_subject):
            rng = np.random.default_rng([seed, 2, si, ci])
            emotion = emotions[(si + ci) % len(emotions)]
            acts = aus.sample_expression(emotion, rng.uniform(*PEAKS[MICRO]), rng)
            field = aus.expression_field(acts, subj.landmarks68, size)
            pad = int(rng.integers(3, 12))
            first = int(rng.integers(1, 300))
            prof = sample_profile(pad, fps, (0.04, 0.5), rng)
            n = prof.offset + pad + 1
            frames = render_clip(subj, field, [prof.at(k) for k in range(n)], rng)
            name = f"EP{si + 1:02d}_{ci + 1:02d}"
            folder = root / RAW_FOLDER / subj.sid / name
            folder.mkdir(parents=True, exist_ok=True)
            for k, frame in enumerate(frames):
                cv2.imwrite(str(folder / f"img{first + k}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
            gt = root / "ground_truth" / subj.sid
            gt.mkdir(parents=True, exist_ok=True)
            np.save(gt / f"{name}.npy", field)
            records.append(
                ClipRecord(
                    subj.sid, name, first, first + prof.onset, first + prof.apex, first + prof.offset,
                    aus.au_label(acts), emotion,
                )
            )  # fmt: skip
            if len(records) <= contact_sheets:
                sheets = root / "contact_sheets"
                sheets.mkdir(exist_ok=True)
                clean = invert_and_warp(subj.image, field)
                cv2.imwrite(
                    str(sheets / f"{subj.sid}_{name}.png"), contact_sheet(subj.image, clean, frames[-1])
                )
            bar.step()
    write_xlsx(
        root / CASME2_SHEET,
        CASME2_COLUMNS,
        [(int(r.subject[3:]), r.filename, r.onset, r.apex, r.offset, r.aus, r.emotion) for r in records],
    )
    write_json(root / "rtmer_synthetic.json", _manifest(seed, fps, size, people, "clips"))
    return records


def _manifest(seed: int, fps: float, size: tuple[int, int], people: Sequence[Subject], kind: str) -> dict:
    subjects = [
        {
            "id": s.sid,
            "base": s.base,
            "noise_sigma": round(s.noise_sigma, 4),
            "tone": [round(t, 4) for t in s.tone],
            "shape": [round(p, 4) for p in s.shape_params],
        }
        for s in people
    ]
    return {
        "generator": GENERATOR,
        "version": __version__,
        "kind": kind,
        "seed": seed,
        "fps": fps,
        "size": list(size),
        "subjects": subjects,
        "note": "synthetic: real face photos moved by FACS-like displacement fields, not real expressions",
    }


def _video_events(
    subj: Subject, n_frames: int, fps: float, rng: np.random.Generator, emotions: Sequence[str]
) -> tuple[list[Event], list[np.ndarray | None], list[str]]:
    events = schedule(n_frames, fps, rng, emotions=tuple(emotions))
    fields: list[np.ndarray | None] = []
    labels: list[str] = []
    for e in events:
        if e.kind in (MICRO, MACRO):
            acts = aus.sample_expression(e.emotion, rng.uniform(*PEAKS[e.kind]), rng)
            fields.append(aus.expression_field(acts, subj.landmarks68, subj.image.shape[:2]))
            labels.append(aus.au_label(acts))
        else:
            fields.append(None)
            labels.append("")
    return events, fields, labels


def _write_video(path: Path, fps: float, size: tuple[int, int], frames: Callable[[int], np.ndarray], n: int,
                 bar: Progress) -> None:  # fmt: skip
    """Render on this thread while a writer thread encodes (OpenCV releases the GIL to encode)."""
    h, w = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise InputError(f"cannot write {path}: OpenCV has no mp4 encoder here; try another --out folder")
    queue: Queue[np.ndarray | None] = Queue(maxsize=16)

    def encode() -> None:
        while (frame := queue.get()) is not None:
            writer.write(frame)

    worker = threading.Thread(target=encode, name="rtmer-synth-encoder")
    worker.start()
    try:
        for k in range(n):
            queue.put(frames(k))
            bar.step()
    finally:
        queue.put(None)
        worker.join()
        writer.release()


def generate_video(
    path: str | Path,
    *,
    seconds: float = 10.0,
    fps: float = 200.0,
    size: tuple[int, int] = (480, 640),
    eye_px: float = 64.0,
    seed: int = 0,
    subject_index: int = 0,
    emotions: Sequence[str] = ("happiness", "surprise", "disgust", "repression"),
    camera: CameraModel | None = None,
    faces: Sequence[BaseFace] | None = None,
    progress: bool = True,
    _subject: Subject | None = None,
) -> list[dict[str, object]]:
    """One long video with scheduled events; writes the mp4, ``<stem>_ground_truth.csv`` and
    ``<stem>_events.json`` beside it and returns the ground-truth rows."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    subj = _subject or make_subjects(subject_index + 1, faces, size, eye_px, seed)[subject_index]
    rng = np.random.default_rng([seed, 3, subject_index])
    n = int(round(seconds * fps))
    events, fields, labels = _video_events(subj, n, fps, rng, emotions)
    renderer = VideoRenderer(subj, events, fields, fps, camera or CameraModel(), rng)
    _write_video(out, fps, size, renderer.frame, n, Progress(n, out.name, progress))
    rows = [
        {"video": out.name, "onset": e.profile.onset, "apex": e.profile.apex, "offset": e.profile.offset,
         "type": e.kind, "emotion": e.emotion, "aus": label}
        for e, label in zip(events, labels, strict=True)
        if e.kind in (MICRO, MACRO)
    ]  # fmt: skip
    write_spotting_truth(out.with_name(f"{out.stem}_ground_truth.csv"), rows)
    write_json(
        out.with_name(f"{out.stem}_events.json"),
        {
            "video": out.name, "fps": fps, "frames": n, "subject": subj.sid,
            "events": [{"type": e.kind, "onset": e.profile.onset, "apex": e.profile.apex,
                        "offset": e.profile.offset, "emotion": e.emotion, "aus": label}
                       for e, label in zip(events, labels, strict=True)],
        },
    )  # fmt: skip
    return rows


def generate_long(
    out: str | Path,
    *,
    minutes: float = 2.0,
    videos: int = 1,
    fps: float = 200.0,
    size: tuple[int, int] = (480, 640),
    eye_px: float = 64.0,
    seed: int = 0,
    faces: Sequence[BaseFace] | None = None,
    progress: bool = True,
) -> list[dict[str, object]]:
    """``videos`` long videos (one subject each) and one ``ground_truth.csv`` for all of them."""
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    people = make_subjects(videos, faces, size, eye_px, seed)
    rows: list[dict[str, object]] = []
    for i, subj in enumerate(people):
        rows += generate_video(
            root / f"{subj.sid}.mp4", seconds=minutes * 60, fps=fps, size=size, seed=seed, subject_index=i,
            progress=progress, _subject=subj,
        )  # fmt: skip
    write_spotting_truth(root / "ground_truth.csv", rows)
    write_json(root / "rtmer_synthetic.json", _manifest(seed, fps, size, people, "long"))
    return rows


__all__ = ["ClipRecord", "generate_clips", "generate_long", "generate_video", "make_subjects"]
