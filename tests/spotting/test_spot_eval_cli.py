"""``rtmer spot-eval``: the metrics table from a truth CSV and spotted events, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rtmer import cli
from rtmer.synth.writers import write_json, write_spotting_truth

TRUTH = [
    {"video": "s01.mp4", "onset": 100, "apex": 110, "offset": 140, "type": "micro", "emotion": "", "aus": ""},
    {"video": "s01.mp4", "onset": 400, "apex": 500, "offset": 700, "type": "macro", "emotion": "", "aus": ""},
    {"video": "s02.mp4", "onset": 50, "apex": 60, "offset": 80, "type": "micro", "emotion": "", "aus": ""},
]
# s01: micro TP (emitted 4 frames after the apex) and macro TP; s02: the micro missed, one FP. The
# video is named as a path, or as rtmer spot writes it ("source"), or by its stem.
EVENTS = [
    {"video": "/data/s01.mp4", "event_id": 0, "onset": 101, "apex": 112, "offset": None, "kind": "micro",
     "emitted_index": 114},
    {"video": "/data/s01.mp4", "event_id": 0, "onset": 101, "apex": 112, "offset": 139, "kind": "micro",
     "emitted_index": 139},
    {"video": "/data/s01.mp4", "event_id": 1, "onset": 410, "apex": 505, "offset": 690, "kind": "macro",
     "emitted_index": 505},
    {"source": "s02", "event_id": 0, "onset": 900, "apex": 905, "offset": 920, "kind": "micro",
     "emitted_index": 907},
]  # fmt: skip


def _files(tmp_path: Path) -> tuple[Path, Path]:
    write_spotting_truth(tmp_path / "ground_truth.csv", TRUTH)
    pred = tmp_path / "events.jsonl"
    pred.write_text("".join(json.dumps(e) + "\n" for e in EVENTS), encoding="utf-8")
    return tmp_path / "ground_truth.csv", pred


def _spot_eval(*args: str) -> int:
    return cli.main(["spot-eval", *args])


def test_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth, pred = _files(tmp_path)
    assert _spot_eval("--truth", str(truth), "--predicted", str(pred), "--fps", "200") == 0
    out, err = capsys.readouterr()
    assert err == ""
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:4]}
    assert rows["micro"][1:6] == ["2", "2", "1", "1", "1"]  # truth, spotted, TP, FP, FN
    assert rows["macro"][1:6] == ["1", "1", "1", "0", "0"]
    assert rows["overall"][8] == "0.667"  # F1 = 2*2 / (2*2 + 1 + 1)
    assert "emission delay after the true apex, overall (n=2)" in out and "videos: 2;" in out


def test_json_and_sidecars(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Events files beside the truth give fps, minutes and blinks; --json prints one object."""
    truth, pred = _files(tmp_path)
    for name, frames, blinks in (("s01", 12_000, [(300, 330)]), ("s02", 6_000, [(895, 925)])):
        write_json(tmp_path / f"{name}_events.json", {
            "video": f"{name}.mp4", "fps": 200.0, "frames": frames, "subject": name,
            "events": [{"type": "blink", "onset": a, "apex": a + 5, "offset": b, "emotion": "", "aus": ""}
                       for a, b in blinks],
        })  # fmt: skip
    assert _spot_eval("--truth", str(truth), "--predicted", str(pred), "--json") == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1
    report = json.loads(out)
    assert report["minutes"] == pytest.approx(1.5)
    assert report["false_alarms_per_min"]["micro"] == pytest.approx(1 / 1.5)
    assert report["fp_on_distractors"] == {"micro": 1, "macro": 0}
    assert report["counts"]["overall"]["tp"] == 2
    assert report["apex_error"]["overall"]["median_frames"] == 3.5  # |112 - 110| and |505 - 500|
    assert report["emission_delay"]["overall"]["median_ms"] == pytest.approx(4.5 * 5.0)  # 4, 5 frames late
    assert report["emission_delay"]["micro"]["p99_frames"] == 4
    assert _spot_eval("--truth", str(truth), "--predicted", str(pred), "--json", "--fps", "100") == 0
    assert json.loads(capsys.readouterr().out)["minutes"] == pytest.approx(3.0)  # --fps overrides


def test_predictions_as_csv_and_iou(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth, _ = _files(tmp_path)
    write_spotting_truth(tmp_path / "pred.csv", [{**TRUTH[0], "onset": 120, "apex": 125}])  # IoU 21/41
    args = ["--truth", str(truth), "--predicted", str(tmp_path / "pred.csv"), "--fps", "200", "--json"]
    assert _spot_eval(*args) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["micro"]["tp"] == 1
    assert _spot_eval(*args, "--iou", "0.6") == 0
    assert json.loads(capsys.readouterr().out)["counts"]["micro"]["tp"] == 0


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no-truth", "cannot read spotting CSV"),
        ("no-pred", "cannot read events file"),
        ("no-fps", "give --fps"),
        ("bad-suffix", "name it .csv"),
        ("bad-line", "line 1"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str, message: str
) -> None:
    truth, pred = _files(tmp_path)
    fps = ["--fps", "200"]
    if setup == "no-truth":
        truth = tmp_path / "missing.csv"
    elif setup == "no-pred":
        pred = tmp_path / "missing.jsonl"
    elif setup == "no-fps":
        fps = []
    elif setup == "bad-suffix":
        pred = pred.rename(tmp_path / "events.txt")
    else:
        pred.write_text('{"onset": 1}\n', encoding="utf-8")
    assert _spot_eval("--truth", str(truth), "--predicted", str(pred), *fps) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("rtmer: error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_listed_beside_the_other_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("info", "data", "synth", "spot-eval"))
    assert _spot_eval("--truth", "x.csv") == 2  # --predicted is required
    assert "--predicted" in capsys.readouterr().err


def test_data_synthetic_runs_the_spotter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--data synthetic=DIR: spot a `rtmer synth long` folder end to end and print the metrics."""
    from rtmer.synth import generator

    generator.generate_long(
        tmp_path, minutes=0.1, videos=1, fps=100.0, size=(240, 320), eye_px=48.0, progress=False
    )
    assert cli.main(["spot-eval", "--data", f"synthetic={tmp_path}", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "micro" in json.dumps(report)
    assert cli.main(["spot-eval", "--data", f"casme2={tmp_path}"]) == 2
    assert "only synthetic" in capsys.readouterr().err
