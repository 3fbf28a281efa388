"""Face front end: landmarks (behind a backend protocol), alignment, regions, the tracker.

Each landmark backend's package (dlib, mediapipe) is imported only in its own module, and only when
that backend is built (:func:`rtmer.face.landmarks.open_landmarks`).
"""

from __future__ import annotations

from rtmer.face.align import MOTION, CropSpec
from rtmer.face.dlib_backend import DlibBackend
from rtmer.face.landmarks import FACE_BACKENDS, FACE_CROPS, LandmarkBackend, Landmarks, open_landmarks
from rtmer.face.mediapipe_backend import MediaPipeBackend, mesh_to_68
from rtmer.face.regions import REGIONS, eye_mask, grid_cuts, region_masks
from rtmer.face.tracker import FaceTracker, TrackerConfig

__all__ = [
    "FACE_BACKENDS",
    "FACE_CROPS",
    "MOTION",
    "REGIONS",
    "CropSpec",
    "DlibBackend",
    "FaceTracker",
    "LandmarkBackend",
    "Landmarks",
    "MediaPipeBackend",
    "TrackerConfig",
    "eye_mask",
    "grid_cuts",
    "mesh_to_68",
    "open_landmarks",
    "region_masks",
]
