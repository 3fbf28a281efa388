"""SAMM (Davison et al., IEEE TAC 2018): 200 fps, 32 participants, 159 coded micro-movements.

Layout followed (as Manchester Metropolitan University distributes it; public loaders such as MEB
``tvaranka/meb``, MEAN ``genbing99/MEAN_Spot-then-recognize`` and several MATLAB / PyTorch readers
read the same):

- frames ``SAMM/006/006_1_2/006_05562.jpg``: a 3-digit subject folder, a clip folder named as the
  sheet's Filename, frames named ``<subject>_<frame number>.jpg`` with the frame numbers of the
  subject's whole recording (so OnsetFrame is 5562, not 1). Searched for up to three folders
  below ``root``; a folder whose path names "crop" (MEB's ``SAMM_CROP``) counts as the cropped
  layout, chosen with ``layout="cropped"``; ``frames_dir`` names the folder outright.
- the sheet ``SAMM_Micro_FACS_Codes_v2.xlsx``: description rows above the header row (MEB takes
  the header from Excel row 14, other readers ``skiprows=range(13)``, a MATLAB reader the data
  from row 15), or the same table with the header on row 1 (``SAMM_20181215_Micro_FACS_Codes_v2.xlsx``
  as MEAN reads it, and other copies of the v2 sheet). The header row is found by its names in
  the first 40 rows. Columns: Subject, Filename, Inducement Code, Onset Frame, Apex Frame, Offset
  Frame, Duration, Type (headed "Micro" in some copies: MEB drops a column of that name), Action
  Units, Estimated Emotion, Objective Classes, Notes. Type reads "Micro - 1/2" on the micro rows
  (MEAN matches it against the SAMM long-videos sheet).

Quirks tolerated: Subject 6, "6", "06" or "006" (the folder is "006"); Apex Frame -1 or blank ->
``apex=None``; AU cells such as "R12+R15", "L14 or R14" (both kept), "R14A" (the intensity letter
is dropped); "Other" / "Others" kept as spelled (lower case). Rows whose frames are not all on
disk (MEB patches one offset of the sheet by hand) are :class:`rtmer.data.Skipped`, never patched.

``kinds`` selects rows by Type: "Micro..." is "micro", "Macro..." is "macro"; a blank Type, or a
sheet without the column, counts as "micro" (the micro sheet holds micro-movements only). Rows of
other kinds are listed as skipped with that reason. ``frames`` holds every frame of the clip
folder; ``onset``, ``apex`` and ``offset`` index into it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from rtmer.data import LoadResult, Skipped
from rtmer.data.common import (
    Annotation,
    Column,
    SheetRow,
    cell_text,
    collect_clips,
    describe_dir,
    find_clip_root,
    find_sheet,
    layout_of,
    read_sheet,
    require_dir,
    sheet_annotation,
    subject_id,
)
from rtmer.errors import DatasetError

FPS = 200.0
SHEET_PATTERNS = ("*micro_facs_codes*", "*micro facs codes*")

COLUMNS = (
    Column("subject", ("Subject",)),
    Column("filename", ("Filename", "File name")),
    Column("onset", ("Onset Frame", "OnsetFrame", "Onset")),
    Column("apex", ("Apex Frame", "ApexFrame", "Apex")),
    Column("offset", ("Offset Frame", "OffsetFrame", "Offset")),
    Column("aus", ("Action Units", "ActionUnits", "AUs")),
    Column("emotion", ("Estimated Emotion", "Emotion")),
    Column("objective", ("Objective Classes", "Objective Class", "Classes"), required=False),
    Column("type", ("Type", "Micro"), required=False),
)

_SUBJECT_FOLDER = re.compile(r"0*(\d{1,3})")


def subject_folder(name: str) -> str | None:
    """The canonical subject id of a SAMM subject folder ("006", "6" -> "006"), else None."""
    match = _SUBJECT_FOLDER.fullmatch(name.strip())
    return f"{int(match.group(1)):03d}" if match else None


def samm_subject(value: object) -> str:
    """A Subject cell (6, "6", "06", "006") as the canonical "006"."""
    return subject_id(value, prefix="", width=3)


def row_kind(value: object) -> str:
    """The kind a Type cell names: "micro" ("Micro - 1/2", or blank), "macro", else the text itself."""
    text = cell_text(value).lower()
    if not text or text.startswith("micro"):
        return "micro"
    if text.startswith("macro"):
        return "macro"
    return text


def load(
    root: Path,
    *,
    sheet: str | Path | None = None,
    frames_dir: str | Path | None = None,
    layout: str = "auto",
    kinds: Sequence[str] = ("micro",),
    fps: float = FPS,
) -> LoadResult:
    """Load SAMM from ``root`` (the folder holding the micro-FACS-codes sheet and the frames)."""
    root = Path(root)
    require_dir(root, "the SAMM folder (SAMM_Micro_FACS_Codes_v2.xlsx and SAMM/<subject>/<clip> frames)")
    sheet_path = find_sheet(
        root,
        SHEET_PATTERNS,
        "the SAMM sheet (SAMM_Micro_FACS_Codes_v2.xlsx)",
        None if sheet is None else Path(sheet),
    )
    codes = read_sheet(sheet_path, COLUMNS)
    skipped: list[Skipped] = []
    annotations: list[Annotation] = []
    for row in codes.rows:
        where = f"{sheet_path.name} row {row.number}"
        kind = row_kind(row.get("type"))
        if kind not in kinds:
            skipped.append(Skipped(sheet_path, f"{where}: a {kind} row (kinds={tuple(kinds)})"))
            continue
        try:
            annotations.append(_annotation(row, where))
        except ValueError as exc:
            skipped.append(Skipped(sheet_path, f"{where}: {exc}"))

    base, index = find_clip_root(
        root,
        [a.key for a in annotations],
        subject_folder,
        layout=layout,
        frames_dir=None if frames_dir is None else Path(frames_dir),
    )
    if annotations and not index.keys() & {a.key for a in annotations}:
        raise DatasetError(
            f"{base}: expected SAMM frame folders <subject>/<clip> (such as SAMM/006/006_1_2); none of "
            f"the {len(annotations)} clips of {sheet_path.name} was found; found {describe_dir(base)}"
        )
    clips, missing = collect_clips("samm", fps, annotations, base, index)
    version = f"{sheet_path.stem} (header row {codes.header_row})/{layout_of(base, root)}"
    return LoadResult("samm", root, version, tuple(clips), tuple(skipped + missing))


_HEADERS = {
    "onset": "Onset Frame",
    "apex": "Apex Frame",
    "offset": "Offset Frame",
    "objective": "Objective Classes",
}


def _annotation(row: SheetRow, where: str) -> Annotation:
    return sheet_annotation(row, where, samm_subject, _HEADERS)
