"""Face landmark backends behind one small protocol, in the 68-point iBUG / dlib convention.

The papers rtmer follows name their face regions by the 68 points of iBUG 300-W (Sagonas et al.
2016), as dlib's shape predictor gives them: jaw 1-17, brows 18-27, nose 28-36, subject's right eye
37-42, left eye 43-48, mouth 49-68 (1-based in the papers, 0-based in arrays here). Every backend
returns those 68 points in image pixels (pixel centres at integer coordinates, OpenCV's convention).

Backends (:data:`FACE_BACKENDS`, chosen by name with :func:`open_landmarks`):
- ``dlib`` (the default, :mod:`rtmer.face.dlib_backend`): dlib's HOG face detector and its
  68-point shape predictor (the points the papers use), from ``dlib-bin`` and the model file of
  ``face-recognition-models``; wheels for every supported Python, numpy 2.
- ``mediapipe`` (:mod:`rtmer.face.mediapipe_backend`, the ``rtmer[mediapipe]`` extra, Python <=
  3.12, numpy < 2): FaceDetection + FaceMesh of mediapipe 0.10.21, its 468 points mapped to the 68.

Each backend's package is imported only in its own module, and only when that backend is built.
``RTMER_FACE_BACKEND`` names the default backend for a process (``dlib`` when unset).

Tight crops: a face filling the whole image (the ``Cropped`` folders of CASME II and SAMM) has no
margin for a detector's window. ``face_crop="detect"`` (the default) searches the image and, when
nothing is found in an image small enough to be such a crop, searches it again padded on every
side (:func:`pad_for_detection`); ``face_crop="full"`` takes the whole image as the face box and
fits the landmarks in it without a detector.
"""

from __future__ import annotations

import importlib
import math
import os
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from rtmer.errors import InputError, MissingDependencyError

#: (x0, y0, x1, y1) in image pixels.
Box = tuple[float, float, float, float]

#: The landmark backends, by name; the first is the default.
FACE_BACKENDS = ("dlib", "mediapipe")
#: How a detection finds the face box: search the image, or take the whole image as the box.
FACE_CROPS = ("detect", "full")

#: A face filling an image leaves no margin for the detector; padding each side by this fraction
#: of the image's size gives it one. CASME II's 280x340 crops needed 60-120 px (20-35 %).
TIGHT_PAD = 0.3


@dataclass(frozen=True)
class Landmarks:
    """One face's landmarks in image pixels (pixel centres at integer coordinates).

    points68: (68, 2) float32, iBUG order; mesh: (468, 2) float32 when the backend has a dense
    mesh, else None; box: the face box (x0, y0, x1, y1); score: the detector's confidence in
    [0, 1] for the detection that found (or re-found) this face.
    """

    points68: np.ndarray
    mesh: np.ndarray | None
    box: Box
    score: float


@runtime_checkable
class LandmarkBackend(Protocol):
    """Finds one face and its 68 landmarks in uint8 images, BGR (H x W x 3) or gray (H x W).

    ``detect`` searches the whole image (first frame, re-acquisition): slow, stateless. ``track``
    follows the face given the previous frame's landmarks (cheaper; a backend may keep state of its
    own, such as FaceMesh's ROI); ``confirm=False`` lets a backend whose presence check is a
    separate cost skip it (the caller still follows the face by other means). ``confirm`` is that
    check alone: the confidence in [0, 1] that a face is still at ``landmarks`` (where the caller
    has followed it), or None; a backend whose ``track`` always checks returns the landmarks' own
    score. All return None when there is no face; none raises for that.
    """

    def detect(self, image: np.ndarray) -> Landmarks | None: ...

    def track(self, image: np.ndarray, previous: Landmarks, confirm: bool = True) -> Landmarks | None: ...

    def confirm(self, image: np.ndarray, landmarks: Landmarks) -> float | None: ...

    def close(self) -> None: ...


def default_backend_name() -> str:
    """``RTMER_FACE_BACKEND`` if set, else ``dlib``."""
    return check_backend_name(os.environ.get("RTMER_FACE_BACKEND", "").strip() or FACE_BACKENDS[0])


def check_backend_name(name: str) -> str:
    if name not in FACE_BACKENDS:
        raise InputError(f"unknown face backend {name!r}; expected one of {', '.join(FACE_BACKENDS)}")
    return name


def check_face_crop(face_crop: str) -> str:
    if face_crop not in FACE_CROPS:
        raise InputError(f"unknown face crop {face_crop!r}; expected one of {', '.join(FACE_CROPS)}")
    return face_crop


def open_landmarks(name: str | None = None, *, face_crop: str = "detect") -> LandmarkBackend:
    """The landmark backend called ``name`` (None: :func:`default_backend_name`); the caller closes it.

    A backend whose package is missing raises :class:`rtmer.errors.MissingDependencyError`
    naming what to install.
    """
    name = default_backend_name() if name is None else check_backend_name(name)
    check_face_crop(face_crop)
    if name == "dlib":
        from rtmer.face.dlib_backend import DlibBackend

        return DlibBackend(face_crop=face_crop)
    from rtmer.face.mediapipe_backend import MediaPipeBackend

    return MediaPipeBackend(face_crop=face_crop)


def import_backend_package(name: str, missing: str) -> Any:
    """The package ``name`` a backend runs on; ``missing`` (what to install) as a
    MissingDependencyError when it is not there."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise MissingDependencyError(missing) from exc


def check_image(image: np.ndarray) -> np.ndarray:
    """``image`` if it is H x W x 3 (BGR) or H x W (gray) uint8; InputError otherwise."""
    ok = isinstance(image, np.ndarray) and image.dtype == np.uint8
    if not ok or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise InputError(f"expected an H x W x 3 (BGR) or H x W (gray) uint8 image, got {got}")
    return image


def to_gray(image: np.ndarray) -> np.ndarray:
    """A checked image (:func:`check_image`) as gray."""
    image = check_image(image)
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """A checked image (:func:`check_image`) as RGB."""
    image = check_image(image)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB)


def pad_for_detection(image: np.ndarray, fraction: float = TIGHT_PAD) -> tuple[np.ndarray, int, int]:
    """``image`` with ``fraction`` of its width (height) added left and right (top and bottom), and
    the (x, y) offset of the original in the padded image.

    Edge replication, not a constant: a flat border next to the face makes a strong false edge
    for a gradient-based detector, while replicated edges continue the face's outline.
    """
    h, w = image.shape[:2]
    px, py = int(round(fraction * w)), int(round(fraction * h))
    return cv2.copyMakeBorder(image, py, py, px, px, cv2.BORDER_REPLICATE), px, py


def is_tight_crop_size(shape: tuple[int, ...], min_face: float) -> bool:
    """Whether an image of ``shape`` is small enough to be a crop around one face of at least
    ``min_face`` pixels (then a failed detection is worth a padded retry)."""
    return min(shape[0], shape[1]) < 2.5 * min_face


def shifted(found: Landmarks, dx: float, dy: float, scale: float = 1.0) -> Landmarks:
    """``found`` in another image's coordinates: scaled by ``scale`` about the pixel-centre
    origin, then moved by (dx, dy)."""

    def move(p: np.ndarray) -> np.ndarray:
        return ((p + 0.5) * scale - 0.5 + np.array([dx, dy], np.float32)).astype(np.float32)

    x0, y0, x1, y1 = found.box
    (bx0, by0), (bx1, by1) = move(np.array([[x0, y0], [x1, y1]], np.float32))
    mesh = None if found.mesh is None else move(found.mesh)
    return Landmarks(
        move(found.points68), mesh, (float(bx0), float(by0), float(bx1), float(by1)), found.score
    )


def near(box: Box, previous: Box) -> bool:
    """Whether ``box``'s centre lies within half the previous box's width of the previous centre."""
    dx = (box[0] + box[2] - previous[0] - previous[2]) / 2
    dy = (box[1] + box[3] - previous[1] - previous[3]) / 2
    return math.hypot(dx, dy) < 0.5 * (previous[2] - previous[0])


def landmark_box(points: np.ndarray) -> Box:
    """The tight box (x0, y0, x1, y1) of a point set."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])
