"""Face regions as masks of a crop, from the 68 landmarks in that crop's pixels (0-based indices).

- :func:`region_masks`: the six regions of CNN-LSTM-SE (Aouayeb et al. 2022, table 1: eyes +
  brows, nose, cheeks, mouth; the AUs they hold are 1/2/4/7, 9, 6 and 10/12/14/15/25), as
  dlib-style polygons on the 68 points. Sides are the subject's: "right" is points 37-42, the
  image's left in a non-mirrored view.
- :func:`eye_mask`: LAENet's eye mask (Lien & Chiang 2020, sec. 2.2.4), the polygons of points
  37-42 and 43-48, zeroed in the flow image to hide blinks.
- :func:`grid_cuts`: the multiple-aggregation network's regions (She et al., sec. II-B) on its
  120 x 140 crop, whole 10-px blocks of the 12 x 14 grid.
- :func:`rigid_mask`: the face without eyes, brows, cheeks and mouth, where
  :mod:`rtmer.face.align` registers crops.

**[rtmer]** the papers show their regions in figures that the text does not carry; the polygons
below are rtmer's reading of them, each grown by a margin proportional to the inter-ocular
distance (IOD, the distance between the eye centres) so that the skin that moves around a feature
(brow raise, lip stretch) stays inside.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rtmer.errors import InputError

REGIONS = ("eye_brow_right", "eye_brow_left", "nose", "cheek_right", "cheek_left", "mouth")

# 0-based landmark indices of each region's outline. Eyes + brows and nose are convex hulls; the
# cheeks are polygons walked round the cheek: under the eye (outer, inner lower-lid point), down
# the nose wing, the mouth corner, then up the jaw.
_HULLS = {
    "eye_brow_right": (*range(17, 22), *range(36, 42)),
    "eye_brow_left": (*range(22, 27), *range(42, 48)),
    # The nose from its root between the inner eye corners (40, 43) to the nostrils; AU9 wrinkles it.
    "nose": (*range(27, 36), 39, 42),
    "mouth": tuple(range(48, 60)),
}
_POLYGONS = {
    "cheek_right": (41, 40, 31, 48, 4, 3, 2, 1),
    "cheek_left": (46, 47, 35, 54, 12, 13, 14, 15),
}
# Margins in IOD: brows rise about a fifth of the IOD in a surprise; lips stretch past their outline.
_GROW = {"eye_brow_right": 0.12, "eye_brow_left": 0.12, "nose": 0.05, "mouth": 0.12}


def _points(points68: np.ndarray) -> np.ndarray:
    p = np.asarray(points68, np.float64)
    if p.shape != (68, 2):
        raise InputError(f"expected (68, 2) landmarks, got shape {p.shape}")
    return p


def _iod(p: np.ndarray) -> float:
    return float(np.linalg.norm(p[42:48].mean(axis=0) - p[36:42].mean(axis=0)))


def _fill(shape: tuple[int, ...], polygon: np.ndarray, grow_px: float = 0.0) -> np.ndarray:
    mask: np.ndarray = np.zeros(shape, np.uint8)
    # Sub-pixel vertices (4 fractional bits), so masks follow the landmarks smoothly.
    cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    r = round(grow_px)
    if r > 0:
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return mask.astype(bool)


def region_polygons(points68: np.ndarray) -> dict[str, np.ndarray]:
    """Each region's outline as an (N, 2) float64 polygon, before the margin is grown."""
    p = _points(points68)
    out = {}
    for name in REGIONS:
        if name in _HULLS:
            hull = cv2.convexHull(p[list(_HULLS[name])].astype(np.float32))
            out[name] = hull.reshape(-1, 2).astype(np.float64)
        else:
            out[name] = p[list(_POLYGONS[name])]
    return out


def region_masks(points68: np.ndarray, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """The six regions of :data:`REGIONS` as boolean masks of an image of ``shape`` (H, W[, C])."""
    p = _points(points68)
    iod = _iod(p)
    return {
        name: _fill(shape[:2], poly, _GROW.get(name, 0.0) * iod) for name, poly in region_polygons(p).items()
    }


def eye_mask(points68: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """LAENet's eye mask: True inside the polygons of points 37-42 and 43-48."""
    p = _points(points68)
    return _fill(shape[:2], p[36:42]) | _fill(shape[:2], p[42:48])


def rigid_mask(points68: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The face's most rigid part: the landmarks' hull raised by half an IOD over the brows
    (forehead), less the eye + brow, cheek and mouth regions (blinks, AU6 and the lips' AUs move
    those); left are the forehead, the nose and the face's outline."""
    p = _points(points68)
    iod = _iod(p)
    forehead = p[17:27] - (0.0, 0.5 * iod)
    face = _fill(shape[:2], cv2.convexHull(np.vstack([p, forehead]).astype(np.float32)).reshape(-1, 2))
    moving = np.zeros(shape[:2], bool)
    for name, mask in region_masks(p, shape).items():
        if name != "nose":
            moving |= mask
    return face & ~moving


@dataclass(frozen=True)
class GridCut:
    """A block-aligned cut of the aggregation crop: ``image[rows, cols]``."""

    rows: slice
    cols: slice


#: The aggregation network's grid: 10-px blocks, 12 across and 14 down its 120 x 140 crop.
BLOCK = 10
GRID = (14, 12)  # rows, columns

_CUTS = {
    "eye_brow_left": (*range(22, 27), *range(42, 48)),
    "eye_brow_right": (*range(17, 22), *range(36, 42)),
    "mouth": tuple(range(48, 68)),
}


def grid_cuts(points68: np.ndarray) -> dict[str, GridCut]:
    """The aggregation network's "left eye + eyebrow", "right eye + eyebrow" and "mouth" cuts.

    ``points68`` are in the 120 x 140 aggregation crop. **[rtmer]** each cut is the smallest run
    of whole blocks holding the region's landmarks (brow and eye points, outer and inner lips)
    grown by one block on every side, clipped to the grid.
    """
    p = _points(points68)
    out = {}
    for name, idx in _CUTS.items():
        lo = np.floor((p[list(idx)].min(axis=0) + 0.5) / BLOCK).astype(int) - 1
        hi = np.floor((p[list(idx)].max(axis=0) + 0.5) / BLOCK).astype(int) + 2
        c0, r0 = np.maximum(lo, 0)
        c1, r1 = np.minimum(hi, (GRID[1], GRID[0]))
        out[name] = GridCut(slice(r0 * BLOCK, r1 * BLOCK), slice(c0 * BLOCK, c1 * BLOCK))
    return out
