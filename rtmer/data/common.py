"""Helpers shared by the loaders: frames on disk, annotation cells, subject ids, spreadsheets.

Everything here reads files only; nothing decodes an image. Problems with one clip come back as a
reason string (the loader turns it into a :class:`rtmer.data.Skipped` entry); problems with the
whole data set raise :class:`rtmer.errors.DatasetError` naming the path, what was expected there
and what was found.
"""

from __future__ import annotations

import fnmatch
import os
import re
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rtmer.data import Skipped
from rtmer.errors import DatasetError
from rtmer.types import Clip

#: Image files the loaders take as frames (compared in lower case).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"})

#: Cell contents that mean "not annotated" in the coding sheets (CASME II writes "/" for a
#: missing apex, SAMM -1; blanks and "?" occur too).
MISSING_MARKS = frozenset({"", "/", "\\", "-", "?", "n/a", "na", "nan", "none", "-1"})

_DIGITS = re.compile(r"(\d+)")
_LAST_NUMBER = re.compile(r"(\d+)\D*$")
_AU_TOKEN = re.compile(r"^([LRBTU]?)(\d+)[A-E]?$")
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8}
_DATE = re.compile(r"(?<!\d)(\d{8})(?!\d)")


# --- frames on disk -------------------------------------------------------------------------------


def natural_key(text: str) -> list[int | str]:
    """Sort key that orders embedded numbers by value: "img2" < "img10" < "img100"."""
    # re.split with a group alternates text, number, text, ...: equal positions hold equal types.
    return [int(part) if i % 2 else part.lower() for i, part in enumerate(_DIGITS.split(text))]


def frame_number(name: str) -> int | None:
    """The frame number in a file name: the last run of digits of its stem.

    >>> frame_number("img46.jpg"), frame_number("reg_img46.jpg"), frame_number("006_05562.jpg")
    (46, 46, 5562)
    >>> frame_number("S005_001_00000011.png"), frame_number("Thumbs.db")
    (11, None)
    """
    match = _LAST_NUMBER.search(Path(name).stem)
    return int(match.group(1)) if match else None


def list_frames(folder: Path) -> tuple[tuple[int, Path], ...]:
    """The image files in ``folder`` with their frame numbers, in frame-number order.

    Files that are not images or carry no number in their name (Thumbs.db, a stray README) are
    ignored; two files with the same number are both returned, for :func:`locate_clip` to reject.
    """
    found = []
    with os.scandir(folder) as entries:  # scandir: file types come with the listing, no stat per file
        for entry in entries:
            if os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES and entry.is_file():
                number = frame_number(entry.name)
                if number is not None:
                    found.append((number, Path(entry.path)))
    found.sort(key=lambda item: (item[0], natural_key(item[1].name)))
    return tuple(found)


def format_numbers(numbers: Iterable[int], limit: int = 8) -> str:
    """Frame numbers as compact ranges: "87-91, 95"; after ``limit`` ranges, "... (+N more)"."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    text = [str(a) if a == b else f"{a}-{b}" for a, b in runs[:limit]]
    if len(runs) > limit:
        text.append(f"... (+{sum(b - a + 1 for a, b in runs[limit:])} more)")
    return ", ".join(text)


def locate_clip(
    frames: Sequence[tuple[int, Path]], onset: int, apex: int | None, offset: int
) -> tuple[int, int | None, int] | str:
    """Positions of the onset, apex and offset frame numbers in ``frames`` (from :func:`list_frames`).

    Returns the reason instead when the clip cannot be used: no frames, a frame number carried by
    two files, onset after offset, apex outside onset..offset, onset beyond the last frame, or
    frames missing between onset and offset (listed).
    """
    if not frames:
        return "no image files in the clip folder"
    numbers = [n for n, _ in frames]
    repeated = [n for n, count in Counter(numbers).items() if count > 1]
    if repeated:
        return f"several files carry frame number(s) {format_numbers(repeated)}"
    if offset < onset:
        return f"onset frame {onset} is after offset frame {offset}"
    if apex is not None and not onset <= apex <= offset:
        return f"apex frame {apex} is outside onset..offset {onset}..{offset}"
    if onset > numbers[-1]:
        return f"onset frame {onset} is beyond the folder's last frame {numbers[-1]}"
    present = set(numbers)
    missing = [n for n in range(onset, offset + 1) if n not in present]
    if missing:
        return (
            f"{len(missing)} of the {offset - onset + 1} frames {onset}..{offset} are missing: "
            f"{format_numbers(missing)}"
        )
    position = {n: i for i, n in enumerate(numbers)}
    return position[onset], None if apex is None else position[apex], position[offset]


# --- annotation cells -----------------------------------------------------------------------------


def cell_text(value: object) -> str:
    """A cell as stripped text; integral floats lose their ".0" (Excel stores 46 as 46.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def parse_frame(value: object, what: str) -> int | None:
    """A frame-number cell: the number, None where it is marked missing ("/", -1, blank), else ValueError.

    >>> parse_frame(46.0, "ApexFrame"), parse_frame("/", "ApexFrame"), parse_frame(-1, "Apex Frame")
    (46, None, None)
    """
    text = cell_text(value)
    if text.lower() in MISSING_MARKS:
        return None
    try:
        number = int(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a frame number") from None
    if number < 0:
        raise ValueError(f"{what} {number} is negative")
    return number


def parse_aus(value: object) -> tuple[str, ...]:
    """FACS action units from an annotation cell, as side + number ("4", "L10", "R12").

    Tolerates "4+L10", "4 + 7", "AU4", "R12A" (intensity letters are dropped), "1+2+(5)", "38",
    numbers stored as numbers (12.0), "?" and blanks; words such as "or" are ignored. Duplicates
    are dropped, order is kept.

    >>> parse_aus("4+L10"), parse_aus("AU 4 + au7"), parse_aus(12.0), parse_aus("?"), parse_aus(None)
    (('4', 'L10'), ('4', '7'), ('12',), (), ())
    """
    text = cell_text(value).upper()
    text = re.sub(r"AU\s*", "", text)
    tokens = re.split(r"[+,;/&()\s]+", text)
    out: list[str] = []
    for token in tokens:
        match = _AU_TOKEN.match(token)
        if match:
            au = f"{match.group(1)}{int(match.group(2))}"
            if au not in out:
                out.append(au)
    return tuple(out)


def parse_class(value: object, what: str) -> int | None:
    """An objective-class cell (1..7, or roman I..VII); None when blank; ValueError otherwise."""
    text = cell_text(value)
    if text.lower() in MISSING_MARKS:
        return None
    if text.upper() in _ROMAN:
        return _ROMAN[text.upper()]
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a class number") from None


def subject_id(value: object, *, prefix: str, width: int) -> str:
    """A subject id in the data set's canonical spelling: the number zero-padded to ``width``.

    >>> subject_id("sub1", prefix="sub", width=2), subject_id(6, prefix="", width=3)
    ('sub01', '006')
    >>> subject_id("06", prefix="", width=3), subject_id("s01", prefix="s", width=1)
    ('006', 's1')
    """
    text = cell_text(value)
    match = re.fullmatch(r"[A-Za-z_ ]*?0*(\d+)", text)
    if not match:
        raise ValueError(f"subject {text!r} is not a subject number")
    return f"{prefix}{int(match.group(1)):0{width}d}"


def date_tag(name: str) -> str | None:
    """The 8-digit date in a file name ("CASME2-coding-20190701.xlsx" -> "20190701"), if any."""
    match = _DATE.search(name)
    return match.group(1) if match else None


# --- folders --------------------------------------------------------------------------------------


def describe_dir(path: Path, limit: int = 10) -> str:
    """What a folder holds, for error messages: "a/, b.xlsx, c/ (+3 more)"."""
    try:
        entries = sorted(path.iterdir(), key=lambda p: natural_key(p.name))
    except OSError as exc:
        return f"(cannot list it: {exc.strerror or exc})"
    if not entries:
        return "nothing (the folder is empty)"
    names = [p.name + ("/" if p.is_dir() else "") for p in entries[:limit]]
    more = f" (+{len(entries) - limit} more)" if len(entries) > limit else ""
    return ", ".join(names) + more


def require_dir(root: Path, what: str) -> Path:
    """``root`` if it is a folder; a DatasetError saying what was expected there otherwise."""
    if not root.exists():
        raise DatasetError(f"{root}: expected {what}; the path does not exist")
    if not root.is_dir():
        raise DatasetError(f"{root}: expected {what}; found a file, not a folder")
    return root


def subfolders(root: Path, depth: int, descend: Callable[[Path], bool] = lambda p: True) -> list[Path]:
    """``root`` and its folders down to ``depth`` levels, breadth first, hidden folders left out.

    ``descend(folder)`` says whether to look inside a folder (loaders stop at subject folders, so
    a search never walks thousands of frame folders).
    """
    found, level = [root], [root]
    for _ in range(depth):
        children = []
        for folder in level:
            if not descend(folder):
                continue
            entries = sorted(_child_dirs(folder), key=lambda p: natural_key(p.name))
            children += [p for p in entries if not p.name.startswith(".")]
        found += children
        level = children
    return found


def matching_files(
    root: Path, patterns: Sequence[str], suffixes: Sequence[str] = (".xlsx", ".xls")
) -> list[Path]:
    """Files in ``root`` or one folder down with one of ``suffixes`` whose lower-case stem matches
    one of the fnmatch ``patterns`` ("*coding*")."""
    return [
        path
        for folder in subfolders(root, 1)
        for path in sorted(folder.iterdir())
        if path.suffix.lower() in suffixes
        and path.is_file()
        and any(fnmatch.fnmatch(path.stem.lower(), pat) for pat in patterns)
    ]


def find_sheet(root: Path, patterns: Sequence[str], what: str, sheet: Path | None = None) -> Path:
    """The annotation workbook: ``sheet`` if given, else the .xlsx file in ``root`` (or one folder
    down) whose lower-case stem matches one of ``patterns``.

    Several matches: the one whose name carries the latest 8-digit date wins (a 2019 revision over
    the 2014 sheet); without a unique winner the caller must pass ``sheet``. An old-format .xls
    copy alone is an error that says to save it as .xlsx.
    """
    if sheet is not None:
        if not sheet.is_file():
            raise DatasetError(f"{sheet}: expected {what}; the file does not exist")
        return sheet
    found = matching_files(root, patterns, (".xlsx",))
    if not found:
        old = matching_files(root, patterns, (".xls",))
        if old:
            raise DatasetError(
                f"{old[0]}: expected {what} as .xlsx; this is an old-format .xls workbook, which rtmer "
                "does not read: save it as .xlsx (Excel or LibreOffice) next to it"
            )
        raise DatasetError(f"{root}: expected {what} here or one folder down; found {describe_dir(root)}")
    if len(found) == 1:
        return found[0]
    ranked = sorted(found, key=lambda p: date_tag(p.name) or "", reverse=True)
    if date_tag(ranked[0].name) and date_tag(ranked[0].name) != date_tag(ranked[1].name):
        return ranked[0]
    names = ", ".join(str(p.relative_to(root)) for p in found)
    raise DatasetError(f"{root}: expected one {what}; found several ({names}); pass sheet=PATH to choose")


ClipKey = tuple[str, str]  # (canonical subject id, clip folder name in lower case)


def index_clip_folders(base: Path, subject_of: Callable[[str], str | None]) -> dict[ClipKey, Path]:
    """Clip folders ``base/<subject>/<clip>`` keyed by (canonical subject, clip name in lower case).

    ``subject_of(folder name)`` gives the canonical subject id of a subject folder, or None for a
    folder that is not one.
    """
    index: dict[ClipKey, Path] = {}
    for folder in _child_dirs(base):
        subject = subject_of(folder.name)
        if subject is not None:
            for clip in _child_dirs(folder):
                index.setdefault((subject, clip.name.strip().lower()), clip)
    return index


def _child_dirs(folder: Path) -> list[Path]:
    """The folders in ``folder`` (none when it cannot be listed)."""
    try:
        with os.scandir(folder) as entries:
            return [Path(e.path) for e in entries if e.is_dir()]
    except OSError:
        return []


def layout_of(base: Path, root: Path) -> str:
    """The layout a frame folder's path below ``root`` names: "cropped" (Cropped, SMIC_all_cropped,
    SAMM_CROP) or "raw"."""
    try:
        rel = base.relative_to(root)
    except ValueError:
        rel = base
    return "cropped" if "crop" in str(rel).lower() else "raw"


def find_clip_root(
    root: Path,
    wanted: Iterable[ClipKey],
    subject_of: Callable[[str], str | None],
    *,
    layout: str = "auto",
    frames_dir: Path | None = None,
    depth: int = 3,
) -> tuple[Path, dict[ClipKey, Path]]:
    """The folder under ``root`` whose ``<subject>/<clip>`` folders hold most of the ``wanted`` clips.

    ``layout`` "raw" or "cropped" restricts the search to folders of that kind (see
    :func:`layout_of`); "auto" takes the best match, raw before cropped on a tie. ``frames_dir``
    skips the search. Returns the folder and its clip index (empty when nothing matched).
    """
    if layout not in ("auto", "raw", "cropped"):
        raise DatasetError(f"layout must be 'auto', 'raw' or 'cropped', not {layout!r}")
    if frames_dir is not None:
        require_dir(frames_dir, "the folder holding the subject folders")
        return frames_dir, index_clip_folders(frames_dir, subject_of)
    wanted = set(wanted)
    best_key: tuple[int, bool, int] = (0, False, 0)
    best: tuple[Path, dict[ClipKey, Path]] = (root, {})
    for rank, folder in enumerate(subfolders(root, depth, lambda p: subject_of(p.name) is None)):
        if subject_of(folder.name) is not None:
            continue
        kind = layout_of(folder, root)
        if layout != "auto" and kind != layout:
            continue
        index = index_clip_folders(folder, subject_of)
        # Most wanted clips first; then raw before cropped; then the shallower / earlier folder.
        key = (len(wanted & index.keys()), kind == "raw", -rank)
        if key[0] and key > best_key:
            best_key, best = key, (folder, index)
    return best


# --- annotated clips ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Annotation:
    """One annotation row as a loader parsed it: ``where`` names the row for messages; frame
    numbers are the data set's own."""

    where: str
    subject: str
    clip: str
    onset: int
    apex: int | None
    offset: int
    emotion: str
    aus: tuple[str, ...] = ()
    objective_class: int | None = None

    @property
    def key(self) -> ClipKey:
        return self.subject, self.clip.lower()


def sheet_annotation(
    row: SheetRow, where: str, subject: Callable[[object], str], headers: Mapping[str, str]
) -> Annotation:
    """A coding-sheet row of CASME II or SAMM (same fields, different spellings); ``headers`` gives
    each field's column name as the sheet spells it, for the messages. ValueError says what is wrong."""
    filename = cell_text(row.get("filename"))
    if not filename:
        raise ValueError("Filename is blank")
    onset = parse_frame(row.get("onset"), headers["onset"])
    offset = parse_frame(row.get("offset"), headers["offset"])
    if onset is None or offset is None:
        raise ValueError(f"{headers['onset']} or {headers['offset']} is not given")
    emotion = cell_text(row.get("emotion")).lower()
    if not emotion:
        raise ValueError("Estimated Emotion is blank")
    return Annotation(
        where=where,
        subject=subject(row.get("subject")),
        clip=filename,
        onset=onset,
        apex=parse_frame(row.get("apex"), headers["apex"]),
        offset=offset,
        emotion=emotion,
        aus=parse_aus(row.get("aus")),
        objective_class=parse_class(row.get("objective"), headers["objective"]),
    )


def collect_clips(
    dataset: str,
    fps: float,
    annotations: Iterable[Annotation],
    base: Path,
    index: Mapping[ClipKey, Path],
) -> tuple[list[Clip], list[Skipped]]:
    """Clips for the annotations whose folder (in ``index``, found under ``base``) holds every frame
    from onset to offset; a Skipped entry with the reason for each of the others."""
    clips: list[Clip] = []
    skipped: list[Skipped] = []
    seen: dict[ClipKey, str] = {}
    for ann in annotations:
        if ann.key in seen:
            skipped.append(Skipped(base / ann.subject / ann.clip, f"{ann.where}: repeats {seen[ann.key]}"))
            continue
        seen[ann.key] = ann.where
        folder = index.get(ann.key)
        if folder is None:
            skipped.append(Skipped(base / ann.subject / ann.clip, f"{ann.where}: clip folder not found"))
            continue
        frames = list_frames(folder)
        placed = locate_clip(frames, ann.onset, ann.apex, ann.offset)
        if isinstance(placed, str):
            skipped.append(Skipped(folder, f"{ann.where}: {placed}"))
            continue
        clips.append(
            Clip(
                dataset=dataset,
                subject=ann.subject,
                clip_id=folder.name,
                frames=tuple(p for _, p in frames),
                frame_numbers=tuple(n for n, _ in frames),
                fps=fps,
                onset=placed[0],
                apex=placed[1],
                offset=placed[2],
                emotion=ann.emotion,
                aus=ann.aus,
                objective_class=ann.objective_class,
            )
        )
    return clips, skipped


# --- spreadsheets ---------------------------------------------------------------------------------


def header_key(text: object) -> str:
    """A header cell reduced to lower-case letters and digits: "Onset\\nFrame " -> "onsetframe"."""
    return re.sub(r"[^0-9a-z]", "", cell_text(text).lower())


@dataclass(frozen=True)
class Column:
    """A column a loader reads: its key, the header spellings accepted (first match wins), and
    whether a sheet without it is an error."""

    key: str
    aliases: tuple[str, ...]
    required: bool = True


@dataclass(frozen=True)
class SheetRow:
    """One data row: its 1-based row number in the worksheet and its cells by column key."""

    number: int
    values: Mapping[str, object]

    def get(self, key: str) -> object:
        return self.values.get(key)


@dataclass(frozen=True)
class Sheet:
    """The data rows of a worksheet below the header row that names the loader's columns."""

    path: Path
    title: str
    header_row: int
    headers: tuple[str, ...]
    columns: frozenset[str]  # keys of the columns found (required ones always)
    rows: tuple[SheetRow, ...]


def _match_header(cells: Sequence[object], columns: Sequence[Column]) -> dict[str, int]:
    keys: dict[str, int] = {}
    for i, cell in enumerate(cells):
        keys.setdefault(header_key(cell), i)
    found = {}
    for col in columns:
        for alias in col.aliases:
            if header_key(alias) in keys:
                found[col.key] = keys[header_key(alias)]
                break
    return found


def read_sheet(path: Path, columns: Sequence[Column], *, scan_rows: int = 40) -> Sheet:
    """The rows of the first worksheet of ``path`` that has a header row naming every required column.

    The header row is searched in the first ``scan_rows`` rows (SAMM's sheet has title rows above
    it); headers match whatever their case, spaces or line breaks. Blank rows are dropped. A
    missing required column raises DatasetError listing the headers the sheet does have.
    """
    # Imported here: only the spreadsheet-based loaders need openpyxl.
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    required = [c for c in columns if c.required]
    try:
        with open(path, "rb") as fh, warnings.catch_warnings():
            # openpyxl warns about workbook features it ignores (styles, data validation); they
            # say nothing about the cells rtmer reads.
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            workbook = openpyxl.load_workbook(fh, read_only=False, data_only=True)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, InvalidFileException) as exc:
        raise DatasetError(f"{path}: expected an .xlsx workbook; cannot read it ({exc})") from exc
    best: tuple[str, int, list[str], list[Column]] | None = None  # the closest header row
    for ws in workbook.worksheets:
        rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
        for r, cells in enumerate(rows[:scan_rows]):
            if not any(cell_text(c) for c in cells):
                continue
            found = _match_header(cells, columns)
            missing = [c for c in required if c.key not in found]
            if not missing:
                data = []
                for number, row in enumerate(rows[r + 1 :], start=r + 2):
                    if any(cell_text(c) for c in row):
                        values = {k: (row[i] if i < len(row) else None) for k, i in found.items()}
                        data.append(SheetRow(number, values))
                headers = tuple(cell_text(c) for c in cells if cell_text(c))
                return Sheet(path, ws.title, r + 1, headers, frozenset(found), tuple(data))
            if best is None or len(missing) < len(best[3]):
                best = (ws.title, r + 1, [cell_text(c) for c in cells if cell_text(c)], missing)
    if best is None:
        raise DatasetError(f"{path}: expected a sheet with a header row; every worksheet is empty")
    title, header_row, header_cells, closest = best
    wanted = "; ".join(" / ".join(repr(a) for a in c.aliases) for c in closest)
    raise DatasetError(
        f"{path}: expected a header row with the column(s) {wanted}; none found in the first {scan_rows} "
        f"rows (closest: sheet {title!r} row {header_row}, headers: {', '.join(header_cells) or 'none'})"
    )
