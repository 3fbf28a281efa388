"""The frame ring: counts add up under a fast producer and a slow consumer, no torn frames."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from rtmer.capture import RingBuffer
from rtmer.errors import FrameOverwrittenError, InputError
from rtmer.types import Frame

SHAPE = (32, 32)


def frame(i: int, shape: tuple[int, ...] = SHAPE) -> Frame:
    return Frame(i, i / 100, np.full(shape, i % 256, np.uint8))


def test_fast_producer_slow_consumer() -> None:
    ring = RingBuffer(8, (64, 64, 3), np.uint8)
    n = 3000

    def produce() -> None:
        for i in range(n):
            ring.put(frame(i, (64, 64, 3)))
        ring.close()

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    seen: list[int] = []
    while (view := ring.get(timeout=10.0)) is not None:
        image = view.image
        assert not image.flags.writeable
        # Check the whole frame while the producer keeps writing other slots: never torn.
        assert image.min() == image.max() == view.index % 256
        assert view.t == view.index / 100
        seen.append(view.index)
        if len(seen) % 50 == 0:
            time.sleep(0.001)  # a slow consumer, so the ring overflows
    producer.join(10.0)
    stats = ring.stats()
    assert stats.produced == n
    assert stats.delivered == len(seen)
    assert stats.delivered + stats.dropped + stats.pending == stats.produced
    assert stats.pending == 0
    assert np.all(np.diff(seen) > 0)
    assert seen[-1] == n - 1  # the newest frame is never the one dropped


def test_overwrite_oldest_and_counts() -> None:
    ring = RingBuffer(3, SHAPE)
    assert [ring.put(frame(i)) for i in range(5)] == [True, True, True, False, False]
    assert ring.stats().dropped == 2 and len(ring) == 3
    assert [ring.get(timeout=0).index for _ in range(3)] == [2, 3, 4]
    assert ring.get(timeout=0) is None
    s = ring.stats()
    assert (s.produced, s.delivered, s.dropped, s.pending) == (5, 3, 2, 0)


def test_held_view_is_never_overwritten() -> None:
    ring = RingBuffer(2, SHAPE)
    ring.put(frame(0))
    held = ring.get(timeout=0)
    for i in range(1, 50):  # far more than the capacity while the consumer holds frame 0
        ring.put(frame(i))
    assert held.image.min() == held.image.max() == 0 and held.index == 0
    assert ring.frame(0) is not None
    assert [ring.get(timeout=0).index for _ in range(2)] == [48, 49]


def test_released_view_reused_raises() -> None:
    ring = RingBuffer(1, SHAPE)
    ring.put(frame(0))
    view = ring.get(timeout=0)
    view.release()
    for i in range(1, 4):  # the slots cycle as frames come and go
        ring.put(frame(i))
        ring.get(timeout=0)
    with pytest.raises(FrameOverwrittenError, match="frame 0"):
        _ = view.image


def test_lookup_by_index() -> None:
    ring = RingBuffer(4, SHAPE)
    for i in range(3):
        ring.put(frame(i))
    for _ in range(3):
        ring.get(timeout=0)
    # Delivered frames stay readable until their slots are reused.
    copy = ring.frame(1)
    assert copy is not None and copy.flags.writeable and np.all(copy == 1)
    copy[:] = 99  # a copy: the ring is untouched
    assert np.all(ring.frame(1) == 1)
    for i in range(3, 20):
        ring.put(frame(i))
    assert ring.frame(1) is None
    assert np.all(ring.frame(19) == 19)


def test_close_wakes_blocked_get() -> None:
    ring = RingBuffer(2, SHAPE)
    result: list[object] = []
    consumer = threading.Thread(target=lambda: result.append(ring.get()), daemon=True)
    consumer.start()
    ring.close()
    consumer.join(10.0)
    assert not consumer.is_alive() and result == [None]
    assert ring.put(frame(0)) is False  # after close a frame is counted as dropped, not lost
    s = ring.stats()
    assert (s.produced, s.dropped) == (1, 1)


def test_get_timeout_and_sizes() -> None:
    ring = RingBuffer(2, SHAPE)
    assert ring.get(timeout=0.01) is None
    with pytest.raises(InputError, match="ring holds"):
        ring.put(frame(0, (8, 8)))
    assert RingBuffer.for_source(2.0, 30.0, SHAPE).capacity == 60
    assert RingBuffer.for_source(0.1, 200.0, SHAPE).capacity == 200  # at least one second


def test_held_views_survive_a_full_speed_producer() -> None:
    # The consumer keeps each view a while and checks it again at the end: the producer, lapping
    # the ring many times meanwhile, must never have written into the held slot.
    ring = RingBuffer(4, (48, 64, 3))
    stop = threading.Event()
    produced = 0

    def produce() -> None:
        nonlocal produced
        while not stop.is_set():
            ring.put(frame(produced, (48, 64, 3)))
            produced += 1
        ring.close()

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    seen: list[int] = []
    for _ in range(40):
        view = ring.get(timeout=10.0)
        assert view is not None
        first = view.image.copy()
        time.sleep(0.002)
        assert np.array_equal(view.image, first) and first.min() == first.max() == view.index % 256
        seen.append(view.index)
    stop.set()
    while ring.get(timeout=10.0) is not None:
        pass
    producer.join(10.0)
    s = ring.stats()
    assert s.produced == produced and s.delivered + s.dropped == produced and s.pending == 0
    assert s.dropped > 0 and np.all(np.diff(seen) > 0)


def test_stale_release_does_not_unpin_the_held_frame() -> None:
    ring = RingBuffer(1, SHAPE)  # two slots: frames alternate between them
    ring.put(frame(0))
    old = ring.get(timeout=0)
    ring.put(frame(1))
    ring.get(timeout=0)  # releases `old`
    ring.put(frame(2))  # reuses old's slot
    held = ring.get(timeout=0)
    assert held.index == 2 and held._slot == old._slot
    old.release()  # a stale view's release: must leave frame 2 pinned
    for i in range(3, 10):
        ring.put(frame(i))
    assert held.image.min() == held.image.max() == 2
    assert held.to_frame().index == 2


def test_to_frame_after_reuse_raises() -> None:
    ring = RingBuffer(1, SHAPE)
    ring.put(frame(0))
    view = ring.get(timeout=0)
    kept = view.to_frame()
    view.release()
    for i in range(1, 4):
        ring.put(frame(i))
        ring.get(timeout=0)
    assert kept.index == 0 and kept.image.flags.writeable and np.all(kept.image == 0)
    with pytest.raises(FrameOverwrittenError):
        view.to_frame()
