"""Alignment: similarity transforms from the eyes and nose, the papers' crops, template registration.

Conventions. Points are (x, y) in pixels with pixel centres at integer coordinates (OpenCV's).
A transform is a (2, 3) float64 matrix ``M`` mapping source points to destination points,
``dst = M[:, :2] @ src + M[:, 2]``; :func:`warp` samples a crop with it (``cv2.warpAffine``).
Landmarks are the 68 iBUG points, 0-based (the papers' point 37 is index 36).

The *face frame* is a unit frame on the face: origin at the midpoint of the eye centres, x from
the subject's right eye (image left) to the left eye, y down, one unit = the distance between the
eye centres (IOD). :func:`face_transform` is the least-squares similarity taking the eye centres
(means of points 37-42 and 43-48) and the nose tip (point 31) to their canonical places in that
frame, :data:`CANONICAL_ANCHORS`. Every crop is a map from the face frame to crop pixels:
- :class:`CropSpec` crops are similarities (the default 128 x 128 motion crop, :data:`MOTION`);
- the papers' landmark-box crops (LAENet, CropNet, the aggregation network) map the box of the
  landmarks in the face frame to the crop, so they may scale x and y differently, as resizing a
  cropped box does in the papers;
- the CNN-LSTM-SE regions are boxes of the papers' normalised sizes around each region.

**[rtmer]** The papers give margins and region sizes in pixels of their data sets' frames. rtmer
reads them as pixels of a face whose eye centres are 100 px apart (CASME II and CK+ faces are
about that size), i.e. a paper pixel is 0.01 face-frame units.

:class:`TemplateRegistration` refines a transform to sub-pixel accuracy by registering the crop
to a template crop of the same face (Lucas-Kanade on rigid face points, robust similarity fit):
landmarks alone repeat to about 1 % of the IOD, the registration to a few hundredths of a pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rtmer.errors import InputError
from rtmer.face import regions

# 0-based landmark indices.
RIGHT_EYE = slice(36, 42)  # the subject's right eye, points 37-42
LEFT_EYE = slice(42, 48)  # points 43-48
NOSE_TIP = 30  # point 31; the tip moves less with the upper lip (AU10) than the subnasale, point 34

#: Canonical places of (right eye centre, left eye centre, nose tip) in the face frame. The nose
#: tip's depth below the eye line, 0.57 IOD, is the ratio in the 5-point template of ArcFace
#: (InsightFace's ``arcface_dst``: eyes at y 51.6, nose tip at 71.7, 35.2 px apart), a mean face.
CANONICAL_ANCHORS = np.array([[-0.5, 0.0], [0.5, 0.0], [0.0, 0.57]])

#: A paper pixel in face-frame units (see the module docstring).
PAPER_PX = 0.01


def anchors(points68: np.ndarray) -> np.ndarray:
    """(3, 2) float64: right eye centre, left eye centre (means of 37-42 / 43-48), nose tip (31)."""
    p = _points68(points68)
    return np.stack([p[RIGHT_EYE].mean(axis=0), p[LEFT_EYE].mean(axis=0), p[NOSE_TIP]])


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The least-squares similarity taking ``src`` to ``dst`` (N >= 2 points each).

    Closed form (Umeyama 1991, without reflection): a rotation, one scale and a translation.
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - ms, dst - md
    var = (s**2).sum()
    if var <= 1e-12 * len(s):
        raise InputError("cannot fit a similarity to coincident points")
    a = (s * d).sum() / var
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / var
    m = np.array([[a, -b, 0.0], [b, a, 0.0]])
    m[:, 2] = md - m[:, :2] @ ms
    return m


def face_transform(points68: np.ndarray) -> np.ndarray:
    """Frame pixels -> face frame: the similarity taking :func:`anchors` to :data:`CANONICAL_ANCHORS`."""
    return fit_similarity(anchors(points68), CANONICAL_ANCHORS)


def apply(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``m`` applied to (N, 2) points; float64."""
    p = np.asarray(points, np.float64)
    return p @ m[:, :2].T + m[:, 2]


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The transform ``outer ∘ inner`` (inner first)."""
    return np.hstack([outer[:, :2] @ inner[:, :2], (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]])


def invert(m: np.ndarray) -> np.ndarray:
    """The inverse of an invertible 2 x 3 transform."""
    return cv2.invertAffineTransform(np.asarray(m, np.float64))


def warp(image: np.ndarray, m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The crop ``size`` = (width, height) whose pixel ``q`` samples ``image`` at ``m⁻¹(q)``.

    Bilinear, border replicated (a face at the frame's edge keeps its statistics, no black band).
    """
    return cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@dataclass(frozen=True)
class CropSpec:
    """A similarity crop: its ``size`` (width, height), the IOD in crop pixels, and where the
    eye midpoint (the face frame's origin) lands."""

    name: str
    size: tuple[int, int]
    iod: float
    origin: tuple[float, float]

    @property
    def from_face(self) -> np.ndarray:
        """Face frame -> crop pixels."""
        return np.array([[self.iod, 0.0, self.origin[0]], [0.0, self.iod, self.origin[1]]])

    def transform(self, points68: np.ndarray) -> np.ndarray:
        """Frame pixels -> this crop, from the frame's 68 landmarks."""
        return compose(self.from_face, face_transform(points68))


#: The default motion crop: 128 x 128, eyes 46 px apart on row 44, so the crop runs from about one
#: IOD above the eye line (forehead, for brow raises) to 1.83 IOD below it (past the chin, about
#: 1.65 IOD down) and spans 2.78 IOD across (ear to ear).
MOTION = CropSpec("motion", (128, 128), 46.0, (63.5, 44.0))


def box_transform(
    face: np.ndarray,
    points68: np.ndarray,
    size: tuple[int, int],
    margins: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
) -> np.ndarray:
    """Frame -> crop of the landmarks' box in the face frame, enlarged by ``margins`` (top,
    bottom, left, right, in paper pixels) and resized to ``size`` = (width, height).

    ``face`` is the frame -> face frame similarity (:func:`face_transform`), ``points68`` the
    frame landmarks whose box is taken. Left and right are the image's.
    """
    u = apply(face, _points68(points68))
    top, bottom, left, right = (PAPER_PX * v for v in margins)
    u0, v0 = u.min(axis=0) - (left, top)
    u1, v1 = u.max(axis=0) + (right, bottom)
    w, h = size
    sx, sy = w / (u1 - u0), h / (v1 - v0)
    # Box edges map to crop edges: u0 -> -0.5, u1 -> w - 0.5 (pixel centres at integers).
    box = np.array([[sx, 0.0, -0.5 - sx * u0], [0.0, sy, -0.5 - sy * v0]])
    return compose(box, face)


def laenet_transform(points68: np.ndarray, size: tuple[int, int] = (128, 128)) -> np.ndarray:
    """LAENet's face crop (Lien & Chiang 2020, sec. 2.1.1): the landmark box enlarged by 25 px
    at the top, 0 at the bottom and 5 px left and right, resized to ``size``. The paper resizes
    the flow computed on this crop to 28 x 28."""
    return box_transform(face_transform(points68), points68, size, (25.0, 0.0, 5.0, 5.0))


def cropnet_transform(points68: np.ndarray) -> np.ndarray:
    """CropNet's input crop (Zhao et al. 2021, sec. 3.1.1.3 and 3.2.2): the face cropped by its
    landmarks, at 320 x 320."""
    return box_transform(face_transform(points68), points68, (320, 320))


def aggregation_transform(points68: np.ndarray) -> np.ndarray:
    """The multiple-aggregation network's crop (She et al., sec. II-B): the face cropped by its
    68 landmarks and resized to 120 x 140 (**[rtmer]** 120 wide, 140 high: 12 x 14 blocks of
    10 px, a face being taller than wide)."""
    return box_transform(face_transform(points68), points68, (120, 140))


#: CNN-LSTM-SE's six regions (Aouayeb et al. 2022, tables 1-2): the 0-based landmarks whose mean
#: centres each region, and the region's normalised size (height, width) in paper pixels; the
#: crop has that many pixels. Sides are the subject's. **[rtmer]** the papers' figure is missing:
#: each region is centred on its landmarks; a cheek on its lower eyelid's outer point, jaw point
#: 3 (15), nose wing 32 (36) and mouth corner 49 (55).
CNN_LSTM_SE_REGIONS: dict[str, tuple[tuple[int, ...], tuple[int, int]]] = {
    "eye_brow_right": ((*range(17, 22), *range(36, 42)), (81, 102)),
    "eye_brow_left": ((*range(22, 27), *range(42, 48)), (81, 102)),
    "nose": (tuple(range(27, 36)), (81, 120)),
    "cheek_right": ((41, 2, 31, 48), (60, 60)),
    "cheek_left": ((46, 14, 35, 54), (60, 60)),
    "mouth": (tuple(range(48, 68)), (60, 160)),
}


def region_transforms(points68: np.ndarray) -> dict[str, np.ndarray]:
    """Frame -> crop of each CNN-LSTM-SE region (:data:`CNN_LSTM_SE_REGIONS`); similarities."""
    p = _points68(points68)
    face = face_transform(p)
    out = {}
    for name, (idx, (h, w)) in CNN_LSTM_SE_REGIONS.items():
        centre = apply(face, p[list(idx)]).mean(axis=0)
        k = 1.0 / PAPER_PX  # crop pixels per face-frame unit
        # The region's centre lands on the crop's centre ((w - 1) / 2, (h - 1) / 2).
        m = np.array([[k, 0.0, (w - 1) / 2 - k * centre[0]], [0.0, k, (h - 1) / 2 - k * centre[1]]])
        out[name] = compose(m, face)
    return out


def region_crops(image: np.ndarray, points68: np.ndarray) -> dict[str, np.ndarray]:
    """The six CNN-LSTM-SE region crops of ``image`` at their normalised sizes."""
    return {
        name: warp(image, m, CNN_LSTM_SE_REGIONS[name][1][::-1])
        for name, m in region_transforms(points68).items()
    }


class TemplateRegistration:
    """Refines a frame -> crop transform by registering the crop to a template crop of the face.

    The template is a gray crop with known landmarks. Its feature points lie in the rigid part of
    the face (:func:`rtmer.face.regions.rigid_mask`: no eyes, brows, cheeks or mouth, so blinks
    and expressions barely pull the fit). :meth:`refine` warps the frame with the predicted transform,
    tracks the points from the template into that crop (pyramidal Lucas-Kanade) and fits the
    similarity crop -> template robustly (Tukey-weighted least squares); its composition with the
    prediction is the refined transform. Being always against the same template, it does not
    drift.
    """

    def __init__(
        self,
        template_gray: np.ndarray,
        landmarks: np.ndarray,
        *,
        max_points: int = 64,
        inlier_px: float = 2.0,
    ) -> None:
        if template_gray.ndim != 2 or template_gray.dtype != np.uint8:
            got = f"{template_gray.dtype} {template_gray.shape}"
            raise InputError(f"template must be H x W uint8 gray, got {got}")
        self.template = template_gray
        self.inlier_px = inlier_px
        self.size = (template_gray.shape[1], template_gray.shape[0])
        mask = regions.rigid_mask(landmarks, template_gray.shape).astype(np.uint8)
        iod = float(np.linalg.norm(anchors(landmarks)[1] - anchors(landmarks)[0]))
        spacing = max(3, round(iod / 10))
        pts = cv2.goodFeaturesToTrack(
            template_gray, max_points, qualityLevel=0.005, minDistance=spacing, mask=mask, blockSize=5
        )
        if pts is None or len(pts) < 8:
            # Smooth skin has few corners: fall back to a grid over the rigid mask.
            ys, xs = np.nonzero(mask[::spacing, ::spacing])
            pts = np.stack([xs * spacing, ys * spacing], axis=1).astype(np.float32)[:, None]
        self.points = pts.reshape(-1, 1, 2).astype(np.float32)
        self._win = (2 * spacing + 1, 2 * spacing + 1)

    def refine(self, image: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, float]:
        """(refined transform, inlier fraction) for ``image`` given a ``predicted`` transform.

        The inlier fraction (of the template's points: tracked, and within ``inlier_px`` of the
        fit) is 0 when fewer than six points could be tracked; the prediction is then returned
        unchanged.
        """
        if len(self.points) < 6:  # a template without texture in its rigid part
            return predicted, 0.0
        crop = warp(image, predicted, self.size)
        if crop.ndim == 3:
            crop = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        moved, status, _ = cv2.calcOpticalFlowPyrLK(
            self.template,
            crop,
            self.points,
            None,
            winSize=self._win,
            maxLevel=2,
            criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 20, 0.005),
        )
        ok = status.ravel() == 1
        if ok.sum() < 6:
            return predicted, 0.0
        src = moved.reshape(-1, 2)[ok].astype(np.float64)
        dst = self.points.reshape(-1, 2)[ok].astype(np.float64)
        s, inliers = robust_similarity(src, dst, inlier_px=self.inlier_px)
        return compose(s, predicted), float(inliers.sum()) / len(self.points)


def robust_similarity(
    src: np.ndarray, dst: np.ndarray, *, iterations: int = 4, inlier_px: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Similarity ``src`` -> ``dst`` by iteratively reweighted least squares (Tukey biweight,
    scale from the median absolute residual, at least 0.1 px); returns it and the inlier mask
    (residual below ``inlier_px``). Deterministic, unlike RANSAC.

    Points are handled as complex numbers, where a similarity is ``z -> a z + b``: the weighted
    fit is ``a = sum(w conj(s) d) / sum(w |s|^2)`` on centred points (a few numpy calls per pass,
    this runs on every frame).
    """
    zs = np.asarray(src, np.float64) @ (1.0, 1j)
    zd = np.asarray(dst, np.float64) @ (1.0, 1j)
    w = np.ones(len(zs))
    for k in range(iterations + 1):
        ws = w.sum()
        ms, md = (w @ zs) / ws, (w @ zd) / ws
        s, d = zs - ms, zd - md
        a = (w * s.conj()) @ d / (w @ (s.real**2 + s.imag**2))
        r = np.abs(a * s - d)
        if k == iterations:
            break
        half = len(r) // 2  # the (upper) median, without np.median's overhead
        c = 4.685 * max(1.4826 * float(np.partition(r, half)[half]), 0.1)
        w_next = np.clip(1.0 - (r / c) ** 2, 0.0, None) ** 2
        if np.count_nonzero(w_next) < 3:  # too few points left to fit a similarity reliably
            break
        w = w_next
    b = md - a * ms
    m = np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]])
    return m, r < inlier_px


def _points68(points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, np.float64)
    if p.shape != (68, 2):
        raise InputError(f"expected (68, 2) landmarks, got shape {p.shape}")
    return p
