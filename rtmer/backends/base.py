"""What every inference backend shares: the :class:`Backend` protocol, latency statistics against
the model's budget, input checks and the aggregation network's clip head.

This module imports neither torch nor an inference runtime; each runtime's class lives in its own
module, imported only when that backend is opened (:func:`rtmer.backends.open_backend`).

Outputs: every backend returns class probabilities ``(B, K)`` in the card's class order. For the
five clip-level models the ONNX graph (and so the TensorRT engine) ends with the softmax; for the
aggregation network the graph is the frame network's FC-64 features and the probabilities come
from the clip SVM (:mod:`rtmer.heads.svm`), run here in numpy whichever backend.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from rtmer.errors import InputError
from rtmer.heads.svm import SvmHead
from rtmer.models import registry

if TYPE_CHECKING:
    from rtmer.weights import WeightCard

#: How many of the most recent calls the percentiles are taken over (``n`` and ``breaches`` count
#: every call): a long live session keeps a bounded history and reports its recent behaviour.
LATENCY_WINDOW = 10_000


@dataclass(frozen=True)
class LatencyStats:
    """Latency of a backend's calls: ``n`` calls so far; p50 / p99 / mean in ms over the last
    :data:`LATENCY_WINDOW` calls (NaN before the first); ``budget_ms`` per item (the registry's CPU
    budget for torch and ONNX Runtime, GPU budget for TensorRT); ``breaches``: calls slower than
    the budget times their batch size."""

    n: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    budget_ms: float
    breaches: int


class LatencyMeter:
    """Accumulates call durations against a per-item budget."""

    def __init__(self, budget_ms: float, window: int = LATENCY_WINDOW) -> None:
        self.budget_ms = budget_ms
        self._recent: deque[float] = deque(maxlen=window)
        self._n = 0
        self._breaches = 0

    def add(self, ms: float, items: int = 1) -> None:
        """Records one call of ``items`` items that took ``ms``."""
        self._recent.append(ms)
        self._n += 1
        self._breaches += ms > self.budget_ms * items

    def stats(self) -> LatencyStats:
        if not self._recent:
            nan = float("nan")
            return LatencyStats(self._n, nan, nan, nan, self.budget_ms, self._breaches)
        ms = np.fromiter(self._recent, np.float64, len(self._recent))
        p50, p99 = np.percentile(ms, (50, 99))
        return LatencyStats(self._n, float(p50), float(p99), float(ms.mean()), self.budget_ms, self._breaches)

    def reset(self) -> None:
        """Forgets every call (after a warm-up, say)."""
        self._recent.clear()
        self._n = self._breaches = 0


@runtime_checkable
class Backend(Protocol):
    """One loaded model on one runtime: what :func:`rtmer.backends.open_backend` returns and what
    its callers (the live classifier, ``rtmer eval``, the benchmarks) use.

    ``__call__``: ``x`` ``(B, *item)`` float32, item as :func:`item_shape` (the shape
    :func:`rtmer.models.inputs.model_input` gives) -> ``(B, K)`` class probabilities, K =
    ``len(card.classes)``; ``latency``: the calls so far against the model's budget; ``warm_up``:
    pays the runtime's first-call setup before the first real call; ``close``: releases the runtime.
    """

    name: str
    card: WeightCard
    spec: registry.ModelSpec

    def __call__(self, x: np.ndarray) -> np.ndarray: ...

    def latency(self) -> LatencyStats: ...

    def warm_up(self, calls: int = 3) -> None: ...

    def close(self) -> None: ...


def item_shape(spec: registry.ModelSpec) -> tuple[int, ...]:
    """One item of ``spec``'s input as a backend takes it (:attr:`InputSpec.item_shape`):
    ``(T, C, H, W)`` clips for the aggregation network (its frame network sees the T frames as a
    batch), the InputSpec shape otherwise."""
    return spec.input.item_shape


class BaseBackend(ABC):
    """The shared half of every backend: input checks, timing, the aggregation clip head.

    A subclass sets ``name`` and the budget it is measured against, and implements :meth:`_run`:
    a checked float32 batch -> class probabilities ``(B, K)``, or for the aggregation network
    frames ``(N, C, H, W)`` -> FC-64 features ``(N, 64)``.
    """

    name: str = ""
    uses_gpu: bool = False

    def __init__(self, card: WeightCard) -> None:
        self.card = card
        self.spec = registry.get(card.model)
        self.item = item_shape(self.spec)
        self.head: SvmHead | None = None
        if self.spec.input.frame_level:
            self.head = SvmHead.load(card.file("svm"), num_classes=len(card.classes))
        budget = self.spec.budget_gpu_ms if self.uses_gpu else self.spec.budget_cpu_ms
        self.meter = LatencyMeter(budget)

    @abstractmethod
    def _run(self, x: np.ndarray) -> np.ndarray:
        """A checked float32 batch -> probabilities, or frames -> features (see the class)."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != len(self.item) + 1 or x.shape[1:] != self.item or x.shape[0] < 1:
            raise InputError(
                f"{self.spec.name} takes a batch of shape (B, {', '.join(map(str, self.item))}), got "
                f"{x.shape}; build items with rtmer.models.inputs.model_input"
            )
        x = np.ascontiguousarray(x, np.float32)
        start = time.perf_counter()
        if self.head is None:
            out = self._run(x)
        else:
            b, t = x.shape[:2]
            frames = self._run(x.reshape(b * t, *x.shape[2:]))
            out = self.head.predict_proba(frames.reshape(b, t, -1))
        self.meter.add((time.perf_counter() - start) * 1e3, len(x))
        return out

    def latency(self) -> LatencyStats:
        """The latency of the calls so far (see :class:`LatencyStats`)."""
        return self.meter.stats()

    def warm_up(self, calls: int = 3) -> None:
        """Runs ``calls`` batch-1 inputs of zeros, then forgets their timings: the runtime's
        first-call setup (memory planning, thread pools, TensorRT's CUDA graph capture) is paid
        here and not counted against the budget."""
        x = np.zeros((1, *self.item), np.float32)
        for _ in range(calls):
            self(x)
        self.meter.reset()

    @abstractmethod
    def close(self) -> None:
        """Releases the runtime's resources; the backend cannot be called afterwards. Idempotent."""

    def __enter__(self) -> BaseBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.card.name!r}, model={self.spec.name!r})"
