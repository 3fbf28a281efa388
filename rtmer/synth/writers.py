"""Files the synthetic generator writes, byte for byte reproducible given the same content.

- the CASME II coding spreadsheet (CASME2-coding-20140508.xlsx layout), with the zip members'
  timestamps and the document dates pinned, so the same seed gives the same bytes;
- the MEGC spotting ground truth of long videos (one CSV row per expression: onset, apex, offset,
  type), with every event including distractors in a JSON sidecar;
- contact sheets (onset, apex, offset and the magnified apex difference) for people to look at.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

#: The column headers of CASME II's coding sheet (CASME2-coding-20140508.xlsx).
CASME2_COLUMNS = (
    "Subject",
    "Filename",
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    "Action Units",
    "Estimated Emotion",
)
CASME2_SHEET = "CASME2-coding-20140508.xlsx"
_EPOCH = dt.datetime(2020, 1, 1)


def write_xlsx(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[object]], sheet: str = "Sheet1"
) -> None:
    """A one-sheet workbook whose bytes depend only on its cells (openpyxl stamps the current time
    into the document properties and the zip members; both are pinned here)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    wb.properties.created = wb.properties.modified = _EPOCH
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _pin_modified(data)
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, data)
    path.write_bytes(out.getvalue())


def _pin_modified(core_xml: bytes) -> bytes:
    """openpyxl rewrites dcterms:modified with the save time; put the pinned date back."""
    text = core_xml.decode("utf-8")
    start = text.find("<dcterms:modified")
    if start >= 0:
        open_end = text.find(">", start) + 1
        close = text.find("</dcterms:modified>", open_end)
        text = text[:open_end] + _EPOCH.strftime("%Y-%m-%dT%H:%M:%SZ") + text[close:]
    return text.encode("utf-8")


def write_spotting_truth(path: Path, rows: Sequence[dict[str, object]]) -> None:
    """MEGC spotting ground truth: video, onset, apex, offset (frame indices), type (micro/macro)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["video", "onset", "apex", "offset", "type", "emotion", "aus"])
        writer.writeheader()
        writer.writerows(rows)


def write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def contact_sheet(onset: np.ndarray, apex: np.ndarray, offset: np.ndarray, gain: float = 8.0) -> np.ndarray:
    """Onset, apex and offset side by side, then |apex - onset| magnified ``gain`` times."""
    diff = cv2.absdiff(apex, onset).astype(np.float32) * gain
    diff = np.clip(diff, 0, 255).astype(np.uint8)
    tiles = [onset, apex, offset, diff]
    labels = ("onset", "apex", "offset", f"|apex-onset| x{gain:g}")
    out = []
    for tile, label in zip(tiles, labels, strict=True):
        t = tile.copy()
        cv2.putText(t, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1, cv2.LINE_AA)
        out.append(t)
    return np.hstack(out)
