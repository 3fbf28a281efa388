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
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from rtmer.app.pipeline import Pipeline
from rtmer.app.timing import StageTimes, TimeStats, time_stats
from rtmer.capture.ring import RingBuffer
from rtmer.capture.sources import Source
from rtmer.capture.thread import CaptureThread, frames
from rtmer.config import PipelineConfig
from rtmer.errors import CaptureError, InputError, RtmerError
from rtmer.face import align
from rtmer.types import Frame, SpotEvent

if TYPE_CHECKING:
    from rtmer.app.classify import Classifier, Prediction
    from rtmer.app.sinks import Sink
    from rtmer.backends.base import LatencyStats
    from rtmer.face.landmarks import LandmarkBackend
    from rtmer.face.tracker import TrackerConfig
    from rtmer.spotting.apex import SpotterConfig

#: The stages timed, in pipeline order: the per-frame ones (face tracker, motion engine, signal +
#: spotter, the sinks), the per-event ones (feature building, inference) and the whole frame.
STAGES = ("face", "motion", "spot", "features", "infer", "output", "frame")
#: A lossless replay stops reading ahead once this much video is pending (at least two frames):
#: enough to absorb the decoder's jitter, while the rest of the ring keeps the recent past for the
#: classifier.
_READ_AHEAD_S = 0.05
_THROTTLE_SLEEP_S = 0.0005


# --- stage configs ------------------------------------------------------------------------------


def _apply(cls: type, name: str, overrides: Mapping[str, object], fixed: Mapping[str, object]) -> Any:
    known = {f.name: f.default for f in fields(cls) if f.name not in fixed}
    known = {k: v for k, v in known.items() if isinstance(v, bool | int | float | str)}
    kw: dict[str, object] = {}
    for key, value in overrides.items():
        if key not in known:
            raise InputError(f"unknown key {key!r} in [{name}]; known: {', '.join(known)}")
        default = known[key]
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not type(default):
            raise InputError(f"[{name}] {key} must be a {type(default).__name__}, got {value!r}")
        kw[key] = value
    return cls(**fixed, **kw)


def stage_configs(config: PipelineConfig, fps: float) -> tuple[TrackerConfig, SpotterConfig]:
    """The tracker's and spotter's configs: their defaults with ``config``'s overrides."""
    from rtmer.face.tracker import TrackerConfig
    from rtmer.spotting.apex import SpotterConfig

    tracker = _apply(TrackerConfig, "tracker", config.tracker.as_dict(), {})
    spotter = _apply(SpotterConfig, "spotter", config.spotter.as_dict(), {"fps": fps})
    return tracker, spotter


def stage_defaults() -> dict[str, dict[str, Any]]:
    """The tracker's and spotter's scalar defaults (for ``rtmer config show``)."""
    from rtmer.face.tracker import TrackerConfig
    from rtmer.spotting.apex import SpotterConfig

    def scalars(cls: type, skip: set[str]) -> dict[str, Any]:
        out = {f.name: f.default for f in fields(cls) if f.name not in skip}
        return {k: v for k, v in out.items() if isinstance(v, bool | int | float | str)}

    return {"tracker": scalars(TrackerConfig, set()), "spotter": scalars(SpotterConfig, {"fps"})}


def build_pipeline(
    config: PipelineConfig, fps: float, *, landmarks: LandmarkBackend | None = None
) -> Pipeline:
    """The per-frame :class:`Pipeline` with ``config``'s tracker and spotter settings."""
    from rtmer.face.tracker import FaceTracker

    tracker_cfg, spotter_cfg = stage_configs(config, fps)
    return Pipeline(fps, tracker=FaceTracker(landmarks, tracker_cfg), spotter=spotter_cfg)


# --- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveStatus:
    """What the overlay shows beside the frame: the processing rate so far, frames dropped so
    far, the spotter's threshold and the last event record."""

    fps: float
    dropped: int
    threshold: float
    last: EventRecord | None


@dataclass(frozen=True)
class EventRecord:
    """One emitted event as the sinks receive it (one JSON line, :meth:`to_json`).

    stage: "apex" (emitted at apex confirmation, no offset yet) or "offset"; prediction: None
    with no classifier, or before the offset for models that need it; model, backend: the
    classifier's (None without one); latency_ms: from the spotter's decision (the end of the
    confirming frame's processing, timed in the ``frame`` stage) to this record being ready
    (features and inference included); dropped: frames missing
    in onset..offset (onset..the confirming frame while the offset is unknown).
    """

    event: SpotEvent
    stage: str
    prediction: Prediction | None
    model: str | None
    backend: str | None
    latency_ms: float
    dropped: int
    source: str

    def to_json(self) -> dict[str, Any]:
        e, p = self.event, self.prediction
        return {
            "event_id": e.event_id,
            "stage": self.stage,
            "onset": e.onset,
            "apex": e.apex,
            "offset": e.offset,
            "onset_t": e.onset_t,
            "apex_t": e.apex_t,
            "offset_t": e.offset_t,
            "kind": e.kind,
            "class": None if p is None else p.label,
            "probabilities": None if p is None else dict(p.probabilities),
            "model": self.model,
            "backend": self.backend,
            "latency_ms": round(self.latency_ms, 3),
            "dropped": self.dropped,
            "source": self.source,
        }


@dataclass(frozen=True)
class RunSummary:
    """How a run went. ``events``: distinct events; ``face_frames``: frames with a face;
    ``cpu``: process CPU time over wall time (cores busy); ``stages``: per-stage milliseconds;
    ``latency``: apex-record latencies (:attr:`EventRecord.latency_ms`)."""

    source: str
    end_reason: str
    error: str | None
    frames: int
    face_frames: int
    dropped: int
    seconds: float
    cpu: float
    events: int
    micro: int
    macro: int
    unclassified: int
    stages: dict[str, TimeStats]
    latency: TimeStats | None
    inference: LatencyStats | None = None

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        """The summary as printed at the end of a run."""
        out = [
            f"summary: {self.frames} frames from {self.source} ({self.end_reason}) in {self.seconds:.2f} s: "
            f"{self.fps:.1f} fps, {self.dropped} dropped, CPU {self.cpu:.2f} cores"
        ]
        if self.frames and self.face_frames == 0:
            out.append(
                f"face: NO FACE found in any of the {self.frames} frames; check that one face is in view, "
                "frontal and lit"
            )
        else:
            out.append(f"face: found in {self.face_frames} of {self.frames} frames")
        unclassified = f", {self.unclassified} unclassified" if self.unclassified else ""
        out.append(f"events: {self.events} ({self.micro} micro, {self.macro} macro{unclassified})")
        if self.stages:
            out.append("stage       p50 ms   p99 ms")
            out += [f"{k:<10} {s.p50_ms:7.2f}  {s.p99_ms:7.2f}" for k, s in self.stages.items()]
        if self.latency is not None:
            out.append(
                f"event latency (apex confirmed -> result): p50 {self.latency.p50_ms:.2f} ms, "
                f"p99 {self.latency.p99_ms:.2f} ms over {self.latency.n}"
            )
        if self.inference is not None and self.inference.n:
            inf = self.inference
            out.append(
                f"inference: p50 {inf.p50_ms:.3f} ms, p99 {inf.p99_ms:.3f} ms over {inf.n} calls; budget "
                f"{inf.budget_ms:g} ms, {inf.breaches} over budget"
            )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "end_reason": self.end_reason, "error": self.error, "frames": self.frames,
            "face_frames": self.face_frames, "dropped": self.dropped, "seconds": self.seconds,
            "fps": self.fps, "cpu": self.cpu, "events": self.events, "micro": self.micro,
            "macro": self.macro, "unclassified": self.unclassified,
            "stages": {k: s.to_json() for k, s in self.stages.items()},
            "latency": None if self.latency is None else self.latency.to_json(),
            "inference": None if self.inference is None else asdict(self.inference),
        }  # fmt: skip


# --- the runner ---------------------------------------------------------------------------------


class _Lossless(Source):
    """``source`` read no further ahead than ``limit`` pending frames of ``ring`` (a file replayed
    as fast as possible: waiting costs nothing and no frame is lost)."""

    def __init__(self, source: Source, ring: RingBuffer, limit: int) -> None:
        self.inner, self.ring, self.limit = source, ring, limit
        self.info = source.info

    @property
    def end_reason(self) -> str | None:  # type: ignore[override]
        return self.inner.end_reason

    def __iter__(self) -> Iterator[Frame]:
        for frame in self.inner:
            while len(self.ring) >= self.limit and not self.ring.closed:
                time.sleep(_THROTTLE_SLEEP_S)
            yield frame

    def close(self) -> None:
        self.inner.close()


class Runner:
    """Runs ``source`` through ``pipeline``, ``classifier`` (optional) and ``sinks`` (see the module
    docstring). ``lossless`` defaults to True for files not replayed in real time."""

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
        self._landmarks: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._predictions: dict[int, Prediction | None] = {}
        self._gaps: list[tuple[int, int]] = []  # (first, last) indices never delivered
        self._next_index = 0
        self._frames = self._face_frames = self._dropped = 0
        self._latency: list[float] = []
        self._last: EventRecord | None = None
        self._started = 0.0
        self._warned: set[str] = set()
        self.error: CaptureError | None = None

    def stop(self) -> None:
        """End the run after the current frame (thread-safe)."""
        self._stop.set()

    def run(self) -> RunSummary:
        """Run to the end of the source (or a stop, Ctrl-C, a capture error); once only."""
        ring = self.ring
        feed: Source = self.source
        if self.lossless:
            ahead = max(2, math.ceil(_READ_AHEAD_S * self.source.info.fps))
            feed = _Lossless(self.source, ring, min(ahead, max(1, ring.capacity // 4)))
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
            self._landmarks[frame.index] = (result.crop.landmarks68, result.crop.transform)
            while len(self._landmarks) > self.ring.capacity + 1:
                self._landmarks.popitem(last=False)
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

    def _landmarks_at(self, index: int) -> np.ndarray | None:
        """The face's 68 landmarks in frame pixels at frame ``index`` (or the nearest frame kept)."""
        if not self._landmarks:
            return None
        key = index if index in self._landmarks else min(self._landmarks, key=lambda k: abs(k - index))
        points, transform = self._landmarks[key]
        return align.apply(align.invert(transform), points).astype(np.float32)

    def _classify(self, event: SpotEvent) -> Prediction | None:
        clf = self.classifier
        if clf is None:
            return None
        if event.event_id in self._predictions:
            return self._predictions[event.event_id]
        if event.offset is None and clf.needs_offset(event):
            return None
        landmarks = self._landmarks_at(event.onset)
        prediction = None
        if landmarks is not None:
            try:
                prediction = clf(self.ring, event, landmarks)
            except RtmerError as exc:  # e.g. the onset frame already left the ring: say so once
                held = self.ring.capacity / self.source.info.fps
                remedy = f" (the ring holds {held:g} s: raise [capture] ring_seconds for longer events)"
                self._warn(f"event {event.event_id} not classified: {exc}{remedy}")
        self._predictions[event.event_id] = prediction
        if prediction is not None:
            self.times.add("features", prediction.features_ms)
            self.times.add("infer", prediction.infer_ms)
        return prediction

    def _warn(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            print(f"rtmer: warning: {message}", file=sys.stderr)

    def _dropped_in(self, first: int, last: int) -> int:
        return sum(max(0, min(b, last) - max(a, first) + 1) for a, b in self._gaps)

    def _event(self, event: SpotEvent, t_confirmed: float) -> None:
        prediction = self._classify(event)
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
        unclassified = (
            sum(1 for i in kinds if self._predictions.get(i) is None) if self.classifier is not None else 0
        )
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
