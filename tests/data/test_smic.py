"""SMIC-HS loader: labels from folder names, no apex, the HS folder among VIS/NIR and raw/cropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtmer.data import load
from rtmer.errors import DatasetError
from tests.data.fixtures import SmicClip, make_smic

CLIPS = (
    SmicClip(1, "negative", 1, range(113251, 113286)),
    SmicClip(1, "positive", 1),
    SmicClip(2, "surprise", 3, (9, 10, 11)),
    SmicClip(20, "negative", 2),
)


def test_folder_encoded_labels(tmp_path: Path) -> None:
    make_smic(tmp_path, CLIPS, cameras=True)
    res = load("smic", tmp_path)
    assert res.version == "SMIC-HS/raw" and res.skipped == ()
    clips = {c.clip_id: c for c in res.clips}
    # non_micro folders and the VIS / NIR cameras are not read.
    assert list(clips) == ["s1_ne_01", "s1_po_01", "s2_sur_03", "s20_ne_02"]
    c = clips["s1_ne_01"]
    assert (c.dataset, c.subject, c.emotion, c.fps) == ("smic", "s1", "negative", 100.0)
    assert (c.onset, c.apex, c.offset) == (0, None, 34)
    assert c.frame_numbers == tuple(range(113251, 113286))
    assert c.frames[0].name == "image113251.bmp" and "HS" in c.frames[0].parts
    assert clips["s2_sur_03"].frame_numbers == (9, 10, 11)  # image9 before image10
    assert clips["s20_ne_02"].subject == "s20"


def test_raw_cropped_and_hs_root(tmp_path: Path) -> None:
    make_smic(tmp_path, CLIPS, layout="raw")
    make_smic(tmp_path, CLIPS[:2], layout="cropped")
    assert len(load("smic", tmp_path).clips) == len(CLIPS)
    cropped = load("smic", tmp_path, layout="cropped")
    assert cropped.version == "SMIC-HS/cropped" and len(cropped.clips) == 2
    hs = tmp_path / "SMIC_all_cropped" / "HS"
    assert len(load("smic", hs).clips) == 2  # the HS folder itself as the root
    assert len(load("smic", tmp_path, frames_dir=hs).clips) == 2


def test_gaps_and_empty_clip_folders_are_skipped(tmp_path: Path) -> None:
    make_smic(
        tmp_path,
        [SmicClip(3, "negative", 1, (1, 2, 5, 6)), SmicClip(3, "negative", 2), SmicClip(3, "surprise", 1)],
    )
    empty = tmp_path / "SMIC_all_raw" / "HS" / "s3" / "micro" / "surprise" / "s3_sur_01"
    for frame in empty.iterdir():
        frame.unlink()
    res = load("smic", tmp_path)
    assert [c.clip_id for c in res.clips] == ["s3_ne_02"]
    reasons = {s.path.name: s.reason for s in res.skipped}
    assert reasons == {
        "s3_ne_01": "2 of the 6 frames 1..6 are missing: 3-4",
        "s3_sur_01": "no image files in the clip folder",
    }


def test_wrong_root(tmp_path: Path) -> None:
    (tmp_path / "CASME2").mkdir()
    with pytest.raises(DatasetError) as err:
        load("smic", tmp_path)
    assert str(err.value) == (
        f"{tmp_path}: expected SMIC-HS folders HS/s<N>/micro/<negative|positive|surprise>/<clip> "
        "(as in SMIC_all_raw/HS) up to three folders down; found CASME2/"
    )
    with pytest.raises(DatasetError, match="expected the SMIC folder .*; the path does not exist"):
        load("smic", tmp_path / "nowhere")
    make_smic(tmp_path, CLIPS, layout="raw")
    with pytest.raises(DatasetError, match=r"\(cropped layout\)"):
        load("smic", tmp_path, layout="cropped")
