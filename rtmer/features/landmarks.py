"""The onset frame's 68 landmarks, which every build aligns its frames with: detected, or checked
when the caller (the live tracker) passes its own."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from rtmer.errors import InputError
from rtmer.face.landmarks import LandmarkBackend, open_landmarks

_default_backend: LandmarkBackend | None = None
_backend_lock = threading.Lock()


def detect_landmarks(image: np.ndarray, backend: LandmarkBackend | None = None) -> np.ndarray:
    """The 68 landmarks of the face in ``image`` (uint8 gray or BGR), (68, 2) float64 frame pixels.

    ``backend`` defaults to one shared backend of :func:`rtmer.face.open_landmarks`, built on first
    use; calls to it are serialised (backends keep tracking state and MediaPipe graphs are not
    re-entrant). No face: InputError.
    """
    global _default_backend
    bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
    if backend is None:
        with _backend_lock:
            if _default_backend is None:
                _default_backend = open_landmarks()
            found = _default_backend.detect(bgr)
    else:
        found = backend.detect(bgr)
    if found is None:
        raise InputError("no face found in the onset frame; pass landmarks68 (68 points in frame pixels)")
    return np.asarray(found.points68, np.float64)


def check_landmarks(points: object) -> np.ndarray:
    """``points`` as (68, 2) float64; :class:`InputError` unless they are 68 finite (x, y)."""
    p = np.asarray(points, np.float64)
    if p.shape != (68, 2) or not np.isfinite(p).all():
        raise InputError(f"landmarks68 must be 68 finite (x, y) points in frame pixels, got shape {p.shape}")
    return p
