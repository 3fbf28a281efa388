"""CK+ loader: sequences with an Emotion/ file become clips (neutral onset, peak apex = offset)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rtmer.data import load
from rtmer.data.ckplus import EMOTIONS
from rtmer.errors import DatasetError
from tests.data.fixtures import CkSequence, make_ckplus

SEQUENCES = [CkSequence(5, 1, 3, frames=11, aus=(9, 17))] + [CkSequence(10, i, i, frames=4) for i in range(8)]


def test_labelled_sequences(tmp_path: Path) -> None:
    make_ckplus(tmp_path, [*SEQUENCES, CkSequence(5, 2, None)])
    res = load("ckplus", tmp_path)
    assert res.version == "CK+ (Emotion, FACS)"
    clips = {c.clip_id: c for c in res.clips}
    c = clips["S005_001"]
    assert (c.dataset, c.subject, c.fps, c.emotion, c.aus) == ("ckplus", "S005", 30.0, "disgust", ("9", "17"))
    assert c.frame_numbers == tuple(range(1, 12)) and c.frames[0].name == "S005_001_00000001.png"
    assert (c.onset, c.apex, c.offset) == (0, 10, 10)  # first frame neutral, last frame the peak
    assert [clips[f"S010_{i:03d}"].emotion for i in range(8)] == [EMOTIONS[i] for i in range(8)]
    # The readme's codes 0-7, in its order.
    names = ["neutral", "anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"]
    assert EMOTIONS == dict(enumerate(names))
    (unlabelled,) = res.skipped
    assert unlabelled.path == tmp_path / "cohn-kanade-images" / "S005" / "002"
    assert unlabelled.reason.startswith("unlabelled")


def test_bad_label_files_are_skipped(tmp_path: Path) -> None:
    make_ckplus(tmp_path, [CkSequence(5, 1, 3), CkSequence(5, 2, 3), CkSequence(5, 3, 3)])
    (tmp_path / "Emotion" / "S005" / "001" / "S005_001_00000003_emotion.txt").write_text("   9.0000000e+00\n")
    (tmp_path / "Emotion" / "S005" / "002" / "S005_002_00000003_emotion.txt").write_text("angry\n")
    res = load("ckplus", tmp_path)
    assert [c.clip_id for c in res.clips] == ["S005_003"]
    assert [s.reason for s in res.skipped] == [
        "emotion code '9.0000000e+00' is not one of 0-7",
        "emotion file holds 'angry', not a code 0-7",
    ]


def test_nested_archives_and_no_facs(tmp_path: Path) -> None:
    make_ckplus(tmp_path / "CK+", SEQUENCES)
    labels = tmp_path / "CK+" / "Emotion_labels"
    labels.mkdir()
    (tmp_path / "CK+" / "Emotion").rename(labels / "Emotion")
    shutil.rmtree(tmp_path / "CK+" / "FACS")
    res = load("ckplus", tmp_path)
    assert res.version == "CK+ (Emotion)" and len(res.clips) == len(SEQUENCES)
    assert all(c.aus == () for c in res.clips)


def test_missing_emotion_folder(tmp_path: Path) -> None:
    make_ckplus(tmp_path, SEQUENCES)
    shutil.rmtree(tmp_path / "Emotion")
    with pytest.raises(DatasetError) as err:
        load("ckplus", tmp_path)
    message = str(err.value)
    assert message.startswith(f"{tmp_path}: expected the CK+ folders cohn-kanade-images/ and Emotion/")
    assert "Emotion/ not found; found cohn-kanade-images/, FACS/" in message
