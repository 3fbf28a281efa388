"""The MEGC spotting metric for long videos, plus apex error, emission delay and false alarms.

Protocol (MEGC 2019-2023 spotting challenges; Li et al., "Spotting micro-expressions on long
videos sequences", FG 2019, and He et al., "Spotting macro- and micro-expression intervals in long
video sequences", FG 2020, whose reference code is ``result_helper.py`` of
github.com/HeyingGithub/Baseline-project-for-MEGC2020_spotting):

- intervals are inclusive frame ranges: IoU = |A ∩ B| / |A ∪ B| counted in frames, so [10, 19]
  and [15, 24] share 5 of 15 frames;
- a spotted interval is a true positive when its IoU with a ground-truth interval of the same kind
  (micro or macro) is >= 0.5; every ground truth is found at most once, every spotted interval
  counts at most once, and the rest are false positives (spotted) and false negatives (truth);
- TP, FP and FN are summed over all videos of the data set before precision, recall and F1 are
  computed (the reference code sums its counts over videos; per-video F1s are never averaged);
- the overall row pools the micro and macro counts (the MEGC 2020 baseline's "total" row is the
  sum of its two kinds: 21 + 109 true of 5035 + 1523 spotted, 57 + 300 annotated).

Matching is one-to-one: a maximum-cardinality assignment (scipy's Hungarian solver), ties broken
by the larger total IoU. The reference code marks a ground truth found when any spotted interval
reaches the threshold and counts precision as found truths over spotted intervals; the assignment
gives the same numbers whenever no spotted interval reaches the threshold with two truths, and
otherwise never lets one interval find two expressions (with IoU >= 0.5 against disjoint truths
that can only happen at exactly 0.5).

Beyond MEGC, for rtmer's spotting targets (``bench/spotting.py``): the apex error over matched
pairs whose truth has an annotated apex, the delay from the true apex to the frame the spotter
emitted the event, and false alarms per minute of video.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rtmer.errors import InputError

#: The kinds the metric scores, each against truth of its own kind (MEGC).
EXPRESSION_KINDS = ("micro", "macro")
#: Every kind an interval may have: expressions, and blinks (distractors, never scored as truth).
KINDS = (*EXPRESSION_KINDS, "blink")
#: The rows of a report: each expression kind, then both pooled.
REPORT_ROWS = (*EXPRESSION_KINDS, "overall")


@dataclass(frozen=True)
class Interval:
    """An inclusive frame range [onset, offset] of one expression (or distractor) in one video.

    apex: the peak frame, None where unknown; score: the spotter's confidence (unused by the
    metric); emitted: the frame index at which a streaming spotter emitted the event (None for
    ground truth and offline spotters).
    """

    onset: int
    offset: int
    apex: int | None = None
    kind: str = "micro"
    score: float = 1.0
    emitted: int | None = None

    def __post_init__(self) -> None:
        if self.onset > self.offset:
            raise InputError(
                f"an interval needs onset <= offset, got onset {self.onset} > offset {self.offset}"
            )
        if self.kind not in KINDS:
            raise InputError(f"interval kind must be one of {', '.join(KINDS)}; got {self.kind!r}")
        if self.apex is not None and not self.onset <= self.apex <= self.offset:
            raise InputError(f"the apex {self.apex} lies outside the interval [{self.onset}, {self.offset}]")

    @property
    def length(self) -> int:
        """Frames in the interval (both ends included)."""
        return self.offset - self.onset + 1


def iou(a: Interval, b: Interval) -> float:
    """Intersection over union of two inclusive frame intervals (MEGC: counted in frames)."""
    inter = min(a.offset, b.offset) - max(a.onset, b.onset) + 1
    if inter <= 0:
        return 0.0
    return inter / (a.length + b.length - inter)


def _iou_matrix(predicted: Sequence[Interval], truth: Sequence[Interval]) -> np.ndarray:
    """IoU of every (predicted, truth) pair, shape (len(predicted), len(truth))."""
    p = np.array([(i.onset, i.offset) for i in predicted], np.int64).reshape(-1, 2)
    t = np.array([(i.onset, i.offset) for i in truth], np.int64).reshape(-1, 2)
    inter = np.minimum(p[:, None, 1], t[None, :, 1]) - np.maximum(p[:, None, 0], t[None, :, 0]) + 1
    inter = np.maximum(inter, 0)
    union = (p[:, 1] - p[:, 0] + 1)[:, None] + (t[:, 1] - t[:, 0] + 1)[None, :] - inter
    return inter / union


@dataclass(frozen=True)
class SpottingCounts:
    """True positives, false positives and false negatives of one kind (or all kinds).

    Conventions for empty denominators (as the MEGC reference code): precision is 0 without
    predictions, recall is 0 without truth, and F1 is 0 whenever tp is 0.
    """

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: SpottingCounts) -> SpottingCounts:
        return SpottingCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def n_predicted(self) -> int:
        return self.tp + self.fp

    @property
    def n_truth(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return self.tp / self.n_predicted if self.n_predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.n_truth if self.n_truth else 0.0

    @property
    def f1(self) -> float:
        # 2PR / (P + R) written in counts: equal whenever tp > 0, and 0 (not 0/0) when tp == 0.
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0


@dataclass(frozen=True)
class Matching:
    """A one-to-one matching: ``pairs`` of (predicted index, truth index), and the leftovers."""

    pairs: tuple[tuple[int, int], ...]
    false_positives: tuple[int, ...]  # indices into predicted
    false_negatives: tuple[int, ...]  # indices into truth

    @property
    def counts(self) -> SpottingCounts:
        return SpottingCounts(len(self.pairs), len(self.false_positives), len(self.false_negatives))


def match(predicted: Sequence[Interval], truth: Sequence[Interval], threshold: float = 0.5) -> Matching:
    """Match predicted to ground-truth intervals of the same kind, one to one, where IoU >= threshold.

    The assignment has the most pairs possible, and among those the largest total IoU (scipy's
    ``linear_sum_assignment`` on a weight that counts a pair far more than its IoU). Pairs are
    sorted by predicted index.
    """
    from scipy.optimize import linear_sum_assignment  # scipy comes with scikit-image

    if not 0.0 < threshold <= 1.0:
        raise InputError(f"the IoU threshold must be in (0, 1], got {threshold}")
    pairs: list[tuple[int, int]] = []
    for kind in {i.kind for i in predicted} & {i.kind for i in truth}:
        p_idx = [k for k, i in enumerate(predicted) if i.kind == kind]
        t_idx = [k for k, i in enumerate(truth) if i.kind == kind]
        m = _iou_matrix([predicted[k] for k in p_idx], [truth[k] for k in t_idx])
        ok = m >= threshold
        rows, cols = np.nonzero(ok.any(axis=1))[0], np.nonzero(ok.any(axis=0))[0]
        if rows.size == 0:
            continue
        sub_ok, sub_iou = ok[np.ix_(rows, cols)], m[np.ix_(rows, cols)]
        # Each pair weighs more than any number of IoUs of a smaller matching can add up to.
        weight = np.where(sub_ok, min(sub_ok.shape) + 1 + sub_iou, 0.0)
        r, c = linear_sum_assignment(weight, maximize=True)
        pairs += [(p_idx[rows[i]], t_idx[cols[j]]) for i, j in zip(r, c, strict=True) if sub_ok[i, j]]
    pairs.sort()
    matched_p, matched_t = {p for p, _ in pairs}, {t for _, t in pairs}
    return Matching(
        tuple(pairs),
        tuple(k for k in range(len(predicted)) if k not in matched_p),
        tuple(k for k in range(len(truth)) if k not in matched_t),
    )


@dataclass(frozen=True)
class ErrorStats:
    """Summary of per-pair frame differences, in frames and in milliseconds (each pair at its
    video's fps)."""

    n: int
    median_frames: float
    mean_frames: float
    p99_frames: float
    median_ms: float
    mean_ms: float
    p99_ms: float

    @classmethod
    def of(cls, frames: Sequence[float], ms: Sequence[float]) -> ErrorStats | None:
        """The stats of paired samples; None when there are none."""
        if not frames:
            return None
        f, t = np.asarray(frames, float), np.asarray(ms, float)
        return cls(
            len(f),
            float(np.median(f)), float(f.mean()), float(np.percentile(f, 99)),
            float(np.median(t)), float(t.mean()), float(np.percentile(t, 99)),
        )  # fmt: skip


@dataclass(frozen=True)
class SpottingReport:
    """What :func:`evaluate` measured over a set of videos.

    counts: per kind ("micro", "macro") and "overall", pooled over videos; apex_error: |predicted
    apex - true apex| over matched pairs where both are known, per kind and overall (only the
    rows with such pairs); emission_delay: emitted - true apex (signed; negative when the spotter
    emitted before the true apex) over matched pairs whose prediction carries ``emitted``, rows
    likewise; minutes and false_alarms_per_min (FP / minutes, per kind and overall): only when
    frame counts were given; fp_on_distractors: per predicted kind, the false positives that
    overlap a distractor (a blink) by at least one frame, when distractors were given.
    """

    counts: dict[str, SpottingCounts]
    n_videos: int
    threshold: float
    apex_error: dict[str, ErrorStats] = field(default_factory=dict)
    emission_delay: dict[str, ErrorStats] = field(default_factory=dict)
    minutes: float | None = None
    false_alarms_per_min: dict[str, float] | None = None
    fp_on_distractors: dict[str, int] | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (counts with their precision, recall and F1)."""
        out: dict[str, Any] = {
            "n_videos": self.n_videos,
            "iou_threshold": self.threshold,
            "counts": {
                k: {"tp": c.tp, "fp": c.fp, "fn": c.fn, "n_truth": c.n_truth, "n_predicted": c.n_predicted,
                    "precision": c.precision, "recall": c.recall, "f1": c.f1}
                for k, c in self.counts.items()
            },
            "apex_error": {k: vars(a) for k, a in self.apex_error.items()},
            "emission_delay": {k: vars(d) for k, d in self.emission_delay.items()},
            "minutes": self.minutes,
            "false_alarms_per_min": self.false_alarms_per_min,
            "fp_on_distractors": self.fp_on_distractors,
        }  # fmt: skip
        return out


def _per_video(value: Mapping[str, float] | float, video: str, what: str) -> float:
    if isinstance(value, Mapping):
        if video not in value:
            raise InputError(f"no {what} for video {video!r}; give one for every evaluated video")
        return float(value[video])
    return float(value)


def evaluate(
    videos: Mapping[str, tuple[Sequence[Interval], Sequence[Interval]]],
    fps: Mapping[str, float] | float,
    n_frames: Mapping[str, int] | None = None,
    *,
    threshold: float = 0.5,
    distractors: Mapping[str, Sequence[Interval]] | None = None,
) -> SpottingReport:
    """Score spotted intervals against ground truth over a set of videos (the MEGC protocol above).

    videos: video -> (predicted, truth), both micro/macro intervals (a video with truth and no
    predictions, or the reverse, counts too); fps: one rate for all videos or one per video (for
    milliseconds and minutes); n_frames: each video's length in frames, for false alarms per
    minute; distractors: per video, intervals (blinks) whose overlap with false positives is
    counted. Example::

        >>> gt = [Interval(100, 140, apex=120)]
        >>> evaluate({"v": ([Interval(102, 139, apex=121)], gt)}, fps=200.0).counts["micro"].f1
        1.0
    """
    counts = dict.fromkeys(EXPRESSION_KINDS, SpottingCounts())
    on_distractor = dict.fromkeys(EXPRESSION_KINDS, 0)
    # Per report row: (values in frames, the same in ms).
    apex: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in REPORT_ROWS}
    delay: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in REPORT_ROWS}
    frames_total = 0.0
    seconds_total = 0.0
    for video, (predicted, truth) in videos.items():
        for i in (*predicted, *truth):
            if i.kind not in EXPRESSION_KINDS:
                raise InputError(
                    f"video {video!r}: only micro and macro intervals are scored, got a {i.kind!r} one; "
                    "pass blinks as distractors"
                )
        rate = _per_video(fps, video, "fps")
        if rate <= 0:
            raise InputError(f"video {video!r}: fps must be > 0, got {rate}")
        ms_per_frame = 1000.0 / rate
        result = match(predicted, truth, threshold)
        for kind in EXPRESSION_KINDS:
            kp = [k for k, i in enumerate(predicted) if i.kind == kind]
            kt = [k for k, i in enumerate(truth) if i.kind == kind]
            tp = sum(1 for p, _ in result.pairs if predicted[p].kind == kind)
            counts[kind] = counts[kind] + SpottingCounts(tp, len(kp) - tp, len(kt) - tp)
        for p, t in result.pairs:
            pred, true = predicted[p], truth[t]
            if true.apex is None:
                continue
            for row in (pred.kind, "overall"):
                if pred.apex is not None:
                    apex[row][0].append(abs(pred.apex - true.apex))
                    apex[row][1].append(abs(pred.apex - true.apex) * ms_per_frame)
                if pred.emitted is not None:
                    delay[row][0].append(pred.emitted - true.apex)
                    delay[row][1].append((pred.emitted - true.apex) * ms_per_frame)
        blinks = (distractors or {}).get(video, ())
        for p in result.false_positives:
            if any(iou(predicted[p], b) > 0 for b in blinks):
                on_distractor[predicted[p].kind] += 1
        if n_frames is not None:
            frames = _per_video(n_frames, video, "frame count")
            frames_total += frames
            seconds_total += frames / rate
    counts["overall"] = counts["micro"] + counts["macro"]
    minutes = fa = None
    if n_frames is not None and frames_total > 0:
        minutes = seconds_total / 60.0
        fa = {k: counts[k].fp / minutes for k in REPORT_ROWS}
    return SpottingReport(
        counts=counts,
        n_videos=len(videos),
        threshold=threshold,
        apex_error={k: s for k, (f, ms) in apex.items() if (s := ErrorStats.of(f, ms))},
        emission_delay={k: s for k, (f, ms) in delay.items() if (s := ErrorStats.of(f, ms))},
        minutes=minutes,
        false_alarms_per_min=fa,
        fp_on_distractors=on_distractor if distractors is not None else None,
    )


def format_report(report: SpottingReport) -> str:
    """The report as a table (one row per kind and overall), then apex, delay and false-alarm lines."""
    fa = report.false_alarms_per_min
    header = ["kind", "truth", "spotted", "TP", "FP", "FN", "precision", "recall", "F1", "FA/min"]
    rows = [header]
    for kind, c in report.counts.items():
        rate = f"{fa[kind]:.2f}" if fa is not None else "-"
        rows.append([kind, str(c.n_truth), str(c.n_predicted), str(c.tp), str(c.fp), str(c.fn),
                     f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}", rate])  # fmt: skip
    widths = [max(len(r[j]) for r in rows) for j in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if j == 0 else cell.rjust(w)
            for j, (cell, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    span = f", {report.minutes:.2f} min" if report.minutes is not None else ""
    lines.append(f"videos: {report.n_videos}{span}; true positive at IoU >= {report.threshold:g}, same kind")
    for kind, a in report.apex_error.items():
        lines.append(
            f"apex error, {kind} (n={a.n}): median {a.median_frames:.1f} frames ({a.median_ms:.1f} ms), "
            f"mean {a.mean_frames:.2f} frames ({a.mean_ms:.1f} ms)"
        )
    for kind, d in report.emission_delay.items():
        lines.append(
            f"emission delay after the true apex, {kind} (n={d.n}): median {d.median_frames:.1f} frames "
            f"({d.median_ms:.1f} ms), p99 {d.p99_frames:.1f} frames ({d.p99_ms:.1f} ms)"
        )
    if report.fp_on_distractors is not None:
        parts = ", ".join(f"{k} {n}" for k, n in report.fp_on_distractors.items())
        lines.append(f"false positives overlapping a blink: {parts}")
    return "\n".join(lines)
