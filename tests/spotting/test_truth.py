"""Reading spotting intervals: rtmer's synthetic ground truth (CSV and events sidecar) and a
spotter's JSON-lines events."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rtmer.errors import DatasetError, InputError
from rtmer.spotting.metrics import Interval
from rtmer.spotting.truth import read_events_json, read_predictions_jsonl, read_spotting_csv
from rtmer.synth.timeline import BLINK, Event, schedule
from rtmer.synth.writers import write_json, write_spotting_truth


def _scheduled(seed: int) -> list[Event]:
    """One minute at 200 fps of rtmer's synthetic schedule (micro, macro, blinks)."""
    return schedule(200 * 60, 200.0, np.random.default_rng(seed))


def _rows(video: str, events: list[Event]) -> list[dict[str, object]]:
    """Ground-truth rows as rtmer.synth.generator.generate_video builds them."""
    return [
        {"video": video, "onset": e.profile.onset, "apex": e.profile.apex, "offset": e.profile.offset,
         "type": e.kind, "emotion": e.emotion, "aus": "4+L10"}
        for e in events
        if e.kind != BLINK
    ]  # fmt: skip


def test_synthetic_csv_round_trip(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = []
    expected: list[tuple[str, Interval]] = []
    for k, video in enumerate(("s01.mp4", "s02.mp4")):
        events = _scheduled(k)
        rows += _rows(video, events)
        expected += [
            (video, Interval(e.profile.onset, e.profile.offset, apex=e.profile.apex, kind=e.kind))
            for e in events
            if e.kind != BLINK
        ]
    write_spotting_truth(tmp_path / "ground_truth.csv", rows)
    truth = read_spotting_csv(tmp_path / "ground_truth.csv")
    assert sorted(truth) == ["s01.mp4", "s02.mp4"]
    assert [(v, i) for v in truth for i in truth[v]] == expected
    assert {i.kind for v in truth for i in truth[v]} == {"micro", "macro"}


def test_events_sidecar_keeps_blinks_apart(tmp_path: Path) -> None:
    events = _scheduled(3)
    # The layout of the sidecar rtmer.synth.generator.generate_video writes.
    doc = {
        "video": "s01.mp4", "fps": 200.0, "frames": 12_000, "subject": "s01",
        "events": [{"type": e.kind, "onset": e.profile.onset, "apex": e.profile.apex,
                    "offset": e.profile.offset, "emotion": e.emotion, "aus": ""} for e in events],
    }  # fmt: skip
    write_json(tmp_path / "s01_events.json", doc)
    ve = read_events_json(tmp_path / "s01_events.json")
    assert (ve.video, ve.fps, ve.n_frames) == ("s01.mp4", 200.0, 12_000)
    n_blinks = sum(e.kind == BLINK for e in events)
    assert n_blinks > 0 and len(ve.distractors) == n_blinks
    assert all(i.kind == "blink" for i in ve.distractors)
    assert len(ve.expressions) + n_blinks == len(events)
    write_spotting_truth(tmp_path / "gt.csv", _rows("s01.mp4", events))
    assert read_spotting_csv(tmp_path / "gt.csv")["s01.mp4"] == ve.expressions


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_tolerates_case_suffix_and_empty_apex(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "gt.csv", "video,onset,apex,offset,type\nv,10,,20,Micro-expression\nv,30,40,90,MACRO\n"
    )
    assert read_spotting_csv(path) == {"v": [Interval(10, 20), Interval(30, 90, apex=40, kind="macro")]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("video,onset,offset\nv,1,2\n", "no column type"),
        ("video,onset,apex,offset,type\nv,1,2,3,blink\n", "line 2: type must be micro or macro"),
        ("video,onset,apex,offset,type\nv,1,2,x,micro\n", "line 2"),
        ("video,onset,apex,offset,type\nv,1,2,,micro\n", "line 2: no offset"),
        ("video,onset,apex,offset,type\nv,5,9,7,micro\n", "apex 9 lies outside"),
        ("video,onset,apex,offset,type\nv,1.5,2,3,micro\n", "not a frame index"),
    ],
)
def test_csv_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        read_spotting_csv(_write(tmp_path / "gt.csv", text))


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        read_spotting_csv(tmp_path / "none.csv")
    with pytest.raises(DatasetError, match="no such file"):
        read_events_json(tmp_path / "none_events.json")
    with pytest.raises(InputError, match="no such file"):
        read_predictions_jsonl(tmp_path / "none.jsonl")


def test_events_json_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not JSON"):
        read_events_json(_write(tmp_path / "a_events.json", "{"))
    with pytest.raises(DatasetError, match="no 'fps' field"):
        read_events_json(_write(tmp_path / "b_events.json", '{"video": "b.mp4", "events": []}'))


def _jsonl(path: Path, records: list[dict]) -> Path:
    return _write(path, "".join(json.dumps(r) + "\n" for r in records))


def test_predictions_jsonl_merges_records_of_one_event(tmp_path: Path) -> None:
    """A streaming spotter writes an event at apex confirmation (offset null) and again at its
    offset: one interval, emitted at the first record's frame, kind from the last record."""
    path = _jsonl(
        tmp_path / "events.jsonl",
        [
            {"event_id": 0, "onset": 100, "apex": 110, "offset": None, "kind": "micro", "emitted_index": 114,
             "video": "s01.mp4", "score": 0.4, "regions": ["mouth"]},
            {"event_id": 0, "onset": 100, "apex": 110, "offset": 190, "kind": "macro", "emitted_index": 190,
             "video": "s01.mp4"},
            {"event_id": 0, "onset": 500, "apex": 510, "offset": 530, "kind": "micro", "video": "s02.mp4"},
            {"event_id": 1, "onset": 700, "apex": 720, "offset": None, "kind": "micro", "emitted": 725,
             "video": "s01.mp4"},
        ],
    )  # fmt: skip
    got = read_predictions_jsonl(path)
    assert got["s01.mp4"] == [
        Interval(100, 190, apex=110, kind="macro", score=1.0, emitted=114),
        Interval(700, 720, apex=720, kind="micro", emitted=725),  # never closed: scored as onset..apex
    ]
    assert got["s02.mp4"] == [Interval(500, 530, apex=510)]


def test_predictions_jsonl_video_default_and_errors(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "p.jsonl",
        [{"onset": 1, "offset": 9, "type": "micro"}, {"onset": 20, "offset": 29, "kind": "micro"}],
    )
    assert read_predictions_jsonl(path, video="v") == {"v": [Interval(1, 9), Interval(20, 29)]}
    with pytest.raises(InputError, match="line 1: the event names no video"):
        read_predictions_jsonl(path)
    bad = [
        ('{"onset": 1, "offset": 9, "kind": "micro"}\nnot json\n', "line 2: not JSON"),
        ('{"offset": 9, "kind": "micro"}\n', "line 1: no 'onset' field"),
        ('{"onset": 1, "kind": "micro"}\n', "line 1: an event needs an offset"),
        ('{"onset": 1, "offset": 9, "kind": "smile"}\n', "line 1: interval kind"),
        ("[1, 2]\n", "line 1: each line must be a JSON object"),
    ]
    for text, message in bad:
        with pytest.raises(InputError, match=message):
            read_predictions_jsonl(_write(tmp_path / "bad.jsonl", text), video="v")
