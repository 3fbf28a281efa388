"""Region masks, the LAENet eye mask and the aggregation network's grid cuts on a real face."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rtmer.errors import InputError
from rtmer.face import align, regions
from rtmer.face.landmarks import open_landmarks

SHAPE = (align.MOTION.size[1], align.MOTION.size[0])


@pytest.fixture(scope="module")
def frame_points() -> np.ndarray:
    """The astronaut's 68 landmarks in the photo."""
    from skimage import data

    with open_landmarks() as backend:
        found = backend.detect(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    assert found is not None
    return found.points68


@pytest.fixture(scope="module")
def crop_points(frame_points: np.ndarray) -> np.ndarray:
    """The same landmarks in the 128 x 128 motion crop."""
    return align.apply(align.MOTION.transform(frame_points), frame_points)


def centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


def test_region_masks_are_non_empty_and_inside_the_crop(crop_points: np.ndarray) -> None:
    masks = regions.region_masks(crop_points, (*SHAPE, 3))
    assert tuple(masks) == regions.REGIONS
    for name, mask in masks.items():
        assert mask.shape == SHAPE and mask.dtype == bool
        area = mask.mean()
        assert 0.02 < area < 0.2, name  # each a few % of the crop
        # Not cut by the crop's border: the face fits the motion crop.
        assert not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()), name


def test_regions_are_where_the_features_are(crop_points: np.ndarray) -> None:
    c = {name: centroid(m) for name, m in regions.region_masks(crop_points, SHAPE).items()}
    assert c["eye_brow_right"][0] < c["nose"][0] < c["eye_brow_left"][0]  # subject's right = image left
    assert c["cheek_right"][0] < c["nose"][0] < c["cheek_left"][0]
    assert c["eye_brow_right"][1] < c["nose"][1] < c["mouth"][1]
    assert abs(c["eye_brow_right"][1] - c["eye_brow_left"][1]) < 3
    assert c["eye_brow_right"][1] < c["cheek_right"][1] < c["mouth"][1] + 5


def test_eye_mask_covers_the_eyes(crop_points: np.ndarray) -> None:
    mask = regions.eye_mask(crop_points, SHAPE)
    assert mask.shape == SHAPE
    right, left, _ = align.anchors(crop_points)
    for x, y in (right, left):
        assert mask[round(y), round(x)]
    # Both polygons, nothing else: two blobs, each inside its eye + brow region.
    n, _ = cv2.connectedComponents(mask.astype(np.uint8))
    assert n - 1 == 2
    masks = regions.region_masks(crop_points, SHAPE)
    assert not (mask & ~(masks["eye_brow_right"] | masks["eye_brow_left"])).any()
    assert 0.005 < mask.mean() < 0.05


def test_rigid_mask_leaves_out_eyes_and_mouth(crop_points: np.ndarray) -> None:
    rigid = regions.rigid_mask(crop_points, SHAPE)
    masks = regions.region_masks(crop_points, SHAPE)
    assert rigid.mean() > 0.15
    assert not (rigid & (masks["eye_brow_right"] | masks["eye_brow_left"] | masks["mouth"])).any()
    assert (rigid & masks["nose"]).mean() > 0.5 * masks["nose"].mean()


def test_grid_cuts_on_the_aggregation_crop(frame_points: np.ndarray) -> None:
    points = align.apply(align.aggregation_transform(frame_points), frame_points)
    cuts = regions.grid_cuts(points)
    assert set(cuts) == {"eye_brow_left", "eye_brow_right", "mouth"}
    image = np.zeros((140, 120), np.uint8)
    for name, cut in cuts.items():
        for s, limit in ((cut.rows, 140), (cut.cols, 120)):
            assert s.start % 10 == 0 and s.stop % 10 == 0 and 0 <= s.start < s.stop <= limit, name
        assert image[cut.rows, cut.cols].size > 0
    right, left, mouth = cuts["eye_brow_right"], cuts["eye_brow_left"], cuts["mouth"]
    assert right.cols.start < left.cols.start  # the subject's right eye on the image's left
    assert right.rows.stop <= mouth.rows.start + 10
    for name, idx in (("eye_brow_right", [*range(17, 22), *range(36, 42)]), ("mouth", range(48, 68))):
        cut = cuts[name]
        # A point beyond the crop's edge (dlib's brows can touch the top) is in no cut: the cuts
        # are clipped to the grid.
        xs, ys = np.clip(points[list(idx)], -0.5, (119.4, 139.4)).T
        assert (xs >= cut.cols.start - 0.5).all() and (xs < cut.cols.stop - 0.5).all(), name
        assert (ys >= cut.rows.start - 0.5).all() and (ys < cut.rows.stop - 0.5).all(), name


def test_masks_follow_the_landmarks_sub_pixel(crop_points: np.ndarray) -> None:
    """Polygons are drawn with sub-pixel vertices: over shifts of 0-1 px the mask's centroid moves
    by the shift on average (a mask drawn from whole-pixel vertices moves in unit steps at the same
    shift for every vertex; dlib's whole-pixel landmarks make steps of 0.3-0.5 px here)."""
    a = centroid(regions.region_masks(crop_points, SHAPE)["mouth"])
    shifts = np.linspace(0.0, 1.0, 21)
    moved = [centroid(regions.region_masks(crop_points + (d, 0.0), SHAPE)["mouth"])[0] - a[0] for d in shifts]
    assert abs(np.mean(moved) - shifts.mean()) < 0.15
    assert abs(moved[-1] - 1.0) < 0.1 and 0.0 < np.median(moved[5:16]) < 1.0


def test_rejects_wrong_shapes() -> None:
    with pytest.raises(InputError, match="68, 2"):
        regions.region_masks(np.zeros((67, 2)), SHAPE)
