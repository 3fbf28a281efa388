"""rtmer.fileio.atomic_write: the new file appears whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtmer.fileio import atomic_write


def test_replaces_the_file_and_creates_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.bin"
    with atomic_write(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_bytes(b"first")
        assert not target.exists()  # nothing under the final name before the rename
    assert target.read_bytes() == b"first"
    with atomic_write(target) as tmp:
        tmp.write_bytes(b"second")
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.bin"]


def test_an_error_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="midway"), atomic_write(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("midway")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_each_call_writes_its_own_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with atomic_write(target) as a, atomic_write(target) as b:
        assert a != b
        a.write_text("a")
        b.write_text("b")
    assert target.read_text() == "a"  # the outer one renames last
