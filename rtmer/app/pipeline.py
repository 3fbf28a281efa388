"""The per-frame pipeline, wired once: face tracker -> motion engine -> motion signal -> apex
spotter, frame by frame, with every stage timed.

The motion reference is the first aligned crop of a face (a new one whenever the tracker takes a
new template), and the spotter moves it forward when the face has been still or an event has
ended. A lost face resets the spotter: events already emitted stay emitted. While the spotter
follows an expression the tracker keeps its template: a new one taken at a large expression's apex
would be an expressive face, and every crop after it would differ from the reference at rest.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

import cv2

from rtmer.capture.sources import VideoSource
from rtmer.face.tracker import FaceTracker
from rtmer.motion import IncrementalMotion
from rtmer.spotting.apex import IDLE, ApexSpotter, SpotterConfig
from rtmer.spotting.signal import MotionSignal, SignalFrame
from rtmer.types import FaceCrop, FaceStatus, Frame, MotionState, SpotEvent


@dataclass(frozen=True)
class FrameResult:
    """What the pipeline made of one frame (``motion``: the motion engine's state, when it ran)."""

    index: int
    t: float
    status: FaceStatus
    crop: FaceCrop | None
    signal: SignalFrame | None
    events: tuple[SpotEvent, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)
    motion: MotionState | None = None


class Pipeline:
    """Frames in, per-frame results (and spotted events) out."""

    def __init__(
        self, fps: float, *, tracker: FaceTracker | None = None, spotter: SpotterConfig | None = None
    ) -> None:
        self.fps = fps
        self.tracker = tracker if tracker is not None else FaceTracker()
        self.spotter = ApexSpotter(spotter or SpotterConfig(fps=fps))
        self._engine: IncrementalMotion | None = None
        self._signal: MotionSignal | None = None
        self._anchor = -1
        self.closed = False

    def close(self) -> None:
        """Close the tracker (once)."""
        if not self.closed:
            self.closed = True
            self.tracker.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def process(self, frame: Frame) -> FrameResult:
        times: dict[str, float] = {}
        t0 = time.perf_counter()
        crop, status = self.tracker.update(frame, hold_anchor=self.spotter.state != IDLE)
        times["face"] = 1000 * (time.perf_counter() - t0)
        if crop is None:
            self._engine, self._anchor = None, -1
            self.spotter.reset()
            return FrameResult(frame.index, frame.t, status, None, None, (), times)
        gray = crop.image if crop.image.ndim == 2 else cv2.cvtColor(crop.image, cv2.COLOR_BGR2GRAY)
        if self._engine is None or crop.anchor_index != self._anchor:
            # A new face or a new template: this crop is the new reference, nothing to compare yet.
            self._engine = IncrementalMotion(
                gray, reference_index=frame.index, reference_t=frame.t, match_brightness=True
            )
            self._signal = MotionSignal.from_landmarks(crop.landmarks68, gray.shape)
            self._anchor = crop.anchor_index
            self.spotter.reset()
            return FrameResult(frame.index, frame.t, status, crop, None, (), times)
        t0 = time.perf_counter()
        state = self._engine.push(gray, index=frame.index, t=frame.t)
        times["motion"] = 1000 * (time.perf_counter() - t0)
        t0 = time.perf_counter()
        assert self._signal is not None  # created with the engine
        sig = self._signal(state)
        out = self.spotter.update(sig)
        if out.reanchor:
            self._engine.reset(gray, index=frame.index, t=frame.t)
        times["spot"] = 1000 * (time.perf_counter() - t0)
        return FrameResult(frame.index, frame.t, status, crop, sig, tuple(out.events), times, state)

    def run(self, frames: Iterable[Frame]) -> Iterator[FrameResult | SpotEvent]:
        """Each frame's result, then, at the end of the stream, any event still under way."""
        for frame in frames:
            yield self.process(frame)
        yield from self.spotter.finish().events


def spot_video(path: str, fps: float) -> tuple[list[SpotEvent], int]:
    """Every final event (with its offset, or as it stood at the end of the stream) of a video
    and the number of frames read; the apex record's emission frame is kept on the final one."""
    emitted: dict[int, int] = {}
    final: dict[int, SpotEvent] = {}
    frames = 0
    with Pipeline(fps) as pipe, VideoSource(path, fps=fps) as source:
        for r in pipe.run(source):
            events = [r] if isinstance(r, SpotEvent) else list(r.events)
            frames += 0 if isinstance(r, SpotEvent) else 1
            for e in events:
                emitted.setdefault(e.event_id, e.emitted_index)
                final[e.event_id] = e
    return [replace(e, emitted_index=emitted[i]) for i, e in sorted(final.items())], frames
