"""The per-frame motion signal the apex spotter watches.

From a :class:`~rtmer.types.MotionState` (flow of the aligned face crop against the reference
frame) and the crop's landmarks:

1. The flow's global component is removed (an affine motion fitted by least squares over the
   face's rigid part: forehead, nose, outline), since what is left of head motion after alignment
   would otherwise swamp a 0.2 px micro-expression.
2. The non-rigid flow is averaged, as vectors, over small blocks of the face regions (eyes
   excluded) and over the last ``smooth_s`` of frames. An action unit moves a few blocks
   coherently while the flow noise of a textureless cheek points anywhere: a vector mean keeps the
   first and cancels the second, where a region's mean of magnitudes dilutes a local AU (AU 15
   moves the mouth corners, not the lips) and keeps the noise's bias. Averaging two frames at 200
   fps also cancels the frame-to-frame alternation that 100 Hz lamp flicker leaves in the flow.
3. Each block's motion is divided by that block's own noise level (a running RMS over frames when
   the face is at rest), so a noisy block (low texture, the crop's edge) cannot raise the
   signal and a quiet one counts for what it is. The face signal is the largest block z-score,
   rescaled to pixels by the median block noise so that it stays comparable with the eye and
   head signals. Against the largest region mean of the flow magnitude, micro-expressions of
   0.7-0.9 px stand at 10-12 noise sigmas instead of 4-6 (bench/README.md, tuning notes).

The eyes are measured apart (the lids' polygons, grown by 0.15 of the eye distance: dlib places the
brows 1-3 px nearer the eyes than MediaPipe did, and with a tenth a synthetic blink's lid motion
reached the brow blocks), because blinks are the commonest false alarm: the face signal excludes
them, the eye signal is only theirs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np

from rtmer.errors import InputError
from rtmer.types import MotionState


@dataclass(frozen=True)
class SignalFrame:
    """One frame of the spotter's input.

    face: the largest block motion over the face regions (eyes excluded), in units of that block's
    noise, times the median block noise (px at the typical block's noise level);
    eyes: the mean non-rigid flow magnitude inside the eye polygons (px); head: the mean magnitude
    of the fitted affine (global) motion (px); regions: each region's largest block value, on the
    scale of ``face``; level: the expression's extent, the largest region mean of the non-rigid
    flow magnitude (px). ``face`` finds an expression (one block's motion stands out of its noise), and
    ``level`` locates its apex: a block's motion stops growing once its own patch has moved, while
    a spreading smile keeps raising the regions' means until the whole face peaks (NaN: locate
    the apex on ``face``).
    """

    index: int
    t: float
    face: float
    eyes: float
    head: float
    regions: tuple[tuple[str, float], ...]
    level: float = math.nan


class MotionSignal:
    """Turns MotionStates of one face crop geometry into SignalFrames.

    block_px: side of the blocks (crop pixels); blocks less than a quarter inside the face
    regions are left out. smooth_s: the causal window of the vector average (seconds; the frame
    interval is read from the states' timestamps). noise_s: the time constant of each block's
    running noise level. rest_z: a frame whose largest block z-score is under this is at rest and
    updates the noise levels (an expression must not teach the signal that it is noise).
    noise_floor_px: the smallest noise level a block is credited with.
    """

    def __init__(
        self,
        regions: Mapping[str, np.ndarray],
        rigid: np.ndarray,
        eyes: np.ndarray,
        *,
        eye_margin_px: float = 0.0,
        block_px: int = 8,
        smooth_s: float = 0.01,
        noise_s: float = 2.0,
        rest_z: float = 4.0,
        noise_floor_px: float = 0.01,
    ) -> None:
        shape = rigid.shape
        for name, m in {**regions, "rigid": rigid, "eyes": eyes}.items():
            if m.shape != shape or not m.any():
                raise InputError(f"mask {name!r} must be a non-empty {shape} boolean array")
        if block_px < 1 or min(shape) < block_px:
            raise InputError(f"block_px must be in [1, {min(shape)}], got {block_px}")
        grown = eyes
        if eye_margin_px > 0:
            k = 2 * int(round(eye_margin_px)) + 1
            grown = cv2.dilate(eyes.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)
        self._eyes = np.flatnonzero(eyes)
        h, w = shape
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
        design = np.stack([np.ones(h * w), xs.ravel() / w, ys.ravel() / h], axis=1)
        rig = np.flatnonzero(rigid)
        # The least-squares affine fit is a fixed linear map of the rigid pixels' flow: precompute it.
        self._rig = rig
        self._fit = np.linalg.pinv(design[rig]).astype(np.float32)
        self._design = design.astype(np.float32)
        # Blocks: the face pixels of each block of the crop (the part a whole number of blocks
        # covers), summed by a reshape; a block belongs to the region covering most of it.
        b = block_px
        self._grid = (h // b, b, w // b, b)
        face = np.zeros(shape, bool)
        for m in regions.values():
            face |= m
        face &= ~grown
        self._face = face[: h // b * b, : w // b * b].astype(np.float32)
        count = self._face.reshape(self._grid).sum(axis=(1, 3)).ravel()
        self._blocks = np.flatnonzero(count >= b * b / 4)
        if self._blocks.size == 0:
            raise InputError("no block of the face regions is a quarter inside them")
        self._count = count[self._blocks]
        names, cover = [], []
        for name, m in regions.items():
            part = (m & ~grown)[: h // b * b, : w // b * b].reshape(self._grid).sum(axis=(1, 3)).ravel()
            names.append(name)
            cover.append(part[self._blocks])
        owner = np.argmax(np.stack(cover), axis=0)
        self._members = {n: np.flatnonzero(owner == i) for i, n in enumerate(names) if (owner == i).any()}
        self._pixels = [np.flatnonzero(m & ~grown) for m in regions.values() if (m & ~grown).any()]
        self._smooth_s, self._noise_s, self._rest_z = smooth_s, noise_s, rest_z
        self._floor2 = noise_floor_px**2
        self._history: list[np.ndarray] = []
        self._last: tuple[int, float] | None = None
        self._dt = math.nan
        self._var: np.ndarray | None = None
        self._rest = 0

    @classmethod
    def from_landmarks(cls, points68: np.ndarray, shape: tuple[int, int]) -> MotionSignal:
        """The six CNN-LSTM-SE regions, the rigid mask and LAENet's eye mask of a crop; blocks of
        1/16 of the crop's width (8 px in the 128 px motion crop, about a sixth of the eye
        distance: the size of an AU's moving patch)."""
        from rtmer.face import regions as face_regions

        p = np.asarray(points68, np.float64)
        iod = float(np.linalg.norm(p[42:48].mean(axis=0) - p[36:42].mean(axis=0)))
        return cls(
            face_regions.region_masks(p, shape),
            face_regions.rigid_mask(p, shape),
            face_regions.eye_mask(p, shape),
            eye_margin_px=0.15 * iod,
            block_px=max(1, round(shape[1] / 16)),
        )

    def _frames(self, seconds: float) -> int:
        return 1 if math.isnan(self._dt) else max(1, round(seconds / self._dt))

    def _frame_interval(self, state: MotionState) -> None:
        """The frame interval, from the states' timestamps (files: index / fps; cameras: their
        clock), so the windows are in seconds whatever the frame rate."""
        if self._last is not None and state.index > self._last[0] and math.isfinite(state.t - self._last[1]):
            dt = (state.t - self._last[1]) / (state.index - self._last[0])
            if dt > 0:
                self._dt = dt if math.isnan(self._dt) else 0.9 * self._dt + 0.1 * dt
        self._last = (state.index, state.t)

    def __call__(self, state: MotionState) -> SignalFrame:
        self._frame_interval(state)
        flow = state.flow.reshape(-1, 2).astype(np.float32, copy=False)
        coef = self._fit @ flow[self._rig]  # (3, 2): affine coefficients of u and v
        rigid = self._design @ coef
        nonrigid = flow - rigid
        h, w = state.flow.shape[:2]
        field = nonrigid.reshape(h, w, 2)[: self._face.shape[0], : self._face.shape[1]]
        sums = (field * self._face[..., None]).reshape(*self._grid, 2).sum(axis=(1, 3))
        blocks = sums.reshape(-1, 2)[self._blocks].astype(np.float64) / self._count[:, None]
        self._history.append(blocks)
        del self._history[: -self._frames(self._smooth_s)]
        mean = np.mean(self._history, axis=0)
        power = np.maximum((mean**2).sum(axis=1), self._floor2)
        if self._var is None:
            self._var = power
        z = np.sqrt(power / self._var)
        # The noise levels learn from frames at rest, and from every frame of the first 0.2 s (a
        # running mean then, so the first frames do not weigh more than the later ones).
        if z.max() < self._rest_z or self._rest < self._frames(0.2):
            self._rest += 1
            a = max(1.0 / self._frames(self._noise_s), 1.0 / self._rest)
            self._var = (1 - a) * self._var + a * power
        scale = float(np.median(np.sqrt(self._var)))
        regions = tuple((name, float(z[idx].max()) * scale) for name, idx in self._members.items())
        magnitude = np.hypot(*nonrigid.T)
        level = max(float(magnitude[idx].mean()) for idx in self._pixels)
        return SignalFrame(
            index=state.index,
            t=state.t,
            face=float(z.max()) * scale,
            eyes=float(np.hypot(*nonrigid[self._eyes].T).mean()),
            head=float(np.hypot(*rigid.T).mean()),
            regions=regions,
            level=level,
        )
