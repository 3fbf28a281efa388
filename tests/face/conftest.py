"""Shared face fixtures: one MediaPipe backend and the astronaut photo per session."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from rtmer.face.landmarks import MediaPipeBackend


@pytest.fixture(scope="session")
def backend() -> Iterator[MediaPipeBackend]:
    with MediaPipeBackend() as b:
        yield b


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut photo, BGR."""
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
