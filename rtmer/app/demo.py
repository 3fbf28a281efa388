"""``rtmer demo``: a short synthetic clip with known micro-expressions, and how the pipeline's
events compare with them. Needs no camera, data set or network: the face is the built-in photo.

One micro-expression per MEGC2019 class (happiness -> positive, surprise, disgust -> negative, the
protocol's table for synthetic clips, :data:`rtmer.data.protocols.MEGC2019`), a second apart, on
a face with the usual nuisances of the generator (slow head drift, jitter, lamp flicker, noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rtmer.app.records import EventRecord
from rtmer.app.sources import RenderedSource

#: (emotion, the MEGC2019 class it maps to) of the demo's expressions, in order.
EXPRESSIONS = (("happiness", "positive"), ("surprise", "surprise"), ("disgust", "negative"))
_FIRST_S = 1.2  # the spotter learns the face's baseline over its first second
_GAP_S = 1.0
_DURATION_S = 0.25  # micro (< 0.5 s); rise over 40 % of it
_PEAK_PX = 2.0  # displacement at the apex, px at the default eye distance


@dataclass(frozen=True)
class Truth:
    """One rendered expression."""

    onset: int
    apex: int
    offset: int
    emotion: str
    label: str  # its MEGC2019 class


def demo_clip(
    fps: float = 200.0, size: tuple[int, int] = (640, 480), seed: int = 0
) -> tuple[RenderedSource, list[Truth]]:
    """The demo's source (rendered on demand) and its ground truth; ``size`` is (width, height)."""
    from rtmer.synth import au, generator
    from rtmer.synth.render import CameraModel, VideoRenderer
    from rtmer.synth.timeline import MICRO, Event, Profile

    w, h = size
    subject = generator.make_subjects(1, None, (h, w), 0.1 * w, seed)[0]
    rng = np.random.default_rng([seed, 9])
    truth: list[Truth] = []
    events: list[Event] = []
    fields = []
    for k, (emotion, label) in enumerate(EXPRESSIONS):
        onset = int(round((_FIRST_S + k * _GAP_S) * fps))
        n = int(round(_DURATION_S * fps))
        prof = Profile(onset, onset + int(round(0.4 * n)), onset + n)
        events.append(Event(MICRO, prof, emotion))
        acts = au.sample_expression(emotion, _PEAK_PX * w / 640, rng)
        fields.append(au.expression_field(acts, subject.landmarks68, subject.image.shape[:2]))
        truth.append(Truth(prof.onset, prof.apex, prof.offset, emotion, label))
    n_frames = int(round((_FIRST_S + len(EXPRESSIONS) * _GAP_S) * fps))
    renderer = VideoRenderer(subject, events, fields, fps, CameraModel(), rng)
    return RenderedSource(renderer.frame, n_frames, fps, "synthetic demo clip"), truth


@dataclass(frozen=True)
class Match:
    """A ground-truth expression and the event found for it (None: missed)."""

    truth: Truth
    found: EventRecord | None

    @property
    def label(self) -> str | None:
        p = None if self.found is None else self.found.prediction
        return None if p is None else p.label


def match(truth: list[Truth], records: list[EventRecord]) -> tuple[list[Match], list[EventRecord]]:
    """Each truth's event (the last record of an event whose apex lies within its onset..offset)
    and the events that match no truth (false alarms)."""
    final: dict[int, EventRecord] = {}
    for r in records:
        final[r.event.event_id] = r  # the offset record, when there is one, is the last
    used: set[int] = set()
    out = []
    for t in truth:
        hits = [r for i, r in final.items() if i not in used and t.onset <= r.event.apex <= t.offset]
        best = min(hits, key=lambda r: abs(r.event.apex - t.apex), default=None)
        if best is not None:
            used.add(best.event.event_id)
        out.append(Match(t, best))
    return out, [r for i, r in final.items() if i not in used]


def report(matches: list[Match], extra: list[EventRecord], fps: float) -> list[str]:
    """The demo's table: each truth beside what was found, then false alarms and a verdict."""
    lines = [
        "truth (onset apex offset, class)            found (onset apex offset, kind, class p)",
    ]
    for m in matches:
        t = m.truth
        left = f"{t.onset:4d} {t.apex:4d} {t.offset:4d}  {t.label:<8} ({t.emotion})"
        if m.found is None:
            right = "missed"
        else:
            e, p = m.found.event, m.found.prediction
            off = "-" if e.offset is None else str(e.offset)
            cls = "unclassified" if p is None else f"{p.label} {p.confidence:.2f}"
            ok = "" if p is None else ("  ok" if p.label == t.label else "  WRONG CLASS")
            right = f"{e.onset:4d} {e.apex:4d} {off:>4}  {e.kind}  {cls}{ok}"
        lines.append(f"{left:<44} {right}")
    for r in extra:
        e = r.event
        off = "-" if e.offset is None else str(e.offset)
        lines.append(f"{'(no expression here)':<44} {e.onset:4d} {e.apex:4d} {off:>4}  {e.kind}  false alarm")
    found = sum(m.found is not None for m in matches)
    if any(m.found is not None and m.found.prediction is not None for m in matches):
        classes = f"{sum(m.label == m.truth.label for m in matches)}/{len(matches)} with the right class"
    else:
        classes = "not classified"
    lines.append(
        f"demo: {found}/{len(matches)} expressions found, {classes}, {len(extra)} false alarm(s) "
        f"(found: an event whose apex lies in the expression's onset..offset, at {fps:g} fps)"
    )
    return lines
