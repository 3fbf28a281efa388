"""The per-frame motion engine: the flow of each new face crop against the onset (reference) crop.

rtmer's streaming twist on TV-L1 (Zach, Pock, Bischof 2007; Sanchez et al. 2013): the flow
reference → frame t starts from the flow reference → frame t−1, so a reduced schedule (one
scale, one warp, a dozen iterations) keeps the accuracy of a cold full-schedule solve at a
fraction of its work: within 10 % of the cold solves' sequence-mean EPE (bench/README.md,
motion.py, has how it was chosen).
The first frame after a (re)set reference is solved cold with the full schedule.
"""

from __future__ import annotations

import cv2
import numpy as np

from rtmer import _native
from rtmer.errors import InputError
from rtmer.motion.ops import Impl, _choose, _resolve, gray_float, tvl1_flow_stats
from rtmer.motion.settings import Tvl1Settings
from rtmer.types import MotionState

#: The cold schedule: OpenCV's DualTVL1 defaults.
COLD = Tvl1Settings()
#: The warm schedule used from the second frame on (see bench/motion.py for its accuracy and cost).
WARM = Tvl1Settings(scales=1, warps=1, inner_iterations=12, outer_iterations=1, median_filter=5)


class IncrementalMotion:
    """The flow of each pushed frame against a fixed reference (onset) frame, and on request its
    optical strain (``strain``) and residual |frame − reference| (``residual``).

    Frames are uint8 crops, H x W gray or H x W x 3 BGR (flow is computed on gray; the residual
    keeps the channels). Strain and residual are off unless asked for: the live pipeline's spotter
    reads only the flow. With ``match_brightness`` each frame's gray level is scaled to the
    reference's mean before the flow is solved: lamp flicker at twice the mains frequency changes
    whole frames' brightness at 100-200 fps, which TV-L1's brightness-constancy term would
    otherwise read as motion.
    """

    def __init__(
        self,
        reference_frame: np.ndarray,
        *,
        cold: Tvl1Settings = COLD,
        warm: Tvl1Settings = WARM,
        impl: Impl = "auto",
        reference_index: int = 0,
        reference_t: float = 0.0,
        match_brightness: bool = False,
        strain: bool = False,
        residual: bool = False,
    ) -> None:
        self._impl = _choose("tvl1", impl, stacklevel=3)  # the warning points at the caller
        # Strain and residual run on the CPU under a CUDA flow: one pass each over a host array.
        cpu = "reference" if self._impl == "reference" else "native"
        self._strain = _resolve("optical_strain", cpu) if strain else None
        self._residual = _resolve("absdiff", cpu) if residual else None
        self._match_brightness = match_brightness
        self._cold, self._warm = cold, warm
        self.reset(reference_frame, index=reference_index, t=reference_t)

    def reset(self, reference_frame: np.ndarray, *, index: int = 0, t: float = 0.0) -> None:
        """Take a new reference (onset) frame; the next push is solved cold."""
        ref = _crop(reference_frame, "reference frame")
        previous: np.ndarray | None = getattr(self, "_ref", None)
        if previous is not None and ref.shape[:2] != previous.shape[:2]:
            raise InputError(
                f"new reference is {ref.shape[:2]}, the engine was built for {previous.shape[:2]}"
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
        return MotionState(
            index=self._ref_index + self._count if index is None else int(index),
            t=float("nan") if t is None else float(t),
            reference_index=self._ref_index,
            flow=flow,
            strain=None if self._strain is None else self._strain(flow),
            residual=None if self._residual is None else self._residual(img, self._ref),
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


def _crop(a: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise InputError(f"{name} must be a uint8 H x W or H x W x 3 image, got {arr.dtype} {arr.shape}")
    if min(arr.shape[:2]) < 2:
        raise InputError(f"{name} must be at least 2 x 2 pixels, got {arr.shape[:2]}")
    return np.ascontiguousarray(arr)


def _gray(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
