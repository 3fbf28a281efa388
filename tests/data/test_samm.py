"""SAMM loader: the v2 sheet with and without its description rows, subject spellings, kinds, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtmer.data import load
from rtmer.errors import DatasetError
from tests.data.fixtures import SAMM_SHEETS, SammRow, make_samm

ROWS = (
    SammRow("006", "006_1_2", 5562, 5588, 5601, "R12+R15", "Contempt", 6, frames=range(5550, 5610)),
    SammRow(6, "006_1_5", 1001, 1002, 1003, "L14 or R14", "Anger", 2),
    SammRow("7", "007_3_1", 1001, -1, 1003, "R14A", "Happiness", 1),
    SammRow("09", "009_5_2", 1001, None, 1003, "4+7", "Other", 7),
    SammRow(37, "037_2_1", 1001, 1002, 1003, "AU 1 + AU 2", "Surprise", None, type=""),
)


@pytest.mark.parametrize("sheet", ["v2", "20181215"])
def test_sheet_with_and_without_title_rows(tmp_path: Path, sheet: str) -> None:
    make_samm(tmp_path, ROWS, sheet=sheet)
    res = load("samm", tmp_path)
    name, above = SAMM_SHEETS[sheet]
    assert res.version == f"{name[:-5]} (header row {above + 1})/raw"
    assert res.skipped == ()
    clips = {c.clip_id: c for c in res.clips}
    assert list(clips) == [r.filename for r in ROWS]

    c = clips["006_1_2"]
    assert (c.dataset, c.subject, c.fps) == ("samm", "006", 200.0)
    assert c.frame_numbers[0] == 5550 and c.frames[0].name == "006_05550.jpg"
    assert [c.frame_numbers[i] for i in (c.onset, c.apex, c.offset)] == [5562, 5588, 5601]
    assert (c.emotion, c.aus, c.objective_class) == ("contempt", ("R12", "R15"), 6)

    # Subject 6, "7", "09" find the folders 006, 007, 009.
    assert [clips[k].subject for k in ("006_1_5", "007_3_1", "009_5_2", "037_2_1")] == [
        "006",
        "007",
        "009",
        "037",
    ]
    assert clips["006_1_5"].aus == ("L14", "R14")
    assert clips["007_3_1"].apex is None and clips["007_3_1"].aus == ("R14",)  # Apex Frame -1
    assert clips["009_5_2"].apex is None and clips["009_5_2"].emotion == "other"  # blank apex
    assert clips["037_2_1"].aus == ("1", "2") and clips["037_2_1"].objective_class is None


def test_sheet_quirks(tmp_path: Path) -> None:
    make_samm(tmp_path, ROWS, quirks=("blank_rows", "messy_headers", "micro_header"))
    res = load("samm", tmp_path)
    assert res.skipped == ()
    assert [c.clip_id for c in res.clips] == [r.filename for r in ROWS]


def test_kinds(tmp_path: Path) -> None:
    rows = [
        SammRow("006", "006_1_1", type="Micro - 1/2"),
        SammRow("006", "006_1_2", type="Macro"),
        SammRow("006", "006_1_3", type=""),
    ]
    make_samm(tmp_path, rows)
    micro = load("samm", tmp_path)
    assert [c.clip_id for c in micro.clips] == ["006_1_1", "006_1_3"]
    (skipped,) = micro.skipped
    assert skipped.reason == "SAMM_Micro_FACS_Codes_v2.xlsx row 16: a macro row (kinds=('micro',))"
    both = load("samm", tmp_path, kinds=("micro", "macro"))
    assert [c.clip_id for c in both.clips] == ["006_1_1", "006_1_2", "006_1_3"] and both.skipped == ()


def test_frames_missing_and_bad_rows(tmp_path: Path) -> None:
    rows = [
        SammRow("006", "006_1_1", 5562, 5570, 5739, frames=range(5562, 5600)),
        SammRow("abc", "xyz_1_1", folder=False),
        SammRow("006", "006_1_2", 1001, 1002, "", frames=(1001, 1002)),
        SammRow("006", "006_1_3", 1001, 1002, 1003),
    ]
    make_samm(tmp_path, rows)
    res = load("samm", tmp_path)
    assert [c.clip_id for c in res.clips] == ["006_1_3"]
    reasons = [s.reason for s in res.skipped]
    assert reasons[0] == "SAMM_Micro_FACS_Codes_v2.xlsx row 16: subject 'abc' is not a subject number"
    assert reasons[1] == "SAMM_Micro_FACS_Codes_v2.xlsx row 17: Onset Frame or Offset Frame is not given"
    assert reasons[2].endswith("140 of the 178 frames 5562..5739 are missing: 5600-5739")
    assert res.skipped[2].path == tmp_path / "SAMM" / "006" / "006_1_1"


def test_missing_column(tmp_path: Path) -> None:
    import openpyxl

    make_samm(tmp_path, ROWS)
    path = tmp_path / "SAMM_Micro_FACS_Codes_v2.xlsx"
    wb = openpyxl.load_workbook(path)
    wb.active["J14"] = "Feeling"  # Estimated Emotion renamed
    wb.save(path)
    with pytest.raises(DatasetError) as err:
        load("samm", tmp_path)
    message = str(err.value)
    assert message.startswith(
        f"{path}: expected a header row with the column(s) 'Estimated Emotion' / 'Emotion'"
    )
    assert "closest: sheet 'Sheet1' row 14, headers: Subject, Filename" in message and "Feeling" in message


def test_wrong_root_and_missing_sheet(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="expected the SAMM folder .*; the path does not exist"):
        load("samm", tmp_path / "nowhere")
    make_samm(tmp_path, ROWS)
    (tmp_path / "SAMM_Micro_FACS_Codes_v2.xlsx").unlink()
    with pytest.raises(DatasetError) as err:
        load("samm", tmp_path)
    assert str(err.value) == (
        f"{tmp_path}: expected the SAMM sheet (SAMM_Micro_FACS_Codes_v2.xlsx) here or one folder down; "
        "found SAMM/"
    )


def test_frames_elsewhere(tmp_path: Path) -> None:
    make_samm(tmp_path, ROWS)
    (tmp_path / "SAMM").rename(tmp_path / "frames")
    (tmp_path / "frames" / "006").rename(tmp_path / "frames" / "6")
    res = load("samm", tmp_path)
    assert len(res.clips) == len(ROWS) and res.skipped == ()
    with pytest.raises(DatasetError, match="expected SAMM frame folders <subject>/<clip>"):
        load("samm", tmp_path, frames_dir=tmp_path)
