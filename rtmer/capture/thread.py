"""Capture on its own thread: a source read into a ring buffer; the consumer drains the ring.

OpenCV releases the GIL while it grabs and decodes, so the capture thread keeps pace with the
camera while the main loop processes. Nothing is raised on the capture thread: the reason it
stopped and any error are stored, and :func:`frames` re-raises the error on the consumer's side
after every frame read before it has been delivered.
"""

from __future__ import annotations

import threading
from collections.abc import Generator

from rtmer.capture.ring import FrameView, RingBuffer
from rtmer.capture.sources import Source


class CaptureThread:
    """Reads ``source`` into ``ring`` on a daemon thread; it owns the source and closes it (and
    the ring) when the source ends, fails, or :meth:`stop` is called.

    ``end_reason``: "end of file", "camera lost", "stopped", or the error's message; ``error``:
    the exception that ended the capture, else None.
    """

    def __init__(self, source: Source, ring: RingBuffer) -> None:
        self.source = source
        self.ring = ring
        self.end_reason: str | None = None
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rtmer-capture", daemon=True)

    def start(self) -> CaptureThread:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            for frame in self.source:
                self.ring.put(frame)
                # A consumer that closed the ring wants no more frames: stop reading too.
                if self._stop.is_set() or self.ring.closed:
                    self.end_reason = "stopped"
                    break
            else:
                self.end_reason = self.source.end_reason or "end of file"
        except Exception as exc:  # stored for the consumer: nothing is raised on this thread
            self.error = exc
            self.end_reason = str(exc)
        finally:
            self.source.close()
            self.ring.close()

    def stop(self) -> None:
        """Ask the thread to end after the frame it is reading (a blocked camera read returns first)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


def frames(ring: RingBuffer, capture: CaptureThread) -> Generator[FrameView, None, None]:
    """The ring's frames in order until the capture has ended and the ring is drained; then the
    capture's stored error, if any, is raised (a CaptureError's message is one line for the user).

    Each view is valid until the next one is taken (see :class:`FrameView`). Closing the generator
    early stops the capture.
    """
    finished = False
    try:
        while (view := ring.get()) is not None:
            yield view
        finished = True
    finally:
        if not finished:
            capture.stop()
    capture.join()
    if capture.error is not None:
        raise capture.error
