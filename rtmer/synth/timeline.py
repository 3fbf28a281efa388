"""When things happen in a synthetic video: expression profiles and the schedule of events.

A micro-expression lasts 1/25 to 1/2 s; its intensity rises from the onset to the
apex faster than it decays to the offset (Yan et al. 2013 report onset durations of about a third
of the whole), so the profile here is a smooth rise over a fraction r in [0.3, 0.45] of the
duration and a smooth decay over the rest, not a symmetric triangle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MICRO, MACRO, BLINK = "micro", "macro", "blink"


@dataclass(frozen=True)
class Profile:
    """Intensity over time of one event: 0 at onset, 1 at apex, 0 at offset (frame indices)."""

    onset: int
    apex: int
    offset: int

    def at(self, frame: int) -> float:
        """The intensity in [0, 1] at a frame; 0 outside [onset, offset]."""
        if frame <= self.onset or frame >= self.offset:
            return 0.0
        if frame <= self.apex:
            x = (frame - self.onset) / max(self.apex - self.onset, 1)
        else:
            x = (self.offset - frame) / max(self.offset - self.apex, 1)
        return float(np.sin(0.5 * np.pi * x) ** 2)


def sample_profile(
    start: int, fps: float, duration_s: tuple[float, float], rng: np.random.Generator
) -> Profile:
    """A profile starting at frame ``start`` with a random duration and a faster rise than decay."""
    frames = max(3, int(round(rng.uniform(*duration_s) * fps)))
    rise = max(1, int(round(frames * rng.uniform(0.3, 0.45))))
    return Profile(start, start + rise, start + frames)


#: Durations in seconds: micro 40-500 ms, macro 0.5-4 s, blinks 100-300 ms.
DURATIONS = {MICRO: (0.04, 0.5), MACRO: (0.5, 4.0), BLINK: (0.1, 0.3)}
#: Peak displacement in pixels at the apex: micro 0.2-3 px, macro 5-20 px.
PEAKS = {MICRO: (0.2, 3.0), MACRO: (5.0, 20.0)}


@dataclass(frozen=True)
class Event:
    """One scheduled event of a long video."""

    kind: str  # MICRO, MACRO or BLINK
    profile: Profile
    emotion: str = ""  # for expressions


def schedule(
    n_frames: int,
    fps: float,
    rng: np.random.Generator,
    *,
    micro_per_min: float = 6.0,
    macro_per_min: float = 2.0,
    blinks_per_min: float = 15.0,
    emotions: tuple[str, ...] = ("happiness", "surprise", "disgust", "repression"),
) -> list[Event]:
    """Expressions that never overlap each other (with a gap of at least 0.5 s, so a spotter can
    tell them apart), and blinks anywhere outside an expression's onset-offset span."""
    minutes = n_frames / fps / 60.0
    gap = int(0.5 * fps)
    kinds = [MICRO] * int(round(micro_per_min * minutes)) + [MACRO] * int(round(macro_per_min * minutes))
    rng.shuffle(kinds)
    events: list[Event] = []
    busy = np.zeros(n_frames, bool)
    for kind in kinds:
        for _ in range(50):  # a free slot is found quickly unless the video is crowded
            start = int(rng.integers(gap, max(gap + 1, n_frames - int(DURATIONS[kind][1] * fps) - gap)))
            prof = sample_profile(start, fps, DURATIONS[kind], rng)
            lo, hi = max(0, prof.onset - gap), min(n_frames, prof.offset + gap)
            if prof.offset < n_frames and not busy[lo:hi].any():
                busy[lo:hi] = True
                events.append(Event(kind, prof, emotions[int(rng.integers(len(emotions)))]))
                break
    for _ in range(int(round(blinks_per_min * minutes))):
        for _ in range(50):
            prof = sample_profile(
                int(rng.integers(0, max(1, int(n_frames - fps)))), fps, DURATIONS[BLINK], rng
            )
            if prof.offset < n_frames and not busy[prof.onset : prof.offset + 1].any():
                events.append(Event(BLINK, prof))
                break
    return sorted(events, key=lambda e: e.profile.onset)
