"""Offline interval spotting: known bumps on noise and drift are found with the right kind, at 200
and at 30 fps; noise and drift alone give nothing."""

from __future__ import annotations

import numpy as np
import pytest

from rtmer.errors import InputError
from rtmer.spotting.intervals import IntervalSettings, spot_intervals
from rtmer.spotting.metrics import Interval, iou, match
from rtmer.synth.timeline import Profile

NOISE = 0.02
#: Durations (s) of the test bumps. At 30 fps an expression shorter than about 0.13 s covers at
#: most two frames and falls under the 1/25 s minimum, so the shortest here is 0.15 s.
MICRO_S = (0.15, 0.25, 0.4)
MACRO_S = (0.8, 1.5, 3.0)


def _background(fps: float, seconds: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Times, and white noise on a slow drift (a ramp and two waves, 15 and 5 sigmas deep)."""
    t = np.arange(int(seconds * fps)) / fps
    drift = 0.3 * t / seconds + 0.1 * np.sin(2 * np.pi * t / 37) + 0.05 * np.sin(2 * np.pi * t / 23)
    return t, NOISE * rng.standard_normal(t.size) + drift


def _signal(fps: float, shape: str, seed: int) -> tuple[np.ndarray, list[Interval]]:
    """Bumps every 6 s on the background, 10-50 sigma (micro) or 50-200 sigma (macro) high.

    "gauss": a Gaussian of sigma duration/4, its truth centre ± 2 sigma; "profile": rtmer's
    synthetic expression profile (rtmer.synth.timeline.Profile: sin² rise over 30-45%, then decay)."""
    rng = np.random.default_rng(seed)
    durations = MICRO_S + MACRO_S
    t, x = _background(fps, 4 + 6 * len(durations), rng)
    truth = []
    for j, d in enumerate(durations):
        centre, kind = 4.0 + 6 * j, "micro" if d <= 0.5 else "macro"
        amp = NOISE * (rng.uniform(10, 50) if kind == "micro" else rng.uniform(50, 200))
        if shape == "gauss":
            x += amp * np.exp(-0.5 * ((t - centre) / (d / 4)) ** 2)
            on, off, apex = (int(round(v * fps)) for v in (centre - d / 2, centre + d / 2, centre))
        else:
            on = int(round((centre - d / 2) * fps))
            off = on + int(round(d * fps))
            apex = on + int(round(rng.uniform(0.3, 0.45) * (off - on)))
            x[on : off + 1] += amp * np.array([Profile(on, apex, off).at(k) for k in range(on, off + 1)])
        truth.append(Interval(on, off, apex=apex, kind=kind))
    return x, truth


@pytest.mark.parametrize("fps", [200.0, 30.0])
@pytest.mark.parametrize("shape", ["gauss", "profile"])
@pytest.mark.parametrize("seed", [0, 1])
def test_every_bump_found_with_its_kind(fps: float, shape: str, seed: int) -> None:
    x, truth = _signal(fps, shape, seed)
    found = spot_intervals(x, fps)
    m = match(found, truth)  # same kind and IoU >= 0.5, one to one
    assert m.counts.tp == len(truth) and not m.false_positives, (found, truth)
    for p, t in m.pairs:
        assert iou(found[p], truth[t]) >= 0.6
        if truth[t].kind == "micro":  # macro apexes sit on a broad top; micro ones are sharp
            assert abs(found[p].apex - truth[t].apex) <= max(2, 0.01 * fps)  # type: ignore[operator]
    assert [i.onset for i in found] == sorted(i.onset for i in found)
    assert all(i.score >= IntervalSettings().k for i in found)


@pytest.mark.parametrize("fps", [200.0, 30.0])
def test_noise_and_drift_alone_give_nothing(fps: float) -> None:
    for seed in range(3):
        _, x = _background(fps, 180.0, np.random.default_rng(100 + seed))
        assert spot_intervals(x, fps) == []
    # Spikes one frame wide are shorter than any expression at 30 fps and
    # narrower than any smoothing at 200 fps.
    spikes = x.copy()
    spikes[:: int(fps)] += 1.0
    assert spot_intervals(spikes, fps) == []


def test_scale_and_offset_do_not_matter() -> None:
    x, _ = _signal(200.0, "profile", 3)
    a, b = spot_intervals(7.5 * x + 3.0, 200.0), spot_intervals(x, 200.0)
    assert [(i.onset, i.offset, i.apex, i.kind) for i in a] == [
        (i.onset, i.offset, i.apex, i.kind) for i in b
    ]
    assert [i.score for i in a] == pytest.approx([i.score for i in b])


def test_duration_limits() -> None:
    """Too short (< 1/25 s) is noise, too long (> macro_max_s) is not an expression; a baseline
    window long enough to see a 6 s movement at all shows that it is dropped for its length."""
    fps = 200.0
    t = np.arange(int(120 * fps)) / fps
    x = NOISE * np.random.default_rng(7).standard_normal(t.size) + 0.3 * t / 120  # no waves: a 40 s window
    for centre, d in ((10, 0.02), (40, 6.0), (80, 0.2)):
        x = x + np.exp(-0.5 * ((t - centre) / (d / 4)) ** 2)
    wide = IntervalSettings(baseline_s=40.0)
    (only,) = spot_intervals(x, fps, wide)
    assert only.kind == "micro" and only.onset < 80 * fps < only.offset
    longer = IntervalSettings(baseline_s=40.0, macro_max_s=10.0)
    assert [i.kind for i in spot_intervals(x, fps, longer)] == ["macro", "micro"]


def test_movement_longer_than_half_the_baseline_window_is_baseline() -> None:
    """A median window sees a plateau longer than half of it as the new level: no event."""
    fps = 200.0
    t, x = _background(fps, 60.0, np.random.default_rng(8))
    x[(t > 20) & (t < 26)] += 1.0  # 6 s > baseline_s / 2
    assert spot_intervals(x, fps) == []


def test_input_errors() -> None:
    with pytest.raises(InputError, match="1-D"):
        spot_intervals(np.zeros((10, 2)), 200.0)
    with pytest.raises(InputError, match="NaN"):
        spot_intervals(np.array([0.0, np.nan, 0.0]), 200.0)
    with pytest.raises(InputError, match="fps"):
        spot_intervals(np.zeros(10), 0.0)
    with pytest.raises(InputError, match="edge_fraction"):
        IntervalSettings(edge_fraction=1.5)
    with pytest.raises(InputError, match="durations"):
        IntervalSettings(micro_max_s=5.0)
    assert spot_intervals(np.zeros(2), 200.0) == []
    assert spot_intervals(np.zeros(1000), 200.0) == []  # flat: no noise, no events
