"""The MEGC spotting metric: IoU on inclusive frames, one-to-one matching per kind, counts pooled
over videos; apex error, emission delay and false alarms per minute."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtmer.errors import InputError
from rtmer.spotting.metrics import Interval, SpottingCounts, evaluate, format_report, iou, match


def iv(
    onset: int, offset: int, kind: str = "micro", apex: int | None = None, emitted: int | None = None
) -> Interval:
    return Interval(onset, offset, apex=apex, kind=kind, emitted=emitted)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (iv(0, 9), iv(10, 19), 0.0),  # touching: no shared frame
        (iv(0, 9), iv(9, 18), 1 / 19),  # one shared frame of 19
        (iv(0, 9), iv(20, 29), 0.0),  # disjoint
        (iv(0, 9), iv(2, 5), 4 / 10),  # nested
        (iv(0, 9), iv(0, 9), 1.0),
        (iv(5, 5), iv(5, 5), 1.0),  # single frame
        (iv(5, 5), iv(0, 9), 1 / 10),
        (iv(5, 5), iv(6, 6), 0.0),
        (iv(10, 19), iv(15, 24), 5 / 15),
    ],
)
def test_iou_cases(a: Interval, b: Interval, expected: float) -> None:
    assert iou(a, b) == pytest.approx(expected)
    assert iou(b, a) == pytest.approx(expected)


spans = st.tuples(st.integers(0, 60), st.integers(0, 30)).map(lambda s: iv(s[0], s[0] + s[1]))


@given(spans, spans)
def test_iou_is_frame_set_iou(a: Interval, b: Interval) -> None:
    fa, fb = set(range(a.onset, a.offset + 1)), set(range(b.onset, b.offset + 1))
    assert iou(a, b) == pytest.approx(len(fa & fb) / len(fa | fb))


def test_interval_validation() -> None:
    with pytest.raises(InputError, match="onset <= offset"):
        iv(5, 4)
    with pytest.raises(InputError, match="kind"):
        iv(0, 4, kind="nano")
    with pytest.raises(InputError, match="apex"):
        iv(0, 4, apex=7)
    assert iv(3, 3).length == 1 and iv(0, 4, kind="blink").kind == "blink"


def test_two_predictions_on_one_truth_are_one_tp_and_one_fp() -> None:
    truth = [iv(100, 140)]
    predicted = [iv(98, 139), iv(101, 141)]  # IoU 0.91 and 0.95
    m = match(predicted, truth)
    assert m.pairs == ((1, 0),)  # the better of the two
    assert m.false_positives == (0,) and m.false_negatives == ()
    assert m.counts == SpottingCounts(tp=1, fp=1, fn=0)


def test_kinds_do_not_cross_match() -> None:
    m = match([iv(0, 50, "macro")], [iv(0, 50, "micro")])
    assert m.counts == SpottingCounts(tp=0, fp=1, fn=1)
    both = match([iv(0, 50, "macro"), iv(100, 110)], [iv(0, 50, "micro"), iv(0, 50, "macro"), iv(100, 110)])
    assert both.pairs == ((0, 1), (1, 2)) and both.false_negatives == (0,)


def test_matching_finds_the_most_pairs() -> None:
    """Greedy by IoU takes P0-T1 (0.6) and leaves P1 with nothing; the assignment finds two pairs."""
    truth = [iv(0, 9), iv(0, 2)]
    predicted = [iv(0, 4), iv(1, 3)]
    assert [iou(predicted[0], t) for t in truth] == [0.5, 0.6]
    assert [iou(predicted[1], t) for t in truth] == [0.3, 0.5]
    assert match(predicted, truth).pairs == ((0, 0), (1, 1))


def test_threshold_is_inclusive_and_adjustable() -> None:
    truth, predicted = [iv(0, 9)], [iv(0, 19)]  # IoU exactly 0.5
    assert match(predicted, truth).counts.tp == 1
    assert match(predicted, truth, threshold=0.6).counts.tp == 0
    with pytest.raises(InputError, match="threshold"):
        match(predicted, truth, threshold=0.0)


def test_count_conventions() -> None:
    empty = SpottingCounts()
    assert (empty.precision, empty.recall, empty.f1) == (0.0, 0.0, 0.0)
    assert SpottingCounts(tp=0, fp=3, fn=2).f1 == 0.0
    c = SpottingCounts(tp=3, fp=1, fn=2)
    p, r = 3 / 4, 3 / 5
    assert (c.precision, c.recall) == (p, r)
    assert c.f1 == pytest.approx(2 * p * r / (p + r))
    assert c + SpottingCounts(1, 1, 1) == SpottingCounts(4, 2, 3)


def _two_videos() -> dict[str, tuple[list[Interval], list[Interval]]]:
    return {
        # micro: 1 TP + 1 FP, 1 FN; macro: 1 TP
        "a": (
            [iv(10, 20, apex=15), iv(300, 310), iv(500, 700, "macro", apex=600)],
            [iv(11, 21, apex=17), iv(100, 110), iv(510, 690, "macro", apex=590)],
        ),
        # micro: 1 FN; macro: 2 FP
        "b": ([iv(50, 300, "macro"), iv(900, 1200, "macro")], [iv(40, 45, apex=42)]),
    }


def test_counts_are_pooled_over_videos_before_f1() -> None:
    report = evaluate(_two_videos(), fps=200.0)
    micro, macro, overall = (report.counts[k] for k in ("micro", "macro", "overall"))
    assert micro == SpottingCounts(tp=1, fp=1, fn=2)
    assert macro == SpottingCounts(tp=1, fp=2, fn=0)
    assert overall == SpottingCounts(tp=2, fp=3, fn=2)
    # By hand: micro P = 1/2, R = 1/3, F1 = 2PR/(P+R) = 0.4; macro P = 1/3, R = 1, F1 = 0.5;
    # overall P = 2/5, R = 1/2, F1 = 4/9. Per-video micro F1s (0.5 and 0) would average to 0.25.
    assert (micro.f1, macro.f1, overall.f1) == (pytest.approx(0.4), pytest.approx(0.5), pytest.approx(4 / 9))
    assert report.n_videos == 2 and report.minutes is None and report.false_alarms_per_min is None


def test_apex_error_over_matched_pairs_with_known_apex() -> None:
    videos = {
        "fast": (
            [iv(0, 20, apex=10), iv(100, 120, apex=112), iv(200, 220)],
            [iv(0, 20, apex=10), iv(100, 120, apex=110), iv(200, 220, apex=210)],
        ),
        "slow": ([iv(0, 10, apex=4)], [iv(0, 10, apex=8)]),
    }
    report = evaluate(videos, fps={"fast": 200.0, "slow": 50.0})
    assert set(report.apex_error) == {"micro", "overall"}  # rows without pairs are left out
    a = report.apex_error["micro"]
    assert a == report.apex_error["overall"] and a.n == 3  # the pair without a predicted apex too
    assert (a.median_frames, a.mean_frames) == (2.0, 2.0)  # |0|, |2|, |4|
    assert a.median_ms == pytest.approx(10.0)  # 0 ms, 10 ms (2 frames at 200 fps), 80 ms (4 at 50 fps)
    assert a.mean_ms == pytest.approx(30.0)
    assert report.emission_delay == {}
    no_apex = evaluate({"v": ([iv(0, 20, apex=10)], [iv(0, 20)])}, fps=200.0)
    assert no_apex.apex_error == {}
    both = evaluate(_two_videos(), fps=200.0).apex_error
    assert (both["micro"].n, both["macro"].n, both["overall"].n) == (1, 1, 2)
    assert (both["micro"].median_frames, both["macro"].median_frames, both["overall"].median_frames) == (
        2,
        10,
        6,
    )


def test_emission_delay_p99() -> None:
    apexes = [100 * k + 20 for k in range(10)]
    truth = [iv(a - 20, a + 20, apex=a) for a in apexes]
    predicted = [iv(a - 20, a + 20, apex=a, emitted=a + 1 + k) for k, a in enumerate(apexes)]  # 1..10 late
    d = evaluate({"v": (predicted, truth)}, fps=200.0).emission_delay["micro"]
    assert d.n == 10
    assert d.median_frames == 5.5 and d.p99_frames == pytest.approx(np.percentile(np.arange(1, 11), 99))
    assert d.p99_ms == pytest.approx(d.p99_frames * 5.0)


def test_false_alarms_per_minute_and_distractors() -> None:
    report = evaluate(
        _two_videos(),
        fps=200.0,
        n_frames={"a": 12_000, "b": 24_000},  # 1 + 2 minutes
        distractors={"a": [iv(305, 330, "blink")], "b": []},
    )
    assert report.minutes == pytest.approx(3.0)
    assert report.false_alarms_per_min == pytest.approx({"micro": 1 / 3, "macro": 2 / 3, "overall": 1.0})
    assert report.fp_on_distractors == {"micro": 1, "macro": 0}


def test_evaluate_input_errors() -> None:
    with pytest.raises(InputError, match="blink"):
        evaluate({"v": ([iv(0, 5, "blink")], [])}, fps=200.0)
    with pytest.raises(InputError, match="fps"):
        evaluate({"v": ([], [iv(0, 5)])}, fps={"w": 200.0})
    with pytest.raises(InputError, match="frame count"):
        evaluate({"v": ([], [iv(0, 5)])}, fps=200.0, n_frames={})


def test_format_report_and_dict() -> None:
    report = evaluate(_two_videos(), fps=200.0, n_frames={"a": 12_000, "b": 24_000}, distractors={})
    text = format_report(report)
    lines = text.splitlines()
    assert lines[0].split() == [
        "kind",
        "truth",
        "spotted",
        "TP",
        "FP",
        "FN",
        "precision",
        "recall",
        "F1",
        "FA/min",
    ]
    assert lines[1].split() == ["micro", "3", "2", "1", "1", "2", "0.500", "0.333", "0.400", "0.33"]
    assert lines[3].split()[0] == "overall" and "0.444" in lines[3]
    assert "apex error, micro (n=1)" in text and "apex error, overall (n=2)" in text
    assert "3.00 min" in text and "overlapping a blink" in text
    d = json.loads(json.dumps(report.as_dict()))
    assert d["counts"]["overall"]["tp"] == 2 and d["counts"]["micro"]["f1"] == pytest.approx(0.4)
    assert d["apex_error"]["overall"]["n"] == 2 and d["emission_delay"] == {}
