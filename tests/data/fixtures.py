"""Writers of tiny stand-ins for the licensed data sets, in each distribution's exact layout.

Every image is the same blank 8x8 grey picture (never a real face); spreadsheets are written with
openpyxl in the distributions' formats (file names, title rows, header names, cell types), as the
loaders' docstrings describe them. Row and clip records hold the cells *as written*, so a test
can put a quirk ("/" for a missing apex, "4+L10", subject "6") straight into a cell; sheet-wide
quirks are named in ``quirks``.

``mirror_counts(root)`` writes all four data sets with the real per-set composition (clips,
subjects and emotions; the MEGC2019 composite's per-set counts follow from them), a few frames per
clip.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeVar

import cv2
import numpy as np
import openpyxl

T = TypeVar("T")

# --- images ---------------------------------------------------------------------------------------


@functools.cache
def _blank(suffix: str) -> bytes:
    ok, data = cv2.imencode(suffix, np.full((8, 8), 128, np.uint8))
    assert ok
    return data.tobytes()


def write_frames(folder: Path, names: Iterable[str]) -> None:
    """Blank 8x8 images ``folder/<name>`` (the format follows each name's suffix)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(_blank(Path(name).suffix))


def _frame_range(onset: object, offset: object) -> range:
    """onset..offset when both cells are numbers, else three frames 1..3."""
    if isinstance(onset, int) and isinstance(offset, int) and onset <= offset:
        return range(onset, offset + 1)
    return range(1, 4)


def _check_quirks(quirks: Collection[str], known: Collection[str]) -> None:
    unknown = set(quirks) - set(known)
    if unknown:
        raise ValueError(f"unknown quirk(s) {sorted(unknown)}; known: {sorted(known)}")


def _write_table(
    path: Path,
    headers: Sequence[str | None],
    rows: Sequence[Sequence[object]],
    *,
    title: str = "Sheet1",
    above: Sequence[Sequence[object]] = (),
    blank_rows: bool = False,
    number_formats: dict[int, str] | None = None,
) -> None:
    """An .xlsx file: ``above`` rows (titles), the header row, then the data rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in above:
        ws.append(list(row))
    ws.append(list(headers))
    for i, row in enumerate(rows):
        ws.append(list(row))
        if number_formats:
            for col, fmt in number_formats.items():
                ws.cell(ws.max_row, col + 1).number_format = fmt
        if blank_rows and i % 3 == 2:
            ws.append([])
    if blank_rows:
        ws.append([])
        ws.append([])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


# --- CASME II -------------------------------------------------------------------------------------

#: The coding sheet's file name per revision.
CASME2_SHEETS = {"2014": "CASME2-coding-20140508.xlsx", "2019": "CASME2-coding-20190701.xlsx"}
#: Frame folder and frame file name per layout.
CASME2_LAYOUTS = {"raw": ("CASME2_RAW_selected", "img{}.jpg"), "cropped": ("Cropped", "reg_img{}.jpg")}
CASME2_HEADERS = (
    "Subject",
    "Filename",
    None,
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    None,
    "Action Units",
    "Estimated Emotion",
)
_CASME2_MESSY = {
    "Subject": " subject ",
    "Filename": "FileName",
    "OnsetFrame": "Onset\nFrame",
    "ApexFrame": "APEX FRAME",
    "OffsetFrame": "offset frame",
    "Action Units": "Action\nUnits ",
    "Estimated Emotion": "Estimated  emotion",
}
CASME2_QUIRKS = ("blank_rows", "messy_headers", "sub_prefix")


@dataclass(frozen=True)
class CasmeRow:
    """One coding-sheet row. ``subject`` is the subject number; the frame cells are written as
    given ("/" for a missing apex); ``frames`` are the frame numbers put on disk (default
    onset..offset); ``folder=False`` writes no clip folder."""

    subject: int
    filename: str
    onset: object = 1
    apex: object = 2
    offset: object = 3
    aus: object = "4"
    emotion: str = "others"
    objective: int | None = None
    frames: Sequence[int] | None = None
    folder: bool = True


def make_casme2(
    root: Path,
    rows: Iterable[CasmeRow],
    *,
    layout: str = "raw",
    sheet: str = "2014",
    quirks: Collection[str] = (),
    objective: str | None = None,
) -> Path:
    """CASME II under ``root``: ``<CASME2_RAW_selected|Cropped>/subXX/<Filename>/<img|reg_img>N.jpg``
    and the coding sheet of revision ``sheet`` ("2014", "2019"); returns ``root``.

    Both revisions have the same nine columns, two of them unnamed. Subject is written as text
    ("01") in the 2014 sheet and as a number shown "01" in the 2019 sheet: both cell types occur
    in the copies public code reads, which revision has which is not documented. ``quirks``: "blank_rows",
    "messy_headers" (case, spacing and line breaks in the header cells), "sub_prefix" (Subject
    written "sub01"). ``objective``: None, "column" (an Objective Class column in the coding
    sheet) or "file" (a separate CASME2-ObjectiveClasses.xlsx).
    """
    _check_quirks(quirks, CASME2_QUIRKS)
    rows = list(rows)
    folder_name, pattern = CASME2_LAYOUTS[layout]
    for row in rows:
        if row.folder:
            frames = row.frames if row.frames is not None else _frame_range(row.onset, row.offset)
            clip = root / folder_name / f"sub{row.subject:02d}" / row.filename
            write_frames(clip, (pattern.format(n) for n in frames))

    def subject_cell(n: int) -> object:
        if "sub_prefix" in quirks:
            return f"sub{n:02d}"
        return f"{n:02d}" if sheet == "2014" else n

    headers: list[str | None] = list(CASME2_HEADERS)
    if "messy_headers" in quirks:
        headers = [None if h is None else _CASME2_MESSY[h] for h in headers]
    if objective == "column":
        headers.append("Objective Class")
    cells = []
    for r in rows:
        line = [subject_cell(r.subject), r.filename, None, r.onset, r.apex, r.offset, None, r.aus, r.emotion]
        if objective == "column":
            line.append(r.objective)
        cells.append(line)
    formats = {0: "00"} if sheet == "2019" and "sub_prefix" not in quirks else None
    _write_table(
        root / CASME2_SHEETS[sheet],
        headers,
        cells,
        blank_rows="blank_rows" in quirks,
        number_formats=formats,
    )
    if objective == "file":
        _write_table(
            root / "CASME2-ObjectiveClasses.xlsx",
            ("Subject", "Filename", "Objective Class"),
            [(r.subject, r.filename, r.objective) for r in rows],
        )
    return root


# --- SAMM -----------------------------------------------------------------------------------------

#: The sheet's file name and the rows above its header row, per copy.
SAMM_SHEETS = {
    "v2": ("SAMM_Micro_FACS_Codes_v2.xlsx", 13),
    "20181215": ("SAMM_20181215_Micro_FACS_Codes_v2.xlsx", 0),
}
SAMM_HEADERS = (
    "Subject",
    "Filename",
    "Inducement Code",
    "Onset Frame",
    "Apex Frame",
    "Offset Frame",
    "Duration",
    "Type",
    "Action Units",
    "Estimated Emotion",
    "Objective Classes",
    "Notes",
)
SAMM_QUIRKS = ("blank_rows", "messy_headers", "micro_header")


@dataclass(frozen=True)
class SammRow:
    """One micro-FACS-codes row. ``subject`` is written as given (6, "6", "006"); ``frames`` are
    the frame numbers put on disk (default onset..offset); ``folder=False`` writes no clip folder."""

    subject: object
    filename: str
    onset: object = 1001
    apex: object = 1002
    offset: object = 1003
    aus: object = "4"
    emotion: str = "Anger"
    objective: object = 1
    type: str = "Micro - 1/2"
    frames: Sequence[int] | None = None
    folder: bool = True


def make_samm(
    root: Path, rows: Iterable[SammRow], *, sheet: str = "v2", quirks: Collection[str] = ()
) -> Path:
    """SAMM under ``root``: ``SAMM/<006>/<Filename>/<006>_<NNNNN>.jpg`` and the micro-FACS-codes
    sheet (``sheet`` "v2": 13 description rows above the header; "20181215": header on row 1);
    returns ``root``.

    ``quirks``: "blank_rows", "messy_headers", "micro_header" (the Type column headed "Micro").
    """
    _check_quirks(quirks, SAMM_QUIRKS)
    rows = list(rows)
    for row in rows:
        if row.folder:
            sid = f"{int(str(row.subject)):03d}"
            frames = row.frames if row.frames is not None else _frame_range(row.onset, row.offset)
            write_frames(root / "SAMM" / sid / row.filename, (f"{sid}_{n:05d}.jpg" for n in frames))
    headers = list(SAMM_HEADERS)
    if "micro_header" in quirks:
        headers[7] = "Micro"
    if "messy_headers" in quirks:
        headers = [f" {h.upper()}\n" if " " not in h else h.replace(" ", "\n") for h in headers]
    name, n_above = SAMM_SHEETS[sheet]
    titles: list[list[object]] = [
        ["SAMM - Spontaneous Actions and Micro-Movements: micro-movement FACS codes (stand-in)"],
        ["Rows below: one coded micro-movement each; frame numbers are those of the long recording."],
    ]
    above = (titles + [[]] * n_above)[:n_above]  # titles, then blank rows down to the header
    cells = []
    for r in rows:
        duration = r.offset - r.onset + 1 if isinstance(r.onset, int) and isinstance(r.offset, int) else None
        cells.append(
            (
                r.subject,
                r.filename,
                "1",
                r.onset,
                r.apex,
                r.offset,
                duration,
                r.type,
                r.aus,
                r.emotion,
                r.objective,
                None,
            )
        )
    _write_table(root / name, headers, cells, above=above, blank_rows="blank_rows" in quirks)
    return root


# --- SMIC-HS --------------------------------------------------------------------------------------

SMIC_CODES = {"negative": "ne", "positive": "po", "surprise": "sur"}


@dataclass(frozen=True)
class SmicClip:
    """One SMIC-HS clip: ``s<subject>/micro/<emotion>/s<subject>_<code>_<index>`` with ``frames``."""

    subject: int
    emotion: str
    index: int
    frames: Sequence[int] = (101, 102, 103)

    @property
    def clip_id(self) -> str:
        return f"s{self.subject}_{SMIC_CODES.get(self.emotion, self.emotion[:3])}_{self.index:02d}"


def make_smic(root: Path, clips: Iterable[SmicClip], *, layout: str = "raw", cameras: bool = False) -> Path:
    """SMIC under ``root``: ``SMIC_all_<raw|cropped>/HS/s<N>/micro/<emotion>/<clip>/image<NNNNNN>.bmp``,
    one ``non_micro`` clip per subject (the loader ignores it); ``cameras`` adds a VIS and an NIR
    folder beside HS, each with one clip. Returns ``root``."""
    base = root / f"SMIC_all_{layout}"
    subjects: set[int] = set()
    for clip in clips:
        subjects.add(clip.subject)
        folder = base / "HS" / f"s{clip.subject}" / "micro" / clip.emotion / clip.clip_id
        write_frames(folder, (f"image{n:06d}.bmp" for n in clip.frames))
    for s in subjects:
        write_frames(base / "HS" / f"s{s}" / "non_micro" / f"s{s}_nm_01", ["image000001.bmp"])
    if cameras:
        for cam in ("VIS", "NIR"):
            write_frames(base / cam / "s1" / "micro" / "negative" / "s1_ne_01", ["image000001.bmp"])
    return root


# --- CK+ ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CkSequence:
    """One CK+ sequence ``S<subject>/<index>`` of ``frames`` frames; ``emotion`` is the code
    written to its Emotion/ file (None: no file, unlabelled); ``aus`` go to its FACS/ file."""

    subject: int
    index: int
    emotion: int | None = 1
    frames: int = 3
    aus: Sequence[int] = ()


def make_ckplus(root: Path, sequences: Iterable[CkSequence]) -> Path:
    """CK+ under ``root``: ``cohn-kanade-images/S005/001/S005_001_00000001.png`` ..,
    ``Emotion/S005/001/S005_001_<last>_emotion.txt`` ("   3.0000000e+00") and, for sequences with
    AUs, ``FACS/S005/001/S005_001_<last>_facs.txt``. Returns ``root``."""
    for seq in sequences:
        stem = f"S{seq.subject:03d}_{seq.index:03d}"
        rel = Path(f"S{seq.subject:03d}") / f"{seq.index:03d}"
        write_frames(
            root / "cohn-kanade-images" / rel, (f"{stem}_{n:08d}.png" for n in range(1, seq.frames + 1))
        )
        peak = f"{stem}_{seq.frames:08d}"
        if seq.emotion is not None:
            (root / "Emotion" / rel).mkdir(parents=True, exist_ok=True)
            (root / "Emotion" / rel / f"{peak}_emotion.txt").write_text(f"   {float(seq.emotion):.7e}\n")
        if seq.aus:
            (root / "FACS" / rel).mkdir(parents=True, exist_ok=True)
            lines = "".join(f"   {float(au):.7e}   {0.0:.7e}\n" for au in seq.aus)
            (root / "FACS" / rel / f"{peak}_facs.txt").write_text(lines)
    return root


# --- the real per-set composition -----------------------------------------------------------------

#: Emotions of the CASME II coding sheet (2014 counts, as spelled in the sheet).
CASME2_EMOTIONS = {
    "happiness": 32,
    "surprise": 25,
    "disgust": 63,
    "repression": 27,
    "others": 99,
    "fear": 2,
    "sadness": 7,
}
#: Emotions of the SAMM micro sheet, as spelled there.
SAMM_EMOTIONS = {
    "Anger": 57,
    "Contempt": 12,
    "Disgust": 9,
    "Fear": 8,
    "Sadness": 6,
    "Happiness": 26,
    "Surprise": 15,
    "Other": 26,
}
#: SMIC-HS clips per class folder.
SMIC_EMOTIONS = {"negative": 70, "positive": 51, "surprise": 43}
#: CK+ sequences with an Emotion/ file, per code (1 anger .. 7 surprise), and in all.
CKPLUS_EMOTIONS = {1: 45, 2: 18, 3: 59, 4: 25, 5: 69, 6: 28, 7: 83}
CKPLUS_SEQUENCES = 593

#: Subject ids. CASME II sub10 and sub18 and SAMM 037 have no clip of a MEGC2019 class, so the
#: composite keeps 24 CASME II and 28 SAMM subjects (16 + 24 + 28 = 68 with SMIC).
CASME2_SUBJECTS = tuple(range(1, 27))
CASME2_NON_COMPOSITE = (10, 18)
SAMM_SUBJECTS = tuple(s for s in range(6, 38) if s not in (8, 27, 29))
SAMM_NON_COMPOSITE = (37,)
SMIC_SUBJECTS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12, 13, 14, 15, 18, 19, 20)
CKPLUS_SUBJECTS = 123
CKPLUS_LABELLED_SUBJECTS = 118

#: What ``mirror_counts`` writes, per data set: clips (sequences for CK+: the labelled ones load
#: as clips) and subjects.
MIRROR = {
    "casme2": {"clips": 255, "subjects": 26, "composite_clips": 145, "composite_subjects": 24},
    "samm": {"clips": 159, "subjects": 29, "composite_clips": 133, "composite_subjects": 28},
    "smic": {"clips": 164, "subjects": 16, "composite_clips": 164, "composite_subjects": 16},
    "ckplus": {"clips": 327, "subjects": 118, "sequences": 593, "sequence_subjects": 123},
}


class MirrorRoots(NamedTuple):
    """The roots ``mirror_counts`` wrote, one per data set."""

    casme2: Path
    samm: Path
    smic: Path
    ckplus: Path


def _deal(
    counts: Mapping[T, int],
    subjects: Sequence[int],
    others: Collection[T] = (),
    all_subjects: Sequence[int] = (),
) -> Iterator[tuple[int, T]]:
    """(subject, emotion) pairs: the ``counts`` dealt round-robin over ``subjects``, except the
    emotions in ``others``, dealt over ``all_subjects`` (so that subjects missing from
    ``subjects`` get only those)."""
    n = m = 0
    for emotion, count in counts.items():
        for _ in range(count):
            if emotion in others:
                yield all_subjects[m % len(all_subjects)], emotion
                m += 1
            else:
                yield subjects[n % len(subjects)], emotion
                n += 1


def mirror_counts(root: Path) -> MirrorRoots:
    """The four data sets with their real composition under ``root/<dataset>`` (3 frames a clip,
    2 per CK+ sequence): see ``MIRROR`` and the ``*_EMOTIONS`` tables.

    - CASME II (2014 sheet, raw layout): 255 clips of 26 subjects. Its disgust + repression rows
      are 90 as in the sheet; the MEGC2019 composite's 88 leave out ``sub04/EP12_01f`` (written
      with apex "/", as in the sheet) and ``sub24/EP02_07``, both present here, so the composite
      keeps 145 clips of 24 subjects.
    - SAMM (v2 sheet with its description rows): 159 clips of 29 subjects; 133 clips of 28
      subjects in a MEGC2019 class ("Other" is dropped).
    - SMIC-HS: 164 clips of 16 subjects (70 negative, 51 positive, 43 surprise).
    - CK+: 593 sequences of 123 subjects, 327 of 118 subjects with an emotion.
    """
    roots = MirrorRoots(*(root / name for name in MirrorRoots._fields))

    composite = [s for s in CASME2_SUBJECTS if s not in CASME2_NON_COMPOSITE]
    dropped = {"others", "fear", "sadness"}
    count: dict[int, int] = {}
    casme_rows = [
        CasmeRow(4, "EP12_01f", 1, "/", 3, "4+7+L10", "disgust"),
        CasmeRow(24, "EP02_07", 1, 2, 3, "15", "repression"),
    ]
    counts = dict(
        CASME2_EMOTIONS, disgust=CASME2_EMOTIONS["disgust"] - 1, repression=CASME2_EMOTIONS["repression"] - 1
    )
    for subject, emotion in _deal(counts, composite, dropped, CASME2_SUBJECTS):
        c = count[subject] = count.get(subject, 0) + 1
        casme_rows.append(CasmeRow(subject, f"EP{20 + c // 10:02d}_{c % 10:02d}", 1, 2, 3, "4", emotion))
    make_casme2(roots.casme2, sorted(casme_rows, key=lambda r: (r.subject, r.filename)))

    composite = [s for s in SAMM_SUBJECTS if s not in SAMM_NON_COMPOSITE]
    count = {}
    samm_rows = []
    # "Other" is dealt from the subjects without a composite clip first, so each of them gets one.
    everyone = [*SAMM_NON_COMPOSITE, *composite]
    for subject, emotion in _deal(SAMM_EMOTIONS, composite, {"Other"}, everyone):
        c = count[subject] = count.get(subject, 0) + 1
        onset = 1000 + 10 * c
        samm_rows.append(
            SammRow(
                f"{subject:03d}",
                f"{subject:03d}_{c // 5 + 1}_{c % 5 + 1}",
                onset,
                onset + 1,
                onset + 2,
                "4",
                emotion,
                1,
            )
        )
    make_samm(roots.samm, samm_rows)

    count = {}
    smic_clips = []
    for subject, emotion in _deal(SMIC_EMOTIONS, SMIC_SUBJECTS):
        c = count[subject] = count.get(subject, 0) + 1
        smic_clips.append(SmicClip(subject, emotion, c, (100 * c + 1, 100 * c + 2, 100 * c + 3)))
    make_smic(roots.smic, smic_clips)

    subjects = [10 + i for i in range(CKPLUS_SUBJECTS)]
    labelled = subjects[:CKPLUS_LABELLED_SUBJECTS]
    unlabelled: dict[int | None, int] = {None: CKPLUS_SEQUENCES - sum(CKPLUS_EMOTIONS.values())}
    count = {}
    sequences = []
    for subject, code in [*_deal(CKPLUS_EMOTIONS, labelled), *_deal(unlabelled, subjects)]:
        c = count[subject] = count.get(subject, 0) + 1
        sequences.append(CkSequence(subject, c, code, frames=2))
    make_ckplus(roots.ckplus, sequences)
    return roots
