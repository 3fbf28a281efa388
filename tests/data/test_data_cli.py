"""``rtmer data check``: per-data-set summaries, protocol counts, both argument forms, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rtmer import cli
from tests.data.fixtures import MirrorRoots, mirror_counts


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.main(["data", "check", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_json_report_of_the_composite(mirror: MirrorRoots, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        ["--data", f"smic={mirror.smic},casme2={mirror.casme2}", "--data", f"samm={mirror.samm}", "--json"],
        capsys,
    )
    assert status == 0, err
    assert len(out.strip().splitlines()) == 1
    report = json.loads(out)
    datasets = {d["dataset"]: d for d in report["datasets"]}
    assert list(datasets) == ["smic", "casme2", "samm"]
    assert {name: (d["clips"], d["subjects"]) for name, d in datasets.items()} == {
        "smic": (164, 16),
        "casme2": (255, 26),
        "samm": (159, 29),
    }
    assert datasets["casme2"]["version"].startswith("coding-20140508")
    assert datasets["casme2"]["emotions"]["repression"] == 27
    assert datasets["samm"]["emotions"]["other"] == 26
    assert all(d["skipped"] == [] for d in report["datasets"])

    protocols = {p["protocol"]: p for p in report["protocols"]}
    assert list(protocols) == ["megc2019", "casme2-5", "aggregation-4"]  # no CK+ given: no ckplus-7
    megc = protocols["megc2019"]
    assert (megc["clips"], megc["subjects"], megc["missing"]) == (442, 68, [])
    assert megc["classes"] == {"negative": 250, "positive": 109, "surprise": 83}
    assert {d: (row["clips"], row["subjects"]) for d, row in megc["per_dataset"].items()} == {
        "smic": (164, 16),
        "casme2": (145, 24),
        "samm": (133, 28),
    }
    assert protocols["casme2-5"]["classes"] == {
        "others": 99,
        "disgust": 63,
        "happiness": 32,
        "repression": 27,
        "surprise": 25,
    }
    assert protocols["aggregation-4"]["datasets"] == ["casme2", "smic"]


def test_text_report_pairs_and_partial_protocols(
    mirror: MirrorRoots, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(
        ["--dataset", "casme2", "--root", str(mirror.casme2), "--data", f"ckplus={mirror.ckplus}"], capsys
    )
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == f"casme2  {mirror.casme2}"
    assert "  clips     255" in lines and "  subjects  26" in lines
    assert any(line.startswith("  emotions  disgust 63, fear 2, happiness 32") for line in lines)
    assert "protocol megc2019: 145 clips, 24 subjects  (partial: no smic, samm)" in lines
    assert "protocol casme2-5: 246 clips, 26 subjects" in lines
    assert "protocol ckplus-7: 327 clips, 118 subjects" in lines
    assert "  dropped   2: casme2 emotion 'fear' is not used by casme2-5" in lines
    ck = lines.index(f"ckplus  {mirror.ckplus}")
    assert lines[ck + 5] == "  skipped   266"  # CK+ sequences without an emotion label
    assert lines[ck + 6].endswith(": unlabelled: no Emotion/ file (CK+ labels 327 of 593)")
    assert lines[ck + 26] == "    ... and 246 more (--json lists all)"


def test_missing_frames_are_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = mirror_counts(tmp_path).casme2
    frame = sorted((root / "CASME2_RAW_selected" / "sub01").iterdir())[0] / "img2.jpg"
    frame.unlink()
    status, out, err = run(["--dataset", "casme2", "--root", str(root)], capsys)
    assert status == 0, err
    lines = out.splitlines()
    assert "  clips     254" in lines and "  skipped   1" in lines
    skipped = lines[lines.index("  skipped   1") + 1]
    assert skipped.startswith(f"    {frame.parent}: ") and "missing: 2" in skipped


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", "casme2"], "got 1 --dataset and 0 --root"),
        (["--data", "casme2"], "--data expects NAME=DIR"),
        (
            ["--data", "casme3=/x"],
            "unknown data set 'casme3'; choose from casme2, samm, smic, ckplus, synthetic",
        ),
        (["--data", "smic=/a,smic=/b"], "data set(s) given more than once: smic"),
        ([], "no data set given"),
        (["--dataset", "casme2", "--root", "/nonexistent/casme2"], "/nonexistent/casme2"),
    ],
)
def test_errors_are_one_line_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(argv, capsys)
    assert status == 2 and out == ""
    assert err.startswith("rtmer: error: ") and err.count("\n") == 1
    assert message in err


def test_wrong_root_names_what_was_expected(mirror: MirrorRoots, capsys: pytest.CaptureFixture[str]) -> None:
    """Pointing the SAMM loader at the CASME II copy fails with the loader's DatasetError."""
    status, _, err = run(["--data", f"samm={mirror.casme2}"], capsys)
    assert status == 2 and err.count("\n") == 1
    assert str(mirror.casme2) in err


def test_help_documents_both_forms(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["data", "check", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--dataset NAME" in out and "--root DIR" in out and "NAME=DIR[,NAME=DIR...]" in out
    assert "--json" in out
