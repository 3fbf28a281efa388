"""A preallocated, overwrite-oldest frame ring for one producer thread and one consumer thread.

Slots are handed around by id, not by position: a free list (FIFO, so released frames stay
readable by :meth:`RingBuffer.frame` for as long as possible), a FIFO of undelivered slots, the
slot the producer is writing and the slot the consumer holds. There are ``capacity + 1`` slots,
so ``capacity`` undelivered frames always fit beside the one held.

Safety choice: the producer never writes into the slot the consumer holds (a :class:`FrameView`
from :meth:`RingBuffer.get`, held until :meth:`FrameView.release` or the next ``get``). When the
buffer is full it overwrites the oldest *undelivered* frame instead, counted in ``dropped``. The
image data is copied outside the lock into a slot no one else can see, so the consumer never
sees a torn frame. Reading ``FrameView.image`` after ``release()`` once the slot has been reused
raises :class:`FrameOverwrittenError` (an array taken before the release is the caller's risk).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from rtmer.errors import FrameOverwrittenError, InputError
from rtmer.types import Frame


@dataclass(frozen=True)
class RingStats:
    """Counters at one instant; ``delivered + dropped + pending == produced`` always."""

    capacity: int
    produced: int
    delivered: int
    dropped: int
    pending: int


class FrameView:
    """A delivered frame: ``image`` is a read-only view of its ring slot (zero copy), valid until
    :meth:`release` or the consumer's next ``get``. Copy it (:meth:`to_frame`) to keep it."""

    __slots__ = ("index", "t", "_ring", "_slot", "_generation", "_image")

    def __init__(self, ring: RingBuffer, slot: int, index: int, t: float) -> None:
        self.index = index
        self.t = t
        self._ring = ring
        self._slot = slot
        self._generation = ring._generation[slot]
        self._image = ring._images[slot]

    def _check(self) -> None:
        if self._ring._generation[self._slot] != self._generation:
            raise FrameOverwrittenError(
                f"frame {self.index} was read after its view was released and its ring slot reused; "
                "copy the frame (to_frame) before releasing it"
            )

    @property
    def image(self) -> np.ndarray:
        """The slot's pixels; FrameOverwrittenError once released and the slot rewritten."""
        self._check()
        return self._image

    def to_frame(self) -> Frame:
        """A :class:`Frame` owning a copy of the pixels."""
        image = self.image.copy()
        # Checked again after the copy (seqlock style): a released slot reused during the copy
        # would otherwise give a torn frame.
        self._check()
        return Frame(self.index, self.t, image)

    def release(self) -> None:
        """Give the slot back to the producer (idempotent; the next ``get`` does it too)."""
        self._ring._release(self._slot, self._generation)


class RingBuffer:
    """Fixed-capacity frame ring: ``put`` from one producer never blocks, ``get`` from one
    consumer returns frames in order. See the module docstring for the slot protocol."""

    def __init__(self, capacity: int, shape: tuple[int, ...], dtype: np.dtype | type = np.uint8) -> None:
        if capacity < 1:
            raise InputError(f"ring capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        n = capacity + 1
        self._store = np.empty((n, *self.shape), self.dtype)  # put writes here
        self._store.fill(0)  # fault the pages in now, not on the capture thread's first lap
        self._images = self._store.view()  # views handed out come from this read-only alias
        self._images.flags.writeable = False
        self._index = np.full(n, -1, np.int64)
        self._t = np.zeros(n, np.float64)
        self._generation = [0] * n  # bumped when a slot is rewritten (FrameView validity)
        self._free: deque[int] = deque(range(n))
        self._pending: deque[int] = deque()
        self._held: int | None = None
        self._where: dict[int, int] = {}  # frame index -> slot, for frames still readable
        self._cond = threading.Condition(threading.Lock())
        self._closed = False
        self.produced = self.delivered = self.dropped = 0

    @classmethod
    def for_source(
        cls, seconds: float, fps: float, shape: tuple[int, ...], dtype: np.dtype | type = np.uint8
    ) -> RingBuffer:
        """A ring holding ``seconds`` of frames at ``fps`` (never less than one second)."""
        if not fps > 0:
            raise InputError(f"fps must be positive, got {fps}")
        return cls(max(math.ceil(seconds * fps), math.ceil(fps)), shape, dtype)

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, frame: Frame) -> bool:
        """Store ``frame``; False when a frame was dropped to make room (or the ring is closed,
        when ``frame`` itself is dropped). Never blocks longer than a lookup copy."""
        image = frame.image
        if image.shape != self.shape or image.dtype != self.dtype:
            raise InputError(
                f"frame {frame.index} is {image.shape} {image.dtype}, "
                f"the ring holds {self.shape} {self.dtype}"
            )
        with self._cond:
            if self._closed:
                self.produced += 1
                self.dropped += 1
                return False
            lost = len(self._pending) >= self.capacity
            if lost:
                slot = self._pending.popleft()
                self.dropped += 1
            else:
                slot = self._free.popleft()
            # Invisible to get() and frame() until published below.
            self._where.pop(int(self._index[slot]), None)
            self._index[slot] = -1
            self._generation[slot] += 1
        self._store[slot] = image  # outside the lock: the consumer keeps running during the copy
        with self._cond:
            self._index[slot] = frame.index
            self._t[slot] = frame.t
            self._where[frame.index] = slot
            self._pending.append(slot)
            self.produced += 1
            self._cond.notify()
        return not lost

    def get(self, timeout: float | None = None) -> FrameView | None:
        """The oldest undelivered frame; None after ``timeout`` seconds, or when closed and drained.
        Releases the view the consumer held before."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if self._held is not None:
                self._free.append(self._held)
                self._held = None
            while not self._pending:
                if self._closed:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            slot = self._pending.popleft()
            self._held = slot
            self.delivered += 1
            return FrameView(self, slot, int(self._index[slot]), float(self._t[slot]))

    def _release(self, slot: int, generation: int) -> None:
        with self._cond:
            # The generation tells this view's frame from a later one held in the same slot: a stale
            # view's release must not unpin the frame the consumer holds now.
            if self._held == slot and self._generation[slot] == generation:
                self._free.append(slot)
                self._held = None

    def frame(self, index: int) -> np.ndarray | None:
        """A copy of frame ``index`` if it is still in the ring (pending, held, or released but not
        yet reused), else None."""
        with self._cond:
            slot = self._where.get(index)
            return None if slot is None else self._images[slot].copy()

    def close(self) -> None:
        """No more frames: wakes a blocked ``get``; frames still pending can be drained."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def stats(self) -> RingStats:
        with self._cond:
            return RingStats(self.capacity, self.produced, self.delivered, self.dropped, len(self._pending))
