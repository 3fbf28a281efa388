"""Base faces for the synthetic generator: real neutral frontal photos and their landmarks.

Nothing is downloaded at run time: the built-in default is ``skimage.data.astronaut()`` (Eileen
Collins, NASA, public domain), which ships inside scikit-image. ``folder`` takes any folder of
neutral frontal face photos (users can synthesise from their own faces). Landmarks come from
rtmer's default face landmark backend (dlib's 68 iBUG points).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from rtmer.errors import InputError
from rtmer.synth.subjects import BaseFace

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def _landmarked(named: Iterable[tuple[str, np.ndarray]]) -> tuple[list[BaseFace], list[str]]:
    from rtmer.face.landmarks import open_landmarks

    faces, rejected = [], []
    backend = open_landmarks()
    try:
        for name, image in named:
            found = backend.detect(image)
            if found is None:
                rejected.append(name)
            else:
                faces.append(BaseFace(name, image, found.points68.astype(np.float32)))
    finally:
        backend.close()
    return faces, rejected


def default_faces() -> list[BaseFace]:
    """The built-in base face: scikit-image's astronaut photo."""
    from skimage import data

    faces, _ = _landmarked([("astronaut", cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))])
    if not faces:
        raise InputError(
            "no face found in skimage.data.astronaut(): is the face backend's install complete (rtmer info)?"
        )
    return faces


def load_faces(folder: str | Path) -> list[BaseFace]:
    """Every photo in ``folder`` (sorted by name) in which a face is found; photos without one are
    skipped, and a folder with none is an error naming it."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"--faces {root}: not a folder; give a folder of neutral frontal face photos")
    paths = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    named = []
    for p in paths:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is not None:
            named.append((p.stem, img))
    faces, _ = _landmarked(named)
    if not faces:
        raise InputError(
            f"--faces {root}: no face found in {len(paths)} image(s) ({', '.join(IMAGE_SUFFIXES)}); "
            "give neutral frontal face photos"
        )
    return faces
