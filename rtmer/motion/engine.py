"""The per-frame motion engine: flow, strain and residual of each new face crop against the onset.

rtmer's streaming twist on TV-L1 (methods.md, "TV-L1 optical flow"): the flow reference → frame t
starts from the flow reference → frame t−1, so a reduced schedule (one scale, one warp, a dozen
iterations) keeps the accuracy of a cold full-schedule solve at a fraction of its work. The first
frame after a (re)set reference is solved cold with the full schedule.

Measured choice of the warm schedule (bench/motion.py; 128 x 128 face, smooth fields whose
amplitude rises and falls over 16 frames): one warp of 12 iterations keeps the sequence-mean EPE
within 10 % of the cold solves' (more iterations drift towards the fully converged TV-L1 solution,
which is smoother than OpenCV's early-stopped one, and not closer to the truth). Carrying the dual
variables over from the previous frame was tried and made the EPE worse.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from rtmer import _native
from rtmer.errors import InputError
from rtmer.motion import (
    Impl,
    Tvl1Settings,
    _resolve,
    gray_float,
    optical_strain,
    reference,
    tvl1_flow_stats,
)
from rtmer.types import MotionState, RegionMotion

#: The cold schedule: OpenCV's DualTVL1 defaults.
COLD = Tvl1Settings()
#: The warm schedule used from the second frame on (see bench/motion.py for its accuracy and cost).
WARM = Tvl1Settings(scales=1, warps=1, inner_iterations=12, outer_iterations=1, median_filter=5)


class IncrementalMotion:
    """Flow, strain and residual of each pushed frame against a fixed reference (onset) frame.

    Frames are uint8 crops, H x W gray or H x W x 3 BGR (flow is computed on gray; the residual
    keeps the channels). ``regions`` maps region names to H x W boolean masks; each pushed frame
    reports the mean flow magnitude, strain and residual inside every region. With
    ``match_brightness`` each frame's gray level is scaled to the reference's mean before the flow
    is solved: lamp flicker at twice the mains frequency changes whole frames' brightness at 100-200
    fps, which TV-L1's brightness-constancy term would otherwise read as motion.
    """

    def __init__(
        self,
        reference_frame: np.ndarray,
        *,
        regions: Mapping[str, np.ndarray] | None = None,
        cold: Tvl1Settings = COLD,
        warm: Tvl1Settings = WARM,
        impl: Impl = "auto",
        reference_index: int = 0,
        reference_t: float = 0.0,
        match_brightness: bool = False,
    ) -> None:
        self._impl = _resolve(impl, prefer_cuda=True)
        self._match_brightness = match_brightness
        self._cold, self._warm = cold, warm
        self._regions: dict[str, np.ndarray] = {}
        self.reset(reference_frame, index=reference_index, t=reference_t)
        if regions:
            self.set_regions(regions)

    @property
    def shape(self) -> tuple[int, int]:
        return self._ref_gray.shape  # type: ignore[return-value]

    def reset(self, reference_frame: np.ndarray, *, index: int = 0, t: float = 0.0) -> None:
        """Take a new reference (onset) frame; the next push is solved cold."""
        ref = _crop(reference_frame, "reference frame")
        if hasattr(self, "_ref") and ref.shape[:2] != self._ref.shape[:2]:
            raise InputError(
                f"new reference is {ref.shape[:2]}, the engine was built for {self._ref.shape[:2]}"
            )
        self._ref = ref
        self._ref_gray = gray_float(_gray(ref), "reference frame")
        self._ref_mean = float(self._ref_gray.mean())
        self._ref_index, self._ref_t = int(index), float(t)
        self._flow: np.ndarray | None = None
        self._count = 0
        if self._impl == "native":
            h, w = self._ref_gray.shape
            self._cold_solver = _native._C.Tvl1Solver(h, w, self._cold.native())
            self._warm_solver = _native._C.Tvl1Solver(h, w, self._warm.native())
            self._cold_solver.set_reference(self._ref_gray)
            self._warm_solver.set_reference(self._ref_gray)

    def set_regions(self, regions: Mapping[str, np.ndarray]) -> None:
        """Region masks (H x W bool, non-empty) whose mean motion each MotionState reports."""
        masks: dict[str, np.ndarray] = {}
        for name, mask in regions.items():
            m = np.asarray(mask, dtype=bool)
            if m.shape != self.shape:
                raise InputError(f"region {name!r} mask is {m.shape}, the frames are {self.shape}")
            if not m.any():
                raise InputError(f"region {name!r} mask is empty")
            masks[name] = np.flatnonzero(m)
        self._regions = masks

    def push(self, frame: np.ndarray, *, index: int | None = None, t: float | None = None) -> MotionState:
        """Motion of ``frame`` against the reference frame."""
        img = _crop(frame, "frame")
        if img.shape != self._ref.shape:
            raise InputError(f"frame is {img.shape}, the reference {self._ref.shape}; crops must match")
        gray = gray_float(_gray(img), "frame")
        if self._match_brightness:
            gray *= np.float32(self._ref_mean / max(float(gray.mean()), 1e-3))
        self._count += 1
        flow, work = self._solve(gray)
        self._flow = flow
        strain = optical_strain(flow, impl="native" if self._impl == "cuda" else self._impl)
        residual = _absdiff(img, self._ref, self._impl)
        return MotionState(
            index=self._ref_index + self._count if index is None else int(index),
            t=float("nan") if t is None else float(t),
            reference_index=self._ref_index,
            flow=flow,
            strain=strain,
            residual=residual,
            regions=self._region_motion(flow, strain, residual),
            work=work,
        )

    def _solve(self, gray: np.ndarray) -> tuple[np.ndarray, int]:
        first = self._flow is None
        if self._impl == "native":
            solver = self._cold_solver if first else self._warm_solver
            out = np.empty((*gray.shape, 2), np.float32)
            st = solver.compute(gray, self._flow, out)
            return out, st.work
        settings = self._cold if first else self._warm
        res = tvl1_flow_stats(self._ref_gray / 255.0, gray / 255.0, self._flow, settings, impl=self._impl)
        return res.flow, res.work

    def _region_motion(
        self, flow: np.ndarray, strain: np.ndarray, residual: np.ndarray
    ) -> tuple[RegionMotion, ...]:
        if not self._regions:
            return ()
        mag = np.sqrt(flow[..., 0] ** 2 + flow[..., 1] ** 2).ravel()
        st = strain.ravel()
        res = residual.reshape(mag.size, -1).mean(axis=1) if residual.ndim == 3 else residual.ravel()
        return tuple(
            RegionMotion(name, float(mag[idx].mean()), float(st[idx].mean()), float(res[idx].mean()))
            for name, idx in self._regions.items()
        )


def _crop(a: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise InputError(f"{name} must be a uint8 H x W or H x W x 3 image, got {arr.dtype} {arr.shape}")
    if min(arr.shape[:2]) < 2:
        raise InputError(f"{name} must be at least 2 x 2 pixels, got {arr.shape[:2]}")
    return np.ascontiguousarray(arr)


def _gray(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img


def _absdiff(a: np.ndarray, b: np.ndarray, impl: str) -> np.ndarray:
    if impl == "reference" or not _native.HAS_NATIVE:
        return reference.absdiff(a, b)
    return _native._C.absdiff(a, b)
