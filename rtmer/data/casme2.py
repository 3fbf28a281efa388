"""CASME II (Yan et al., PLoS ONE 2014): 200 fps, 26 subjects, 255 coded clips.

Layout followed (as the Institute of Psychology, CAS distributes it; public loaders such as MEB
``tvaranka/meb`` and MEAN ``genbing99/MEAN_Spot-then-recognize`` read the same):

- frames, searched for up to three folders below ``root``:
  ``CASME2-RAW/subXX/EPxx_xx[f]/imgN.jpg`` (the raw archive, sometimes unpacked as
  ``CASME2_RAW/CASME2-RAW``), ``CASME2_RAW_selected/subXX/EPxx_xx/imgN.jpg`` (same names, the
  clips' frames only) and ``Cropped/subXX/EPxx_xx/reg_imgN.jpg`` (face crops; the 2019 release
  unpacks as ``Cropped-updated/Cropped``). Any image name ending in the frame number is read.
  ``layout="raw"|"cropped"`` picks one when both are present ("auto": the folder holding most
  clips, raw on a tie); ``frames_dir`` names the folder outright.
- the coding sheet ``CASME2-coding-20140508.xlsx`` (2014) or ``CASME2-coding-20190701.xlsx``
  (2019 revision, worksheet "Sheet1"); when both are present the later date wins, ``sheet``
  names one outright. Both revisions have one header row and the same nine columns: Subject,
  Filename, (unnamed), OnsetFrame, ApexFrame, OffsetFrame, (unnamed), Action Units, Estimated
  Emotion (a public CSV export of the 2019 sheet, hitheyuhong/MEGC2024-CODE
  ``label/datasetlabel/CASME2-coding-20190701.csv``, and readers that index both files with the
  same column numbers). The revisions differ in labels, not layout: the 2019 sheet counts
  surprise 28 and sadness 4 where the commonly reported 2014 counts are 25 and 7 (255 rows
  both); the changed rows are not documented publicly. Columns are matched by header name
  (any case, spacing, line breaks), not by position.
- objective classes (Davison et al. 2018), read when present: an "Objective Class" column in
  the coding sheet, or the separate ``CASME2-ObjectiveClasses.xlsx`` (Subject, Filename,
  Objective Class) next to it.

Quirks tolerated: ApexFrame "/" (sub04 EP12_01f) or blank -> ``apex=None``; AU cells such as
"4+L10", "R2+15", "AU4"; Subject as 1, "01" or "sub01"; blank rows; clip folder names differing
in case or trailing blanks. Rows that cannot be used become :class:`rtmer.data.Skipped`: an
unreadable frame number, a clip folder that is not there, OnsetFrame beyond the folder's last
frame, frames missing between OnsetFrame and OffsetFrame (listed), ApexFrame outside the clip, a
repeated row. Known errata of the sheets (MEB lists some) are reported this way, never patched.

``frames`` holds every frame of the clip folder (CASME2-RAW keeps frames before onset and after
offset: context for spotting); ``onset``, ``apex`` and ``offset`` index into it.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from rtmer.data import LoadResult, Skipped
from rtmer.data.common import (
    Annotation,
    ClipKey,
    Column,
    Sheet,
    SheetRow,
    cell_text,
    collect_clips,
    date_tag,
    describe_dir,
    find_clip_root,
    find_sheet,
    layout_of,
    matching_files,
    parse_class,
    read_sheet,
    require_dir,
    sheet_annotation,
    subject_id,
)
from rtmer.errors import DatasetError
from rtmer.types import Clip

FPS = 200.0

#: Coding-sheet file stems (lower case, fnmatch): the 2014 and 2019 sheets, "CASME2-coding-updated",
#: "CASME2_label_Ver_2" (MEAN's name for its copy) and rtmer's synthetic clips' sheet.
SHEET_PATTERNS = ("*coding*", "casme2*label*")
OBJECTIVE_PATTERNS = ("*objective*class*",)

COLUMNS = (
    Column("subject", ("Subject",)),
    Column("filename", ("Filename", "File name", "Clip")),
    Column("onset", ("OnsetFrame", "Onset Frame", "OnsetF", "Onset")),
    Column("apex", ("ApexFrame", "Apex Frame", "ApexF1", "ApexF", "Apex")),
    Column("offset", ("OffsetFrame", "Offset Frame", "OffsetF", "Offset")),
    Column("aus", ("Action Units", "ActionUnits", "AUs", "AU")),
    Column("emotion", ("Estimated Emotion", "Emotion")),
    Column("objective", ("Objective Class", "Objective Classes"), required=False),
)
OBJECTIVE_COLUMNS = (
    Column("subject", ("Subject",)),
    Column("filename", ("Filename", "File name")),
    Column("objective", ("Objective Class", "Objective Classes")),
)

_SUBJECT_FOLDER = re.compile(r"sub0*(\d+)", re.IGNORECASE)


def subject_folder(name: str) -> str | None:
    """The canonical subject id of a CASME II subject folder ("sub01", "sub1" -> "sub01"), else None."""
    match = _SUBJECT_FOLDER.fullmatch(name.strip())
    return f"sub{int(match.group(1)):02d}" if match else None


def casme2_subject(value: object) -> str:
    """A Subject cell (1, "01", "sub1") as the canonical "sub01"."""
    return subject_id(value, prefix="sub", width=2)


def load(
    root: Path,
    *,
    sheet: str | Path | None = None,
    frames_dir: str | Path | None = None,
    layout: str = "auto",
    fps: float = FPS,
) -> LoadResult:
    """Load CASME II from ``root`` (the folder holding the coding sheet and the frame folders)."""
    clips, skipped, version = read_casme2_layout(
        Path(root),
        dataset="casme2",
        fps=fps,
        sheet=None if sheet is None else Path(sheet),
        frames_dir=None if frames_dir is None else Path(frames_dir),
        layout=layout,
    )
    return LoadResult("casme2", Path(root), version, clips, skipped)


def read_casme2_layout(
    root: Path,
    *,
    dataset: str,
    fps: float,
    sheet: Path | None = None,
    frames_dir: Path | None = None,
    layout: str = "auto",
) -> tuple[tuple[Clip, ...], tuple[Skipped, ...], str]:
    """Clips, skipped rows and the recognised variant ("coding-20190701/raw") of a folder in
    CASME II's layout; shared with the synthetic-clip loader, which writes the same layout."""
    require_dir(root, "the CASME II folder (coding sheet CASME2-coding-*.xlsx, subXX/EPxx_xx frame folders)")
    sheet_path = find_sheet(root, SHEET_PATTERNS, "the CASME II coding sheet (CASME2-coding-*.xlsx)", sheet)
    coding = read_sheet(sheet_path, COLUMNS)
    skipped: list[Skipped] = []
    objective = _objective_classes(root, coding, skipped)
    annotations: list[Annotation] = []
    for row in coding.rows:
        where = f"{sheet_path.name} row {row.number}"
        try:
            ann = _annotation(row, where)
        except ValueError as exc:
            skipped.append(Skipped(sheet_path, f"{where}: {exc}"))
            continue
        if ann.objective_class is None and ann.key in objective:
            ann = dataclasses.replace(ann, objective_class=objective[ann.key])
        annotations.append(ann)

    base, index = find_clip_root(
        root, [a.key for a in annotations], subject_folder, layout=layout, frames_dir=frames_dir
    )
    if annotations and not index.keys() & {a.key for a in annotations}:
        kind = "" if layout == "auto" else f" ({layout} layout)"
        raise DatasetError(
            f"{base}: expected CASME II frame folders subXX/EPxx_xx{kind} (under CASME2-RAW, "
            f"CASME2_RAW_selected or Cropped); none of the {len(annotations)} clips of "
            f"{sheet_path.name} was found; found {describe_dir(base)}"
        )
    clips, missing = collect_clips(dataset, fps, annotations, base, index)
    sheet_tag = f"coding-{date_tag(sheet_path.name)}" if date_tag(sheet_path.name) else sheet_path.stem
    if objective:
        sheet_tag += "+objective-classes"
    return tuple(clips), tuple(skipped + missing), f"{sheet_tag}/{layout_of(base, root)}"


_HEADERS = {
    "onset": "OnsetFrame",
    "apex": "ApexFrame",
    "offset": "OffsetFrame",
    "objective": "Objective Class",
}


def _annotation(row: SheetRow, where: str) -> Annotation:
    return sheet_annotation(row, where, casme2_subject, _HEADERS)


def _objective_classes(root: Path, coding: Sheet, skipped: list[Skipped]) -> dict[ClipKey, int]:
    """Objective classes from a separate CASME2-ObjectiveClasses.xlsx, when the coding sheet has
    no such column and the file is there."""
    if "objective" in coding.columns or not matching_files(root, OBJECTIVE_PATTERNS):
        return {}
    try:
        path = find_sheet(root, OBJECTIVE_PATTERNS, "the CASME II objective classes sheet")
    except DatasetError as exc:  # an optional file: say why it was not read, load the clips anyway
        skipped.append(Skipped(root, f"objective classes not read: {exc}"))
        return {}
    classes: dict[ClipKey, int] = {}
    for row in read_sheet(path, OBJECTIVE_COLUMNS).rows:
        try:
            key = (casme2_subject(row.get("subject")), cell_text(row.get("filename")).lower())
            klass = parse_class(row.get("objective"), "Objective Class")
        except ValueError as exc:
            skipped.append(Skipped(path, f"{path.name} row {row.number}: {exc}"))
            continue
        if klass is not None:
            classes[key] = klass
    return classes
