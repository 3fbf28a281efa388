"""The command line: ``rtmer info``, exit statuses, and how user-facing errors are reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import rtmer
from rtmer import cli
from rtmer.commands import info as info_cmd
from rtmer.errors import NativeUnavailableError

_BUILD_KEYS = {"compiler", "cxx_flags", "simd", "openmp", "max_threads", "cuda_archs", "nvcc"}


def _check_info(info: dict) -> None:
    assert info["rtmer"] == rtmer.__version__
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))
    for key in ("numpy", "opencv", "scikit_image", "cpu_model"):
        assert isinstance(info[key], str) and info[key], key
    assert isinstance(info["cpu_features"], list)
    assert isinstance(info["cuda_compiled"], bool) and isinstance(info["cuda_available"], bool)
    if info["cuda_available"]:
        assert info["cuda_compiled"] and info["cuda_devices"] >= 1 and info["cuda_device"]
    if info["native"]:
        assert info["native_error"] is None
        assert set(info["build"]) == _BUILD_KEYS
    else:
        assert info["native_error"]
        assert not info["cuda_compiled"]


def test_info_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["info"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["rtmer", rtmer.__version__]
    for name in ("numpy", "opencv", "scikit-image", "cpu", "native module", "cuda compiled", "cuda device"):
        assert any(line.startswith(name + " ") for line in lines), name


def test_info_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["info", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert len(out.strip().splitlines()) == 1
    _check_info(json.loads(out))


def test_info_json_subprocess() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rtmer", "info", "--json"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    _check_info(info)
    if not os.environ.get("RTMER_ALLOW_NO_NATIVE"):
        assert info["native"] is True, f"rtmer._C did not import: {info['native_error']}"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"rtmer {rtmer.__version__}"


def test_no_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    out, err = capsys.readouterr()
    assert "usage: rtmer" in err and "info" in err


def test_unknown_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["no-such-command"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_rtmer_error_is_one_line_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail() -> dict:
        raise NativeUnavailableError("impl='cuda' but no CUDA device is usable;\nuse impl='native'")

    monkeypatch.setattr(info_cmd, "collect_info", fail)
    assert cli.main(["info"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n")
    assert "no CUDA device is usable; use impl='native'" in err
    assert "Traceback" not in err


def test_unexpected_errors_propagate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only RtmerError is a user-facing failure; anything else is a bug and keeps its traceback."""

    def boom() -> dict:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(info_cmd, "collect_info", boom)
    with pytest.raises(ZeroDivisionError):
        cli.main(["info"])


def test_info_without_native(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A source install whose native build failed: info says so and shows the import error."""
    from rtmer import _native

    fake = {
        "native": False,
        "cuda_compiled": False,
        "cuda_available": False,
        "cpu": "x86_64",
        "cpu_count": 2,
        "cpu_features": [],
        "import_error": "No module named 'rtmer._C'",
    }
    monkeypatch.setattr(_native, "build_info", lambda: dict(fake))
    assert cli.main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    _check_info(info)
    assert info["native"] is False and info["build"] == {}
    assert cli.main(["info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    native_row = next(line for line in lines if line.startswith("native module "))
    assert native_row.split(None, 2)[2] == "no (No module named 'rtmer._C')"
