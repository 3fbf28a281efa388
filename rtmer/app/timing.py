"""Per-stage timings: every sample kept (8 bytes each, about 6 MB per stage per hour at 200 fps),
so the summary's p99 is exact rather than estimated."""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TimeStats:
    """Milliseconds over ``n`` samples."""

    n: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    def to_json(self) -> dict[str, float]:
        return {"n": self.n, "p50_ms": self.p50_ms, "p99_ms": self.p99_ms, "mean_ms": self.mean_ms,
                "max_ms": self.max_ms}  # fmt: skip


def time_stats(samples_ms: object) -> TimeStats | None:
    """Statistics of a sequence of milliseconds; None when empty."""
    a = np.asarray(samples_ms, np.float64)
    if a.size == 0:
        return None
    p50, p99 = np.percentile(a, [50, 99])
    return TimeStats(int(a.size), float(p50), float(p99), float(a.mean()), float(a.max()))


class StageTimes:
    """Samples per stage, in the order stages were first seen."""

    def __init__(self) -> None:
        self._ms: dict[str, array] = {}

    def add(self, stage: str, ms: float) -> None:
        self._ms.setdefault(stage, array("d")).append(ms)

    def add_all(self, timings_ms: Mapping[str, float]) -> None:
        for stage, ms in timings_ms.items():
            self.add(stage, ms)

    def stats(self, order: tuple[str, ...] = ()) -> dict[str, TimeStats]:
        """Each stage's statistics, those named in ``order`` first, in that order."""
        names = [s for s in order if s in self._ms] + [s for s in self._ms if s not in order]
        out = {stage: time_stats(self._ms[stage]) for stage in names}
        return {k: v for k, v in out.items() if v is not None}
