"""Fixtures of the application tests: the demo clip, rendered once per session."""

from __future__ import annotations

import pytest

from rtmer.app import demo

#: Smaller and slower than the demo's defaults (640x480, 200 fps) to keep the tests fast; the
#: expressions keep their durations in seconds. Test modules read the rate from the fixture.
FPS = 100.0
SIZE = (320, 240)


@pytest.fixture(scope="session")
def demo_frames() -> tuple[list, list[demo.Truth], float]:
    """The demo clip's frames (a list of images), its ground truth and its frame rate."""
    source, truth = demo.demo_clip(FPS, SIZE)
    return [f.image for f in source], truth, FPS
