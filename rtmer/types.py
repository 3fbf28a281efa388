"""Records that flow between pipeline stages (frozen dataclasses). Imports nothing of rtmer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One captured frame: ``t`` is the capture time in seconds (camera clock, or index / fps)."""

    index: int
    t: float
    image: np.ndarray


@dataclass(frozen=True)
class RegionMotion:
    """Mean motion inside one face region for one frame against the reference (onset) frame."""

    name: str
    flow: float  # mean flow magnitude, px
    strain: float  # mean optical strain magnitude
    residual: float  # mean |frame − reference|, grey levels


@dataclass(frozen=True)
class MotionState:
    """What the motion engine knows about one frame, relative to the reference (onset) frame."""

    index: int
    t: float
    reference_index: int
    flow: np.ndarray  # H x W x 2 float32, reference → frame
    strain: np.ndarray  # H x W float32
    residual: np.ndarray  # H x W[ x C] uint8, |frame − reference|
    regions: tuple[RegionMotion, ...]
    work: int  # TV-L1 pixel-iterations spent on this frame

    def region(self, name: str) -> RegionMotion:
        for r in self.regions:
            if r.name == name:
                return r
        raise KeyError(name)
