"""Records that flow between pipeline stages (frozen dataclasses). Imports nothing of rtmer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class Clip:
    """One annotated clip of a data set, as every loader in :mod:`rtmer.data` yields it.

    ``frames`` are the clip's image files in temporal order and ``frame_numbers`` the data set's own
    numbers for them (CASME II's ``img46.jpg`` is 46); ``onset``, ``apex`` and ``offset`` are
    positions in ``frames`` (0-based), ``apex`` None where the data set has none (SMIC).
    """

    dataset: str  # "casme2", "samm", "smic", "ckplus", "synthetic"
    subject: str  # the data set's own subject id, normalised ("sub01", "006", "s1", "S005")
    clip_id: str  # the data set's own clip name ("EP02_01f", "006_1_2", "s1_ne_01", "S005_001")
    frames: tuple[Path, ...]
    frame_numbers: tuple[int, ...]
    fps: float
    onset: int
    apex: int | None
    offset: int
    emotion: str  # the annotated emotion, lower case, as the data set spells it
    aus: tuple[str, ...] = ()  # FACS action units as annotated ("4", "L10", "R12", "25")
    objective_class: int | None = None  # SAMM's and CASME II's (2019 sheet) objective classes

    @property
    def subject_key(self) -> str:
        """A subject id unique across data sets ("casme2/sub01")."""
        return f"{self.dataset}/{self.subject}"

    @property
    def key(self) -> str:
        """A clip id unique across data sets ("casme2/sub01/EP02_01f")."""
        return f"{self.dataset}/{self.subject}/{self.clip_id}"
