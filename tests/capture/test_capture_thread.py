"""The capture thread: end reasons, and errors re-raised on the consumer's side after the frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rtmer.capture import CaptureThread, RingBuffer, VideoSource, frames
from rtmer.errors import VideoError


def write_avi(path: Path, n: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 30.0, (64, 48))
    for i in range(n):
        # numpy 2 refuses an out-of-range fill where numpy 1 wrapped it; the grey only tells frames apart.
        writer.write(np.full((48, 64, 3), 4 * i % 256, np.uint8))
    writer.release()
    return path


def test_end_of_file(tmp_path: Path) -> None:
    source = VideoSource(write_avi(tmp_path / "v.avi", 20))
    ring = RingBuffer(64, (48, 64, 3))  # room for every frame: nothing may be dropped
    capture = CaptureThread(source, ring).start()
    got = [view.index for view in frames(ring, capture)]
    assert got == list(range(20))
    assert capture.end_reason == "end of file" and capture.error is None
    assert not capture.running and ring.closed
    assert ring.stats().dropped == 0


def test_frames_reraises_after_good_frames(tmp_path: Path) -> None:
    data = write_avi(tmp_path / "full.avi", 60).read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    ring = RingBuffer(64, (48, 64, 3))
    capture = CaptureThread(VideoSource(cut), ring).start()
    got: list[int] = []
    with pytest.raises(VideoError, match="truncated or damaged") as info:
        for view in frames(ring, capture):
            got.append(view.index)
    assert info.value is capture.error
    assert capture.end_reason == str(info.value)
    assert 0 < len(got) < 60 and got == list(range(len(got)))


def test_closing_frames_early_stops_capture(tmp_path: Path) -> None:
    ring = RingBuffer(4, (48, 64, 3))
    capture = CaptureThread(VideoSource(write_avi(tmp_path / "v.avi", 200)), ring).start()
    stream = frames(ring, capture)
    next(stream)
    stream.close()
    assert capture.join(10.0)
    assert capture.end_reason in ("stopped", "end of file")


def test_consumer_closing_the_ring_stops_the_capture(tmp_path: Path) -> None:
    ring = RingBuffer(4, (48, 64, 3))
    capture = CaptureThread(VideoSource(write_avi(tmp_path / "v.avi", 2000)), ring).start()
    assert ring.get(timeout=10.0) is not None
    ring.close()
    assert capture.join(10.0)
    assert capture.end_reason == "stopped" and capture.error is None
    assert ring.stats().produced < 2000  # it did not read the rest of the file into a closed ring
