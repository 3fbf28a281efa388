"""Spotting intervals from files: ground truth, and the events a spotter wrote.

- :func:`read_spotting_csv`: the MEGC-style ground truth rtmer's synthetic long videos come with
  (``ground_truth.csv``, ``<stem>_ground_truth.csv``; :func:`rtmer.synth.writers.write_spotting_truth`):
  columns video, onset, apex, offset, type (micro/macro), emotion, aus; 0-based frame indices.
  The same format serves for predictions.
- :func:`read_events_json`: the ``<stem>_events.json`` sidecar of a synthetic video: its fps and
  frame count, and every event, blinks included (kept apart as distractors).
- :func:`read_predictions_jsonl`: a spotter's JSON-lines events (:class:`rtmer.types.SpotEvent`
  records, or any objects with onset, offset and kind).

CAS(ME)^2 and SAMM long-video annotations (spreadsheets, 1-based frames, missing offsets coded as
0) are not read here.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rtmer.errors import DatasetError, InputError, RtmerError
from rtmer.spotting.metrics import EXPRESSION_KINDS, Interval

#: Columns the ground-truth CSV must have (apex, emotion and aus may be empty or absent).
CSV_COLUMNS = ("video", "onset", "offset", "type")


def _kind(text: object) -> str:
    """Normalise a kind: "micro", "Macro", "micro-expression" -> "micro" / "macro"; others lower-cased."""
    kind = str(text).strip().lower()
    return kind.removesuffix("-expression").removesuffix(" expression")


def _frame(value: Any) -> int | None:
    """A frame index from a cell or JSON value: None for empty, an int for "12", 12 or 12.0
    (ValueError or TypeError otherwise; the callers report them with the file and line)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = float(value)
    if not number.is_integer():
        raise ValueError(f"{value!r} is not a frame index")
    return int(number)


def _required(value: Any, name: str) -> int:
    frame = _frame(value)
    if frame is None:
        raise ValueError(f"no {name}")
    return frame


def _open_text(path: Path, what: str, error: type[RtmerError]) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise error(f"cannot read {what} {path}: no such file; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what} {path}: {exc}") from exc


def read_spotting_csv(path: str | Path) -> dict[str, list[Interval]]:
    """Intervals per video from a spotting CSV (rows in file order; micro and macro only)."""
    path = Path(path)
    rows = csv.DictReader(_open_text(path, "spotting CSV", DatasetError).splitlines())
    missing = [c for c in CSV_COLUMNS if c not in (rows.fieldnames or ())]
    if missing:
        raise DatasetError(
            f"{path} is not a spotting CSV: no column {', '.join(missing)} "
            f"(expected {', '.join(CSV_COLUMNS)}, apex optional)"
        )
    out: dict[str, list[Interval]] = {}
    for row in rows:
        where = f"{path}, line {rows.line_num}"
        kind = _kind(row["type"])
        if kind not in EXPRESSION_KINDS:
            raise DatasetError(f"{where}: type must be micro or macro, got {row['type']!r}")
        try:
            onset, offset = _required(row["onset"], "onset"), _required(row["offset"], "offset")
            interval = Interval(onset, offset, apex=_frame(row.get("apex")), kind=kind)
        except (ValueError, TypeError, InputError) as exc:
            raise DatasetError(f"{where}: {exc}") from None
        out.setdefault(row["video"].strip(), []).append(interval)
    return out


@dataclass(frozen=True)
class VideoEvents:
    """Everything that happens in one synthetic long video (its ``<stem>_events.json``).

    expressions: the micro/macro intervals (the same as its ground-truth CSV rows); distractors:
    the blinks, as intervals of kind "blink".
    """

    video: str
    fps: float
    n_frames: int
    expressions: list[Interval]
    distractors: list[Interval]


def read_events_json(path: str | Path) -> VideoEvents:
    """Read a synthetic video's events sidecar (written by :func:`rtmer.synth.generator.generate_video`)."""
    path = Path(path)
    try:
        doc = json.loads(_open_text(path, "events file", DatasetError))
        expressions: list[Interval] = []
        distractors: list[Interval] = []
        for e in doc["events"]:
            kind = _kind(e["type"])
            onset, offset = _required(e["onset"], "onset"), _required(e["offset"], "offset")
            interval = Interval(onset, offset, apex=_frame(e.get("apex")), kind=kind)
            (expressions if kind in EXPRESSION_KINDS else distractors).append(interval)
        return VideoEvents(str(doc["video"]), float(doc["fps"]), int(doc["frames"]), expressions, distractors)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path} is not JSON: {exc}") from None
    except KeyError as exc:
        raise DatasetError(f"{path} is not an rtmer events file: no {exc} field") from None
    except (ValueError, TypeError, InputError) as exc:
        raise DatasetError(f"{path}: {exc}") from None


def _prediction(obj: Any) -> tuple[Interval, Any]:
    """One JSON object -> (interval, event id or None). An offset of null means the spotter never
    saw the event end; it is scored as [onset, apex], the span it did claim."""
    if not isinstance(obj, dict):
        raise ValueError("each line must be a JSON object")
    apex, offset = _frame(obj.get("apex")), _frame(obj.get("offset"))
    end = offset if offset is not None else apex
    if end is None:
        raise ValueError("an event needs an offset (or at least an apex)")
    interval = Interval(
        _required(obj["onset"], "onset"),
        end,
        apex=apex,
        kind=_kind(obj.get("kind", obj.get("type", ""))),
        score=float(obj.get("score", 1.0)),
        emitted=_frame(obj.get("emitted", obj.get("emitted_index"))),
    )
    return interval, obj.get("event_id")


def read_predictions_jsonl(path: str | Path, video: str | None = None) -> dict[str, list[Interval]]:
    """Spotted intervals per video from a JSON-lines file, one event object per line.

    Keys: onset, offset (null while unknown), apex, kind (or type), optionally video (or source, as
    ``rtmer spot`` writes it; else the ``video`` argument), emitted (or emitted_index: the frame at
    which the event was emitted),
    score and event_id; other keys are ignored. Records of one video sharing an event_id are one
    event (a streaming spotter writes it at apex confirmation, then again with its offset): the last
    record gives the interval and kind, the earliest ``emitted`` is kept.
    """
    path = Path(path)
    out: dict[str, list[Interval]] = {}
    by_id: dict[tuple[str, Any], int] = {}
    for number, line in enumerate(_open_text(path, "events file", InputError).splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            interval, event_id = _prediction(obj)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}, line {number}: not JSON ({exc.msg})") from None
        except KeyError as exc:
            raise InputError(f"{path}, line {number}: no {exc} field") from None
        except (ValueError, TypeError, InputError) as exc:
            raise InputError(f"{path}, line {number}: {exc}") from None
        name = obj.get("video", obj.get("source", video))
        if name is None:
            raise InputError(
                f"{path}, line {number}: the event names no video; add a 'video' field to each event"
            )
        events = out.setdefault(str(name), [])
        key = (str(name), event_id)
        if event_id is None or key not in by_id:
            if event_id is not None:
                by_id[key] = len(events)
            events.append(interval)
            continue
        earlier = events[by_id[key]]
        emitted = min((e for e in (earlier.emitted, interval.emitted) if e is not None), default=None)
        events[by_id[key]] = replace(interval, emitted=emitted)
    return out
