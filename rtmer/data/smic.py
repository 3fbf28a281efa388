"""SMIC-HS (Li et al., FG 2013): the 100 fps high-speed camera part, 16 subjects, 164 clips.

Layout followed (as the University of Oulu distributes SMIC; MEB ``tvaranka/meb`` and other public
loaders walk the same folders): the labels are the folder names,
``HS/s1/micro/negative/s1_ne_01/<frames>``:

- subject folders ``s1`` .. ``s20`` (16 of them have HS micro-expressions), each with ``micro``
  (read) and ``non_micro`` (ignored);
- class folders ``negative``, ``positive``, ``surprise`` (the emotion, lower case);
- clip folders ``s<subject>_<ne|po|sur>_<nn>`` (the clip id) holding the frames, any image whose
  name ends in its frame number.

The distribution has ``SMIC_all_raw/HS`` (original frames) and ``SMIC_all_cropped/HS`` (face
crops), each beside ``VIS`` and ``NIR``. The ``HS`` folder is searched for up to three folders
below ``root`` (``root`` may be the HS folder itself); ``layout="raw"|"cropped"`` picks one when
both are there ("auto": raw), ``frames_dir`` names it outright.

SMIC annotates no apex: ``onset`` is the first frame, ``offset`` the last, ``apex`` None
(:mod:`rtmer.data.apex` estimates one). A clip whose frame numbers have gaps is skipped with the
missing numbers listed, as is a folder without frames.

SMIC-E (the longer "extended" clips, ``HS_long/SMIC-HS-E`` with ``SMIC-HS-E_annotation.xlsx``,
whose columns Subject, Filename, OnsetF, OffsetF, FirstF, Emotion MEAN's loader reads) is not
loaded: no public source shows the frame folders inside ``SMIC-HS-E``, so its layout could not be
confirmed.
"""

from __future__ import annotations

import re
from pathlib import Path

from rtmer.data import LoadResult, Skipped
from rtmer.data.common import (
    describe_dir,
    layout_of,
    list_frames,
    locate_clip,
    natural_key,
    require_dir,
    subfolders,
)
from rtmer.errors import DatasetError
from rtmer.types import Clip

FPS = 100.0

_SUBJECT_FOLDER = re.compile(r"s0*(\d+)", re.IGNORECASE)


def subject_folder(name: str) -> str | None:
    """The canonical subject id of a SMIC subject folder ("s1", "s01" -> "s1"), else None."""
    match = _SUBJECT_FOLDER.fullmatch(name.strip())
    return f"s{int(match.group(1))}" if match else None


def _dirs(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name))


def _subjects(folder: Path) -> list[tuple[str, Path]]:
    """(subject id, its ``micro`` folder) for the subject folders of an HS folder that have one."""
    found = []
    for path in _dirs(folder):
        subject = subject_folder(path.name)
        micro = next((p for p in _dirs(path) if p.name.lower() == "micro"), None) if subject else None
        if subject and micro:
            found.append((subject, micro))
    return found


def find_hs(root: Path, layout: str = "auto") -> Path | None:
    """The SMIC-HS folder under ``root``: ``root`` itself or a folder named HS with subject folders."""
    if layout not in ("auto", "raw", "cropped"):
        raise DatasetError(f"layout must be 'auto', 'raw' or 'cropped', not {layout!r}")
    best_key: tuple[int, bool, int] = (0, False, 0)
    best = None
    for rank, folder in enumerate(subfolders(root, 3, lambda p: subject_folder(p.name) is None)):
        if folder != root and folder.name.upper() != "HS":
            continue
        kind = layout_of(folder, root)
        if layout != "auto" and kind != layout:
            continue
        key = (len(_subjects(folder)), kind == "raw", -rank)
        if key[0] and key > best_key:
            best_key, best = key, folder
    return best


def load(
    root: Path,
    *,
    frames_dir: str | Path | None = None,
    layout: str = "auto",
    fps: float = FPS,
) -> LoadResult:
    """Load SMIC-HS from ``root`` (the SMIC folder, or its HS folder)."""
    root = Path(root)
    require_dir(root, "the SMIC folder (SMIC_all_raw/HS/s1/micro/negative/s1_ne_01/...)")
    if frames_dir is not None:
        base = require_dir(Path(frames_dir), "the SMIC-HS folder (s1/micro/negative/s1_ne_01/...)")
    else:
        found = find_hs(root, layout)
        if found is None:
            kind = "" if layout == "auto" else f" ({layout} layout)"
            raise DatasetError(
                f"{root}: expected SMIC-HS folders HS/s<N>/micro/<negative|positive|surprise>/<clip>{kind} "
                f"(as in SMIC_all_raw/HS) up to three folders down; found {describe_dir(root)}"
            )
        base = found
    subjects = _subjects(base)
    if not subjects:
        raise DatasetError(
            f"{base}: expected SMIC-HS subject folders s<N>/micro/...; found {describe_dir(base)}"
        )
    clips: list[Clip] = []
    skipped: list[Skipped] = []
    for subject, micro in subjects:
        for emotion_dir in _dirs(micro):
            emotion = emotion_dir.name.lower()
            for clip_dir in _dirs(emotion_dir):
                frames = list_frames(clip_dir)
                placed = (
                    locate_clip(frames, frames[0][0], None, frames[-1][0])
                    if frames
                    else "no image files in the clip folder"
                )
                if isinstance(placed, str):
                    skipped.append(Skipped(clip_dir, placed))
                    continue
                clips.append(
                    Clip(
                        dataset="smic",
                        subject=subject,
                        clip_id=clip_dir.name,
                        frames=tuple(p for _, p in frames),
                        frame_numbers=tuple(n for n, _ in frames),
                        fps=fps,
                        onset=0,
                        apex=None,
                        offset=len(frames) - 1,
                        emotion=emotion,
                    )
                )
    return LoadResult("smic", root, f"SMIC-HS/{layout_of(base, root)}", tuple(clips), tuple(skipped))
