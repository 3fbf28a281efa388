"""The causal apex spotter on synthetic signals: onset/apex/offset, kinds, blinks, causality."""

from __future__ import annotations

import numpy as np
import pytest

from rtmer.spotting.apex import ApexSpotter, SpotterConfig
from rtmer.spotting.signal import SignalFrame
from rtmer.types import SpotEvent


def _bump(n: int, fps: float, onset_s: float, apex_s: float, offset_s: float, peak: float) -> np.ndarray:
    """A rise-then-decay profile (sin^2 halves) between onset and offset, 0 elsewhere."""
    t = np.arange(n) / fps
    out = np.zeros(n)
    rise = (t > onset_s) & (t <= apex_s)
    fall = (t > apex_s) & (t < offset_s)
    out[rise] = np.sin(0.5 * np.pi * (t[rise] - onset_s) / (apex_s - onset_s)) ** 2
    out[fall] = np.sin(0.5 * np.pi * (offset_s - t[fall]) / (offset_s - apex_s)) ** 2
    return peak * out


def _run(face: np.ndarray, fps: float, eyes: np.ndarray | None = None, seed: int = 0) -> list[SpotEvent]:
    rng = np.random.default_rng(seed)
    noise = 0.12 + np.abs(rng.normal(0, 0.02, face.size))
    eyes = np.zeros_like(face) if eyes is None else eyes
    spotter = ApexSpotter(SpotterConfig(fps=fps))
    events = []
    for i, (f, e, n) in enumerate(zip(face, eyes, noise, strict=True)):
        out = spotter.update(SignalFrame(i, i / fps, f + n, e + 0.05, 0.05, (("mouth", f + n),)))
        events += out.events
    return events + spotter.finish().events


@pytest.mark.parametrize("fps", [200.0, 30.0])
def test_one_micro_expression(fps: float) -> None:
    n = int(4 * fps)
    face = _bump(n, fps, 2.0, 2.1, 2.35, 0.8)
    events = _run(face, fps)
    apex_events = [e for e in events if e.offset is None]
    final = [e for e in events if e.offset is not None]
    assert len(apex_events) == 1 and len(final) == 1
    e = final[0]
    assert e.kind == "micro"
    assert abs(e.apex - round(2.1 * fps)) <= max(3, round(0.015 * fps))
    assert abs(e.onset - round(2.0 * fps)) <= max(4, round(0.03 * fps))
    # Emitted at apex confirmation, within 50 ms of the apex (10 frames at 200 fps).
    assert apex_events[0].emitted_index - round(2.1 * fps) <= max(2, round(0.05 * fps))


def test_macro_expression_is_one_macro_event() -> None:
    fps = 200.0
    face = _bump(int(6 * fps), fps, 1.5, 2.5, 4.0, 4.0)
    final = [e for e in _run(face, fps) if e.offset is not None]
    assert len(final) == 1 and final[0].kind == "macro"


def test_blink_is_rejected() -> None:
    fps = 200.0
    n = int(3 * fps)
    eyes = _bump(n, fps, 1.5, 1.6, 1.75, 3.0)
    face = 0.2 * eyes  # a blink drags the skin round the eye a little
    assert _run(face, fps, eyes) == []


def test_noise_alone_gives_nothing() -> None:
    assert _run(np.zeros(4000), 200.0, seed=3) == []


def test_causal() -> None:
    """Events emitted up to frame t do not change when frames after t are replaced."""
    fps = 200.0
    face = _bump(800, fps, 1.0, 1.1, 1.3, 1.0) + _bump(800, fps, 2.5, 2.6, 2.9, 1.0)
    changed = face.copy()
    changed[int(1.5 * fps) :] = _bump(800, fps, 3.0, 3.3, 3.5, 2.0)[int(1.5 * fps) :]
    cut = int(1.5 * fps)
    a = [e for e in _run(face, fps) if e.emitted_index < cut]
    b = [e for e in _run(changed, fps) if e.emitted_index < cut]
    assert a and a == b
