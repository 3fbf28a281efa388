"""Sources the application adds to :mod:`rtmer.capture`: gates on another source (real-time pacing,
a bounded read-ahead for lossless replay), and a synthetic clip rendered frame by frame
(``rtmer demo``, the pipeline benchmark)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from rtmer.capture.ring import RingBuffer
from rtmer.capture.sources import ImageSequenceSource, Source, SourceInfo, VideoSource
from rtmer.errors import InputError, VideoError
from rtmer.types import Frame

_POLL_S = 0.0005  # how often a read-ahead waiting for the loop looks at the ring again


class Gated(Source):
    """``source``'s frames, each let through when :meth:`wait` returns."""

    def __init__(self, source: Source) -> None:
        self.inner = source
        self.info = source.info

    @property
    def end_reason(self) -> str | None:  # type: ignore[override]
        return self.inner.end_reason

    def __iter__(self) -> Iterator[Frame]:
        for frame in self.inner:
            self.wait(frame)
            yield frame

    def wait(self, frame: Frame) -> None:
        """Return when ``frame`` may go on."""

    def close(self) -> None:
        self.inner.close()


class Paced(Gated):
    """``source``'s frames delivered at their stamped times (``t``), as a camera would."""

    realtime = True

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self._start: float | None = None
        self._t0 = 0.0

    def wait(self, frame: Frame) -> None:
        if self._start is None:
            self._start, self._t0 = time.perf_counter(), frame.t
        delay = self._start + (frame.t - self._t0) - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


class ReadAhead(Gated):
    """``source`` read no further ahead than ``limit`` pending frames of ``ring`` (a file replayed
    as fast as possible: waiting costs nothing and no frame is lost)."""

    def __init__(self, source: Source, ring: RingBuffer, limit: int) -> None:
        super().__init__(source)
        self.ring, self.limit = ring, limit

    def wait(self, frame: Frame) -> None:
        while len(self.ring) >= self.limit and not self.ring.closed:
            time.sleep(_POLL_S)


class RenderedSource(Source):
    """``n`` frames made on demand by ``render(index)`` (uint8 H x W x 3), stamped ``index / fps``."""

    def __init__(self, render: Callable[[int], np.ndarray], n: int, fps: float, name: str) -> None:
        if n < 1 or not fps > 0:
            raise InputError(f"a rendered source needs frames (got {n}) and a positive fps (got {fps})")
        self.render, self.n = render, n
        first = render(0)
        self._first: np.ndarray | None = first
        self.info = SourceInfo("synthetic", name, fps, fps, (first.shape[1], first.shape[0]), n)

    def __iter__(self) -> Iterator[Frame]:
        fps = self.info.fps
        for k in range(self.n):
            image = self._first if k == 0 and self._first is not None else self.render(k)
            self._first = None
            yield Frame(k, k / fps, image)
        self.end_reason = "end of file"


def open_file(path: str | Path, *, fps: float | None = None, realtime: bool = False) -> Source:
    """A video file or an image folder (which needs ``fps``), paced at its rate with ``realtime``."""
    p = Path(path)
    if p.is_dir():
        if fps is None:
            raise InputError(f"{p} is an image folder: give its frame rate (--fps)")
        source: Source = ImageSequenceSource(p, fps)
        return Paced(source) if realtime else source
    if not p.exists():
        raise VideoError(f"{p} does not exist; give a video file or a folder of frames")
    return VideoSource(p, realtime=realtime, fps=fps)
