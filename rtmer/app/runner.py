"""The streaming application: capture thread -> ring buffer -> processing loop -> classifier -> sinks.

The capture side never blocks on a camera (or a file replayed in real time): frames the loop could
not take in time are overwritten in the ring, counted, and reported with every event whose clip
they fell in. A file replayed as fast as possible is read *losslessly* instead: the capture thread
waits while a few frames are pending, so every frame is processed and the rest of the ring keeps
the recent past that the classifier reads event frames from.

The run ends on end of file, camera loss, a capture error (a truncated file), :meth:`Runner.stop`
(a sink's request, the overlay window's q key) or Ctrl-C; in every case the spotter is flushed,
every event found so far reaches the sinks, and a :class:`RunSummary` is returned (the capture
error, if any, in ``summary.error``).
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rtmer.app.classify import EventClassifier
from rtmer.app.pipeline import Pipeline
from rtmer.app.records import EventRecord, LiveStatus, RunSummary
from rtmer.app.sources import ReadAhead
from rtmer.app.timing import StageTimes, time_stats
from rtmer.capture.ring import RingBuffer
from rtmer.capture.sources import Source
from rtmer.capture.thread import CaptureThread, frames
from rtmer.errors import CaptureError
from rtmer.types import Frame, SpotEvent

if TYPE_CHECKING:
    from rtmer.app.classify import Classifier
    from rtmer.app.sinks import Sink

#: The stages timed, in pipeline order: the per-frame ones (face tracker, motion engine, signal +
#: spotter, the sinks), the per-event ones (feature building, inference) and the whole frame.
STAGES = ("face", "motion", "spot", "features", "infer", "output", "frame")
#: A lossless replay stops reading ahead once this much video is pending (at least two frames):
#: enough to absorb the decoder's jitter, while the rest of the ring keeps the recent past for the
#: classifier.
_READ_AHEAD_S = 0.05


# --- the runner ---------------------------------------------------------------------------------


class Runner:
    """Runs ``source`` through ``pipeline``, ``classifier`` (optional) and ``sinks`` (see the module
    docstring). ``lossless`` defaults to True for files not replayed in real time.

    The runner owns what it is given: :meth:`run` closes the source, the sinks (with the summary),
    the pipeline and the classifier however the run ends; :meth:`close` (or ``with``) closes them
    for a runner that never ran.
    """

    def __init__(
        self,
        source: Source,
        pipeline: Pipeline,
        *,
        classifier: Classifier | None = None,
        sinks: Sequence[Sink] = (),
        ring_seconds: float = 2.0,
        lossless: bool | None = None,
    ) -> None:
        self.source = source
        self.pipeline = pipeline
        self.classifier = classifier
        self.sinks = list(sinks)
        w, h = source.info.size
        self.ring = RingBuffer.for_source(ring_seconds, source.info.fps, (h, w, 3))
        realtime = bool(getattr(source, "realtime", False))
        self.lossless = (source.info.kind != "camera" and not realtime) if lossless is None else lossless
        self.times = StageTimes()
        self.records: list[EventRecord] = []
        self._stop = threading.Event()
        self._classify = (
            None
            if classifier is None
            else EventClassifier(classifier, self.ring, source.info.fps, self.times, self._warn)
        )
        self._gaps: list[tuple[int, int]] = []  # (first, last) indices never delivered
        self._next_index = 0
        self._frames = self._face_frames = self._dropped = 0
        self._latency: list[float] = []
        self._last: EventRecord | None = None
        self._started = 0.0
        self._warned: set[str] = set()
        self._closed = False
        self.error: CaptureError | None = None

    def stop(self) -> None:
        """End the run after the current frame (thread-safe)."""
        self._stop.set()

    def run(self) -> RunSummary:
        """Run to the end of the source (or a stop, Ctrl-C, a capture error); once only."""
        if self._closed:
            raise RuntimeError("a Runner runs once")
        try:
            return self._run()
        finally:
            self._close_stages()

    def close(self) -> None:
        """Close the source and the stages of a runner that will not run (idempotent)."""
        if not self._closed:
            try:
                self.source.close()
            finally:
                self._close_stages()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _close_stages(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.pipeline.close()
        finally:
            if self.classifier is not None:
                self.classifier.close()

    def _run(self) -> RunSummary:
        ring = self.ring
        feed: Source = self.source
        if self.lossless:
            ahead = max(2, math.ceil(_READ_AHEAD_S * self.source.info.fps))
            feed = ReadAhead(self.source, ring, min(ahead, max(1, ring.capacity // 4)))
        capture = CaptureThread(feed, ring)
        try:
            for sink in self.sinks:
                sink.on_start(self.source.info)
        except BaseException:
            self.source.close()  # the capture thread that would close it never started
            raise
        end, error = "", None
        self._started = time.perf_counter()
        cpu0 = time.process_time()
        capture.start()
        views = frames(ring, capture)
        try:
            for view in views:
                self._frame(Frame(view.index, view.t, view.image), time.perf_counter())
                if self._stop.is_set() or any(s.wants_stop for s in self.sinks):
                    end = "stopped"
                    break
        except CaptureError as exc:
            error = self.error = exc
        except KeyboardInterrupt:
            end = "interrupted"
        finally:
            views.close()
            ring.close()
            capture.stop()
            capture.join(timeout=2.0)
        seconds = time.perf_counter() - self._started
        cpu = (time.process_time() - cpu0) / seconds if seconds > 0 else 0.0
        flushed = time.perf_counter()
        for event in self.pipeline.spotter.finish().events:
            self._event(event, flushed)
        end = end or ("error" if error is not None else capture.end_reason or "end of file")
        summary = self._summary(end, None if error is None else str(error), seconds, cpu)
        for sink in self.sinks:
            sink.close(summary)
        return summary

    def _frame(self, frame: Frame, t_got: float) -> None:
        if frame.index > self._next_index:
            self._gaps.append((self._next_index, frame.index - 1))
            self._dropped += frame.index - self._next_index
        self._next_index = frame.index + 1
        self._frames += 1
        result = self.pipeline.process(frame)
        confirmed = time.perf_counter()  # events of this frame were confirmed by the spotter now
        self.times.add_all(result.timings_ms)
        if result.crop is not None:
            self._face_frames += 1
            if self._classify is not None:
                self._classify.observe(result.crop)
        for event in result.events:
            self._event(event, confirmed)
        if self.sinks:
            t0 = time.perf_counter()
            status = LiveStatus(
                self._frames / max(t0 - self._started, 1e-9),
                self._dropped,
                self.pipeline.spotter.threshold(),
                self._last,
            )
            for sink in self.sinks:
                sink.on_frame(frame, result, status)
            self.times.add("output", 1e3 * (time.perf_counter() - t0))
        self.times.add("frame", 1e3 * (time.perf_counter() - t_got))

    def _warn(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            print(f"rtmer: warning: {message}", file=sys.stderr)

    def _dropped_in(self, first: int, last: int) -> int:
        return sum(max(0, min(b, last) - max(a, first) + 1) for a, b in self._gaps)

    def _event(self, event: SpotEvent, t_confirmed: float) -> None:
        prediction = None if self._classify is None else self._classify(event)
        latency = 1e3 * (time.perf_counter() - t_confirmed)
        stage = "apex" if event.offset is None else "offset"
        end = event.offset if event.offset is not None else event.emitted_index
        clf = self.classifier
        record = EventRecord(
            event,
            stage,
            prediction,
            None if clf is None else clf.name,
            None if clf is None else clf.backend.name,
            latency,
            self._dropped_in(event.onset, end),
            self.source.info.name,
        )
        if stage == "apex":
            self._latency.append(latency)
        self.records.append(record)
        self._last = record
        for sink in self.sinks:
            sink.on_event(record)

    def _summary(self, end: str, error: str | None, seconds: float, cpu: float) -> RunSummary:
        kinds: dict[int, str] = {}
        for r in self.records:
            kinds[r.event.event_id] = r.event.kind  # the last record's kind is final
        unclassified = 0 if self._classify is None else self._classify.unclassified(kinds)
        return RunSummary(
            source=self.source.info.name,
            end_reason=end,
            error=error,
            frames=self._frames,
            face_frames=self._face_frames,
            dropped=self._dropped,
            seconds=seconds,
            cpu=cpu,
            events=len(kinds),
            micro=sum(1 for k in kinds.values() if k == "micro"),
            macro=sum(1 for k in kinds.values() if k == "macro"),
            unclassified=unclassified,
            stages=self.times.stats(STAGES),
            latency=time_stats(self._latency),
            inference=None if self.classifier is None else self.classifier.backend.latency(),
        )
