"""Landmark backends: the 468 -> 68 table, MediaPipe on the astronaut, no face, missing mediapipe."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from rtmer.errors import InputError, MissingDependencyError
from rtmer.face import align
from rtmer.face.landmarks import (
    MEDIAPIPE_REQUIREMENT,
    MESH_TO_68,
    LandmarkBackend,
    Landmarks,
    MediaPipeBackend,
    mesh_to_68,
)


@pytest.fixture(scope="module")
def found(backend: MediaPipeBackend, astronaut: np.ndarray) -> Landmarks:
    result = backend.detect(astronaut)
    assert result is not None
    return result


def test_table_has_68_mesh_points() -> None:
    assert len(MESH_TO_68) == 68
    flat = [i for entry in MESH_TO_68 for i in entry]
    assert all(0 <= i < 468 for i in flat)
    assert all(1 <= len(entry) <= 2 for entry in MESH_TO_68)


def test_mesh_to_68_takes_means_of_pairs() -> None:
    mesh = np.arange(478 * 2, dtype=np.float64).reshape(478, 2)
    out = mesh_to_68(mesh)
    assert out.shape == (68, 2) and out.dtype == np.float32
    for k, entry in enumerate(MESH_TO_68):
        np.testing.assert_allclose(out[k], mesh[list(entry)].mean(axis=0))


def test_mesh_to_68_rejects_short_input() -> None:
    with pytest.raises(InputError, match="468"):
        mesh_to_68(np.zeros((68, 2)))


def test_backend_follows_the_protocol(backend: MediaPipeBackend) -> None:
    assert isinstance(backend, LandmarkBackend)


def test_astronaut_landmarks(found: Landmarks) -> None:
    p = found.points68
    assert p.shape == (68, 2) and p.dtype == np.float32
    assert found.mesh is not None and found.mesh.shape == (468, 2)
    assert found.score > 0.9
    right, left, nose = align.anchors(p)
    # The astronaut's eyes (checked by eye on the photo): about (203, 101) and (247, 103).
    np.testing.assert_allclose(right, (203.5, 100.8), atol=4)
    np.testing.assert_allclose(left, (247.0, 103.2), atol=4)
    iod = np.linalg.norm(left - right)
    assert 38 < iod < 50
    assert abs(left[1] - right[1]) < 0.15 * iod  # an upright face
    x0, y0, x1, y1 = found.box
    assert x0 < right[0] < left[0] < x1 and y0 < right[1] < y1
    assert nose[1] > right[1] + 0.3 * iod  # the nose tip under the eyes, the mouth under the nose
    assert p[48:68, 1].mean() > nose[1] + 0.2 * iod


def test_astronaut_landmarks_follow_ibug_order(found: Landmarks) -> None:
    p = found.points68
    # Right eye 37-42: outer corner 37 at the image's left, inner corner 40; upper lid 38-39 above
    # the lower lid 42-41. Left eye 43-48: inner corner 43, outer corner 46.
    assert p[36, 0] < p[37, 0] < p[38, 0] < p[39, 0]
    assert p[37, 1] < p[41, 1] and p[38, 1] < p[40, 1]
    assert p[42, 0] < p[43, 0] < p[44, 0] < p[45, 0]
    assert p[43, 1] < p[47, 1] and p[44, 1] < p[46, 1]
    assert p[17:22, 1].max() < p[36:42, 1].min()  # brows above the eyes
    assert p[22:27, 1].max() < p[42:48, 1].min()
    assert p[48, 0] < p[51, 0] < p[54, 0]  # mouth corners 49 and 55
    assert np.argmax(p[0:17, 1]) in (7, 8, 9)  # the chin, point 9, is the jaw's lowest
    assert p[0, 0] < p[16, 0]


def test_no_face_is_none(backend: MediaPipeBackend, found: Landmarks) -> None:
    rng = np.random.default_rng(0)
    blank = np.full((480, 640, 3), 127, np.uint8)
    noise = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    for image in (blank, noise):
        assert backend.detect(image) is None
        assert backend.track(image, found) is None


def test_track_follows_a_shift(backend: MediaPipeBackend, astronaut: np.ndarray, found: Landmarks) -> None:
    shifted = cv2.warpAffine(astronaut, np.array([[1.0, 0, 6], [0, 1.0, -4]]), (512, 512))
    tracked = backend.track(shifted, found)
    assert tracked is not None
    assert tracked.score == found.score  # carried from the detection
    shift = (tracked.points68 - found.points68).mean(axis=0)
    np.testing.assert_allclose(shift, (6, -4), atol=1.0)


def test_track_recovers_from_a_stale_stream(backend: MediaPipeBackend, astronaut: np.ndarray) -> None:
    """The streaming graph remembers another image's face; track still finds this one."""
    moved = cv2.warpAffine(astronaut, np.array([[1.0, 0, -100], [0, 1.0, 150]]), (512, 512))
    other = backend.detect(moved)
    assert other is not None
    assert backend.track(astronaut, backend.detect(astronaut)) is not None  # stream on the original
    tracked = backend.track(moved, other)
    assert tracked is not None
    np.testing.assert_allclose(tracked.points68.mean(axis=0), other.points68.mean(axis=0), atol=3)


@pytest.mark.parametrize(
    "image",
    [np.zeros((48, 64), np.uint8), np.zeros((48, 64, 3), np.float32), np.zeros((48, 64, 4), np.uint8)],
)
def test_rejects_non_bgr_images(backend: MediaPipeBackend, image: np.ndarray) -> None:
    with pytest.raises(InputError, match="BGR"):
        backend.detect(image)


def test_missing_mediapipe_names_the_requirement(monkeypatch: pytest.MonkeyPatch) -> None:
    from rtmer.face import FaceTracker

    monkeypatch.setitem(sys.modules, "mediapipe", None)
    with pytest.raises(MissingDependencyError, match=MEDIAPIPE_REQUIREMENT):
        MediaPipeBackend()
    with pytest.raises(MissingDependencyError, match="mediapipe"):
        FaceTracker()


def test_face_package_imports_without_mediapipe() -> None:
    code = (
        "import sys; sys.modules['mediapipe'] = None\n"
        "import rtmer.face, rtmer.face.tracker\n"
        "assert 'mediapipe' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
