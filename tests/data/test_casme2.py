"""CASME II loader: both coding-sheet revisions, both folder layouts, the sheet's quirks, and errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rtmer.data import load
from rtmer.errors import DatasetError
from tests.data.fixtures import CASME2_SHEETS, CasmeRow, make_casme2

ROWS = (
    CasmeRow(1, "EP02_01f", 46, 59, 86, "12", "happiness", frames=range(40, 91)),
    CasmeRow(4, "EP12_01f", 261, "/", 263, "4+7+L10", "disgust"),
    CasmeRow(5, "EP09_05f", 69, 69, 71, "R2+15", "Disgust"),
    CasmeRow(12, "EP02_05", 1, 2, 3, "1 + 2 + 5 + 7", "surprise"),
    CasmeRow(13, "EP01_01", 1, 2, 3, "AU4", "others"),
    CasmeRow(14, "EP09_03", 1, 2, 3, "?", "happiness"),
    CasmeRow(15, "EP03_02", 1, 2, 3, None, "happiness"),
    CasmeRow(16, "EP01_05", 1, 2, 3, 12, "happiness"),
)


def by_id(result) -> dict:
    return {f"{c.subject}/{c.clip_id}": c for c in result.clips}


@pytest.mark.parametrize("sheet", ["2014", "2019"])
@pytest.mark.parametrize("layout", ["raw", "cropped"])
def test_sheets_and_layouts(tmp_path: Path, sheet: str, layout: str) -> None:
    make_casme2(tmp_path, ROWS, sheet=sheet, layout=layout)
    res = load("casme2", tmp_path)
    assert res.dataset == "casme2" and res.root == tmp_path
    assert res.version == f"coding-{CASME2_SHEETS[sheet][14:22]}/{layout}"
    assert res.skipped == ()
    clips = by_id(res)
    assert sorted(clips) == sorted(f"sub{r.subject:02d}/{r.filename}" for r in ROWS)

    c = clips["sub01/EP02_01f"]
    # Every frame of the folder is kept (context before onset, after offset); positions index them.
    assert c.frame_numbers == tuple(range(40, 91))
    assert (c.onset, c.apex, c.offset) == (6, 19, 46)
    assert (
        c.frame_numbers[c.onset] == 46 and c.frame_numbers[c.apex] == 59 and c.frame_numbers[c.offset] == 86
    )
    prefix = "img" if layout == "raw" else "reg_img"
    assert c.frames[c.apex].name == f"{prefix}59.jpg" and c.frames[c.apex].is_file()
    assert (c.fps, c.emotion, c.aus, c.objective_class) == (200.0, "happiness", ("12",), None)

    assert clips["sub04/EP12_01f"].apex is None  # ApexFrame "/"
    assert clips["sub04/EP12_01f"].aus == ("4", "7", "L10")
    assert clips["sub05/EP09_05f"].emotion == "disgust"  # lower case
    assert (clips["sub05/EP09_05f"].onset, clips["sub05/EP09_05f"].apex) == (0, 0)
    assert clips["sub05/EP09_05f"].aus == ("R2", "15")
    assert clips["sub12/EP02_05"].aus == ("1", "2", "5", "7")
    assert clips["sub13/EP01_01"].aus == ("4",)
    assert clips["sub14/EP09_03"].aus == ()
    assert clips["sub15/EP03_02"].aus == ()
    assert clips["sub16/EP01_05"].aus == ("12",)


def test_sheet_quirks_blank_rows_messy_headers_sub_prefix(tmp_path: Path) -> None:
    plain = load("casme2", make_casme2(tmp_path / "plain", ROWS))
    messy = load(
        "casme2", make_casme2(tmp_path / "messy", ROWS, quirks=("blank_rows", "messy_headers", "sub_prefix"))
    )
    assert messy.skipped == ()
    assert [(c.key, c.onset, c.apex, c.offset, c.aus) for c in messy.clips] == [
        (c.key, c.onset, c.apex, c.offset, c.aus) for c in plain.clips
    ]


def test_frames_sort_by_number_not_by_name(tmp_path: Path) -> None:
    make_casme2(tmp_path, [CasmeRow(1, "EP01", 1, 2, 2, frames=(1, 2, 10, 100))])
    (clip,) = load("casme2", tmp_path).clips
    assert clip.frame_numbers == (1, 2, 10, 100)
    assert [p.name for p in clip.frames] == ["img1.jpg", "img2.jpg", "img10.jpg", "img100.jpg"]


def test_unusable_rows_are_skipped_with_the_reason(tmp_path: Path) -> None:
    rows = [
        CasmeRow(1, "EP01_ok", 1, 2, 3),
        CasmeRow(1, "EP02_onset_beyond", 500, 510, 520, frames=(1, 2, 3)),
        CasmeRow(1, "EP03_gaps", 1, 5, 10, frames=(1, 2, 3, 7, 8, 10)),
        CasmeRow(1, "EP04_no_folder", 1, 2, 3, folder=False),
        CasmeRow(1, "EP05_bad_onset", "abc", 2, 3),
        CasmeRow(1, "EP06_apex_outside", 1, 50, 3),
        CasmeRow(1, "EP01_ok", 1, 2, 3),  # the same clip again
        CasmeRow(1, "EP07_no_emotion", 1, 2, 3, emotion=""),
        CasmeRow(1, "EP08_reversed", 3, 2, 1, frames=(1, 2, 3)),
    ]
    make_casme2(tmp_path, rows)
    res = load("casme2", tmp_path)
    assert [c.clip_id for c in res.clips] == ["EP01_ok"]
    reasons = {s.path.name: s.reason for s in res.skipped}
    sheet = CASME2_SHEETS["2014"]
    assert "onset frame 500 is beyond the folder's last frame 3" in reasons["EP02_onset_beyond"]
    assert "4 of the 10 frames 1..10 are missing: 4-6, 9" in reasons["EP03_gaps"]
    assert "clip folder not found" in reasons["EP04_no_folder"]
    assert "apex frame 50 is outside onset..offset 1..3" in reasons["EP06_apex_outside"]
    assert "onset frame 3 is after offset frame 1" in reasons["EP08_reversed"]
    assert reasons["EP01_ok"].endswith("repeats " + f"{sheet} row 2")
    sheet_reasons = [s.reason for s in res.skipped if s.path.name == sheet]
    assert f"{sheet} row 6: OnsetFrame 'abc' is not a frame number" in sheet_reasons
    assert f"{sheet} row 9: Estimated Emotion is blank" in sheet_reasons
    # Every skipped clip folder is named with the sheet row it came from.
    assert all(" row " in s.reason for s in res.skipped)


def test_folder_name_variants(tmp_path: Path) -> None:
    make_casme2(tmp_path, ROWS[:2])
    # The raw archive unpacks as CASME2_RAW/CASME2-RAW; subject folders may be spelled "sub1".
    nested = tmp_path / "CASME2_RAW" / "CASME2-RAW"
    nested.parent.mkdir()
    (tmp_path / "CASME2_RAW_selected").rename(nested)
    (nested / "sub01").rename(nested / "sub1")
    (nested / "sub04" / "EP12_01f").rename(nested / "sub04" / "ep12_01F")
    res = load("casme2", tmp_path)
    assert res.skipped == ()
    assert {c.key for c in res.clips} == {"casme2/sub01/EP02_01f", "casme2/sub04/ep12_01F"}
    assert res.version.endswith("/raw")


def test_raw_and_cropped_side_by_side(tmp_path: Path) -> None:
    make_casme2(tmp_path, ROWS, layout="raw")
    make_casme2(tmp_path, ROWS, layout="cropped")
    auto = load("casme2", tmp_path)
    cropped = load("casme2", tmp_path, layout="cropped")
    explicit = load("casme2", tmp_path, frames_dir=tmp_path / "Cropped")
    assert auto.version.endswith("/raw") and auto.clips[0].frames[0].name.startswith("img")
    assert cropped.version.endswith("/cropped") and cropped.clips[0].frames[0].name.startswith("reg_img")
    assert [c.frames for c in explicit.clips] == [c.frames for c in cropped.clips]
    with pytest.raises(DatasetError, match="layout must be 'auto', 'raw' or 'cropped'"):
        load("casme2", tmp_path, layout="aligned")


def test_later_sheet_wins_and_sheet_option(tmp_path: Path) -> None:
    make_casme2(tmp_path, ROWS, sheet="2014")
    make_casme2(tmp_path, ROWS[:3], sheet="2019")
    assert load("casme2", tmp_path).version == "coding-20190701/raw"
    assert len(load("casme2", tmp_path).clips) == 3
    older = load("casme2", tmp_path, sheet=tmp_path / CASME2_SHEETS["2014"])
    assert older.version == "coding-20140508/raw" and len(older.clips) == len(ROWS)


@pytest.mark.parametrize("where", ["column", "file"])
def test_objective_classes(tmp_path: Path, where: str) -> None:
    rows = [CasmeRow(1, "EP01", objective=3), CasmeRow(2, "EP02", objective=None)]
    make_casme2(tmp_path, rows, objective=where)
    res = load("casme2", tmp_path)
    assert [c.objective_class for c in res.clips] == [3, None]
    assert res.skipped == ()
    assert ("+objective-classes" in res.version) == (where == "file")


def test_wrong_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as err:
        load("casme2", tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(err.value) and "expected the CASME II folder" in str(err.value)
    assert "does not exist" in str(err.value)

    (tmp_path / "SAMM").mkdir()
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(DatasetError) as err:
        load("casme2", tmp_path)
    message = str(err.value)
    assert message.startswith(f"{tmp_path}: expected the CASME II coding sheet (CASME2-coding-*.xlsx)")
    assert message.endswith("here or one folder down; found notes.txt, SAMM/")


def test_missing_spreadsheet_but_frames_present(tmp_path: Path) -> None:
    make_casme2(tmp_path, ROWS)
    (tmp_path / CASME2_SHEETS["2014"]).unlink()
    with pytest.raises(
        DatasetError, match=r"expected the CASME II coding sheet .* found CASME2_RAW_selected/"
    ):
        load("casme2", tmp_path)


def test_old_xls_sheet_is_named(tmp_path: Path) -> None:
    (tmp_path / "CASME2-coding-20140508.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(DatasetError) as err:
        load("casme2", tmp_path)
    assert "CASME2-coding-20140508.xls" in str(err.value) and "save it as .xlsx" in str(err.value)


def test_missing_column_lists_the_headers_found(tmp_path: Path) -> None:
    import openpyxl

    make_casme2(tmp_path, ROWS)
    path = tmp_path / CASME2_SHEETS["2014"]
    wb = openpyxl.load_workbook(path)
    wb.active["D1"] = "Start"  # OnsetFrame renamed
    wb.save(path)
    with pytest.raises(DatasetError) as err:
        load("casme2", tmp_path)
    message = str(err.value)
    assert message.startswith(f"{path}: expected a header row with the column(s) 'OnsetFrame'")
    assert "closest: sheet 'Sheet1' row 1, headers: Subject, Filename, Start, ApexFrame" in message


def test_damaged_sheet(tmp_path: Path) -> None:
    (tmp_path / "CASME2-coding-20190701.xlsx").write_bytes(b"not a zip file")
    with pytest.raises(DatasetError, match="expected an .xlsx workbook; cannot read it"):
        load("casme2", tmp_path)


def test_no_frame_folders(tmp_path: Path) -> None:
    make_casme2(tmp_path, ROWS)
    shutil.rmtree(tmp_path / "CASME2_RAW_selected")
    with pytest.raises(DatasetError) as err:
        load("casme2", tmp_path)
    message = str(err.value)
    assert message.startswith(f"{tmp_path}: expected CASME II frame folders subXX/EPxx_xx")
    assert f"none of the {len(ROWS)} clips of {CASME2_SHEETS['2014']} was found" in message
    with pytest.raises(
        DatasetError, match=r"expected CASME II frame folders subXX/EPxx_xx \(cropped layout\)"
    ):
        make_casme2(tmp_path, ROWS)
        load("casme2", tmp_path, layout="cropped")
