"""The streaming apex spotter: a causal state machine over the motion signal.

Published spotters threshold against the whole video's statistics and smooth with centred
windows, so they cannot decide during a stream. This one decides causally, frame by frame:

- a robust running baseline and noise level (median and MAD of the face signal over the last
  ``baseline_s`` of quiet frames);
- onset when the signal rises above baseline + ``k`` robust sigmas; the onset frame is traced back
  to where the rise left baseline + ``onset_k`` sigmas, and the offset is where it is back within
  ``offset_share`` of the peak: a micro-expression's intensity starts and ends slowly, so tight
  thresholds there cut the interval short of the annotated one (IoU < 0.5 with the truth);
- apex at the peak of the signal's ``level`` (the expression's extent; ``face``, which finds the
  expression, saturates once its strongest patch has moved), confirmed as soon as the face signal
  has fallen ``confirm_drop`` of the way back from its peak, or ``lookahead_s`` after the level's
  peak without a new maximum: the event is emitted then, not at the offset;
- offset when the signal is back within the noise band, or at ``max_duration_s`` (timeout);
- durations scaled by the fps: shorter than ``min_duration_s`` is noise, up to ``micro_max_s``
  a micro-expression, longer a macro-expression (micro-expressions last 1/25 to 1/2 s);
- blinks rejected (the eye signal dominates the face signal at the apex), and head motion (the
  global motion grows by more than the face signal);
- the reference frame re-anchored (the caller resets the motion engine) when the face has been
  still for ``reanchor_still_s``, so slow drift does not accumulate, and after an event that timed
  out (the face settled into a new pose).

Every window is in seconds and scaled by the fps, so the same spotter runs at 30 or 200 fps.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from rtmer.errors import InputError
from rtmer.spotting.signal import SignalFrame
from rtmer.types import SpotEvent

IDLE, RISING, FALLING = "idle", "rising", "falling"


@dataclass(frozen=True)
class SpotterConfig:
    """Spotter parameters; times in seconds, motion in pixels of the aligned crop."""

    fps: float
    baseline_s: float = 1.0
    # Threshold: baseline + k robust sigmas of the face signal. The signal is a maximum over ~150
    # blocks, whose quiet spread is narrow but whose tail is not Gaussian: k = 8 keeps false alarms
    # under 1 per minute (synthetic long videos, tuning seed; 10 gives the same F1 at 200 fps but
    # loses weak micro-expressions at 30 fps).
    k: float = 8.0
    # Causal moving average of the face and eye signals. MotionSignal already averages the flow
    # over 10 ms, so by default nothing more (one frame).
    smooth_s: float = 0.0
    min_threshold: float = 0.02  # px: never trigger on less, whatever the noise
    onset_k: float = 1.0  # the onset is where the rise left baseline + onset_k sigmas
    quiet_k: float = 3.0  # frames within baseline + quiet_k sigmas are at rest (baseline, stillness)
    confirm_drop: float = 0.25  # apex confirmed once the signal fell this share back from the peak
    lookahead_s: float = 0.015  # or this long after the peak without a new maximum
    offset_share: float = 0.1  # offset: back under baseline + this share of the peak's height
    min_duration_s: float = 1 / 25
    micro_max_s: float = 0.5
    max_duration_s: float = 4.0
    refractory_s: float = 1.0  # after an event, at most this long until the face is back at rest
    # Re-anchor the motion reference after this long at rest. Each new reference brings its own
    # sensor-noise pattern into every later flow, which the blocks' noise levels learned on the
    # old one do not describe: a false alarm or a missed onset right after the swap. The tracker
    # registers every crop to its anchor, so little drift builds up between swaps. 2 s gave the
    # best micro F1 at both rates (bench/README.md, tuning notes).
    reanchor_still_s: float = 2.0
    # eyes / face at the apex above this: a blink. A blink drags the skin round the grown eye
    # mask, so some face blocks move with it, but less than the lids: below 1 AU 6/7
    # micro-expressions are rejected too, above it blinks get through (bench/README.md).
    blink_ratio: float = 1.0
    head_ratio: float = 2.0  # head-motion growth / face signal above this: head motion

    def __post_init__(self) -> None:
        if self.fps <= 0:
            raise InputError(f"the spotter needs the source fps (> 0), got {self.fps}")

    def frames(self, seconds: float) -> int:
        return max(1, int(round(seconds * self.fps)))


@dataclass
class _Candidate:
    onset: int
    onset_t: float
    peak: float
    level: float
    apex: int
    apex_t: float
    apex_eyes: float
    apex_head: float
    regions: tuple[tuple[str, float], ...]
    since_peak: int = 0
    confirmed: bool = False
    event_id: int = -1
    rejected: str = ""


@dataclass
class SpotterOutput:
    """What one frame produced: events emitted (apex confirmations and offsets) and whether the
    caller should re-anchor the motion reference to this frame."""

    events: list[SpotEvent] = field(default_factory=list)
    reanchor: bool = False
    rejected: list[str] = field(default_factory=list)


def _level(s: SignalFrame) -> float:
    """The value whose peak is the apex: the signal's level, or the face signal without one."""
    return s.face if math.isnan(s.level) else s.level


class ApexSpotter:
    """Feed :class:`SignalFrame` s in order with :meth:`update`; read events from its output."""

    def __init__(self, config: SpotterConfig) -> None:
        self.config = config
        self._quiet: deque[float] = deque(maxlen=config.frames(config.baseline_s))
        self._recent: deque[SignalFrame] = deque(maxlen=config.frames(0.5))
        self._state = IDLE
        self._cand: _Candidate | None = None
        self._still = 0
        self._refractory = 0
        self._next_id = 0
        self._head0 = 0.0
        self._window: deque[SignalFrame] = deque(maxlen=config.frames(config.smooth_s))

    @property
    def state(self) -> str:
        return self._state

    def baseline(self) -> tuple[float, float]:
        """(median, robust sigma) of the recent quiet face signal."""
        if len(self._quiet) < 5:
            return 0.0, 0.0
        q = np.fromiter(self._quiet, float)
        med = float(np.median(q))
        return med, 1.4826 * float(np.median(np.abs(q - med)))

    def threshold(self) -> float:
        med, sigma = self.baseline()
        return max(med + self.config.k * sigma, med + self.config.min_threshold)

    def finish(self) -> SpotterOutput:
        """End of stream: an expression still under way is confirmed if it is long enough (its
        offset stays unknown); nothing else is emitted."""
        out = SpotterOutput()
        cand = self._cand
        if cand is not None and not cand.confirmed and self._recent:
            last = self._recent[-1]
            if last.index - cand.onset >= self.config.frames(self.config.min_duration_s):
                self._confirm(cand, last, out)
        self.reset()
        return out

    def reset(self) -> None:
        """Forget the current candidate (the caller re-anchored, or the face was lost)."""
        self._state, self._cand, self._still = IDLE, None, 0
        self._recent.clear()
        self._window.clear()

    def update(self, raw: SignalFrame) -> SpotterOutput:
        out = SpotterOutput()
        s = self._smooth(raw)
        med, sigma = self.baseline()
        if self._state == IDLE:
            self._idle(s, med, sigma, out)
        else:
            self._track(s, med, out)
        self._recent.append(s)
        return out

    def _smooth(self, raw: SignalFrame) -> SignalFrame:
        """The causal average of the last frames' face and eye signals (noise drops by sqrt(n))."""
        self._window.append(raw)
        n = len(self._window)
        return SignalFrame(
            raw.index,
            raw.t,
            sum(w.face for w in self._window) / n,
            sum(w.eyes for w in self._window) / n,
            raw.head,
            raw.regions,
            sum(w.level for w in self._window) / n,
        )

    def _idle(self, s: SignalFrame, med: float, sigma: float, out: SpotterOutput) -> None:
        c = self.config
        if self._refractory > 0:
            # After an event, wait until the face is back at the noise level (or the refractory
            # time ran out): bumps on an expression's slow decay are not new expressions.
            self._refractory -= 1
            if s.face <= med + c.quiet_k * max(sigma, 0.25 * c.min_threshold):
                self._refractory = 0
        if s.face > self.threshold() and self._refractory == 0 and len(self._quiet) >= 5:
            onset_level = med + max(c.onset_k * sigma, 0.25 * (self.threshold() - med))
            onset = s
            for prev in reversed(self._recent):
                if prev.face <= onset_level:
                    onset = prev
                    break
                onset = prev
            self._cand = _Candidate(
                onset.index, onset.t, s.face, _level(s), s.index, s.t, s.eyes, s.head, s.regions
            )
            self._head0 = self._recent[0].head if self._recent else s.head
            self._state = RISING
            return
        # Only noise-level frames feed the baseline: a slow rise (a macro-expression's onset) must
        # not lift the baseline along with it.
        if len(self._quiet) < 5 or s.face <= med + c.quiet_k * max(sigma, 0.25 * c.min_threshold):
            self._quiet.append(s.face)
        self._still = self._still + 1 if s.face <= med + max(c.quiet_k * sigma, 0.5 * c.min_threshold) else 0
        if self._still >= c.frames(c.reanchor_still_s):
            self._still = 0
            out.reanchor = True

    def _track(self, s: SignalFrame, med: float, out: SpotterOutput) -> None:
        c = self.config
        cand = self._cand
        assert cand is not None  # RISING and FALLING always hold a candidate
        cand.peak = max(cand.peak, s.face)
        if _level(s) > cand.level:
            cand.level, cand.apex, cand.apex_t = _level(s), s.index, s.t
            cand.apex_eyes, cand.apex_head, cand.regions = s.eyes, s.head, s.regions
            cand.since_peak = 0
        else:
            cand.since_peak += 1
        height = cand.peak - med
        duration = s.index - cand.onset
        long_enough = duration >= c.frames(c.min_duration_s)
        if not cand.confirmed and long_enough:
            dropped = s.face <= cand.peak - c.confirm_drop * height
            if dropped or cand.since_peak >= c.frames(c.lookahead_s):
                self._confirm(cand, s, out)
        back = s.face <= med + c.offset_share * height
        timeout = duration >= c.frames(c.max_duration_s)
        if back or timeout:
            self._finish(cand, s, out, long_enough)
            # Back near the reference: keep it (the rest of the decay would read as new motion
            # against a later one); the idle state re-anchors once the face is still. After a
            # timeout the face has settled into a new pose: that becomes the reference.
            out.reanchor = timeout

    def _verdict(self, cand: _Candidate) -> str:
        c = self.config
        if cand.apex_eyes > c.blink_ratio * cand.peak:
            return "blink"
        if cand.apex_head - self._head0 > c.head_ratio * cand.peak:
            return "head motion"
        return ""

    def _kind(self, duration_frames: int) -> str:
        return "micro" if duration_frames <= self.config.frames(self.config.micro_max_s) else "macro"

    def _event(self, cand: _Candidate, s: SignalFrame, offset: SignalFrame | None) -> SpotEvent:
        regions = tuple(n for n, _ in sorted(cand.regions, key=lambda r: -r[1])[:2])
        span = (offset.index if offset else 2 * cand.apex - cand.onset) - cand.onset
        med, _ = self.baseline()
        return SpotEvent(
            event_id=cand.event_id,
            onset=cand.onset,
            apex=cand.apex,
            offset=offset.index if offset else None,
            onset_t=cand.onset_t,
            apex_t=cand.apex_t,
            offset_t=offset.t if offset else None,
            kind=self._kind(span),
            score=float(cand.peak - med),
            regions=regions,
            emitted_index=s.index,
        )

    def _confirm(self, cand: _Candidate, s: SignalFrame, out: SpotterOutput) -> None:
        cand.confirmed = True
        self._state = FALLING
        cand.rejected = self._verdict(cand)
        if cand.rejected:
            out.rejected.append(cand.rejected)
            return
        cand.event_id = self._next_id
        self._next_id += 1
        out.events.append(self._event(cand, s, None))

    def _finish(self, cand: _Candidate, s: SignalFrame, out: SpotterOutput, long_enough: bool) -> None:
        c = self.config
        if not cand.confirmed:
            if long_enough:
                self._confirm(cand, s, out)
            else:  # shorter than any expression: noise, never emitted
                out.rejected.append("too short")
        if cand.event_id >= 0:
            out.events.append(self._event(cand, s, s))
        self._state, self._cand = IDLE, None
        self._refractory = c.frames(c.refractory_s)
        self._still = 0
