"""Apex conventions for clips without an annotated apex (SMIC-HS).

- ``"middle"`` (CropNet paper, "the middle frame of the video ... is used as the apex frame"):
  :func:`middle_frame`, the frame half-way between onset and offset, rounded down.
- ``"max-flow"`` (MJFN paper, "the average value of the optical flow between each frame and the
  onset frame, and the frame with the largest average value is regarded as the apex frame"):
  :func:`max_flow_frame`, computed with rtmer's TV-L1 engine.

:func:`with_apex` fills a clip's missing apex with either convention.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

import cv2
import numpy as np

from rtmer.errors import DatasetError, InputError
from rtmer.motion import Impl, IncrementalMotion
from rtmer.types import Clip


def _check_bounds(clip: Clip) -> None:
    if not 0 <= clip.onset <= clip.offset < len(clip.frames):
        raise DatasetError(
            f"clip {clip.key}: onset {clip.onset} and offset {clip.offset} must satisfy "
            f"0 <= onset <= offset < {len(clip.frames)} (its frame count)"
        )


def middle_frame(clip: Clip) -> int:
    """The frame half-way between onset and offset (position in ``clip.frames``; rounded down)."""
    _check_bounds(clip)
    return (clip.onset + clip.offset) // 2


def read_gray(path: Path, size: int) -> np.ndarray:
    """A frame as a (size, size) uint8 gray image (INTER_AREA resize); DatasetError if unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        why = "it does not exist" if not Path(path).exists() else "OpenCV cannot decode it"
        raise DatasetError(f"cannot read frame {path}: {why}; re-copy the data set's frames")
    if image.shape != (size, size):
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return image


def max_flow_frame(clip: Clip, *, size: int = 128, impl: Impl = "auto") -> int:
    """The frame whose mean TV-L1 flow magnitude against the onset frame is largest (MJFN).

    Frames onset + 1 .. offset are read as gray, resized to size x size and pushed through
    :class:`rtmer.motion.IncrementalMotion` with the onset frame as reference (each flow warm-started
    from the previous frame's, as in rtmer's live pipeline). The first maximum wins; a one-frame
    clip returns its onset. Returns a position in ``clip.frames``.
    """
    _check_bounds(clip)
    if int(size) != size or size < 8:
        raise InputError(f"size must be an integer >= 8, got {size}")
    if clip.offset == clip.onset:
        return clip.onset
    engine = IncrementalMotion(read_gray(clip.frames[clip.onset], size), impl=impl)
    best, best_mag = clip.onset, -1.0
    for i in range(clip.onset + 1, clip.offset + 1):
        flow = engine.push(read_gray(clip.frames[i], size), index=i).flow
        mag = float(np.mean(np.hypot(flow[..., 0], flow[..., 1])))
        if mag > best_mag:
            best, best_mag = i, mag
    return best


#: Apex conventions by name: ``fn(clip) -> frame position``.
APEX_CONVENTIONS: Mapping[str, Callable[[Clip], int]] = MappingProxyType(
    {"middle": middle_frame, "max-flow": max_flow_frame}
)


def with_apex(clip: Clip, convention: str = "middle") -> Clip:
    """``clip`` with its apex set by ``convention`` when it has none; unchanged otherwise."""
    try:
        find = APEX_CONVENTIONS[convention]
    except KeyError:
        raise InputError(
            f"unknown apex convention {convention!r}; choose one of {', '.join(APEX_CONVENTIONS)}"
        ) from None
    if clip.apex is not None:
        return clip
    return dataclasses.replace(clip, apex=find(clip))
