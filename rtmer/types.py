"""Records that flow between pipeline stages (frozen dataclasses). Imports nothing of rtmer."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One captured frame: ``t`` is the capture time in seconds (camera clock, or index / fps)."""

    index: int
    t: float
    image: np.ndarray


@dataclass(frozen=True)
class FaceCrop:
    """The aligned face of one frame (rtmer.face.FaceTracker).

    image: the crop (H x W x 3 BGR, or H x W for a gray source), uint8; landmarks68: (68, 2)
    float32, the 68 iBUG points (0-based) in crop pixels (the latest landmark measurement, carried
    with the face between the frames the tracker measures landmarks on); transform: (2, 3)
    float64, the similarity frame pixels -> crop pixels (``crop_xy = A @ frame_xy + b``); box:
    the face box in the frame (x0, y0, x1, y1); confidence: in [0, 1] (the detection's score times
    the share of the crop registration's points that agree); frame_size: the source frame's
    (width, height); anchor_index: the frame whose crop all crops since are registered to (the
    tracker re-anchors on re-acquisition or a large pose change; a new anchor means a new
    reference).
    """

    index: int
    t: float
    image: np.ndarray
    landmarks68: np.ndarray
    transform: np.ndarray
    box: tuple[float, float, float, float]
    confidence: float
    frame_size: tuple[int, int]
    anchor_index: int


class FaceState(Enum):
    """Whether the tracker has a face: none yet, following one, or lost after following one."""

    SEARCHING = "searching"
    TRACKING = "tracking"
    LOST = "lost"


@dataclass(frozen=True)
class FaceStatus:
    """The tracker's state at frame ``index`` (time ``t``) and the time ``since`` it has held it."""

    state: FaceState
    index: int
    t: float
    since: float

    @property
    def duration(self) -> float:
        """Seconds in this state, up to and including this frame (``t - since``)."""
        return self.t - self.since


@dataclass(frozen=True)
class MotionState:
    """What the motion engine knows about one frame, relative to the reference (onset) frame."""

    index: int
    t: float
    reference_index: int
    flow: np.ndarray  # H x W x 2 float32, reference → frame
    strain: np.ndarray | None  # H x W float32; None unless the engine was asked for it
    residual: np.ndarray | None  # H x W[ x C] uint8, |frame − reference|; None unless asked for
    work: int  # TV-L1 pixel-iterations spent on this frame


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


@dataclass(frozen=True)
class SpotEvent:
    """A spotted expression: frame indices and capture times of its onset, apex and offset.

    ``offset`` is None when the event is emitted at apex confirmation, before the face has come
    back; a second record with the offset follows. ``emitted_index`` is the frame whose arrival
    confirmed it (latency = now - t of the apex). ``kind``: "micro" (1/25 to 1/2 s) or "macro"
    (longer; a provisional guess from the rise time until the offset is known).
    """

    event_id: int
    onset: int
    apex: int
    offset: int | None
    onset_t: float
    apex_t: float
    offset_t: float | None
    kind: str
    score: float  # the signal's peak above baseline, px
    regions: tuple[str, ...]  # the regions that moved most, strongest first
    emitted_index: int
