"""Where results go: JSON-lines events, the console, the overlay window, an annotated video.

A sink sees the start of a run (:meth:`Sink.on_start`), every frame (:meth:`Sink.on_frame`), every
event record (:meth:`Sink.on_event`) and the end (:meth:`Sink.close`, with the summary). Event
records are written and flushed as they come, so a run that ends on an error or Ctrl-C keeps
every event found before it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TextIO

import cv2

from rtmer.app.overlay import Overlay
from rtmer.app.pipeline import FrameResult
from rtmer.app.records import EventRecord, LiveStatus, RunSummary
from rtmer.capture.sources import SourceInfo
from rtmer.errors import InputError
from rtmer.types import Frame

_WINDOW = "rtmer"
_WINDOW_HZ = 30.0  # the window is refreshed at most this often; every frame is still processed
_QUIT_KEYS = (ord("q"), 27)  # q, Esc


class Sink:
    """Base: every hook does nothing."""

    wants_stop = False  # set by a sink whose user asked to end the run (the window's q key)

    def on_start(self, info: SourceInfo) -> None:
        """The run starts on ``info``'s source."""

    def on_frame(self, frame: Frame, result: FrameResult, status: LiveStatus) -> None:
        """``frame`` was processed (its image is valid only during this call)."""

    def on_event(self, record: EventRecord) -> None:
        """An event record was emitted."""

    def close(self, summary: RunSummary) -> None:
        """The run ended."""


class JsonlSink(Sink):
    """One JSON object per event record (:meth:`EventRecord.to_json`), flushed per line."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._fh: TextIO = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise InputError(
                f"cannot write events to {self.path}: {exc.strerror}; check the folder"
            ) from None

    def on_event(self, record: EventRecord) -> None:
        self._fh.write(json.dumps(record.to_json()) + "\n")
        self._fh.flush()

    def close(self, summary: RunSummary) -> None:
        self._fh.close()


def describe(record: EventRecord) -> str:
    """One console line for an event record."""
    e, p = record.event, record.prediction
    where = f"onset {e.onset} apex {e.apex} offset {e.offset if e.offset is not None else '-'}"
    line = f"{record.stage:<6} event {e.event_id}: {e.kind} {where} (t {e.apex_t:.3f} s)"
    if p is not None:
        line += f"  {p.label} {p.confidence:.2f}"
    if record.model is not None:
        line += f"  [{record.model}/{record.backend} {record.latency_ms:.1f} ms]"
    if record.dropped:
        line += f"  {record.dropped} frames dropped in the clip"
    return line


class ConsoleSink(Sink):
    """Events as lines (unless ``quiet``), the source's notes at the start, the summary at the end."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.quiet = quiet

    def on_start(self, info: SourceInfo) -> None:
        if not self.quiet:
            size = f"{info.size[0]}x{info.size[1]}"
            print(f"source: {info.kind} {info.name}, {size} at {info.fps:g} fps", file=self.stream)
        for note in info.notes:
            print(f"note: {note}", file=self.stream)

    def on_event(self, record: EventRecord) -> None:
        if not self.quiet:
            print(describe(record), file=self.stream, flush=True)

    def close(self, summary: RunSummary) -> None:
        for line in summary.lines():
            print(line, file=self.stream)
        self.stream.flush()


def display_available() -> bool:
    """Whether a window can be opened: on Linux, an X11 or Wayland display is set (Qt aborts the
    process, rather than raising, when it finds none)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class OverlaySink(Sink):
    """The overlay (:class:`Overlay`) in an OpenCV window (``window``), refreshed at most 30 times
    a second (q or Esc stops the run), and on every frame of an mp4 video at ``save``."""

    def __init__(self, overlay: Overlay, *, window: bool = True, save: str | Path | None = None) -> None:
        self.overlay = overlay
        self.window = window
        self.save = None if save is None else Path(save)
        self._writer: cv2.VideoWriter | None = None
        self._shown_t = -1.0
        self._opened = False

    def on_start(self, info: SourceInfo) -> None:
        if self.save is not None:
            self._writer = cv2.VideoWriter(
                str(self.save), cv2.VideoWriter.fourcc(*"mp4v"), info.fps, info.size
            )
            if not self._writer.isOpened():
                raise InputError(
                    f"cannot write the video {self.save}: check the folder exists and is writable"
                )

    def on_frame(self, frame: Frame, result: FrameResult, status: LiveStatus) -> None:
        self.overlay.observe(result, status)
        show = self.window and not (0 <= result.t - self._shown_t < 1.0 / _WINDOW_HZ)
        if self._writer is None and not show:
            return
        image = self.overlay.render(frame.image, result, status)
        if self._writer is not None:
            self._writer.write(image)
        if show:
            self._shown_t = result.t
            try:
                cv2.imshow(_WINDOW, image)
                self._opened = True
                key = cv2.waitKey(1) & 0xFF
            except cv2.error as exc:
                raise InputError(
                    f"cannot show the overlay window ({exc.err}); run with --no-window"
                ) from None
            if key in _QUIT_KEYS:
                self.wants_stop = True

    def close(self, summary: RunSummary) -> None:
        if self._writer is not None:
            self._writer.release()
        if self._opened:
            cv2.destroyWindow(_WINDOW)
            cv2.waitKey(1)
