"""Offline interval spotting in long videos: the whole video's motion signal in, intervals out.

This is the classic MEGC spotting baseline recipe (a motion signal per frame, a threshold against
the video's own statistics, peaks, intervals around them; e.g. the MDMD baseline of MEGC 2020, He
et al., FG 2020), made robust and frame-rate independent:

1. smooth the signal with a centred moving average of ``smooth_s`` (sensor noise);
2. a robust baseline: the median of the signal over a centred window of ``baseline_s``. A median
   ignores an event that fills less than half its window, so the window is twice the longest
   expression; it follows drift slower than that, and takes movement held for longer than half
   the window as the new level;
3. a robust noise level: the MAD of the signal about that baseline (as a Gaussian sigma, 1.4826
   MAD) over a longer centred window of ``noise_s``, where a few expressions barely move it (the
   MAD of the signal itself would count the drift inside the window as noise);
4. peaks (scipy.signal.find_peaks) higher than baseline + ``k`` sigma, with a prominence of at
   least ``prominence_k`` sigma, at least ``min_gap_s`` apart;
5. each peak, strongest first, grows into the run of frames around it that stays above the
   baseline by ``edge_fraction`` of the peak's height; a weaker peak inside an accepted interval
   is a shoulder of it, not an event;
6. durations (offset - onset, in seconds) sort the intervals: under ``min_duration_s`` (1/25 s)
   noise, up to ``micro_max_s`` (1/2 s) micro, up to ``macro_max_s`` macro, longer dropped
   (sustained movement: posture, speech).

All windows are in seconds and converted with the fps, so the same settings work at 30 and 200 fps.
It is offline and non-causal (centred windows see the future): it scores recorded videos and
gives the streaming spotter (:mod:`rtmer.spotting.apex`) a yardstick, and cannot run live.

Measured durations are shorter than annotated ones because the edges sit at ``edge_fraction`` of
the height: for rtmer's synthetic profile (a sin² rise and fall) the default 0.1 keeps about 80%
of the span, so an expression lasting 0.5-0.6 s can be reported as micro.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rtmer.errors import InputError
from rtmer.spotting.metrics import Interval

#: MAD -> standard deviation for Gaussian noise.
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class IntervalSettings:
    """Parameters of :func:`spot_intervals`; times in seconds, levels in robust sigmas of the signal."""

    smooth_s: float = 0.02
    """Centred moving average applied first, an odd number of frames (5 at 200 fps; none below 75 fps)."""
    baseline_s: float = 8.0
    """Window of the rolling median baseline: twice ``macro_max_s``."""
    noise_s: float = 30.0
    """Window of the rolling MAD noise level (the whole video when it is shorter)."""
    k: float = 6.0
    """A peak must rise this many sigmas above the baseline."""
    prominence_k: float = 3.0
    """...and stand out from its surroundings by this many sigmas (scipy's prominence)."""
    min_gap_s: float = 0.04
    """Peaks closer than this are one peak (the higher)."""
    edge_fraction: float = 0.1
    """Interval edges: where the signal falls below baseline + this share of the peak's height."""
    min_duration_s: float = 1 / 25
    """Shorter intervals are noise (the shortest micro-expression lasts 1/25 s)."""
    micro_max_s: float = 0.5
    """Longest micro-expression (1/2 s); longer intervals are macro-expressions."""
    macro_max_s: float = 4.0
    """Longest macro-expression; longer intervals are dropped."""

    def __post_init__(self) -> None:
        if not 0.0 < self.edge_fraction < 1.0:
            raise InputError(f"edge_fraction must be in (0, 1), got {self.edge_fraction}")
        if not 0.0 <= self.min_duration_s <= self.micro_max_s <= self.macro_max_s:
            raise InputError("durations must satisfy 0 <= min_duration_s <= micro_max_s <= macro_max_s")
        if self.k <= 0 or self.prominence_k < 0 or self.baseline_s <= 0 or self.noise_s <= 0:
            raise InputError("k, baseline_s and noise_s must be > 0 and prominence_k >= 0")


def _frames(seconds: float, fps: float) -> int:
    return max(1, int(round(seconds * fps)))


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average of odd width (edges reflected, so the length is kept)."""
    if width < 2:
        return x
    width |= 1
    padded = np.pad(x, width // 2, mode="reflect" if x.size > width // 2 else "edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def spot_intervals(
    signal: np.ndarray, fps: float, settings: IntervalSettings | None = None
) -> list[Interval]:
    """Spot expression intervals in a whole video's motion signal (offline; see the module notes).

    signal: shape (n_frames,), one finite value per frame, larger = more motion; fps: its frame
    rate. Returns intervals sorted by onset, with the peak as apex, kind by duration and the peak's
    height above the baseline in sigmas as score. Example::

        >>> t = np.arange(2000)
        >>> x = 0.01 * np.random.default_rng(0).standard_normal(2000) + np.exp(-0.5 * ((t - 900) / 8) ** 2)
        >>> [(i.onset <= 900 <= i.offset, i.kind) for i in spot_intervals(x, fps=200.0)]
        [(True, 'micro')]
    """
    from scipy.ndimage import median_filter  # scipy comes with scikit-image
    from scipy.signal import find_peaks

    s = settings or IntervalSettings()
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise InputError(f"the motion signal must be 1-D (one value per frame), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise InputError("the motion signal has NaN or infinite values; fill frames without a face first")
    if fps <= 0:
        raise InputError(f"fps must be > 0, got {fps}")
    if x.size < 3:
        return []
    x = _smooth(x, _frames(s.smooth_s, fps))
    excess = x - median_filter(x, size=_frames(s.baseline_s, fps) | 1, mode="reflect")
    sigma = MAD_TO_SIGMA * median_filter(np.abs(excess), size=_frames(s.noise_s, fps) | 1, mode="reflect")
    # A signal that is exactly flat between events has no noise: any rise is above it, but rounding
    # error is not an event.
    sigma = np.maximum(sigma, 1e-9 * max(1.0, float(np.abs(x).max())))
    peaks, _ = find_peaks(
        excess, height=s.k * sigma, prominence=s.prominence_k * sigma, distance=_frames(s.min_gap_s, fps)
    )
    taken = np.zeros(x.size, bool)
    out: list[Interval] = []
    for p in sorted(peaks, key=lambda q: -excess[q]):
        if taken[p]:
            continue
        below = (excess < s.edge_fraction * excess[p]) | taken  # never into an accepted interval
        left = np.nonzero(below[:p])[0]
        right = np.nonzero(below[p + 1 :])[0]
        onset = int(left[-1]) + 1 if left.size else 0
        offset = int(p + right[0]) if right.size else x.size - 1
        taken[onset : offset + 1] = True
        seconds = (offset - onset) / fps
        if seconds < s.min_duration_s or seconds > s.macro_max_s:
            continue
        kind = "micro" if seconds <= s.micro_max_s else "macro"
        out.append(Interval(onset, offset, apex=int(p), kind=kind, score=float(excess[p] / sigma[p])))
    return sorted(out, key=lambda i: i.onset)
