"""Face front end: landmarks (behind a backend protocol), alignment, regions, the tracker.

Only :mod:`rtmer.face.landmarks` imports mediapipe, and only when a MediaPipe backend is built.
"""

from __future__ import annotations

from rtmer.face.align import MOTION, CropSpec
from rtmer.face.landmarks import LandmarkBackend, Landmarks, MediaPipeBackend, mesh_to_68
from rtmer.face.regions import REGIONS, eye_mask, grid_cuts, region_masks
from rtmer.face.tracker import FaceTracker, TrackerConfig

__all__ = [
    "MOTION",
    "REGIONS",
    "CropSpec",
    "FaceTracker",
    "LandmarkBackend",
    "Landmarks",
    "MediaPipeBackend",
    "TrackerConfig",
    "eye_mask",
    "grid_cuts",
    "mesh_to_68",
    "region_masks",
]
