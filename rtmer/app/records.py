"""What a run produces, as the sinks, the overlay and the caller receive it: one
:class:`EventRecord` per emitted event, the :class:`LiveStatus` shown beside each frame, and the
:class:`RunSummary` at the end."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from rtmer.app.timing import TimeStats
from rtmer.types import SpotEvent

if TYPE_CHECKING:
    from rtmer.app.classify import Prediction
    from rtmer.backends.base import LatencyStats


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
