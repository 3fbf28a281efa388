"""CK+ (Lucey et al., CVPR workshops 2010): 593 posed sequences of 123 subjects, 327 with an emotion.

Layout followed (the CK+ distribution's readme, "PHASE 1, revised 28th Sept 2010"): four archives
unpacked side by side,

- ``cohn-kanade-images/S005/001/S005_001_00000001.png`` .. ``S005_001_00000011.png``: each
  sequence runs from a neutral face (first frame) to the peak expression (last frame);
- ``Emotion/S005/001/S005_001_00000011_emotion.txt``: one number for the peak frame, written as a
  float ("   3.0000000e+00"), 0=neutral, 1=anger, 2=contempt, 3=disgust, 4=fear, 5=happy,
  6=sadness, 7=surprise. Only 327 sequences have one: "if there is no file it means that there
  is no emotion label";
- ``FACS/S005/001/S005_001_00000011_facs.txt`` (optional): one line per AU, "AU intensity" as
  floats; the AU numbers become ``aus``;
- ``Landmarks/`` (not read).

The three folders are searched for up to three folders below ``root`` (the archives also unpack as
``Emotion_labels/Emotion`` and ``FACS_labels/FACS``). Sequences without an emotion file are
listed as :class:`rtmer.data.Skipped` ("unlabelled"), not errors.

Clips: ``onset`` = 0 (the neutral first frame), ``apex`` = ``offset`` = the labelled peak frame
(the last one). ``fps`` is 30.0: CK+ was recorded as ~30 fps NTSC video, which the readme does not
restate; override with ``fps=``. ``emotion`` is the readme's name for the code ("happy").
"""

from __future__ import annotations

import re
from pathlib import Path

from rtmer.data import LoadResult, Skipped
from rtmer.data.common import (
    describe_dir,
    frame_number,
    list_frames,
    locate_clip,
    natural_key,
    require_dir,
    subfolders,
)
from rtmer.errors import DatasetError
from rtmer.types import Clip

FPS = 30.0

#: The readme's emotion codes.
EMOTIONS = {
    0: "neutral",
    1: "anger",
    2: "contempt",
    3: "disgust",
    4: "fear",
    5: "happy",
    6: "sadness",
    7: "surprise",
}

_SUBJECT = re.compile(r"S\d+", re.IGNORECASE)


def _dirs(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name))


def _find(root: Path, name: str) -> Path | None:
    """The first folder called ``name`` (any case) within three folders of ``root``."""
    for folder in subfolders(root, 3, lambda p: not _SUBJECT.fullmatch(p.name)):
        if folder.name.lower() == name.lower():
            return folder
    return None


def _label_file(folder: Path | None, suffix: str) -> Path | None:
    """The sequence's ``*_<suffix>.txt`` label file, if the label folder has one."""
    if folder is None or not folder.is_dir():
        return None
    files = sorted(folder.glob(f"*_{suffix}.txt")) or sorted(folder.glob("*.txt"))
    return files[0] if files else None


def read_emotion(path: Path) -> str:
    """The emotion named in an ``*_emotion.txt`` file; ValueError when it is not a code 0..7."""
    text = path.read_text(errors="replace").strip()
    try:
        value = float(text.split()[0])
    except (ValueError, IndexError):
        raise ValueError(f"emotion file holds {text[:30]!r}, not a code 0-7") from None
    if not value.is_integer() or int(value) not in EMOTIONS:
        raise ValueError(f"emotion code {text!r} is not one of 0-7")
    return EMOTIONS[int(value)]


def read_facs(path: Path) -> tuple[str, ...]:
    """The AU numbers of a ``*_facs.txt`` file ("   1.0000000e+00   3.0000000e+00" per line)."""
    aus: list[str] = []
    for line in path.read_text(errors="replace").splitlines():
        fields = line.split()
        if not fields:
            continue
        value = float(fields[0])
        if not value.is_integer():
            raise ValueError(f"FACS line {line.strip()!r} does not start with an AU number")
        if str(int(value)) not in aus:
            aus.append(str(int(value)))
    return tuple(aus)


def load(root: Path, *, fps: float = FPS, facs: bool = True) -> LoadResult:
    """Load CK+ from ``root`` (the folder holding cohn-kanade-images/ and Emotion/)."""
    root = Path(root)
    require_dir(root, "the CK+ folder (cohn-kanade-images/ and Emotion/)")
    images = _find(root, "cohn-kanade-images")
    emotions = _find(root, "Emotion")
    if images is None or emotions is None:
        missing = " and ".join(
            n for n, p in (("cohn-kanade-images/", images), ("Emotion/", emotions)) if p is None
        )
        raise DatasetError(
            f"{root}: expected the CK+ folders cohn-kanade-images/ and Emotion/ (S005/001/...) up to three "
            f"folders down; {missing} not found; found {describe_dir(root)}"
        )
    facs_dir = _find(root, "FACS") if facs else None
    clips: list[Clip] = []
    skipped: list[Skipped] = []
    for subject_dir in _dirs(images):
        if not _SUBJECT.fullmatch(subject_dir.name):
            continue
        subject = subject_dir.name.upper()
        for seq_dir in _dirs(subject_dir):
            rel = seq_dir.relative_to(images)
            label = _label_file(emotions / rel, "emotion")
            if label is None:
                skipped.append(Skipped(seq_dir, "unlabelled: no Emotion/ file (CK+ labels 327 of 593)"))
                continue
            try:
                emotion = read_emotion(label)
                facs_file = _label_file(None if facs_dir is None else facs_dir / rel, "facs")
                aus = read_facs(facs_file) if facs_file else ()
            except ValueError as exc:
                skipped.append(Skipped(label, str(exc)))
                continue
            frames = list_frames(seq_dir)
            if not frames:
                skipped.append(Skipped(seq_dir, "no image files in the sequence folder"))
                continue
            # The label file is named after the peak frame; without a number there, the last frame.
            peak = frame_number(label.name.lower().removesuffix("_emotion.txt"))
            placed = locate_clip(frames, frames[0][0], peak, frames[-1][0])
            if isinstance(placed, str):
                skipped.append(Skipped(seq_dir, f"{label.name}: {placed}"))
                continue
            apex = placed[2] if placed[1] is None else placed[1]
            clips.append(
                Clip(
                    dataset="ckplus",
                    subject=subject,
                    clip_id=f"{subject}_{seq_dir.name}",
                    frames=tuple(p for _, p in frames),
                    frame_numbers=tuple(n for n, _ in frames),
                    fps=fps,
                    onset=0,
                    apex=apex,
                    offset=apex,
                    emotion=emotion,
                    aus=aus,
                )
            )
    version = "CK+ (Emotion, FACS)" if facs_dir else "CK+ (Emotion)"
    return LoadResult("ckplus", root, version, tuple(clips), tuple(skipped))
