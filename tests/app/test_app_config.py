"""PipelineConfig: TOML in, flags on top, unknown keys named, `rtmer config show` round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtmer import cli
from rtmer.app.build import check_stages, spotter_config, tracker_config
from rtmer.config import PipelineConfig, from_mapping, load_config, to_toml, with_overrides
from rtmer.errors import InputError


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "rtmer.toml"
    p.write_text(text)
    return p


def test_file_sets_sections_and_flags_override(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[capture]\nfps = 200\nsize = "640x480"\n[tracker]\nlandmark_every = 3\n'
        + '[spotter]\nk = 6\n[classifier]\nmodel = "none"\n[output]\nwindow = false\n',
    )
    cfg = load_config(path)
    assert cfg.capture.fps == 200.0 and isinstance(cfg.capture.fps, float)  # an int accepted for a float
    assert cfg.capture.size_wh == (640, 480)
    assert not cfg.classifier.enabled and not cfg.output.window
    tracker, spotter = tracker_config(cfg), spotter_config(cfg, 200.0)
    assert tracker.landmark_every == 3 and spotter.k == 6.0 and spotter.fps == 200.0
    flagged = with_overrides(cfg, {"capture.fps": 90.0, "spotter.k": 4.5, "output.events": None})
    assert flagged.capture.fps == 90.0 and flagged.capture.size == "640x480"  # the rest stays
    assert spotter_config(flagged, 90.0).k == 4.5
    assert flagged.output.events == ""  # a flag not given (None) changes nothing


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[capture]\nfsp = 3\n", r"unknown key 'fsp' in \[capture\]"),
        ("[camera]\nfps = 3\n", r"unknown section \[camera\]"),
        ("[output]\nwindow = 1\n", r"\[output\] window must be a bool"),
        ("[capture]\nfps = -1\n", r"fps must be >= 0"),
        ("[capture\n", "not valid TOML"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_config(_write(tmp_path, text))


@pytest.mark.parametrize(
    ("section", "table", "message"),
    [
        ("spotter", {"kk": 1.0}, r"unknown key 'kk' in \[spotter\]"),
        ("tracker", {"landmark_every": 2.5}, r"\[tracker\] landmark_every must be a int"),
        ("tracker", {"landmark_every": 0}, r"landmark_every must be >= 1"),
        ("spotter", {"fps": 30.0}, "unknown key 'fps'"),  # the source sets the spotter's fps
    ],
)
def test_stage_override_keys_are_checked_against_the_stage(section: str, table: dict, message: str) -> None:
    """Where the stages are built, and before any source exists (``rtmer config show``: no fps)."""
    config = from_mapping({section: table})
    built = tracker_config if section == "tracker" else lambda c: spotter_config(c, 30.0)
    for check in (built, check_stages):
        with pytest.raises(InputError, match=message):
            check(config)


def test_config_show_prints_loadable_effective_settings(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path, '[spotter]\nk = 7.5\n[classifier]\nbackend = "onnx"\n')
    assert cli.main(["config", "show", "--config", str(path)]) == 0
    text = capsys.readouterr().out
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11 (rtmer reads TOML with tomli on 3.10)
    data = tomllib.loads(text)
    assert data["spotter"]["k"] == 7.5 and data["classifier"]["backend"] == "onnx"
    assert "min_threshold" in data["spotter"] and "landmark_every" in data["tracker"]  # defaults shown
    again = load_config(_write(tmp_path, text))
    assert again.classifier.backend == "onnx" and spotter_config(again, 30.0).k == 7.5
    assert to_toml(PipelineConfig()) == to_toml(load_config(_write(tmp_path, to_toml(PipelineConfig()))))


def test_config_show_bad_file_is_one_error_line(tmp_path: Path, capsys) -> None:
    assert cli.main(["config", "show", "--config", str(_write(tmp_path, "[spotter]\nzz = 1\n"))]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown key 'zz' in [spotter]" in err
    assert cli.main(["config", "show", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
