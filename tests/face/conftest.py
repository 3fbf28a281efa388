"""Shared face fixtures: one landmark backend per available backend, and the astronaut photo."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from rtmer.face.landmarks import FACE_BACKENDS, LandmarkBackend, open_landmarks


def backend_params() -> list:
    """One pytest param per landmark backend; mediapipe's is skipped where its extra is absent
    (the main CI job: numpy 2; the mediapipe job runs it)."""
    params = []
    for name in FACE_BACKENDS:
        marks = []
        if name == "mediapipe" and importlib.util.find_spec("mediapipe") is None:
            marks.append(pytest.mark.skip(reason="the rtmer[mediapipe] extra is not installed here"))
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.fixture(scope="session", params=backend_params())
def backend(request: pytest.FixtureRequest) -> Iterator[LandmarkBackend]:
    b = open_landmarks(request.param)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut photo, BGR."""
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
