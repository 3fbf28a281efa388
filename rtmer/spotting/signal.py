"""The per-frame motion signal the apex spotter watches.

From a :class:`~rtmer.types.MotionState` (flow of the aligned face crop against the reference
frame) and the crop's landmarks: the flow's global component is removed first (an affine motion
fitted by least squares over the face's rigid part: forehead, nose, outline), since what is left
of head motion after alignment would otherwise swamp a 0.2 px micro-expression; then the mean
(or a chosen quantile) of the non-rigid flow magnitude in each region. The eyes are
measured apart (the lids' polygons, grown by a tenth of the eye distance), because blinks are the
commonest false alarm: the face signal excludes them, the eye signal is only theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np

from rtmer.errors import InputError
from rtmer.types import MotionState


@dataclass(frozen=True)
class SignalFrame:
    """One frame of the spotter's input.

    face: the largest per-region mean (or quantile) of the non-rigid flow magnitude (px) over the
    face regions, eyes excluded;
    eyes: the mean non-rigid flow magnitude inside the eye polygons; head: the mean magnitude of
    the fitted affine (global) motion; regions: each region's value behind ``face``.
    """

    index: int
    t: float
    face: float
    eyes: float
    head: float
    regions: tuple[tuple[str, float], ...]


class MotionSignal:
    """Turns MotionStates of one face crop geometry into SignalFrames."""

    def __init__(
        self,
        regions: Mapping[str, np.ndarray],
        rigid: np.ndarray,
        eyes: np.ndarray,
        *,
        eye_margin_px: float = 0.0,
        quantile: float | None = None,
    ) -> None:
        shape = rigid.shape
        for name, m in {**regions, "rigid": rigid, "eyes": eyes}.items():
            if m.shape != shape or not m.any():
                raise InputError(f"mask {name!r} must be a non-empty {shape} boolean array")
        grown = eyes
        if eye_margin_px > 0:
            k = 2 * int(round(eye_margin_px)) + 1
            grown = cv2.dilate(eyes.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)
        self._regions = {
            name: np.flatnonzero(m & ~grown) for name, m in regions.items() if (m & ~grown).any()
        }
        self._quantile = quantile
        self._eyes = np.flatnonzero(eyes)
        h, w = shape
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
        design = np.stack([np.ones(h * w), xs.ravel() / w, ys.ravel() / h], axis=1)
        rig = np.flatnonzero(rigid)
        # The least-squares affine fit is a fixed linear map of the rigid pixels' flow: precompute it.
        self._rig = rig
        self._fit = np.linalg.pinv(design[rig])
        self._design = design

    def _stat(self, values: np.ndarray) -> float:
        """The region's mean motion, or a quantile of it (``quantile``): an AU moves part of a
        region (AU15 only the mouth corners), which a mean over the whole region dilutes."""
        if self._quantile is None:
            return float(values.mean())
        k = int(self._quantile * (values.size - 1))
        return float(np.partition(values, k)[k])

    @classmethod
    def from_landmarks(cls, points68: np.ndarray, shape: tuple[int, int]) -> MotionSignal:
        """The six CNN-LSTM-SE regions, the rigid mask and LAENet's eye mask of a crop."""
        from rtmer.face import regions as face_regions

        p = np.asarray(points68, np.float64)
        iod = float(np.linalg.norm(p[42:48].mean(axis=0) - p[36:42].mean(axis=0)))
        return cls(
            face_regions.region_masks(p, shape),
            face_regions.rigid_mask(p, shape),
            face_regions.eye_mask(p, shape),
            eye_margin_px=0.1 * iod,
        )

    def __call__(self, state: MotionState) -> SignalFrame:
        flow = state.flow.reshape(-1, 2).astype(np.float64)
        coef = self._fit @ flow[self._rig]  # (3, 2): affine coefficients of u and v
        rigid = self._design @ coef
        residual = np.hypot(*(flow - rigid).T)
        regions = tuple((name, self._stat(residual[idx])) for name, idx in self._regions.items())
        return SignalFrame(
            index=state.index,
            t=state.t,
            face=max(v for _, v in regions),
            eyes=float(residual[self._eyes].mean()),
            head=float(np.hypot(*rigid.T).mean()),
            regions=regions,
        )
