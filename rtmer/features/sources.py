"""Where a build reads its frames and its span: a data-set clip's files or the live ring buffer,
behind one small protocol each."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from rtmer.errors import DatasetError, InputError
from rtmer.types import Clip


class FrameSource(Protocol):
    """Frames by index: the image (uint8, H x W or H x W x 3 BGR), or None when it is not
    available (not yet captured, already overwritten, outside the clip)."""

    def frame(self, index: int) -> np.ndarray | None: ...


class EventSpan(Protocol):
    """Onset, apex and offset frame indices of one expression (:class:`rtmer.types.SpotEvent`
    and :class:`rtmer.types.Clip` both fit). ``offset`` is None for a live event emitted at its
    apex; ``apex`` is None for a clip without an annotated apex (SMIC)."""

    @property
    def onset(self) -> int: ...

    @property
    def apex(self) -> int | None: ...

    @property
    def offset(self) -> int | None: ...


class ClipFrames:
    """A data-set clip's frames by position in ``clip.frames``, decoded as BGR (3 channels)."""

    def __init__(self, clip: Clip) -> None:
        self.clip = clip

    def frame(self, index: int) -> np.ndarray | None:
        if not 0 <= index < len(self.clip.frames):
            return None
        path = self.clip.frames[index]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            why = "it does not exist" if not Path(path).exists() else "OpenCV cannot decode it"
            raise DatasetError(
                f"clip {self.clip.key}: cannot read frame {index} ({path}): {why}; re-copy the data set"
            )
        return image


class DictFrames:
    """Frames held in a mapping index -> image (tests, replays of a few frames)."""

    def __init__(self, frames: Mapping[int, np.ndarray]) -> None:
        self.frames = frames

    def frame(self, index: int) -> np.ndarray | None:
        return self.frames.get(index)


def get_frame(source: FrameSource, index: int, kind: str) -> np.ndarray:
    """Frame ``index`` of ``source``, checked; :class:`InputError` naming ``kind`` (the input that
    needs it) when the source does not have it."""
    image = source.frame(index)
    if image is None:
        raise InputError(
            f"frame {index} is not available from the frame source ({kind} needs it); "
            "keep the clip's frames in the buffer until its features are built"
        )
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise InputError(f"frame {index} must be uint8 H x W or H x W x 3, got {image.dtype} {image.shape}")
    return image
