"""Synthetic subjects: a real neutral face photo made into a distinct identity.

A subject is a base face plus its own face shape (a smooth warp that moves the landmark groups:
eye spacing, brow height, nose length, mouth width, jaw width), skin tone (per-channel gains),
illumination (a global gain and a left-right gradient) and camera noise. The face is placed on a
canvas so that its eye distance is ``eye_px`` pixels, whatever the photo's resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rtmer import motion
from rtmer.synth.au import eye_distance


@dataclass(frozen=True)
class BaseFace:
    """A neutral frontal face photo and its 68 landmarks (image pixels)."""

    name: str
    image: np.ndarray  # uint8 BGR
    landmarks68: np.ndarray  # (68, 2) float32


@dataclass(frozen=True)
class Subject:
    """One synthetic identity, ready to render: its neutral face on the output canvas."""

    sid: str
    base: str
    image: np.ndarray  # uint8 BGR canvas, the neutral face
    landmarks68: np.ndarray  # (68, 2) float32 on the canvas
    noise_sigma: float  # camera noise, grey levels
    shape_params: tuple[float, ...]  # the identity warp's parameters (for the record)
    tone: tuple[float, float, float]  # B, G, R gains


# Landmark groups the identity warp moves, and how (x scale about the face centre, y shift in
# eye distances): varying these is what makes faces look like different people.
_GROUPS = {
    "eyes": (list(range(36, 48)), "x"),
    "brows": (list(range(17, 27)), "y"),
    "nose": (list(range(31, 36)), "y"),
    "mouth": (list(range(48, 68)), "x"),
    "jaw": (list(range(0, 17)), "x"),
}


def _identity_warp(lm: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, ...]]:
    """New landmark positions: each group scaled in x about the face's midline or shifted in y."""
    iod = eye_distance(lm)
    centre_x = lm[27:31, 0].mean()
    out = lm.copy()
    params = []
    for idx, axis in _GROUPS.values():
        if axis == "x":
            s = rng.uniform(-0.06, 0.06)
            out[idx, 0] = centre_x + (lm[idx, 0] - centre_x) * (1 + s)
        else:
            s = rng.uniform(-0.05, 0.05)
            out[idx, 1] = lm[idx, 1] + s * iod
        params.append(float(s))
    return out, tuple(params)


def _landmark_field(src: np.ndarray, dst: np.ndarray, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """A smooth displacement that carries the src landmarks close to dst: Gaussian radial basis
    interpolation of the landmark displacements, float32 H x W x 2."""
    d = dst - src
    k = np.exp(-((src[:, None, :] - src[None, :, :]) ** 2).sum(-1) / (2 * sigma**2))
    weights = np.linalg.solve(k + 1e-3 * np.eye(len(src)), d)
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    field = np.zeros((h, w, 2))
    for p, wt in zip(src, weights, strict=True):
        field += np.exp(-((xs - p[0]) ** 2 + (ys - p[1]) ** 2) / (2 * sigma**2))[..., None] * wt
    return field.astype(np.float32)


def inverse_map(field: np.ndarray, *, tol: float = 1e-3, max_iterations: int = 30) -> np.ndarray:
    """The backward map of a forward displacement: for each output pixel q the point p with
    p + field(p) = q, float32 H x W x 2 (x, y). Fixed-point iteration p = q - field(p) converges
    while the field's gradient stays below 1 (it is a few tenths for micro-expressions); the
    field is sampled bicubically at full precision, so p is exact to ``tol`` px."""
    h, w = field.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    grid = np.dstack([xs, ys])
    p = grid - field
    for _ in range(max_iterations):
        nxt = grid - motion.remap(field, p)
        step = float(np.abs(nxt - p).max())
        p = nxt
        if step < tol:
            break
    return p


def invert_and_warp(image: np.ndarray, field: np.ndarray) -> np.ndarray:
    """Render ``image`` moved by ``field``: the content at p goes to p + field(p) (backward warping
    through :func:`inverse_map`, exact bicubic sampling), uint8."""
    out = motion.remap(image, inverse_map(field))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def place(base: BaseFace, canvas: tuple[int, int], eye_px: float, centre: tuple[float, float]) -> BaseFace:
    """The base face scaled so its eye distance is ``eye_px`` and its eye midpoint lands at
    ``centre`` (x, y) of a canvas of size (h, w), border replicated."""
    lm = base.landmarks68.astype(np.float64)
    scale = eye_px / eye_distance(lm)
    mid = 0.5 * (lm[36:42].mean(axis=0) + lm[42:48].mean(axis=0))
    m = np.array([[scale, 0, centre[0] - scale * mid[0]], [0, scale, centre[1] - scale * mid[1]]], np.float64)
    h, w = canvas
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    img = cv2.warpAffine(base.image, m, (w, h), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    pts = (lm @ m[:, :2].T + m[:, 2]).astype(np.float32)
    return BaseFace(base.name, img, pts)


def make_subject(
    sid: str,
    base: BaseFace,
    rng: np.random.Generator,
    canvas: tuple[int, int],
    eye_px: float,
) -> Subject:
    """A new identity from a base face: shape warp, tone, illumination and noise level."""
    h, w = canvas
    placed = place(base, canvas, eye_px, (w / 2 + rng.uniform(-0.03, 0.03) * w, h * rng.uniform(0.40, 0.44)))
    target, params = _identity_warp(placed.landmarks68.astype(np.float64), rng)
    field = _landmark_field(placed.landmarks68.astype(np.float64), target, canvas, sigma=0.35 * eye_px)
    img: np.ndarray = invert_and_warp(placed.image, field).astype(np.float32)
    tone = (rng.uniform(0.85, 1.05), rng.uniform(0.85, 1.05), rng.uniform(0.85, 1.1))
    gain = rng.uniform(0.8, 1.15)
    slope = rng.uniform(-0.15, 0.15)
    ramp = 1 + slope * (np.arange(w, dtype=np.float32) / max(w - 1, 1) - 0.5)
    img = img * np.float32(gain) * np.asarray(tone, np.float32) * ramp[None, :, None]
    # Landmarks follow the content: q = p + field(p) at each landmark.
    ys = np.clip(placed.landmarks68[:, 1].round().astype(int), 0, h - 1)
    xs = np.clip(placed.landmarks68[:, 0].round().astype(int), 0, w - 1)
    moved = placed.landmarks68 + field[ys, xs]
    return Subject(
        sid=sid,
        base=base.name,
        image=np.clip(np.rint(img), 0, 255).astype(np.uint8),
        landmarks68=moved.astype(np.float32),
        noise_sigma=float(rng.uniform(1.0, 2.5)),
        shape_params=params,
        tone=(float(tone[0]), float(tone[1]), float(tone[2])),
    )
