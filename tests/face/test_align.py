"""Alignment: exact geometry, the papers' crops, and stability under known transforms of a photo."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rtmer.errors import InputError
from rtmer.face import align, regions
from rtmer.face.landmarks import LandmarkBackend


def similarity(angle_deg: float, scale: float, tx: float, ty: float, centre: tuple) -> np.ndarray:
    m = cv2.getRotationMatrix2D(centre, angle_deg, scale)
    m[:, 2] += (tx, ty)
    return m


def canonical_shape() -> np.ndarray:
    """68 points whose anchors sit exactly on CANONICAL_ANCHORS (unit face frame)."""
    rng = np.random.default_rng(3)
    p = rng.uniform(-1, 1.5, (68, 2))
    p[36:42] = rng.normal(0, 0.05, (6, 2))
    p[36:42] += (-0.5, 0.0) - p[36:42].mean(axis=0)
    p[42:48] = rng.normal(0, 0.05, (6, 2))
    p[42:48] += (0.5, 0.0) - p[42:48].mean(axis=0)
    p[30] = (0.0, 0.57)
    return p


# -- exact geometry -----------------------------------------------------------------------------


def test_fit_similarity_recovers_a_known_transform() -> None:
    src = np.random.default_rng(0).uniform(0, 100, (10, 2))
    m = similarity(23.0, 1.7, 5.0, -3.0, (40, 60))
    np.testing.assert_allclose(align.fit_similarity(src, align.apply(m, src)), m, atol=1e-9)


def test_fit_similarity_rejects_coincident_points() -> None:
    with pytest.raises(InputError, match="coincident"):
        align.fit_similarity(np.ones((3, 2)), np.zeros((3, 2)))


def test_compose_and_invert() -> None:
    a = similarity(10, 1.2, 3, 4, (0, 0))
    b = similarity(-35, 0.7, -8, 2, (5, 5))
    p = np.random.default_rng(1).uniform(-50, 50, (5, 2))
    np.testing.assert_allclose(align.apply(align.compose(a, b), p), align.apply(a, align.apply(b, p)))
    np.testing.assert_allclose(align.compose(a, align.invert(a)), np.eye(2, 3), atol=1e-12)
    assert np.sqrt(np.linalg.det(a[:, :2])) == pytest.approx(1.2)


def test_robust_similarity_ignores_outliers() -> None:
    rng = np.random.default_rng(2)
    src = rng.uniform(0, 128, (40, 2))
    m = similarity(3, 1.02, 1.5, -0.5, (64, 64))
    dst = align.apply(m, src) + rng.normal(0, 0.02, src.shape)
    dst[:10] += rng.uniform(3, 8, (10, 2))  # a quarter of the points moved (an expression)
    fit, inliers = align.robust_similarity(src, dst)
    np.testing.assert_allclose(fit, m, atol=0.01)
    assert not inliers[:10].any() and inliers[10:].all()


def test_motion_crop_puts_the_anchors_on_canonical_places() -> None:
    frame = similarity(-12, 80.0, 300, 200, (0, 0))  # face frame -> a frame, IOD 80 px
    points = align.apply(frame, canonical_shape())
    m = align.MOTION.transform(points)
    right, left, nose = align.apply(m, align.anchors(points))
    np.testing.assert_allclose(right, (63.5 - 23, 44), atol=1e-9)
    np.testing.assert_allclose(left, (63.5 + 23, 44), atol=1e-9)
    np.testing.assert_allclose(nose, (63.5, 44 + 0.57 * 46), atol=1e-9)
    assert np.sqrt(np.linalg.det(m[:, :2])) == pytest.approx(46 / 80)


def test_alignment_is_exactly_equivariant() -> None:
    """Landmarks moved by any similarity land on the same crop pixels."""
    points = align.apply(similarity(0, 45.0, 250, 110, (0, 0)), canonical_shape())
    base = align.apply(align.MOTION.transform(points), points)
    for case in [(10, 1, 0, 0), (-10, 1, 0, 0), (0, 0.8, 0, 0), (0, 1.25, 0, 0), (4, 1.1, 7.3, -2.1)]:
        moved = align.apply(similarity(*case, (256, 256)), points)
        np.testing.assert_allclose(align.apply(align.MOTION.transform(moved), moved), base, atol=1e-9)


def test_laenet_box_has_the_papers_margins() -> None:
    points = align.apply(similarity(0, 100.0, 320, 240, (0, 0)), canonical_shape())
    m = align.laenet_transform(points, (200, 300))
    crop = align.apply(m, points)
    # IOD 100 px: margins of 25 / 0 / 5 / 5 paper pixels are 25 / 0 / 5 / 5 frame pixels here.
    x0, y0 = points.min(axis=0) - (5, 25)
    x1, y1 = points.max(axis=0) + (5, 0)
    sx, sy = 200 / (x1 - x0), 300 / (y1 - y0)
    np.testing.assert_allclose(crop.min(axis=0), (-0.5 + 5 * sx, -0.5 + 25 * sy), atol=1e-9)
    np.testing.assert_allclose(crop.max(axis=0), (199.5 - 5 * sx, 299.5), atol=1e-9)


@pytest.mark.parametrize(
    ("transform", "size"),
    [(align.cropnet_transform, (320, 320)), (align.aggregation_transform, (120, 140))],
)
def test_landmark_box_crops_fill_their_size(transform, size: tuple[int, int]) -> None:
    points = align.apply(similarity(7, 60.0, 320, 240, (0, 0)), canonical_shape())
    crop = align.apply(transform(points), points)
    np.testing.assert_allclose(crop.min(axis=0), (-0.5, -0.5), atol=1e-9)
    np.testing.assert_allclose(crop.max(axis=0), (size[0] - 0.5, size[1] - 0.5), atol=1e-9)


def test_region_crops_have_the_normalised_sizes() -> None:
    points = align.apply(similarity(5, 70.0, 320, 240, (0, 0)), canonical_shape())
    image = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    crops = align.region_crops(image, points)
    sizes = {name: c.shape[:2] for name, c in crops.items()}
    assert sizes == {
        "eye_brow_right": (81, 102),
        "eye_brow_left": (81, 102),
        "nose": (81, 120),
        "cheek_right": (60, 60),
        "cheek_left": (60, 60),
        "mouth": (60, 160),
    }
    for name, m in align.region_transforms(points).items():
        idx, (h, w) = align.CNN_LSTM_SE_REGIONS[name]
        centre = align.apply(m, points[list(idx)]).mean(axis=0)
        np.testing.assert_allclose(centre, ((w - 1) / 2, (h - 1) / 2), atol=1e-9)


def test_rejects_wrong_landmark_shapes() -> None:
    with pytest.raises(InputError, match="68, 2"):
        align.face_transform(np.zeros((5, 2)))


# -- stability on a real face -------------------------------------------------------------------

CASES = [  # rotation (deg), scale, translation (px) of the 512 x 512 astronaut about its centre
    (10, 1.0, 0, 0),
    (-10, 1.0, 0, 0),
    (0, 0.8, 0, 0),
    (0, 1.25, 0, 0),
    (0, 1.0, 12.3, -7.6),
    (6, 1.12, 5.5, 3.25),
    (-8, 0.85, -9.5, 4.75),
]


@pytest.fixture(scope="module")
def reference(backend: LandmarkBackend, astronaut: np.ndarray) -> dict[str, np.ndarray]:
    found = backend.detect(astronaut)
    assert found is not None
    m = align.MOTION.transform(found.points68)
    crop = cv2.cvtColor(align.warp(astronaut, m, align.MOTION.size), cv2.COLOR_BGR2GRAY)
    landmarks = align.apply(m, found.points68)
    masks = regions.region_masks(landmarks, crop.shape)
    face = regions.rigid_mask(landmarks, crop.shape) | np.any(list(masks.values()), axis=0)
    points = found.points68.astype(np.float64)
    return {"points": points, "m": m, "crop": crop, "landmarks": landmarks, "face": face}


@pytest.mark.parametrize("case", CASES, ids=[f"rot{a}_s{s}_t{x},{y}" for a, s, x, y in CASES])
def test_aligned_crops_match_under_known_transforms(
    backend: LandmarkBackend, astronaut: np.ndarray, reference: dict[str, np.ndarray], case: tuple
) -> None:
    """The same face points land on the same crop pixels whatever the head's similarity.

    Landmarks alone repeat to 0.3-0.8 px here (mean over the 68 points); registered to the
    reference crop (the tracker's refinement), to 0.01-0.05 px.
    """
    a = similarity(*case, (255.5, 255.5))
    image = cv2.warpAffine(astronaut, a, (512, 512), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    found = backend.detect(image)
    assert found is not None
    truth = align.apply(reference["m"], reference["points"])  # where the points must land
    moved = align.apply(a, reference["points"])  # the same face points in the transformed image

    by_landmarks = align.MOTION.transform(found.points68)
    error = np.linalg.norm(align.apply(by_landmarks, moved) - truth, axis=1)
    assert error.mean() < 1.0

    registration = align.TemplateRegistration(reference["crop"], reference["landmarks"])
    refined, inliers = registration.refine(image, by_landmarks)
    error = np.linalg.norm(align.apply(refined, moved) - truth, axis=1)
    assert error.max() < 0.5  # the bound; measured 0.02-0.06 px
    assert error.mean() < 0.1
    assert inliers > 0.9

    # The detected landmarks, in the crop: per-point detection noise on top of the alignment.
    detected = np.linalg.norm(align.apply(refined, found.points68) - reference["landmarks"], axis=1)
    assert detected.mean() < 1.5

    crop = cv2.cvtColor(align.warp(image, refined, align.MOTION.size), cv2.COLOR_BGR2GRAY)
    diff = np.abs(crop.astype(np.float64) - reference["crop"])[reference["face"]]
    assert diff.mean() < 2.5  # grey levels; two resamplings apart (landmarks alone: 2.5-6)


def test_registration_reports_failure_on_another_image(reference: dict[str, np.ndarray]) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    registration = align.TemplateRegistration(reference["crop"], reference["landmarks"])
    _, inliers = registration.refine(noise, reference["m"])
    assert inliers < 0.3
