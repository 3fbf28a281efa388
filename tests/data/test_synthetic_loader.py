"""Synthetic-clip loader: CASME II's layout plus rtmer's manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rtmer.data import load
from rtmer.errors import DatasetError
from tests.data.fixtures import CasmeRow, make_casme2

MANIFEST = {"generator": "rtmer.synth", "version": "0.1.0", "seed": 7, "fps": 100}


def write(root: Path, manifest: object) -> Path:
    make_casme2(root, [CasmeRow(1, "syn_0001", 1, 2, 3, "6+12", "happiness"), CasmeRow(2, "syn_0002")])
    (root / "rtmer_synthetic.json").write_text(json.dumps(manifest))
    return root


def test_casme2_layout_with_the_manifest_fps(tmp_path: Path) -> None:
    res = load("synthetic", write(tmp_path, MANIFEST))
    assert res.dataset == "synthetic"
    assert res.version == "rtmer.synth 0.1.0 seed 7 (coding-20140508/raw)"
    assert [(c.dataset, c.subject, c.clip_id, c.fps) for c in res.clips] == [
        ("synthetic", "sub01", "syn_0001", 100.0),
        ("synthetic", "sub02", "syn_0002", 100.0),
    ]
    assert res.clips[0].aus == ("6", "12") and res.clips[0].key == "synthetic/sub01/syn_0001"


def test_manifest_is_required(tmp_path: Path) -> None:
    make_casme2(tmp_path, [CasmeRow(1, "syn_0001")])
    with pytest.raises(DatasetError) as err:
        load("synthetic", tmp_path)
    message = str(err.value)
    assert message.startswith(f"{tmp_path}: expected rtmer_synthetic.json (written by `rtmer synth clips`)")
    assert "data set 'casme2'" in message
    assert load("casme2", tmp_path).clips[0].dataset == "casme2"


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        ({"generator": "rtmer.synth"}, "expected a positive number under 'fps'; found None"),
        ({"fps": 0}, "expected a positive number under 'fps'; found 0"),
        ({"fps": "200"}, "expected a positive number under 'fps'; found '200'"),
        ([200], "expected a JSON object; found list"),
    ],
)
def test_bad_manifest(tmp_path: Path, manifest: object, expected: str) -> None:
    write(tmp_path, manifest)
    with pytest.raises(DatasetError, match=expected.replace("(", r"\(")):
        load("synthetic", tmp_path)


def test_unreadable_manifest(tmp_path: Path) -> None:
    write(tmp_path, MANIFEST)
    (tmp_path / "rtmer_synthetic.json").write_text("{fps: 200")
    with pytest.raises(DatasetError, match=r"rtmer_synthetic.json: expected a JSON object; cannot read it"):
        load("synthetic", tmp_path)
