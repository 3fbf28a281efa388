"""Event timing: profiles rise faster than they fall; schedules keep expressions apart."""

from __future__ import annotations

import numpy as np
import pytest

from rtmer.synth.timeline import BLINK, DURATIONS, MACRO, MICRO, Profile, sample_profile, schedule


def test_profile_shape() -> None:
    p = Profile(10, 16, 30)
    values = [p.at(k) for k in range(0, 40)]
    assert values[10] == 0 and values[30] == 0 and max(values) == values[16] == 1.0
    assert all(a <= b for a, b in zip(values[10:17], values[11:17], strict=False))
    assert all(a >= b for a, b in zip(values[16:31], values[17:31], strict=False))


@pytest.mark.parametrize("fps", [30.0, 100.0, 200.0])
def test_sampled_profiles_follow_the_definition(fps: float) -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        p = sample_profile(5, fps, DURATIONS[MICRO], rng)
        seconds = (p.offset - p.onset) / fps
        assert DURATIONS[MICRO][0] - 1.5 / fps <= seconds <= DURATIONS[MICRO][1] + 1.5 / fps
        assert p.apex - p.onset <= p.offset - p.apex


def test_schedule_keeps_expressions_apart() -> None:
    fps, n = 200.0, 200 * 120
    events = schedule(n, fps, np.random.default_rng(4))
    kinds = [e.kind for e in events]
    assert kinds.count(MICRO) == 12 and kinds.count(MACRO) == 4 and kinds.count(BLINK) > 20
    spans = sorted((e.profile.onset, e.profile.offset) for e in events if e.kind != BLINK)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start - end >= 0.5 * fps
    for e in events:
        assert 0 <= e.profile.onset < e.profile.apex < e.profile.offset < n
        if e.kind == BLINK:
            assert all(not (s <= e.profile.onset <= t) for s, t in spans)
